"""What the circuit breaker stands in front of: a shared ``LiveState`` (Redis)
that can also fan notices into a given inbox and take a lease while telling
whether it was a renewal and which generation of its data it holds."""

from __future__ import annotations

from typing import Protocol

import msgspec

from quizsession.adapters.live.inbox import NoticeSource
from quizsession.app.ports import LeaseGrant, LiveState


class CheckedGrant(msgspec.Struct, frozen=True, kw_only=True):
    grant: LeaseGrant
    renewal: bool  # the session held the lease already
    generation: str | None  # the holder of ``generation_id``'s lease, read atomically


class Primary(LiveState, NoticeSource, Protocol):
    async def acquire_lease_checked(
        self,
        attempt_id: str,
        session_id: str,
        ttl_s: float,
        *,
        force: bool,
        generation_id: str,
        activity_ttl_s: float | None = None,
    ) -> CheckedGrant:
        """``acquire_lease``, and in the same atomic step: whether it renewed the
        session's own lease, and who holds the lease ``generation_id`` (and, with
        ``activity_ttl_s``, the session's activity recorded once acquired)."""
        ...
