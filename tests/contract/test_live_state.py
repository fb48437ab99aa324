"""The LiveState contract, run against every adapter.

``LiveStateContract`` holds the tests; a subclass per adapter overrides the
``live`` fixture (yield an opened LiveState) and ``advance`` (move time: the
memory adapter moves its fake clock, Redis sleeps for real, so Redis tests use
short TTLs and poll with a bounded loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from quizsession.adapters.live.memory import MemoryLiveState
from quizsession.adapters.live.redis import RedisLiveState
from quizsession.adapters.live.sqlite_file import SqliteFileLiveState
from quizsession.app.clock import FakeClock, SystemClock
from quizsession.app.ports import LiveState, LiveStateUnavailable, Notice, Subscription
from testsupport.ci import unavailable
from testsupport.processes import BinaryNotFound
from testsupport.redis_server import RedisServer, find_redis_server, start_redis


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def eventually(
    check: Callable[[], Awaitable[bool]], within: float = 3.0, what: str = "condition"
) -> None:
    """Poll ``check`` until it is true; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() >= deadline:
            pytest.fail(f"{what} not reached within {within}s")
        await asyncio.sleep(0.02)


async def next_notice(it: AsyncIterator[Notice], within: float = 3.0) -> Notice:
    return await asyncio.wait_for(anext(it), within)


class LiveStateContract:
    """Not collected by itself (no ``Test`` prefix)."""

    #: Slack for TTL figures measured by another clock (Redis rounds to ms).
    tolerance = 0.05
    #: What the adapter must declare as ``process_local``.
    process_local: bool = False

    @pytest.fixture
    async def live(self) -> AsyncIterator[LiveState]:
        raise NotImplementedError("a LiveStateContract subclass provides an opened LiveState")

    async def advance(self, seconds: float) -> None:
        raise NotImplementedError

    # -- leases ----------------------------------------------------------------------
    async def test_acquire_free_lease(self, live: LiveState) -> None:
        attempt, s1 = uid("a"), uid("s")
        grant = await live.acquire_lease(attempt, s1, 10.0)
        assert grant.acquired
        assert grant.holder == s1
        assert grant.expires_in == pytest.approx(10.0, abs=self.tolerance)
        holder = await live.lease_holder(attempt)
        assert not holder.acquired
        assert holder.holder == s1
        assert 0 < holder.expires_in <= 10.0

    async def test_free_lease_has_no_holder(self, live: LiveState) -> None:
        holder = await live.lease_holder(uid("a"))
        assert holder.acquired is False
        assert holder.holder is None
        assert holder.expires_in == 0

    async def test_second_session_is_refused_with_holder_and_expiry(self, live: LiveState) -> None:
        attempt, s1, s2 = uid("a"), uid("s"), uid("s")
        await live.acquire_lease(attempt, s1, 10.0)
        grant = await live.acquire_lease(attempt, s2, 10.0)
        assert not grant.acquired
        assert grant.holder == s1
        assert 0 < grant.expires_in <= 10.0
        assert (await live.lease_holder(attempt)).holder == s1

    async def test_same_session_renews(self, live: LiveState) -> None:
        attempt, s1, s2 = uid("a"), uid("s"), uid("s")
        await live.acquire_lease(attempt, s1, 0.6)
        await self.advance(0.3)
        renewed = await live.acquire_lease(attempt, s1, 0.6)
        assert renewed.acquired
        assert renewed.holder == s1
        assert renewed.expires_in == pytest.approx(0.6, abs=self.tolerance)
        await self.advance(0.4)  # past the first TTL, within the renewed one
        refused = await live.acquire_lease(attempt, s2, 0.6)
        assert not refused.acquired
        assert refused.holder == s1

    async def test_force_takes_over(self, live: LiveState) -> None:
        attempt, s1, s2 = uid("a"), uid("s"), uid("s")
        await live.acquire_lease(attempt, s1, 10.0)
        grant = await live.acquire_lease(attempt, s2, 5.0, force=True)
        assert grant.acquired
        assert grant.holder == s2
        assert grant.expires_in == pytest.approx(5.0, abs=self.tolerance)
        old = await live.acquire_lease(attempt, s1, 10.0)
        assert not old.acquired
        assert old.holder == s2

    async def test_release_by_non_holder_is_a_no_op(self, live: LiveState) -> None:
        attempt, s1, s2 = uid("a"), uid("s"), uid("s")
        await live.acquire_lease(attempt, s1, 10.0)
        await live.release_lease(attempt, s2)
        assert (await live.lease_holder(attempt)).holder == s1
        await live.release_lease(uid("a"), s1)  # unknown attempt: nothing happens

    async def test_release_by_holder_frees(self, live: LiveState) -> None:
        attempt, s1, s2 = uid("a"), uid("s"), uid("s")
        await live.acquire_lease(attempt, s1, 10.0)
        await live.release_lease(attempt, s1)
        assert (await live.lease_holder(attempt)).holder is None
        assert (await live.acquire_lease(attempt, s2, 10.0)).acquired

    async def test_lease_lapses_after_ttl(self, live: LiveState) -> None:
        attempt, s1, s2 = uid("a"), uid("s"), uid("s")
        await live.acquire_lease(attempt, s1, 0.3)
        await self.advance(0.35)

        async def free() -> bool:
            return (await live.lease_holder(attempt)).holder is None

        await eventually(free, what="lease lapse")
        grant = await live.acquire_lease(attempt, s2, 10.0)
        assert grant.acquired
        assert grant.holder == s2

    async def test_concurrent_acquirers_of_a_free_lease_one_wins(self, live: LiveState) -> None:
        attempt = uid("a")
        sessions = [uid("s") for _ in range(50)]
        grants = await asyncio.gather(*(live.acquire_lease(attempt, s, 10.0) for s in sessions))
        winners = [g for g in grants if g.acquired]
        assert len(winners) == 1
        winner = winners[0].holder
        assert winner in sessions
        assert all(g.holder == winner for g in grants)
        assert (await live.lease_holder(attempt)).holder == winner

    # -- sessions --------------------------------------------------------------------
    async def test_unknown_session_has_no_record(self, live: LiveState) -> None:
        assert await live.session_seen(uid("s")) is None

    async def test_touch_then_seen_then_lapsed(self, live: LiveState) -> None:
        session = uid("s")
        await live.touch_session(session, 0.3)
        assert await live.session_seen(session) is True
        await self.advance(0.35)

        async def lapsed() -> bool:
            return await live.session_seen(session) is False

        await eventually(lapsed, what="session lapse")
        await live.touch_session(session, 10.0)
        assert await live.session_seen(session) is True

    async def test_a_lease_renewal_records_the_activity_in_the_same_call(
        self, live: LiveState
    ) -> None:
        """A heartbeat's one call: the lease and, once it is acquired, the
        session's activity (``activity_ttl_s``); a refused session is not
        recorded."""
        attempt, s1, s2 = uid("a"), uid("s"), uid("s")
        grant = await live.acquire_lease(attempt, s1, 10.0, activity_ttl_s=10.0)
        assert grant.acquired
        assert await live.session_seen(s1) is True
        refused = await live.acquire_lease(attempt, s2, 10.0, activity_ttl_s=10.0)
        assert not refused.acquired
        assert await live.session_seen(s2) is None
        assert (await live.acquire_lease(attempt, s1, 10.0)).acquired  # none asked
        assert await live.session_seen(s1) is True

    # -- notices ---------------------------------------------------------------------
    async def test_continuity_holds_while_notices_flow(self, live: LiveState) -> None:
        attempt = uid("a")
        sub = await live.subscribe(attempt)
        before = sub.continuity
        notice = Notice(attempt_id=attempt, kind="changed")
        await live.publish(notice)
        assert await next_notice(aiter(sub)) == notice
        assert sub.continuity == before
        await sub.close()

    async def test_publish_reaches_subscribers_of_that_attempt_only(self, live: LiveState) -> None:
        a, b = uid("a"), uid("a")
        sub_a1 = await live.subscribe(a)
        sub_a2 = await live.subscribe(a)
        sub_b = await live.subscribe(b)
        it_a1, it_a2, it_b = aiter(sub_a1), aiter(sub_a2), aiter(sub_b)
        notice = Notice(attempt_id=a, kind="takeover", data={"by": "s2", "n": 1})
        await live.publish(notice)
        assert await next_notice(it_a1) == notice
        assert await next_notice(it_a2) == notice
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(it_b), 0.2)
        # The iterator survives a reader's timeout.
        other = Notice(attempt_id=b, kind="void")
        await live.publish(other)
        assert await next_notice(it_b) == other
        # One subscriber leaving does not stop delivery to the other.
        await sub_a1.close()
        second = Notice(attempt_id=a, kind="extension", data={"seconds": 60.0})
        await live.publish(second)
        assert await next_notice(it_a2) == second
        await sub_a2.close()
        await sub_b.close()

    async def test_many_subscribing_at_once_each_get_their_notices(self, live: LiveState) -> None:
        """A storm of sockets subscribing together (batched into few SUBSCRIBEs
        where the backend can): each subscription, once returned, gets the
        notices of its own attempt, and of none other."""
        attempts = [uid("a") for _ in range(300)]
        subs = await asyncio.gather(*(live.subscribe(a) for a in attempts))
        again = await live.subscribe(attempts[0])  # a second subscriber of one
        for attempt in attempts:
            await live.publish(Notice(attempt_id=attempt, kind="extension", data={"a": attempt}))
        for attempt, sub in zip(attempts, subs, strict=True):
            got = await next_notice(aiter(sub))
            assert got.attempt_id == attempt
            assert got.data == {"a": attempt}
        assert (await next_notice(aiter(again))).attempt_id == attempts[0]
        await asyncio.gather(*(sub.close() for sub in [*subs, again]))

    async def test_publish_without_subscribers(self, live: LiveState) -> None:
        await live.publish(Notice(attempt_id=uid("a"), kind="drain"))

    async def test_close_ends_iteration(self, live: LiveState) -> None:
        attempt = uid("a")
        sub = await live.subscribe(attempt)
        received: list[Notice] = []

        async def consume(s: Subscription) -> None:
            async for n in s:
                received.append(n)

        task = asyncio.create_task(consume(sub))
        await live.publish(Notice(attempt_id=attempt, kind="end_of_test"))

        async def got_one() -> bool:
            return len(received) == 1

        await eventually(got_one, what="delivery")
        await sub.close()
        await asyncio.wait_for(task, 3.0)
        assert [n.kind for n in received] == ["end_of_test"]
        await sub.close()  # closing twice is harmless

    async def test_close_ends_iteration_of_a_subscriber_that_stopped_reading(
        self, live: LiveState
    ) -> None:
        attempt = uid("a")
        sub = await live.subscribe(attempt)
        for i in range(300):
            await live.publish(Notice(attempt_id=attempt, kind="extension", data={"i": i}))
        await asyncio.sleep(0.3)  # let a remote backend deliver (and overflow)
        await sub.close()

        async def drain() -> int:
            return sum([1 async for _ in sub])

        count = await asyncio.wait_for(drain(), 5.0)
        assert 0 < count <= 300

    async def test_closing_the_live_state_ends_subscriptions(self, live: LiveState) -> None:
        sub = await live.subscribe(uid("a"))

        async def drain() -> int:
            return sum([1 async for _ in sub])

        task = asyncio.create_task(drain())
        await asyncio.sleep(0)
        await live.close()
        assert await asyncio.wait_for(task, 3.0) == 0

    # -- rate limits -----------------------------------------------------------------
    async def test_rate_limit_allows_limit_then_refuses_within_window(
        self, live: LiveState
    ) -> None:
        key, other = uid("k"), uid("k")
        assert [await live.hit(key, 3, 1) for _ in range(3)] == [True, True, True]
        assert await live.hit(key, 3, 1) is False
        assert await live.hit(key, 3, 1) is False
        assert await live.hit(other, 3, 1) is True
        await self.advance(1.05)
        assert await live.hit(key, 3, 1) is True

    async def test_ping(self, live: LiveState) -> None:
        assert await live.ping() is True

    # -- mode ------------------------------------------------------------------------
    async def test_declares_whether_it_is_local_to_the_process(self, live: LiveState) -> None:
        """The composition root decides from this whether the app may use it as its
        per-process live state (``bootstrap.build``); nothing may guess it."""
        assert live.process_local is self.process_local


class TestMemoryLiveState(LiveStateContract):
    tolerance = 1e-9
    process_local = True

    @pytest.fixture
    async def live(self) -> AsyncIterator[LiveState]:
        self.clock = FakeClock()
        state = MemoryLiveState(self.clock)
        await state.open()
        yield state
        await state.close()

    async def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)


class TestSqliteFileLiveState(LiveStateContract):
    """The live state the worker processes of one machine share (``serve
    --workers N`` without Redis): a fake clock moves its time too (every process
    reads the same monotonic clock)."""

    tolerance = 1e-9

    @pytest.fixture
    async def live(self, tmp_path: Path) -> AsyncIterator[LiveState]:
        self.clock = FakeClock()
        state = SqliteFileLiveState(str(tmp_path / "live.db"), self.clock, poll_s=0.01)
        await state.open()
        yield state
        await state.close()

    async def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @pytest.fixture
    async def pair(
        self, tmp_path: Path
    ) -> AsyncIterator[tuple[SqliteFileLiveState, SqliteFileLiveState]]:
        """Two opened on one file, as two worker processes."""
        clock = FakeClock()
        path = str(tmp_path / "shared.db")
        one = SqliteFileLiveState(path, clock, poll_s=0.01)
        two = SqliteFileLiveState(path, clock, poll_s=0.01)
        await one.open()
        await two.open()
        try:
            yield one, two
        finally:
            await one.close()
            await two.close()

    async def test_processes_share_leases_limits_and_notices(
        self, pair: tuple[SqliteFileLiveState, SqliteFileLiveState]
    ) -> None:
        """Two opened on one file (as two worker processes): one lease, one
        count per key, and a notice published by one reaches the other's
        subscribers."""
        one, two = pair
        attempt, s1, s2 = uid("a"), uid("s"), uid("s")
        assert (await one.acquire_lease(attempt, s1, 10.0)).acquired
        refused = await two.acquire_lease(attempt, s2, 10.0)
        assert not refused.acquired
        assert refused.holder == s1
        assert (await two.lease_holder(attempt)).holder == s1
        key = uid("k")
        assert await one.hit(key, 1, 60) is True
        assert await two.hit(key, 1, 60) is False
        assert await two.exhausted(key, 1, 60) is True
        await one.touch_session(s1, 10.0)
        assert await two.session_seen(s1) is True
        sub_one, sub_two = await one.subscribe(attempt), await two.subscribe(attempt)
        notice = Notice(attempt_id=attempt, kind="takeover", data={"by": s2})
        await two.publish(notice)
        assert await next_notice(aiter(sub_one)) == notice
        assert await next_notice(aiter(sub_two)) == notice  # at once, and only once
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(aiter(sub_two)), 0.1)
        await sub_one.close()
        await sub_two.close()

    async def test_a_process_without_subscribers_does_not_poll_and_resumes_from_now(
        self, pair: tuple[SqliteFileLiveState, SqliteFileLiveState]
    ) -> None:
        """A process with no subscriber reads no notices; its first subscriber
        gets the notices published from then on, never the older ones."""
        one, two = pair
        attempt = uid("a")
        before = Notice(attempt_id=attempt, kind="takeover", data={"by": "before"})
        await two.publish(before)
        await asyncio.sleep(0.05)  # several poll intervals: nobody reads it
        sub = await one.subscribe(attempt)
        after = Notice(attempt_id=attempt, kind="takeover", data={"by": "after"})
        await two.publish(after)
        assert await next_notice(aiter(sub)) == after
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(aiter(sub)), 0.1)
        await sub.close()


@pytest.mark.redis
class TestRedisLiveState(LiveStateContract):
    @pytest.fixture
    async def live(self, redis_server: RedisServer) -> AsyncIterator[LiveState]:
        state = RedisLiveState(redis_server.url, SystemClock())
        await state.open()
        yield state
        await state.close()

    async def advance(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def test_instances_share_leases_and_notices(self, redis_server: RedisServer) -> None:
        one = RedisLiveState(redis_server.url, SystemClock())
        two = RedisLiveState(redis_server.url, SystemClock())
        await one.open()
        await two.open()
        try:
            attempt, s1, s2 = uid("a"), uid("s"), uid("s")
            assert (await one.acquire_lease(attempt, s1, 10.0)).acquired
            refused = await two.acquire_lease(attempt, s2, 10.0)
            assert not refused.acquired
            assert refused.holder == s1
            sub = await one.subscribe(attempt)
            notice = Notice(attempt_id=attempt, kind="takeover", data={"by": s2})
            await two.publish(notice)
            assert await next_notice(aiter(sub)) == notice
            await sub.close()
        finally:
            await one.close()
            await two.close()

    async def test_a_lost_notice_connection_changes_the_continuity(
        self, redis_server: RedisServer
    ) -> None:
        """Notices published while the pub/sub connection is lost are lost: the
        subscription's continuity says so (None until Redis confirms the
        resubscription, then another number), and notices flow again."""
        state = RedisLiveState(redis_server.url, SystemClock())
        await state.open()
        admin = Redis.from_url(redis_server.url)
        try:
            attempt = uid("a")
            sub = await state.subscribe(attempt)
            before = sub.continuity
            assert before is not None
            await admin.client_kill_filter(_type="pubsub")

            async def back() -> bool:
                now = sub.continuity
                return now is not None and now != before

            await eventually(back, within=10.0, what="continuity after the reconnect")
            notice = Notice(attempt_id=attempt, kind="changed")
            await state.publish(notice)
            assert await next_notice(aiter(sub)) == notice
            await sub.close()
        finally:
            await admin.aclose()
            await state.close()

    async def test_a_subscription_given_up_while_waiting_is_not_left_behind(
        self, redis_server: RedisServer
    ) -> None:
        """A caller that stops waiting for its SUBSCRIBE (the breaker's call
        timeout) leaves no channel subscribed once the batch is through, and the
        others of the batch are not failed by it."""
        live = RedisLiveState(redis_server.url, SystemClock())
        await live.open()
        try:
            gone, kept = uid("a"), uid("a")
            waiting = asyncio.create_task(live.subscribe(gone))
            await asyncio.sleep(0)  # queued for the next SUBSCRIBE
            waiting.cancel()
            sub = await live.subscribe(kept)
            with contextlib.suppress(asyncio.CancelledError):
                await waiting
            probe = Redis.from_url(redis_server.url)
            try:

                async def unsubscribed() -> bool:
                    found = await probe.pubsub_numsub(live._notices.channel(gone))
                    return bool(found[0][1] == 0)

                await eventually(unsubscribed, what="the given-up channel unsubscribed")
            finally:
                await probe.aclose()
            notice = Notice(attempt_id=kept, kind="void")
            await live.publish(notice)
            assert await next_notice(aiter(sub)) == notice
            await sub.close()
        finally:
            await live.close()

    @pytest.fixture
    def private_redis(self, tmp_path: Path) -> Iterator[RedisServer]:
        """A server of this test's own, to kill without disturbing the others."""
        try:
            find_redis_server()
        except BinaryNotFound as exc:
            unavailable(str(exc))
        server = start_redis(tmp_path)
        try:
            yield server
        finally:
            server.destroy()

    async def test_outage_raises_live_state_unavailable_then_recovers(
        self, private_redis: RedisServer
    ) -> None:
        live = RedisLiveState(private_redis.url, SystemClock(), socket_timeout_s=1.0)
        await live.open()
        try:
            attempt = uid("a")
            sub = await live.subscribe(attempt)
            it = aiter(sub)
            private_redis.kill()
            assert await live.ping() is False
            with pytest.raises(LiveStateUnavailable):
                await live.acquire_lease(attempt, uid("s"), 10.0)
            with pytest.raises(LiveStateUnavailable):
                await live.release_lease(attempt, uid("s"))
            with pytest.raises(LiveStateUnavailable):
                await live.lease_holder(attempt)
            with pytest.raises(LiveStateUnavailable):
                await live.touch_session(uid("s"), 10.0)
            with pytest.raises(LiveStateUnavailable):
                await live.session_seen(uid("s"))
            with pytest.raises(LiveStateUnavailable):
                await live.publish(Notice(attempt_id=attempt, kind="drain"))
            with pytest.raises(LiveStateUnavailable):
                await live.hit(uid("k"), 3, 1)
            with pytest.raises(LiveStateUnavailable):
                await live.subscribe(uid("a"))

            await asyncio.to_thread(private_redis.restart)

            await eventually(live.ping, what="ping after restart")
            assert (await live.acquire_lease(attempt, uid("s"), 10.0)).acquired
            assert await live.hit(uid("k"), 3, 1) is True
            # The existing subscription resubscribes by itself; publish until a
            # notice gets through (those sent before it resubscribed are lost).
            # A reader that timed out can read again (the iterator survives).
            notice = Notice(attempt_id=attempt, kind="unlock")
            deadline = time.monotonic() + 10.0
            while True:
                await live.publish(notice)
                try:
                    assert await next_notice(it, 0.2) == notice
                    break
                except TimeoutError:
                    if time.monotonic() >= deadline:
                        pytest.fail("subscription did not recover after the Redis restart")
            await sub.close()
            with pytest.raises(StopAsyncIteration):
                await next_notice(it)
        finally:
            await live.close()
