"""The live channel's one tick timer (``TickSchedule``) and the memory live
state's per-socket parts (a subscription that holds no queue while idle, a
sweep whose cost does not grow with the number of live sessions).

The schedule reads the time and sets its timer through a ``FakeTimer``: time
moves only when a test advances it (nothing waits in real time), and each timer
due on the way fires in order, with the ticks it starts run before time moves
on."""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from quizsession.adapters.live.memory import _SWEEP_EVERY, MemoryLiveState, MemorySubscription
from quizsession.app.clock import FakeClock
from quizsession.app.live import LiveHub, Tick, Ticking, TickSchedule
from quizsession.app.ports import Notice

PERIOD = 0.05
REQUEST: contextvars.ContextVar[str] = contextvars.ContextVar("REQUEST", default="-")
SETTLE_TURNS = 10  # loop turns for the ticks a timer started to run to their end (or await)


@dataclass(eq=False)
class FakeHandle:
    when: float
    order: int
    callback: Callable[[], object]
    loop: asyncio.AbstractEventLoop
    cancelled: bool = field(default=False)

    def cancel(self) -> None:
        self.cancelled = True


class FakeTimer:
    """The event loop's ``time()`` and ``call_at()`` for a ``TickSchedule``, on
    fake time. A timer fires only on the loop that set it (one set on a loop
    that is gone never fires, as on a real loop)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._handles: list[FakeHandle] = []
        self._order = itertools.count()

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], object]) -> FakeHandle:
        handle = FakeHandle(when, next(self._order), callback, asyncio.get_running_loop())
        self._handles.append(handle)
        return handle

    async def advance(self, seconds: float) -> None:
        """Move time on by ``seconds``: each timer due on the way fires at its
        time, in order, and what it started runs before time moves on."""
        end = self.now + seconds
        loop = asyncio.get_running_loop()
        while True:
            due = [h for h in self._handles if not h.cancelled and h.loop is loop and h.when <= end]
            if not due:
                break
            handle = min(due, key=lambda h: (h.when, h.order))
            self._handles.remove(handle)
            self.now = max(self.now, handle.when)
            handle.callback()
            await settle()
        self.now = end
        await settle()

    def stall(self, seconds: float) -> None:
        """Time goes by while the loop is blocked: no timer fires meanwhile."""
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep`` on fake time (for a slow tick)."""
        woken = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not woken.done():
                woken.set_result(None)

        self.call_at(self.now + seconds, wake)
        await woken


async def settle() -> None:
    for _ in range(SETTLE_TURNS):
        await asyncio.sleep(0)


async def test_ticks_come_every_period_the_first_after_one_period() -> None:
    timer = FakeTimer()
    schedule = TickSchedule(timer)
    times: list[float] = []

    async def tick() -> None:
        times.append(timer.time())

    began = timer.time()
    ticking = schedule.add(PERIOD, tick)
    await timer.advance(PERIOD * 6.5)
    ticking.cancel()
    assert 4 <= len(times) <= 7, times
    assert len(times) == 6, times
    assert times[0] - began >= PERIOD - 0.002 - TickSchedule.SLACK_S
    assert times[0] - began == pytest.approx(PERIOD)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap > PERIOD / 2 for gap in gaps), gaps
    assert gaps == pytest.approx([PERIOD] * 5), gaps


async def test_many_sockets_tick_from_one_timer_and_each_keeps_its_period() -> None:
    timer = FakeTimer()
    schedule = TickSchedule(timer)
    counts = [0] * 200

    def make(i: int) -> Tick:
        async def tick() -> None:
            counts[i] += 1

        return tick

    tickings = []
    for i in range(200):
        tickings.append(schedule.add(PERIOD, make(i)))
        if i % 50 == 0:
            await timer.advance(PERIOD / 5)  # different phases
    assert len(schedule) == 200
    await timer.advance(PERIOD * 5.1)
    for ticking in tickings:
        ticking.cancel()
    assert len(schedule) == 0
    assert min(counts) >= 2, counts
    assert max(counts) <= 7, counts
    assert set(counts) == {5}, counts  # five periods each, whatever its phase


async def test_cancel_stops_the_ticks_and_cancels_one_under_way() -> None:
    timer = FakeTimer()
    schedule = TickSchedule(timer)
    started = asyncio.Event()
    finished: list[bool] = []

    async def slow() -> None:
        started.set()
        try:
            await timer.sleep(10)
        finally:
            finished.append(True)

    ticking = schedule.add(PERIOD, slow)
    await timer.advance(PERIOD)
    await asyncio.wait_for(started.wait(), 5)  # the timeout is only a failsafe
    ticking.cancel()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert finished == [True]
    started.clear()
    await timer.advance(PERIOD * 3)
    assert not started.is_set()


async def test_a_slow_tick_skips_its_next_and_does_not_hold_up_the_others() -> None:
    timer = FakeTimer()
    schedule = TickSchedule(timer)
    slow_calls = 0
    slow_running = 0
    fast_times: list[float] = []

    async def slow() -> None:
        nonlocal slow_calls, slow_running
        slow_calls += 1
        slow_running += 1
        assert slow_running == 1  # never two at once
        try:
            await timer.sleep(PERIOD * 3.5)
        finally:
            slow_running -= 1

    async def fast() -> None:
        fast_times.append(timer.time())

    a = schedule.add(PERIOD, slow)
    b = schedule.add(PERIOD, fast)
    await timer.advance(PERIOD * 8.5)
    a.cancel()
    b.cancel()
    assert 1 <= slow_calls <= 3, slow_calls  # never two at once
    assert slow_calls == 2, slow_calls  # at 1 and 5 periods; 2, 3 and 4 skipped
    assert len(fast_times) >= 5, fast_times
    assert len(fast_times) == 8, fast_times


async def test_an_escaping_error_is_logged_and_ticking_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    timer = FakeTimer()
    schedule = TickSchedule(timer)
    calls = 0

    async def failing() -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="quizsession.app.live"):
        ticking = schedule.add(PERIOD, failing)
        await timer.advance(PERIOD * 4.5)
        ticking.cancel()
    assert calls >= 2
    assert calls == 4
    assert "a live tick failed" in caplog.text


async def test_after_a_stall_ticks_resume_at_their_pace_without_a_burst() -> None:
    timer = FakeTimer()
    schedule = TickSchedule(timer)
    times: list[float] = []

    async def tick() -> None:
        times.append(timer.time())

    ticking = schedule.add(PERIOD, tick)
    await timer.advance(PERIOD * 1.5)
    before = len(times)
    timer.stall(PERIOD * 6)  # the loop is blocked: six periods go by without a tick
    await timer.advance(PERIOD * 0.5)
    assert len(times) - before <= 1  # one tick after the stall, not six
    assert len(times) - before == 1
    stall_tick = times[-1]
    await timer.advance(PERIOD * 2)
    assert len(times) - before == 3  # then at its pace again
    assert [t - stall_tick for t in times[-2:]] == pytest.approx([PERIOD, 2 * PERIOD])
    ticking.cancel()


async def test_each_socket_ticks_in_its_own_context() -> None:
    """A tick logs with its socket's request id, whoever armed the timer."""
    timer = FakeTimer()
    schedule = TickSchedule(timer)
    seen: dict[str, set[str]] = {"a": set(), "b": set()}

    async def add(name: str) -> Ticking:
        REQUEST.set(name)

        async def tick() -> None:
            seen[name].add(REQUEST.get())

        return schedule.add(PERIOD, tick)

    a = await asyncio.create_task(add("a"))
    b = await asyncio.create_task(add("b"))
    await timer.advance(PERIOD * 3.5)
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
    timer = FakeTimer()
    hub = LiveHub(TickSchedule(timer))
    ticks: list[int] = []

    async def tick() -> None:
        ticks.append(1)

    async def run(cancel: bool) -> None:
        ticking = hub.ticks.add(PERIOD, tick)
        await timer.advance(PERIOD * 2.5)
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
