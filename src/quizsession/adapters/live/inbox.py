"""One subscriber's notices: the inbox every live adapter hands out.

Every live socket holds one subscription for its whole life, so an idle inbox is
kept small: no ``asyncio.Queue`` (three deques, ~2 KiB), no task; just a buffer
made on the first notice and a future while a reader waits. The adapters fan a
notice out by calling ``deliver`` on each inbox of its attempt (``NoticeSink``);
the resilient adapter registers one inbox with both of its sources (this
process and Redis), so a socket never holds two queues or a pump task.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Protocol, Self

from quizsession.app.ports import Notice

#: Notices a subscriber may lag behind by; more are dropped (they are advisory).
QUEUE_SIZE = 256


class NoticeSink(Protocol):
    """Where an adapter's fan-out puts the notices of one attempt."""

    def deliver(self, notice: Notice) -> None: ...

    def end(self) -> None:
        """No more notices will come (the live state closed)."""
        ...

    def interrupted(self) -> None:
        """Notices may be lost from now on (the source lost its connection)."""
        ...

    def resumed(self) -> None:
        """Notices are delivered again (some may have been lost meanwhile)."""
        ...


class NoticeSource(Protocol):
    """An adapter that can fan the notices of an attempt out to a given sink
    (``subscribe`` is ``attach`` with a fresh inbox)."""

    async def attach(self, attempt_id: str, sink: NoticeSink) -> None:
        """Deliver the attempt's notices to ``sink`` from now on (once this
        returns, a notice published anywhere is delivered)."""
        ...

    async def detach(self, attempt_id: str, sink: NoticeSink) -> None:
        """Stop delivering to ``sink`` (a no-op if it is not attached)."""
        ...


class NoticeInbox:
    """Notices waiting for one reader. ``end()`` ends iteration once the notices
    already queued are read (even if the reader had stopped reading).

    ``continuity`` (``Subscription.continuity``) counts the moments notices may
    have been lost (``interrupted``, ``resumed``, a notice dropped by a full
    queue); None between ``interrupted`` and ``resumed``."""

    __slots__ = ("_ended", "_gaps", "_lapsed", "_notices", "_waiter")

    def __init__(self) -> None:
        self._ended = False
        self._notices: deque[Notice] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._gaps = 0
        self._lapsed = False

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def continuity(self) -> int | None:
        return None if self._lapsed or self._ended else self._gaps

    def interrupted(self) -> None:
        self._gaps += 1
        self._lapsed = True

    def resumed(self) -> None:
        self._gaps += 1
        self._lapsed = False

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Notice:
        # A method, not an async generator: a reader that gives up waiting
        # (``wait_for(anext(sub), t)``) can simply read again later.
        while not self._notices:
            if self._ended:
                raise StopAsyncIteration  # every later read ends too
            waiter = self._waiter
            if waiter is None or waiter.done():
                waiter = self._waiter = asyncio.get_running_loop().create_future()
            # Shielded: one reader giving up must not cancel another's wait.
            await asyncio.shield(waiter)
        return self._notices.popleft()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def deliver(self, notice: Notice) -> None:
        """Queue a notice; a subscriber that lags by a full queue loses it
        (notices are advisory, never the truth)."""
        if self._ended:
            return
        if self._notices is None:
            self._notices = deque()
        if len(self._notices) < QUEUE_SIZE:
            self._notices.append(notice)
            self._wake()
        else:
            self._gaps += 1

    def end(self) -> None:
        if self._ended:
            return
        self._ended = True
        self._wake()
