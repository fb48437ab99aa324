"""The live channel's use cases, independent of the transport: which sockets this
instance holds (so a drain can tell each of them to reconnect elsewhere), their
ticks (one timer for all of them), and the messages a live session sends and
receives.

Messages (JSON objects with a ``type``):
- client -> server: ``auth`` {token} (first message), ``ping`` {question_id,
  sent_at}.
- server -> client: ``welcome`` {attempt}, ``tick`` {server_time,
  time_remaining_s, deadline} every heartbeat, ``pong`` {echo, server_time,
  session_token}, and the notices ``takeover``, ``extension``, ``end_of_test``,
  ``void``, ``unlock``, ``drain``; ``error`` {code, detail} before a close.
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

Sender = Callable[[dict[str, object]], Awaitable[None]]
Tick = Callable[[], Awaitable[None]]

log = logging.getLogger(__name__)

# WebSocket close codes (4000-4999 are the application's own).
CLOSE_AUTH = 4401  # no or bad token in the first message
CLOSE_SUPERSEDED = 4409  # another session took over
CLOSE_ENDED = 4410  # the attempt ended or the session was closed
CLOSE_FLOOD = 4429  # too many messages
CLOSE_ORIGIN = 4403  # foreign Origin
CLOSE_DRAIN = 1012  # service restart: reconnect (to another instance)


@dataclass(eq=False)
class LiveConnection:
    session_id: str
    attempt_id: str
    send: Sender
    close: Callable[[int, str], Awaitable[None]]


async def _no_tick() -> None:
    return None


class Ticking:
    """One socket's place in a ``TickSchedule``: ``cancel()`` when it closes.
    Its ticks run in the context it was added from (the socket's request id)."""

    __slots__ = ("cancelled", "context", "due", "every", "running", "tick")

    def __init__(self, every: float, tick: Tick, due: float) -> None:
        self.every = every
        self.tick = tick
        self.due = due
        self.context = contextvars.copy_context()
        self.running: asyncio.Task[None] | None = None
        self.cancelled = False

    def cancel(self) -> None:
        """No more ticks; a tick under way is cancelled. (The schedule forgets
        it by its next due time; what the tick refers to is let go now.)"""
        self.cancelled = True
        self.tick = _no_tick
        if self.running is not None:
            self.running.cancel()
            self.running = None


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class TickTimer(Protocol):
    """Where a ``TickSchedule`` reads the time and sets its one timer: the
    running event loop unless one is given (tests give a fake that moves only
    when told)."""

    def time(self) -> float: ...

    def call_at(self, when: float, callback: Callable[[], object], /) -> TimerHandle: ...


class TickSchedule:
    """Every live socket's ticks from one timer of the event loop, rather than a
    task sleeping per socket (a task, its coroutines, a future and a timer held
    for the socket's whole life).

    ``add(every, tick)`` calls ``tick()`` every ``every`` seconds (the first
    after ``every``) until the returned ``Ticking`` is cancelled. When several
    are due the timer starts them all (each as a short task: a tick may wait on
    the store or a slow socket), so one slow tick does not hold up the others;
    a socket whose previous tick is still under way skips one. After a stall
    the ticks resume at their pace: missed ones are not caught up in a burst.
    ``tick`` owns its errors; one that escapes is logged and ticking goes on.
    One event loop at a time: the schedule starts afresh on another loop."""

    #: Ticks due within this many seconds of each other start together.
    SLACK_S = 0.005

    def __init__(self, timer: TickTimer | None = None) -> None:
        self._given_timer = timer
        self._clock: TickTimer | None = None
        self._heap: list[tuple[float, int, Ticking]] = []
        self._order = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: TimerHandle | None = None
        self._timer_at = float("inf")

    def __len__(self) -> int:
        return sum(1 for _, _, t in self._heap if not t.cancelled)

    def add(self, every: float, tick: Tick) -> Ticking:
        if every <= 0:
            raise ValueError(f"tick period must be > 0 (got {every})")
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            if self._timer is not None:
                self._timer.cancel()
            self._heap.clear()
            self._loop, self._timer, self._timer_at = loop, None, float("inf")
            self._clock = loop if self._given_timer is None else self._given_timer
        assert self._clock is not None
        ticking = Ticking(every, tick, self._clock.time() + every)
        self._push(ticking)
        self._arm()
        return ticking

    def _push(self, ticking: Ticking) -> None:
        heapq.heappush(self._heap, (ticking.due, next(self._order), ticking))

    def _arm(self) -> None:
        heap, clock = self._heap, self._clock
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        if not heap or clock is None:
            if self._timer is not None:
                self._timer.cancel()
            self._timer, self._timer_at = None, float("inf")
            return
        due = heap[0][0]
        if self._timer is not None and self._timer_at <= due:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = clock.call_at(due, self._fire), due

    def _fire(self) -> None:
        self._timer, self._timer_at = None, float("inf")
        loop, clock = self._loop, self._clock
        assert loop is not None
        assert clock is not None
        now = clock.time()
        heap = self._heap
        while heap and heap[0][0] <= now + self.SLACK_S:
            _, _, ticking = heapq.heappop(heap)
            if ticking.cancelled:
                continue
            if ticking.running is None:
                ticking.running = loop.create_task(self._run(ticking), context=ticking.context)
            ticking.due += ticking.every
            if ticking.due <= now:
                ticking.due = now + ticking.every
            self._push(ticking)
        self._arm()

    @staticmethod
    async def _run(ticking: Ticking) -> None:
        try:
            await ticking.tick()
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("quizsession: a live tick failed")
        finally:
            if ticking.running is asyncio.current_task():
                ticking.running = None


class LiveHub:
    """The live connections of this instance, and its drain: once ``draining`` is
    set the HTTP layer refuses new work (``draining``, 503), ``drain()`` tells
    every live socket to reconnect elsewhere, and ``wait_idle()`` waits for the
    requests admitted before the drain began to finish."""

    def __init__(self, ticks: TickSchedule | None = None) -> None:
        self._connections: set[LiveConnection] = set()
        self.ticks = ticks if ticks is not None else TickSchedule()
        self.draining = False
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def add(self, conn: LiveConnection) -> None:
        self._connections.add(conn)

    def discard(self, conn: LiveConnection) -> None:
        self._connections.discard(conn)

    def __len__(self) -> int:
        return len(self._connections)

    @property
    def in_flight(self) -> int:
        """Requests admitted and not yet answered."""
        return self._in_flight

    def request_started(self) -> None:
        self._in_flight += 1
        self._idle.clear()

    def request_finished(self) -> None:
        self._in_flight -= 1
        if self._in_flight <= 0:
            self._in_flight = 0
            self._idle.set()

    async def wait_idle(self, timeout_s: float) -> bool:
        """Wait (at most ``timeout_s``) until no admitted request is running;
        True if none is."""
        if self._idle.is_set():
            return True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def drain(self, *, reason: str = "the server is restarting") -> int:
        """Tell every local live client to reconnect (to another instance) and
        close its socket. Returns how many were told."""
        self.draining = True
        conns = list(self._connections)

        async def tell(conn: LiveConnection) -> None:
            try:
                await conn.send({"type": "drain", "reason": reason, "reconnect": True})
                await conn.close(CLOSE_DRAIN, "drain")
            except Exception:  # noqa: S110 - a socket already gone needs no telling
                pass

        await asyncio.gather(*(tell(c) for c in conns))
        return len(conns)
