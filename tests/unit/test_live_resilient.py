"""The live state's circuit breaker (``ResilientLiveState``) with a fake primary
that can be switched to fail (Redis going down), to hang, or to forget everything
(a Redis restart), the memory store's leases and a fake clock: time moves only
when a test says so, nothing sleeps.

Also: the LiveState contract, passed both with a healthy primary and with one
that is down the whole time (store-only mode); and two app instances sharing a
store and a primary across an outage, where the refuse policy must keep
refusing a second login."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from quizsession.adapters.live.resilient import ResilientLiveState
from quizsession.adapters.store.memory import MemoryStore
from quizsession.adapters.tokens_jwt import JwtTokens
from quizsession.app.accommodations import Accommodations
from quizsession.app.attempts import AttemptExecutor, QuizCache
from quizsession.app.clock import FakeClock
from quizsession.app.ports import (
    LiveState,
    Notice,
    SessionClaims,
)
from quizsession.app.sessions.service import SessionService
from quizsession.domain.errors import DomainError, ErrorCode
from quizsession.domain.events import SessionClosed, SessionOpened, SessionSuperseded
from quizsession.domain.quiz import Policies, Question, Quiz, Section
from tests.contract.test_live_state import LiveStateContract
from tests.unit.live_fakes import LEARN, RETRY, TTL, FakePrimary, Rig


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    r = Rig()
    try:
        yield r
    finally:
        await r.close()


@pytest.fixture
async def live(rig: Rig) -> ResilientLiveState:
    return await rig.instance()


async def settle() -> None:
    """Let background tasks (notice pumps, re-subscriptions) run; no time passes."""
    for _ in range(10):
        await asyncio.sleep(0)


def state_of(live: ResilientLiveState) -> str:
    """The breaker's state, read afresh (not narrowed by earlier asserts)."""
    return live.state


async def next_notice(sub: Any) -> Notice:
    notice: Notice = await asyncio.wait_for(anext(sub), 1.0)
    return notice


# -- the breaker -------------------------------------------------------------------------


async def test_closed_calls_go_to_the_primary(rig: Rig, live: ResilientLiveState) -> None:
    assert state_of(live) == "closed"
    assert (await live.acquire_lease("a1", "s1", TTL)).acquired
    assert (await rig.primary.inner.lease_holder("a1")).holder == "s1"
    assert (await rig.store.lease_holder("a1", rig.clock.now())).holder is None
    assert await live.hit("k", 1, 60) is True
    assert await live.hit("k", 1, 60) is False
    assert live.fallbacks == 0
    assert live.trips == 0


async def test_a_failure_opens_the_circuit_and_the_call_is_served(
    rig: Rig, live: ResilientLiveState
) -> None:
    rig.primary.down = True
    assert await live.hit("k", 5, 60) is True  # answered, not raised
    assert state_of(live) == "open"
    assert live.trips == 1
    assert live.fallbacks == 1
    assert live.last_error is not None
    assert "fake primary down" in live.last_error
    # While open the primary is left alone.
    before = sum(rig.primary.calls.values())
    await live.touch_session("s1", 60)
    assert await live.session_seen("s1") is True
    assert await live.exhausted("k", 5, 60) is False
    await live.publish(Notice(attempt_id="a1", kind="drain"))
    assert sum(rig.primary.calls.values()) == before
    assert live.fallbacks == 5


async def test_no_method_raises_while_the_primary_is_down(
    rig: Rig, live: ResilientLiveState
) -> None:
    await live.acquire_lease("a1", "s1", TTL)
    rig.primary.down = True
    for _ in range(2):  # the call that opens the circuit, then one while it is open
        grant = await live.acquire_lease("a1", "s1", TTL, force=True)
        assert grant.acquired
        await live.lease_holder("a1")
        await live.release_lease("a1", "s9")
        await live.touch_session("s1", 60)
        await live.session_seen("s1")
        await live.hit("k", 3, 1)
        await live.exhausted("k", 3, 1)
        await live.publish(Notice(attempt_id="a1", kind="drain"))
        sub = await live.subscribe("a1")
        await sub.close()
        assert await live.ping() is True
    assert state_of(live) == "open"


async def test_open_after_counts_failures_in_a_row(rig: Rig) -> None:
    live = await rig.instance(open_after=3)
    rig.primary.down = True
    assert await live.hit("k", 5, 60) is True
    assert await live.hit("k", 5, 60) is True
    assert state_of(live) == "closed"
    assert live.fallbacks == 2
    rig.primary.down = False
    assert await live.hit("k", 5, 60) is True  # a success resets the count
    rig.primary.down = True
    await live.hit("k", 5, 60)
    await live.hit("k", 5, 60)
    assert state_of(live) == "closed"
    await live.hit("k", 5, 60)
    assert state_of(live) == "open"
    assert live.trips == 1


async def test_a_call_that_hangs_is_a_failure(rig: Rig) -> None:
    live = await rig.instance(call_timeout_s=0.01)
    rig.primary.hang = True
    assert await live.hit("k", 5, 60) is True
    assert state_of(live) == "open"
    assert live.last_error is not None
    assert "TimeoutError" in live.last_error


async def test_a_primary_down_at_start_opens_the_circuit(rig: Rig) -> None:
    rig.primary.down = True
    live = await rig.instance()
    assert state_of(live) == "open"
    assert (await live.acquire_lease("a1", "s1", TTL, force=True)).acquired


async def test_one_probe_after_retry_after_then_closes(rig: Rig, live: ResilientLiveState) -> None:
    rig.primary.down = True
    await live.hit("k", 5, 60)
    assert state_of(live) == "open"
    rig.primary.down = False
    rig.advance(RETRY - 0.1)
    await live.hit("k", 5, 60)
    assert state_of(live) == "open"  # too early: not even probed
    assert rig.primary.calls["ping"] == 0
    rig.advance(0.1)
    await live.hit("k", 5, 60)
    assert rig.primary.calls["ping"] == 1
    assert state_of(live) == "closed"
    assert rig.primary.calls["hit"] >= 1  # that call went to the primary


async def test_a_failed_probe_keeps_it_open_for_another_retry_after(
    rig: Rig, live: ResilientLiveState
) -> None:
    rig.primary.down = True
    await live.hit("k", 5, 60)
    rig.advance(RETRY)
    await live.hit("k", 5, 60)
    assert rig.primary.calls["ping"] == 1
    assert state_of(live) == "open"
    rig.advance(RETRY - 0.5)
    await live.hit("k", 5, 60)
    assert rig.primary.calls["ping"] == 1
    rig.primary.down = False
    rig.advance(0.5)
    await live.hit("k", 5, 60)
    assert rig.primary.calls["ping"] == 2
    assert state_of(live) == "closed"
    assert live.trips == 1


async def test_concurrent_calls_send_one_probe(rig: Rig) -> None:
    live = await rig.instance(call_timeout_s=0.05)
    rig.primary.down = True
    await live.hit("k", 100, 60)
    rig.primary.down = False
    rig.primary.hang = True  # the probe hangs until its timeout
    rig.advance(RETRY)
    probe = asyncio.ensure_future(live.hit("k", 100, 60))
    await settle()
    assert state_of(live) == "half_open"
    # Meanwhile every other call is served at once by the fallback.
    assert await asyncio.gather(*(live.hit("k", 100, 60) for _ in range(5))) == [True] * 5
    assert rig.primary.calls["ping"] == 1
    assert await probe is True
    assert state_of(live) == "open"


async def test_ping_reports_true_and_drives_the_breaker(rig: Rig, live: ResilientLiveState) -> None:
    rig.primary.down = True
    assert await live.ping() is True  # a failed ping opens the circuit...
    assert state_of(live) == "open"
    rig.primary.down = False
    rig.advance(RETRY)
    assert await live.ping() is True  # ...and a ping after retry_after can close it
    assert state_of(live) == "closed"


# -- leases across the switch ------------------------------------------------------------


async def test_leases_are_served_from_the_store_while_open(rig: Rig) -> None:
    one, two = await rig.instance(), await rig.instance()
    assert (await one.acquire_lease("a1", "s1", TTL)).acquired
    rig.primary.down = True
    # The holder renews (its first renewal is refused: the store cannot tell it
    # from a second login; the app takes it back with force after checking the
    # log), then the store holds it, on every instance.
    assert (await one.acquire_lease("a1", "s1", TTL)).acquired is False
    assert (await one.acquire_lease("a1", "s1", TTL, force=True)).acquired
    assert (await rig.store.lease_holder("a1", rig.clock.now())).holder == "s1"
    refused = await two.acquire_lease("a1", "s2", TTL)
    assert refused.acquired is False
    assert refused.holder == "s1"
    assert refused.expires_in == pytest.approx(TTL)
    assert (await two.lease_holder("a1")).holder == "s1"
    rig.advance(5)
    assert (await two.acquire_lease("a1", "s1", TTL)).acquired  # a plain renewal now
    await two.release_lease("a1", "s2")  # not the holder: nothing happens
    assert (await one.lease_holder("a1")).holder == "s1"
    await two.release_lease("a1", "s1")
    assert (await one.lease_holder("a1")).holder is None
    assert state_of(one) == state_of(two) == "open"


async def test_the_first_ttl_of_an_outage_refuses_leases_nobody_is_known_to_hold(
    rig: Rig,
) -> None:
    one, two = await rig.instance(), await rig.instance()
    assert (await one.acquire_lease("a1", "s1", TTL)).acquired  # in the primary only
    rig.primary.down = True
    rig.advance(1)
    # s1 has not heartbeated since the outage began: the store knows nothing,
    # so a second login is refused until every primary lease has lapsed (one
    # TTL after this instance's first failure, and after other instances could
    # learn that it serves from the store: LEARN).
    second = await two.acquire_lease("a1", "s2", TTL)
    assert second.acquired is False
    assert second.holder is None
    assert second.expires_in == pytest.approx(TTL + LEARN)
    rig.advance(3)
    assert (await two.acquire_lease("a1", "s2", TTL)).expires_in == pytest.approx(TTL + LEARN - 3)
    assert (await rig.store.lease_holder("a1", rig.clock.now())).holder is None
    # Forced (an explicit takeover, or the holder after the log vouched for it).
    assert (await two.acquire_lease("a1", "s2", TTL, force=True)).acquired
    # After one TTL (and LEARN) the store is the whole truth.
    await rig.pass_time(TTL + LEARN, two)
    assert (await two.acquire_lease("a9", "s9", TTL)).acquired


async def test_exclusive_across_open_then_closed(rig: Rig) -> None:
    one, two = await rig.instance(), await rig.instance()
    rig.primary.down = True
    assert (await one.acquire_lease("a1", "s1", TTL, force=True)).acquired  # in the store
    await two.hit("k", 5, 60)  # both notice the outage
    await rig.pass_time(TTL + LEARN, one, two)  # past the blind first TTL
    assert (await one.acquire_lease("a1", "s1", TTL)).acquired
    assert (await two.acquire_lease("a2", "s8", TTL)).acquired  # free attempts work

    # The primary comes back (with its data: the marker is still there).
    rig.primary.down = False
    rig.advance(RETRY)
    assert await two.ping()
    assert state_of(two) == "closed"
    assert await one.ping()
    assert state_of(one) == "closed"
    assert one.primary_losses == two.primary_losses == 0
    # The primary does not know s1, but the store does: a second login is refused.
    refused = await two.acquire_lease("a1", "s2", TTL)
    assert refused.acquired is False
    assert refused.holder == "s1"
    assert (await rig.primary.inner.lease_holder("a1")).holder is None  # given back
    assert (await two.lease_holder("a1")).holder == "s1"
    # The holder's renewal goes to both.
    rig.advance(5)
    assert (await two.acquire_lease("a1", "s1", TTL)).acquired
    assert (await rig.primary.inner.lease_holder("a1")).holder == "s1"
    store_lease = await rig.store.lease_holder("a1", rig.clock.now())
    assert store_lease.holder == "s1"
    assert store_lease.expires_in == pytest.approx(TTL)
    # After the window the primary alone decides, and it knows s1.
    rig.advance(TTL + RETRY + 1)
    assert (await one.acquire_lease("a1", "s1", TTL)).acquired
    before = await rig.store.lease_holder("a1", rig.clock.now())
    assert before.holder is None  # renewals no longer written to the store
    assert (await two.acquire_lease("a1", "s2", TTL)).holder == "s1"


async def test_store_leases_of_instances_that_close_later_are_honoured(rig: Rig) -> None:
    """This instance has closed its circuit; another one may still serve from the
    store for up to ``retry_after_s``: what it grants there must block a login
    here, until one TTL after the last such grant could have been made."""
    live = await rig.instance()
    rig.primary.down = True
    await live.hit("k", 5, 60)
    rig.advance(TTL + LEARN)  # past the blind first TTL
    rig.primary.down = False
    assert await live.ping()
    assert state_of(live) == "closed"
    # Another instance, still open, grants a lease in the store.
    rig.advance(RETRY)
    await rig.store.acquire_lease("a2", "s3", TTL, rig.clock.now())
    refused = await live.acquire_lease("a2", "s4", TTL)
    assert refused.acquired is False
    assert refused.holder == "s3"
    assert (await live.lease_holder("a2")).holder == "s3"
    # Once the window (TTL + retry_after_s + call_timeout_s after closing) is
    # over, leases are no longer written to the store (by then every store lease
    # of the outage has lapsed)...
    rig.advance(TTL + 2.0 + 0.1)  # RETRY already passed; 2.0 is the call timeout
    assert (await live.acquire_lease("a4", "s7", TTL)).acquired
    assert (await rig.store.lease_holder("a4", rig.clock.now())).holder is None
    # ...but a fresh lease is still looked up there (one read per login): a
    # store lease of an instance whose circuit is open wins.
    await rig.store.acquire_lease("a3", "s5", TTL, rig.clock.now())
    assert (await live.acquire_lease("a3", "s6", TTL)).holder == "s5"
    assert (await rig.primary.inner.lease_holder("a3")).holder is None


async def test_a_primary_that_lost_its_data_is_detected_by_the_marker(
    rig: Rig, live: ResilientLiveState
) -> None:
    assert (await live.acquire_lease("a1", "s1", TTL)).acquired
    rig.primary.restart()  # between two calls: no call failed
    rig.advance(1.0)  # the marker is checked before the next call
    second = await live.acquire_lease("a1", "s2", TTL)
    assert second.acquired is False
    assert second.holder is None
    assert live.primary_losses == 1
    assert state_of(live) == "closed"
    # The holder gets it back with force (the app does that after checking the
    # log); from then on a second login is refused by the primary.
    assert (await live.acquire_lease("a1", "s1", TTL)).acquired is False
    assert (await live.acquire_lease("a1", "s1", TTL, force=True)).acquired
    refused = await live.acquire_lease("a1", "s2", TTL)
    assert refused.acquired is False
    assert refused.holder == "s1"
    rig.advance(TTL)
    assert (await live.acquire_lease("a2", "s5", TTL)).acquired
    assert live.primary_losses == 1


async def test_a_restart_seen_as_an_outage_is_one_loss(rig: Rig, live: ResilientLiveState) -> None:
    rig.primary.down = True
    await live.hit("k", 5, 60)
    rig.primary.restart()
    rig.advance(RETRY)
    assert await live.ping()
    assert state_of(live) == "closed"
    assert live.primary_losses == 1  # found out right after closing
    await live.ping()
    assert live.primary_losses == 1


async def test_release_goes_to_both_while_the_store_may_hold_the_lease(
    rig: Rig, live: ResilientLiveState
) -> None:
    rig.primary.down = True
    assert (await live.acquire_lease("a1", "s1", TTL, force=True)).acquired
    rig.primary.down = False
    rig.advance(RETRY)
    assert await live.ping()
    assert state_of(live) == "closed"
    await live.release_lease("a1", "s1")
    assert (await rig.store.lease_holder("a1", rig.clock.now())).holder is None
    assert (await live.lease_holder("a1")).holder is None


# -- notices -----------------------------------------------------------------------------


async def test_notices_while_open_reach_local_subscribers_only(rig: Rig) -> None:
    one, two = await rig.instance(), await rig.instance()
    sub_one = await one.subscribe("a1")
    sub_two = await two.subscribe("a1")
    notice = Notice(attempt_id="a1", kind="takeover", data={"session_id": "s1"})
    await one.publish(notice)  # through the primary: both instances
    assert await next_notice(sub_one) == notice
    assert await next_notice(sub_two) == notice
    rig.primary.down = True
    local = Notice(attempt_id="a1", kind="extension", data={"seconds": 60.0})
    await one.publish(local)
    assert await next_notice(sub_one) == local  # no duplicate, no loss here
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(sub_two), 0.05)  # lost across instances
    await sub_one.close()
    await sub_two.close()


async def test_a_subscription_made_while_open_is_attached_to_the_primary_later(
    rig: Rig,
) -> None:
    one, two = await rig.instance(), await rig.instance()
    rig.primary.down = True
    await one.hit("k", 5, 60)
    sub = await one.subscribe("a1")
    rig.primary.down = False
    rig.advance(RETRY)
    assert await one.ping()
    assert state_of(one) == "closed"
    await settle()
    notice = Notice(attempt_id="a1", kind="void")
    await two.publish(notice)  # from the other instance, through the primary
    assert await next_notice(sub) == notice
    await sub.close()


async def test_closing_ends_every_subscription(rig: Rig) -> None:
    live = await rig.instance()
    sub = await live.subscribe("a1")
    rig.primary.down = True
    other = await live.subscribe("a2")
    await live.close()
    rig.made.remove(live)
    assert [n async for n in sub] == []
    assert [n async for n in other] == []
    await sub.close()


# -- the LiveState contract, healthy and in store-only mode ------------------------------


class TestResilientContract(LiveStateContract):
    tolerance = 1e-6

    @pytest.fixture
    async def live(self) -> AsyncIterator[LiveState]:
        self.clock = FakeClock()
        self.primary = FakePrimary(self.clock)
        state = ResilientLiveState(self.primary, MemoryStore(), self.clock)
        await state.open()
        yield state
        await state.close()

    async def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)


class TestResilientContractStoreOnly(LiveStateContract):
    """The same contract with the primary down from the start (and past the
    first TTL of the outage, when the store is the whole truth)."""

    tolerance = 1e-6

    @pytest.fixture
    async def live(self) -> AsyncIterator[LiveState]:
        self.clock = FakeClock()
        self.primary = FakePrimary(self.clock)
        self.primary.down = True
        state = ResilientLiveState(self.primary, MemoryStore(), self.clock)
        await state.open()
        assert state_of(state) == "open"
        for _ in range(int(TTL + LEARN)):  # a readiness probe every second
            self.clock.advance(1.0)
            assert await state.ping()
        yield state
        assert state_of(state) == "open"
        await state.close()

    async def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    async def test_ping(self, live: LiveState) -> None:
        assert await live.ping() is True  # degraded, still serving


# -- two app instances across an outage --------------------------------------------------


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


async def test_two_instances_keep_refusing_a_second_login_across_an_outage(rig: Rig) -> None:
    store = rig.store
    await store.put_quiz(refuse_quiz())
    tokens = JwtTokens("k" * 48, rig.clock)

    async def service() -> SessionService:
        live = await rig.instance()
        quizzes = QuizCache(store)
        executor = AttemptExecutor(store, quizzes, rig.clock, authoritative_cache=False)
        accommodations = Accommodations(store, executor, live, rig.clock)
        return SessionService(
            store, live, tokens, executor, quizzes, rig.clock, accommodations=accommodations
        )

    one, two = await service(), await service()

    async def claims(session_id: str, token: str) -> SessionClaims:
        return await one.authenticate(token, session_id)

    first = await one.open_for_user("u1", "quiz-r")
    c1 = await claims(first.session_id, first.session_token)
    attempt = first.attempt.attempt_id

    async def second_login_refused(service: SessionService) -> None:
        with pytest.raises(DomainError) as info:
            await service.open_for_user("u1", "quiz-r")
        # refused: by the holder's lease, or (in the breaker's safety window, when
        # the holder is not known yet) until the live state can tell
        assert info.value.code in (ErrorCode.SESSION_ACTIVE, ErrorCode.LIVE_RECOVERING)

    await second_login_refused(two)
    rig.primary.down = True
    # During the outage: the second login is refused at once (the store knows
    # nothing yet), then after the holder's heartbeat (on either instance)...
    await second_login_refused(two)
    rig.advance(5)
    await two.heartbeat(c1)
    await second_login_refused(one)
    # ...and after the first TTL of the outage, by the store alone.
    for i in range(4):
        rig.advance(5)
        await (one if i % 2 else two).heartbeat(c1)
        await second_login_refused(two)
    # Redis comes back empty.
    rig.primary.restart()
    rig.advance(RETRY)
    await second_login_refused(one)
    await two.heartbeat(c1)
    await second_login_refused(two)
    for i in range(6):
        rig.advance(5)
        await (one if i % 2 else two).heartbeat(c1)
        await second_login_refused(one if i % 2 else two)
    # The holder logs out: now a new login works.
    await one.logout(c1)
    again = await two.open_for_user("u1", "quiz-r")
    assert again.session_id != first.session_id
    # The log: one session at a time, never superseded.
    kinds = [
        type(r.event).__name__
        for r in await store.read(attempt)
        if isinstance(r.event, SessionOpened | SessionClosed | SessionSuperseded)
    ]
    assert kinds == ["SessionOpened", "SessionClosed", "SessionOpened"]
