"""Leases handed over between Redis and the store, in both directions, on every
instance: one that saw the outage, one that started after it (and never saw the
generation of Redis that was lost), and one whose circuit never opened while
another's did. A fake primary, the memory store's leases and a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from quizsession.adapters.live.handover import GENERATION_RECORD, STORE_MODE_RECORD
from quizsession.adapters.live.resilient import ResilientLiveState
from quizsession.adapters.tokens_jwt import JwtTokens
from quizsession.app.accommodations import Accommodations
from quizsession.app.attempts import AttemptExecutor, QuizCache
from quizsession.app.sessions.service import SessionService
from quizsession.domain.errors import DomainError, ErrorCode
from quizsession.domain.events import SessionSuperseded
from quizsession.domain.quiz import Policies, Question, Quiz, Section
from tests.unit.live_fakes import RETRY, TTL, FakePrimary, Rig


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    r = Rig()
    try:
        yield r
    finally:
        await r.close()


async def held_in_store(rig: Rig, attempt_id: str) -> str | None:
    return (await rig.store.lease_holder(attempt_id, rig.clock.now())).holder


async def test_an_instance_started_after_redis_came_back_empty_honours_store_leases(
    rig: Rig,
) -> None:
    """The sequence seen on real processes: A serves from the store, Redis comes
    back empty, B starts: B must not hand out the lease A's session holds."""
    a = await rig.instance()
    assert (await a.acquire_lease("a1", "s1", TTL)).acquired
    rig.primary.down = True
    assert (await a.acquire_lease("a1", "s1", TTL)).acquired is False  # unknown...
    assert (await a.acquire_lease("a1", "s1", TTL, force=True)).acquired  # ...taken back
    for _ in range(3):
        rig.advance(5)
        assert (await a.acquire_lease("a1", "s1", TTL)).acquired
    assert await held_in_store(rig, "a1") == "s1"
    rig.primary.restart()  # back, empty; A has not probed yet
    b = await rig.instance()  # never saw the outage
    assert b.state == "closed"
    second = await b.acquire_lease("a1", "s2", TTL)
    assert second.acquired is False
    assert second.holder == "s1"
    assert (await rig.primary.inner.lease_holder("a1")).holder is None  # given back
    assert (await b.lease_holder("a1")).holder == "s1"
    # The holder's heartbeat through B moves its lease into Redis as well.
    rig.advance(1)
    assert (await b.acquire_lease("a1", "s1", TTL)).acquired
    assert (await rig.primary.inner.lease_holder("a1")).holder == "s1"
    # A closes its circuit and finds Redis's generation changed.
    rig.advance(RETRY)
    assert await a.ping()
    assert a.state == "closed"
    assert a.primary_losses == 1
    assert (await a.acquire_lease("a1", "s2", TTL)).holder == "s1"


async def test_a_fresh_instance_finds_out_that_redis_lost_leases_nobody_saw_lost(
    rig: Rig,
) -> None:
    """Every instance that used the old Redis is gone; the store's generation
    record tells a new one that leases may still be held."""
    a = await rig.instance()
    assert (await a.acquire_lease("a1", "s1", TTL)).acquired  # in Redis only
    await a.close()
    rig.made.remove(a)
    rig.advance(1)
    rig.primary.restart()
    b = await rig.instance()
    assert b.primary_losses == 1
    second = await b.acquire_lease("a1", "s2", TTL)
    assert second.acquired is False
    assert second.holder is None  # 503 live_state_recovering
    assert (await rig.primary.inner.lease_holder("a1")).holder is None
    # The holder is vouched for by the log and takes it back (forced).
    assert (await b.acquire_lease("a1", "s1", TTL, force=True)).acquired
    assert (await b.acquire_lease("a1", "s2", TTL)).holder == "s1"
    # Another fresh instance agrees (the record is not overwritten meanwhile).
    c = await rig.instance()
    assert (await c.acquire_lease("a1", "s3", TTL)).holder == "s1"
    assert (await c.acquire_lease("a7", "s7", TTL)).acquired is False
    # Once every lease of the lost generation has lapsed, all is normal again.
    rig.advance(TTL + 7)
    assert (await b.acquire_lease("a7", "s7", TTL)).acquired
    assert (await c.acquire_lease("a8", "s8", TTL)).acquired
    d = await rig.instance()
    assert d.primary_losses == 0
    assert (await d.acquire_lease("a9", "s9", TTL)).acquired


async def test_a_first_start_is_not_taken_for_a_loss(rig: Rig) -> None:
    live = await rig.instance()
    assert live.primary_losses == 0
    assert (await live.acquire_lease("a1", "s1", TTL)).acquired
    assert (await rig.store.lease_holder(GENERATION_RECORD, rig.clock.now())).holder
    assert await held_in_store(rig, "a1") is None  # Redis alone: no store write


async def test_a_closed_instance_learns_that_another_serves_from_the_store(rig: Rig) -> None:
    """A's circuit opens (a blip: Redis is fine for B). B reads A's store-mode
    record and writes its leases to the store too, before A's first TTL is over
    and A trusts the store alone."""
    cut_off = FakePrimary(rig.clock)  # A's own view of the same Redis
    cut_off.inner = rig.primary.inner
    a = ResilientLiveState(cut_off, rig.store, rig.clock)
    await a.open()
    rig.made.append(a)
    b = await rig.instance()
    assert (await b.acquire_lease("a1", "s1", TTL)).acquired  # Redis only
    cut_off.down = True
    await a.hit("k", 5, 60)  # A alone sees a failure
    assert a.state == "open"
    assert (await rig.store.lease_holder(STORE_MODE_RECORD, rig.clock.now())).holder
    rig.advance(1)
    assert (await b.acquire_lease("a1", "s1", TTL)).acquired  # a heartbeat through B
    assert await held_in_store(rig, "a1") == "s1"  # written to both
    for _ in range(4):  # B's heartbeats go on; A stays open (its probes fail)
        rig.advance(5)
        assert (await b.acquire_lease("a1", "s1", TTL)).acquired
        await a.hit("k", 5, 60)
    assert a.state == "open"
    # A, past its first TTL (and LEARN), trusts the store: which knows s1.
    refused = await a.acquire_lease("a1", "s2", TTL)
    assert refused.acquired is False
    assert refused.holder == "s1"
    # And a login A grants from the store blocks one through B.
    assert (await a.acquire_lease("a5", "s5", TTL)).acquired
    assert (await b.acquire_lease("a5", "s6", TTL)).holder == "s5"


async def test_store_mode_ends_one_ttl_after_the_last_store_lease(rig: Rig) -> None:
    a, b = await rig.instance(), await rig.instance()
    rig.primary.down = True
    assert (await a.acquire_lease("a1", "s1", TTL, force=True)).acquired
    rig.primary.down = False
    rig.advance(1)
    assert await b.ping()  # B never failed: it reads the record
    assert (await b.acquire_lease("a2", "s2", TTL)).acquired
    assert await held_in_store(rig, "a2") == "s2"  # checked and written in both
    assert (await b.acquire_lease("a1", "s9", TTL)).holder == "s1"
    rig.advance(TTL + 1)
    assert await b.ping()
    assert (await b.acquire_lease("a3", "s3", TTL)).acquired
    assert await held_in_store(rig, "a3") is None  # Redis alone again


# -- the app on top: the sequence that granted a second login ----------------------------


def refuse_quiz() -> Quiz:
    return Quiz(
        id="quiz-r",
        title="Refuse",
        duration_s=3600.0,
        test=Section(
            kind="test", questions=(Question(id="q1", kind="true_false", text="?", correct=True),)
        ),
        policies=Policies(second_login="refuse", lease_ttl_s=TTL),
    )


async def test_a_login_through_an_instance_started_after_the_outage_is_refused(
    rig: Rig,
) -> None:
    store = rig.store
    await store.put_quiz(refuse_quiz())
    tokens = JwtTokens("k" * 48, rig.clock)

    async def service(live: ResilientLiveState) -> SessionService:
        quizzes = QuizCache(store)
        executor = AttemptExecutor(store, quizzes, rig.clock, authoritative_cache=False)
        accommodations = Accommodations(store, executor, live, rig.clock)
        return SessionService(
            store, live, tokens, executor, quizzes, rig.clock, accommodations=accommodations
        )

    a = await service(await rig.instance())
    first = await a.open_for_user("u1", "quiz-r")
    c1 = await a.authenticate(first.session_token, first.session_id)
    rig.primary.down = True  # B is killed, then Redis
    for _ in range(2):
        rig.advance(2.5)
        await a.heartbeat(c1)
    rig.primary.restart()
    b = await service(await rig.instance())
    for via in (a, b):
        with pytest.raises(DomainError) as info:
            await via.open_for_user("u1", "quiz-r")
        assert info.value.code in (ErrorCode.SESSION_ACTIVE, "live_state_recovering")
    for i in range(8):
        rig.advance(2.5)
        await (a if i % 2 else b).heartbeat(c1)
        with pytest.raises(DomainError):
            await (b if i % 2 else a).open_for_user("u1", "quiz-r")
    events = await store.read(first.attempt.attempt_id)
    assert not [r for r in events if isinstance(r.event, SessionSuperseded)]
