"""The live state: leases, presence, notices and rate limits (memory or Redis);
for speed and coordination only, never for correctness."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal, Protocol

import msgspec


class LiveStateUnavailable(Exception):
    """The live state (e.g. Redis) cannot be reached: no leases, presence, notices
    or rate limits until it answers again. Correctness does not depend on it."""


class LeaseGrant(msgspec.Struct, frozen=True, kw_only=True):
    acquired: bool
    holder: str | None  # the session holding the lease after the call
    expires_in: float  # seconds until the holder's lease lapses (0 when none)


class Notice(msgspec.Struct, frozen=True, kw_only=True):
    """A message for the live sessions of one attempt (across instances).

    ``changed`` only says "read the attempt again" (a section started or ended,
    an administrator reopened it: what its ticks show changed): an instance
    holding a live socket of the attempt refreshes its cached state; it is not
    forwarded to the client. The others are also forwarded."""

    attempt_id: str
    kind: Literal["takeover", "extension", "end_of_test", "void", "drain", "unlock", "changed"]
    data: dict[str, object] = {}


class Subscription(Protocol):
    def __aiter__(self) -> AsyncIterator[Notice]: ...

    async def close(self) -> None: ...

    @property
    def continuity(self) -> int | None:
        """A number that stays the same while every notice published for the
        attempt through this live state reaches this subscription, and changes
        when some may have been lost (a reconnect, an overflow); None while
        notices may be being lost (the live state is degraded). A live socket
        trusts its cached attempt only while this stays the same."""
        ...


class LiveState(Protocol):
    """Leases, presence, notices and rate limits. For speed and coordination only:
    correctness (fencing, durability) never depends on it."""

    @property
    def process_local(self) -> bool:
        """True when this live state lives in this process only (leases, notices
        and limits are not seen by any other instance): the memory adapter. False
        when it is shared by every instance (Redis, and the breaker in front of it)."""
        ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def acquire_lease(
        self,
        attempt_id: str,
        session_id: str,
        ttl_s: float,
        *,
        force: bool = False,
        activity_ttl_s: float | None = None,
    ) -> LeaseGrant:
        """Take the attempt's lease for ``session_id`` if it is free, lapsed or
        already this session's (a renewal); with ``force`` take it regardless (an
        explicit takeover). Atomic: of N concurrent callers at most one acquires a
        free lease. With ``activity_ttl_s``, once the lease is acquired, also
        ``touch_session(session_id, activity_ttl_s)`` in the same call (a
        heartbeat: one round trip)."""
        ...

    async def release_lease(self, attempt_id: str, session_id: str) -> None:
        """Free the lease if (and only if) ``session_id`` holds it."""
        ...

    async def lease_holder(self, attempt_id: str) -> LeaseGrant:
        """Who holds the lease now (acquired=False; holder None when free)."""
        ...

    async def touch_session(self, session_id: str, ttl_s: float) -> None:
        """Record activity of a session (for the idle timeout)."""
        ...

    async def session_seen(self, session_id: str) -> bool | None:
        """True if active within its idle TTL, False if the record lapsed, None if
        this live state has no record (e.g. after a restart of the memory adapter)."""
        ...

    async def publish(self, notice: Notice) -> None: ...

    async def subscribe(self, attempt_id: str) -> Subscription: ...

    async def hit(self, key: str, limit: int, per_seconds: int) -> bool:
        """Count one hit against ``key``; False when over ``limit`` per window."""
        ...

    async def exhausted(self, key: str, limit: int, per_seconds: int) -> bool:
        """True when ``key`` has no hits left in the current window (counts
        nothing)."""
        ...

    async def ping(self) -> bool: ...
