"""A session's activity, for the idle timeout: never early, at most one write
interval late, and no shared-state round trip on every request.

Every answered request of a session counts. This instance keeps the exact moment
of each session's last answered request (``record``; local, no I/O). The shared
live state (Redis with several instances) gets a record of the session at most
once per ``write_every_s`` per session and instance, with a lifetime of the idle
timeout + ``write_every_s``: a request answered after that write, before the
next, is at most ``write_every_s`` later than it, so the shared record never
lapses before the idle timeout has run from the session's last request, on any
instance. It may lapse up to ``write_every_s`` after it: the idle close can be
late by that much, never early.

``idle`` asks this instance's own record first (a session it answered within the
idle timeout is not idle, whatever any other instance knows), then the shared
record (another instance may have answered it since).

The clock is ``Clock.monotonic`` (a wall-clock step moves nothing); the shared
record's lifetime is measured by the live state itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from quizsession.app.ports import Clock, LiveState

#: How often, at most, one instance writes a session's activity to the shared
#: live state; also the most an idle close can come late.
WRITE_EVERY_S = 15.0
#: Past this many remembered sessions, the ones long idle are forgotten.
PRUNE_ABOVE = 200_000


@dataclass
class _Seen:
    at: float  # monotonic time of the session's last answered request here
    written: float  # when this instance last wrote the shared record
    idle_timeout_s: float


class SessionActivity:
    def __init__(
        self,
        live: LiveState,
        clock: Clock,
        *,
        write_every_s: float = WRITE_EVERY_S,
        prune_above: int = PRUNE_ABOVE,
    ) -> None:
        if write_every_s <= 0:
            raise ValueError("write_every_s must be > 0")
        self._live = live
        self._clock = clock
        self.write_every_s = write_every_s
        self._prune_above = prune_above
        self._seen: dict[str, _Seen] = {}

    async def record(self, session_id: str, idle_timeout_s: float) -> None:
        """An answered request of ``session_id`` (exact here; written to the
        shared live state when this instance's last write is ``write_every_s``
        old, or the session's idle timeout changed)."""
        at = self._clock.monotonic()
        ttl = self.due(session_id, idle_timeout_s)
        if ttl is None:
            return
        await self._live.touch_session(session_id, ttl)
        self.written(session_id, idle_timeout_s, at)

    def due(self, session_id: str, idle_timeout_s: float) -> float | None:
        """``record`` in two halves, for a caller that writes the shared record
        along with another call (a heartbeat, with its lease): None when no
        write is due (the request is recorded here); else the lifetime to write
        the shared record with, and ``written`` once it is written (with the
        monotonic time taken before the write)."""
        seen = self._seen.get(session_id)
        if (
            seen is not None
            and self._clock.monotonic() - seen.written < self.write_every_s
            and seen.idle_timeout_s == idle_timeout_s
        ):
            seen.at = self._clock.monotonic()
            return None
        return idle_timeout_s + self.write_every_s

    def written(self, session_id: str, idle_timeout_s: float, at: float) -> None:
        """The shared record ``due`` asked for was written by a call begun at
        ``at`` (monotonic)."""
        if session_id not in self._seen and len(self._seen) >= self._prune_above:
            self._prune(at)
        self._seen[session_id] = _Seen(at=at, written=at, idle_timeout_s=idle_timeout_s)

    async def idle(self, session_id: str) -> bool:
        """True when no instance answered ``session_id`` within its idle timeout.
        False too when nothing is known of it (the live state was restarted or
        flushed): the token's expiry is then the bound."""
        seen = self._seen.get(session_id)
        if seen is not None and self._clock.monotonic() - seen.at < seen.idle_timeout_s:
            return False
        return await self._live.session_seen(session_id) is False

    def forget(self, session_id: str) -> None:
        """The session ended (logout, idle close)."""
        self._seen.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._seen)

    def _prune(self, now: float) -> None:
        """Forget the sessions idle beyond their timeout + the write interval:
        the shared record decides for them now."""
        self._seen = {
            k: v
            for k, v in self._seen.items()
            if now - v.at < v.idle_timeout_s + self.write_every_s
        }
