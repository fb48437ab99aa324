"""Live state in one process: leases, presence, notices, rate limits.

Enough for a single instance; several instances need ``live.redis``. Every time
here (lease TTLs, session idle records, rate-limit windows) is the injected
clock's monotonic time, so tests move time without sleeping. It passes the same
contract suite as the Redis adapter (``tests/contract/test_live_state.py``).
"""

from __future__ import annotations

from collections import defaultdict, deque

from quizsession.adapters.live.inbox import NoticeInbox, NoticeSink
from quizsession.app.ports import Clock, LeaseGrant, Notice

#: How long a lapsed session record is remembered (``session_seen`` says False
#: rather than None), as in the Redis adapter.
SESSION_RECORD_RETENTION_S = 86_400.0
_SWEEP_EVERY = 1024


class MemorySubscription(NoticeInbox):
    """One subscriber's notices (the shared ``NoticeInbox``: no queue while idle)."""

    __slots__ = ("_attempt_id", "_owner")

    def __init__(self, owner: MemoryLiveState, attempt_id: str) -> None:
        super().__init__()
        self._owner = owner
        self._attempt_id = attempt_id

    async def close(self) -> None:
        """End iteration, once the notices already queued are read (even if the
        subscriber stopped reading)."""
        if self.ended:
            return
        self.end()
        self._owner._unsubscribe(self._attempt_id, self)


class MemoryLiveState:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._leases: dict[str, tuple[str, float]] = {}
        self._seen: dict[str, float] = {}
        self._subs: defaultdict[str, set[NoticeSink]] = defaultdict(set)
        self._hits: dict[str, deque[float]] = {}
        self._ops = 0
        self._sweep_after = _SWEEP_EVERY

    @property
    def process_local(self) -> bool:
        """True: nothing here is seen by another process."""
        return True

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        subs = [sub for group in self._subs.values() for sub in group]
        self._subs.clear()
        for sub in subs:
            sub.end()

    async def ping(self) -> bool:
        return True

    def _tick(self) -> None:
        """Now and then drop records that can no longer matter (bounded memory).

        A sweep copies every record, so the next one waits for as many operations
        as there were records left: O(1) per operation however many sessions are
        live (10,000 live sockets swept every 1,024 operations took 6-7% of the
        server's CPU in ``bench.live``), and at most as many stale records as
        live ones (or ``_SWEEP_EVERY``) pile up in between."""
        self._ops += 1
        if self._ops < self._sweep_after:
            return
        self._ops = 0
        now = self._clock.monotonic()
        self._leases = {k: v for k, v in self._leases.items() if v[1] > now}
        self._seen = {k: v for k, v in self._seen.items() if v + SESSION_RECORD_RETENTION_S > now}
        self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now}
        self._sweep_after = max(_SWEEP_EVERY, len(self._leases) + len(self._seen) + len(self._hits))

    def _current(self, attempt_id: str) -> tuple[str, float] | None:
        lease = self._leases.get(attempt_id)
        if lease is None:
            return None
        if lease[1] <= self._clock.monotonic():
            del self._leases[attempt_id]
            return None
        return lease

    async def acquire_lease(
        self,
        attempt_id: str,
        session_id: str,
        ttl_s: float,
        *,
        force: bool = False,
        activity_ttl_s: float | None = None,
    ) -> LeaseGrant:
        self._tick()
        now = self._clock.monotonic()
        current = self._current(attempt_id)
        if current is None or current[0] == session_id or force:
            self._leases[attempt_id] = (session_id, now + ttl_s)
            if activity_ttl_s is not None:
                self._seen[session_id] = now + activity_ttl_s
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
        self._tick()
        self._seen[session_id] = self._clock.monotonic() + ttl_s

    async def session_seen(self, session_id: str) -> bool | None:
        until = self._seen.get(session_id)
        if until is None:
            return None
        now = self._clock.monotonic()
        if until + SESSION_RECORD_RETENTION_S <= now:
            del self._seen[session_id]
            return None
        return until > now

    async def publish(self, notice: Notice) -> None:
        for sub in list(self._subs.get(notice.attempt_id, ())):
            sub.deliver(notice)

    async def subscribe(self, attempt_id: str) -> MemorySubscription:
        sub = MemorySubscription(self, attempt_id)
        self._subs[attempt_id].add(sub)
        return sub

    async def attach(self, attempt_id: str, sink: NoticeSink) -> None:
        self._subs[attempt_id].add(sink)

    async def detach(self, attempt_id: str, sink: NoticeSink) -> None:
        self._unsubscribe(attempt_id, sink)

    def _unsubscribe(self, attempt_id: str, sub: NoticeSink) -> None:
        subs = self._subs.get(attempt_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[attempt_id]

    async def hit(self, key: str, limit: int, per_seconds: int) -> bool:
        """A moving window: allowed while fewer than ``limit`` hits were counted in
        the last ``per_seconds`` (the strategy the Redis adapter uses)."""
        self._tick()
        now = self._clock.monotonic()
        window = self._hits.get(key)
        if window is None:
            window = self._hits[key] = deque()
        # Entries hold the time each hit leaves the window.
        while window and window[0] <= now:
            window.popleft()
        if len(window) >= limit:
            return False
        window.append(now + per_seconds)
        return True

    async def exhausted(self, key: str, limit: int, per_seconds: int) -> bool:
        """True when ``key`` has ``limit`` hits in the window (counts nothing)."""
        window = self._hits.get(key)
        if window is None:
            return False
        now = self._clock.monotonic()
        while window and window[0] <= now:
            window.popleft()
        return len(window) >= limit
