"""Live state in one process: leases, presence, notices, rate limits.

Enough for a single instance; several instances need ``live_redis``. Lease times
use the injected clock's monotonic time, so tests move time without sleeping.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from quizsession.app.ports import Clock, LeaseGrant, Notice


class MemorySubscription:
    def __init__(self, owner: MemoryLiveState, attempt_id: str) -> None:
        self._owner = owner
        self._attempt_id = attempt_id
        self.queue: asyncio.Queue[Notice | None] = asyncio.Queue(maxsize=256)

    async def _iter(self) -> AsyncIterator[Notice]:
        while True:
            item = await self.queue.get()
            if item is None:
                return
            yield item

    def __aiter__(self) -> AsyncIterator[Notice]:
        return self._iter()

    async def close(self) -> None:
        self._owner._unsubscribe(self._attempt_id, self)
        if self.queue.full():
            return
        self.queue.put_nowait(None)


class MemoryLiveState:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._leases: dict[str, tuple[str, float]] = {}
        self._seen: dict[str, float] = {}
        self._subs: defaultdict[str, set[MemorySubscription]] = defaultdict(set)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        for subs in list(self._subs.values()):
            for sub in list(subs):
                await sub.close()

    async def ping(self) -> bool:
        return True

    def _current(self, attempt_id: str) -> tuple[str, float] | None:
        lease = self._leases.get(attempt_id)
        if lease is None:
            return None
        holder, expires = lease
        if expires <= self._clock.monotonic():
            del self._leases[attempt_id]
            return None
        return lease

    async def acquire_lease(
        self, attempt_id: str, session_id: str, ttl_s: float, *, force: bool = False
    ) -> LeaseGrant:
        now = self._clock.monotonic()
        current = self._current(attempt_id)
        if current is None or current[0] == session_id or force:
            self._leases[attempt_id] = (session_id, now + ttl_s)
            return LeaseGrant(acquired=True, holder=session_id, expires_in=ttl_s)
        return LeaseGrant(acquired=False, holder=current[0], expires_in=current[1] - now)

    async def release_lease(self, attempt_id: str, session_id: str) -> None:
        current = self._current(attempt_id)
        if current is not None and current[0] == session_id:
            del self._leases[attempt_id]

    async def lease_holder(self, attempt_id: str) -> LeaseGrant:
        current = self._current(attempt_id)
        if current is None:
            return LeaseGrant(acquired=False, holder=None, expires_in=0.0)
        return LeaseGrant(
            acquired=False, holder=current[0], expires_in=current[1] - self._clock.monotonic()
        )

    async def touch_session(self, session_id: str, ttl_s: float) -> None:
        self._seen[session_id] = self._clock.monotonic() + ttl_s

    async def session_seen(self, session_id: str) -> bool | None:
        until = self._seen.get(session_id)
        if until is None:
            return None
        return until > self._clock.monotonic()

    async def publish(self, notice: Notice) -> None:
        for sub in list(self._subs.get(notice.attempt_id, ())):
            if not sub.queue.full():
                sub.queue.put_nowait(notice)

    async def subscribe(self, attempt_id: str) -> MemorySubscription:
        sub = MemorySubscription(self, attempt_id)
        self._subs[attempt_id].add(sub)
        return sub

    def _unsubscribe(self, attempt_id: str, sub: MemorySubscription) -> None:
        subs = self._subs.get(attempt_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[attempt_id]

    async def hit(self, key: str, limit: int, per_seconds: int) -> bool:
        return await self._limiter.hit(RateLimitItemPerSecond(limit, per_seconds), key)
