"""The live channel's one tick timer (``TickSchedule``) and the memory live
state's per-socket parts (a subscription that holds no queue while idle, a
sweep whose cost does not grow with the number of live sessions).

The schedule runs on the real event loop with short periods (tens of ms); the
assertions leave a wide margin for a busy machine."""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging

import pytest

from quizsession.adapters.live.memory import _SWEEP_EVERY, MemoryLiveState, MemorySubscription
from quizsession.app.clock import FakeClock
from quizsession.app.live import LiveHub, Tick, Ticking, TickSchedule
from quizsession.app.ports import Notice

PERIOD = 0.05
REQUEST: contextvars.ContextVar[str] = contextvars.ContextVar("REQUEST", default="-")


async def test_ticks_come_every_period_the_first_after_one_period() -> None:
    schedule = TickSchedule()
    times: list[float] = []

    async def tick() -> None:
        times.append(asyncio.get_running_loop().time())

    began = asyncio.get_running_loop().time()
    ticking = schedule.add(PERIOD, tick)
    await asyncio.sleep(PERIOD * 6.5)
    ticking.cancel()
    assert 4 <= len(times) <= 7, times
    assert times[0] - began >= PERIOD - 0.002 - TickSchedule.SLACK_S
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap > PERIOD / 2 for gap in gaps), gaps


async def test_many_sockets_tick_from_one_timer_and_each_keeps_its_period() -> None:
    schedule = TickSchedule()
    counts = [0] * 200

    def make(i: int) -> Tick:
        async def tick() -> None:
            counts[i] += 1

        return tick

    tickings = []
    for i in range(200):
        tickings.append(schedule.add(PERIOD, make(i)))
        if i % 50 == 0:
            await asyncio.sleep(PERIOD / 5)  # different phases
    assert len(schedule) == 200
    await asyncio.sleep(PERIOD * 5)
    for ticking in tickings:
        ticking.cancel()
    assert len(schedule) == 0
    assert min(counts) >= 2, counts
    assert max(counts) <= 7, counts


async def test_cancel_stops_the_ticks_and_cancels_one_under_way() -> None:
    schedule = TickSchedule()
    started = asyncio.Event()
    finished: list[bool] = []

    async def slow() -> None:
        started.set()
        try:
            await asyncio.sleep(10)
        finally:
            finished.append(True)

    ticking = schedule.add(PERIOD, slow)
    await asyncio.wait_for(started.wait(), 5)
    ticking.cancel()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert finished == [True]
    started.clear()
    await asyncio.sleep(PERIOD * 3)
    assert not started.is_set()


async def test_a_slow_tick_skips_its_next_and_does_not_hold_up_the_others() -> None:
    schedule = TickSchedule()
    slow_calls = 0
    fast_times: list[float] = []

    async def slow() -> None:
        nonlocal slow_calls
        slow_calls += 1
        await asyncio.sleep(PERIOD * 3.5)

    async def fast() -> None:
        fast_times.append(asyncio.get_running_loop().time())

    a = schedule.add(PERIOD, slow)
    b = schedule.add(PERIOD, fast)
    await asyncio.sleep(PERIOD * 8.5)
    a.cancel()
    b.cancel()
    assert 1 <= slow_calls <= 3, slow_calls  # never two at once
    assert len(fast_times) >= 5, fast_times


async def test_an_escaping_error_is_logged_and_ticking_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    schedule = TickSchedule()
    calls = 0

    async def failing() -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="quizsession.app.live"):
        ticking = schedule.add(PERIOD, failing)
        await asyncio.sleep(PERIOD * 4.5)
        ticking.cancel()
    assert calls >= 2
    assert "a live tick failed" in caplog.text


async def test_after_a_stall_ticks_resume_at_their_pace_without_a_burst() -> None:
    schedule = TickSchedule()
    times: list[float] = []

    async def tick() -> None:
        times.append(asyncio.get_running_loop().time())

    ticking = schedule.add(PERIOD, tick)
    await asyncio.sleep(PERIOD * 1.5)
    before = len(times)
    stall_end = asyncio.get_running_loop().time() + PERIOD * 6
    while asyncio.get_running_loop().time() < stall_end:
        pass  # the loop is blocked: six periods go by without a tick
    await asyncio.sleep(PERIOD * 0.5)
    assert len(times) - before <= 1  # one tick after the stall, not six
    ticking.cancel()


async def test_each_socket_ticks_in_its_own_context() -> None:
    """A tick logs with its socket's request id, whoever armed the timer."""
    schedule = TickSchedule()
    seen: dict[str, set[str]] = {"a": set(), "b": set()}

    async def add(name: str) -> Ticking:
        REQUEST.set(name)

        async def tick() -> None:
            seen[name].add(REQUEST.get())

        return schedule.add(PERIOD, tick)

    a = await asyncio.create_task(add("a"))
    b = await asyncio.create_task(add("b"))
    await asyncio.sleep(PERIOD * 3.5)
    a.cancel()
    b.cancel()
    assert seen == {"a": {"a"}, "b": {"b"}}


def test_a_period_must_be_positive() -> None:
    async def tick() -> None:
        return None

    async def main() -> None:
        with pytest.raises(ValueError, match="period"):
            TickSchedule().add(0, tick)

    asyncio.run(main())


def test_a_hub_reused_on_another_loop_starts_its_schedule_afresh() -> None:
    hub = LiveHub()
    ticks: list[int] = []

    async def tick() -> None:
        ticks.append(1)

    async def run(cancel: bool) -> None:
        ticking = hub.ticks.add(PERIOD, tick)
        await asyncio.sleep(PERIOD * 2.5)
        if cancel:
            ticking.cancel()

    asyncio.run(run(cancel=False))  # left scheduled on a loop that is gone
    first = len(ticks)
    assert first >= 1
    asyncio.run(run(cancel=True))
    assert len(ticks) > first
    assert len(hub.ticks) == 0


# -- the memory live state's per-socket parts -------------------------------------------


async def test_an_idle_subscription_holds_no_queue() -> None:
    live = MemoryLiveState(FakeClock())
    sub = await live.subscribe("a_1")
    assert isinstance(sub, MemorySubscription)
    assert not hasattr(sub, "__dict__")
    assert sub._notices is None
    await live.publish(Notice(attempt_id="a_1", kind="extension", data={"seconds": 5.0}))
    notice = await asyncio.wait_for(anext(aiter(sub)), 1)
    assert notice.kind == "extension"
    await sub.close()


async def test_two_readers_of_one_subscription_each_get_a_notice_and_both_end() -> None:
    live = MemoryLiveState(FakeClock())
    sub = await live.subscribe("a_1")
    it = aiter(sub)
    first, second = asyncio.create_task(anext(it)), asyncio.create_task(anext(it))
    await asyncio.sleep(0)
    await live.publish(Notice(attempt_id="a_1", kind="extension"))
    await live.publish(Notice(attempt_id="a_1", kind="void"))
    kinds = {(await asyncio.wait_for(t, 1)).kind for t in (first, second)}
    assert kinds == {"extension", "void"}
    third = asyncio.create_task(anext(it))
    await asyncio.sleep(0)
    await sub.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(third, 1)


async def test_stale_records_are_swept_however_many_there_are() -> None:
    """Each operation adds a record that lapses at once (a rate-limit window
    under a new key): the sweep must still come, and leave only the live."""
    clock = FakeClock()
    live = MemoryLiveState(clock)
    for i in range(3000):
        await live.acquire_lease(f"a_{i}", f"s_{i}", 1000.0)  # live throughout
    for i in range(5 * _SWEEP_EVERY + 6000):
        await live.hit(f"k_{i}", 10, 1)
        clock.advance(0.01)
    assert len(live._hits) < 3000 + 2 * _SWEEP_EVERY + 200
    assert len(live._leases) == 3000
