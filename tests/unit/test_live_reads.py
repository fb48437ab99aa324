"""A live socket's ticks and pings from the instance's cached attempt
(``app.live_reads``): two instances on one store (their caches not the truth)
and one live state shared through a primary that fails like Redis, on a fake
clock. Store reads are counted: none while the notices flow, one after a notice,
one per tick while the live state is degraded, and one at least every
``REFRESH_EVERY_S`` whatever happens. A heartbeat is one call to the primary."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from quizsession.adapters.live.resilient import ResilientLiveState
from quizsession.adapters.store.memory import MemoryStore
from quizsession.adapters.tokens_jwt import JwtTokens
from quizsession.app.accommodations import Accommodations
from quizsession.app.admin import AdminService
from quizsession.app.attempts import AttemptExecutor, QuizCache
from quizsession.app.catalog import Catalog, RosterEntry
from quizsession.app.clock import FakeClock
from quizsession.app.live_reads import REFRESH_EVERY_S, LiveReads
from quizsession.app.ports import RecordedEvent, SessionClaims, Subscription
from quizsession.app.sessions.service import SessionService
from quizsession.domain.commands import Extend
from tests.unit.live_fakes import FakePrimary
from tests.unit.test_app_sessions import SECRET, demo_raw

HEARTBEAT = 5.0


class CountingStore(MemoryStore):
    """The memory store, counting the reads of attempts' logs."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    async def read(self, attempt_id: str, after: int = 0) -> list[RecordedEvent]:
        self.reads += 1
        return await super().read(attempt_id, after)


@dataclass
class Instance:
    live: ResilientLiveState
    executor: AttemptExecutor
    sessions: SessionService
    admin: AdminService


@dataclass
class Cluster:
    clock: FakeClock
    store: CountingStore
    primary: FakePrimary
    one: Instance  # where the candidate logged in and the administrator acts
    two: Instance  # where the candidate's live socket is

    async def instance(self) -> Instance:
        live = ResilientLiveState(self.primary, self.store, self.clock)
        await live.open()
        quizzes = QuizCache(self.store)
        executor = AttemptExecutor(self.store, quizzes, self.clock, authoritative_cache=False)
        accommodations = Accommodations(self.store, executor, live, self.clock)
        sessions = SessionService(
            self.store,
            live,
            JwtTokens(SECRET, self.clock),
            executor,
            quizzes,
            self.clock,
            accommodations=accommodations,
        )
        return Instance(
            live, executor, sessions, AdminService(self.store, live, executor, sessions, self.clock)
        )


async def make_cluster() -> Cluster:
    clock = FakeClock()
    store = CountingStore()
    await store.open()
    cluster = Cluster(clock, store, FakePrimary(clock), None, None)  # type: ignore[arg-type]
    cluster.one = await cluster.instance()
    cluster.two = await cluster.instance()
    return cluster


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    made = await make_cluster()
    yield made
    for inst in (made.one, made.two):
        await inst.live.close()
    await made.store.close()


async def in_test(cluster: Cluster) -> SessionClaims:
    """A candidate logged in through instance one, the test started."""
    catalog = Catalog(cluster.store, cluster.clock)
    quiz = await catalog.put_quiz(demo_raw())
    until = dt.datetime.fromtimestamp(cluster.clock.now() + 86_400, dt.UTC).isoformat()
    issued = await catalog.invite(
        quiz.id, [RosterEntry(name="Ada", email="ada@example.org", valid_until=until)]
    )
    sessions = cluster.one.sessions
    opened = await sessions.open_with_invite(issued[0].token)
    claims = await sessions.authenticate(opened.session_token, opened.session_id)
    await sessions.start(claims, "test", None)
    return claims


async def socket(cluster: Cluster, claims: SessionClaims) -> tuple[LiveReads, Subscription]:
    """What the live socket on instance two holds: its reads and subscription."""
    reads = LiveReads(cluster.two.sessions, claims, cluster.clock.monotonic, notices_shared=True)
    subscription = await cluster.two.live.subscribe(claims.attempt_id)
    reads.follow(subscription)
    return reads, subscription


async def ticks(cluster: Cluster, reads: LiveReads, n: int) -> list[Any]:
    """``n`` ticks a heartbeat apart; the store reads they made."""
    out = []
    for _ in range(n):
        cluster.clock.advance(HEARTBEAT)
        before = cluster.store.reads
        tick = await reads.tick()
        out.append((tick.deadline, cluster.store.reads - before))
    return out


async def test_ticks_on_a_healthy_live_state_read_nothing(cluster: Cluster) -> None:
    claims = await in_test(cluster)
    reads, _sub = await socket(cluster, claims)
    first = await ticks(cluster, reads, 1)
    assert first[0][1] == 1  # the first use after subscribing reads
    rest = await ticks(cluster, reads, 4)  # 20 s, within the bound
    assert [n for _, n in rest] == [0, 0, 0, 0]
    before = cluster.store.reads
    for _ in range(3):
        cluster.clock.advance(1.0)
        pong = await reads.ping(None, refresh=False)
        assert pong.deadline == first[0][0]
    assert cluster.store.reads == before
    assert reads.cached == 7


async def test_an_extension_through_another_instance_shows_on_the_next_tick(
    cluster: Cluster,
) -> None:
    claims = await in_test(cluster)
    reads, sub = await socket(cluster, claims)
    [(deadline, _)] = await ticks(cluster, reads, 1)
    assert deadline is not None
    view = await cluster.one.admin.extend(claims.attempt_id, 600, "admin", "fire alarm")
    assert view.deadline == deadline + 600
    notice = await anext(aiter(sub))  # what the socket's notice task does
    assert notice.kind == "extension"
    reads.changed()
    [(after, read)] = await ticks(cluster, reads, 1)
    assert (after, read) == (deadline + 600, 1)
    assert [n for _, n in await ticks(cluster, reads, 2)] == [0, 0]


async def test_a_change_no_notice_told_shows_within_the_bound(cluster: Cluster) -> None:
    claims = await in_test(cluster)
    reads, _sub = await socket(cluster, claims)
    [(deadline, _)] = await ticks(cluster, reads, 1)
    assert deadline is not None
    # An extension whose notice was lost (written without one).
    await cluster.one.executor.execute(
        claims.attempt_id, lambda _l: Extend(seconds=60, by="admin", reason="lost notice")
    )
    seen = await ticks(cluster, reads, int(REFRESH_EVERY_S / HEARTBEAT) + 1)
    stale = [d for d, _ in seen if d == deadline]
    assert 0 < len(stale) * HEARTBEAT < REFRESH_EVERY_S + HEARTBEAT
    assert seen[-1][0] == deadline + 60
    assert sum(n for _, n in seen) == 1  # one read in the bound's time


async def test_a_degraded_live_state_reads_on_every_tick(cluster: Cluster) -> None:
    claims = await in_test(cluster)
    reads, _sub = await socket(cluster, claims)
    await ticks(cluster, reads, 2)
    cluster.primary.down = True
    await cluster.two.live.ping()  # the breaker opens: store-only mode
    assert cluster.two.live.state == "open"
    assert not reads.trusted
    assert [n for _, n in await ticks(cluster, reads, 3)] == [1, 1, 1]
    before = cluster.store.reads
    await reads.ping(None, refresh=False)
    # A read, and in the store's first lease TTL (who held the lease in the
    # primary is unknown) a second one that finds the session still live.
    assert cluster.store.reads > before


async def test_a_notice_during_a_read_is_not_missed(cluster: Cluster) -> None:
    claims = await in_test(cluster)
    reads, _sub = await socket(cluster, claims)
    store_read = cluster.store.read

    async def overtaken(attempt_id: str, after: int = 0) -> list[RecordedEvent]:
        records = await store_read(attempt_id, after)
        reads.changed()  # a notice arrives while the read is under way
        return records

    cluster.store.read = overtaken  # type: ignore[method-assign]
    await reads.tick()
    cluster.store.read = store_read  # type: ignore[method-assign]
    assert not reads.trusted  # that read does not count: the next one reads
    await reads.tick()
    assert reads.trusted


async def test_a_heartbeat_is_one_call_to_the_live_state(cluster: Cluster) -> None:
    claims = await in_test(cluster)
    reads, _sub = await socket(cluster, claims)
    sessions = cluster.two.sessions
    calls = cluster.primary.calls
    touched = calls["touch_session"]
    for _ in range(12):  # a minute of pings: the activity record is due several times
        cluster.clock.advance(HEARTBEAT)
        await reads.ping(None, refresh=False)
    assert calls["touch_session"] == touched  # recorded with the lease, never alone
    assert await cluster.primary.inner.session_seen(claims.session_id) is True
    assert not await sessions.activity.idle(claims.session_id)
