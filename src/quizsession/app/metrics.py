"""The metrics port: what the use cases and the HTTP layer count and time, with
no metrics library behind it here. The composition root hands the use cases an
implementation (``adapters.metrics_prometheus``); ``NO_METRICS`` (the default)
records nothing, so unit tests and tools need no registry."""

from __future__ import annotations

from typing import Protocol

#: Content type of an empty exposition (no metrics recorded).
PLAIN_TEXT = "text/plain; version=0.0.4; charset=utf-8"


class Metrics(Protocol):
    def saved(self) -> None:
        """An answer was appended (a replayed ``op_id`` is not a save)."""

    def conflict(self) -> None:
        """The store refused an append (optimistic lock): the executor retries."""

    def refused(self, code: str) -> None:
        """A problem response with this stable ``code`` was sent."""

    def heartbeat_gap(self, seconds: float) -> None:
        """Time since the previous heartbeat of the same session on this instance."""

    def auto_submitted(self, lag_s: float) -> None:
        """The reaper submitted an attempt ``lag_s`` seconds after its due time."""

    def request_done(self, route: str, method: str, status: int, seconds: float) -> None:
        """An HTTP request finished (``route``: the path template, never the path)."""

    def store_append(self, seconds: float) -> None:
        """One ``Store.append`` call took this long (refused or failed ones too)."""

    def exposition(self) -> tuple[bytes, str]:
        """The metrics in a text exposition format, and its content type."""

    @property
    def shared(self) -> bool:
        """True when several processes record together (``serve --workers``):
        ``refresh`` must then run about every second."""

    def refresh(self) -> None:
        """Record the values read from elsewhere (live sockets, a breaker) where
        another process's exposition finds them."""


class NoMetrics:
    """Records nothing."""

    def saved(self) -> None:
        return None

    def conflict(self) -> None:
        return None

    def refused(self, code: str) -> None:
        return None

    def heartbeat_gap(self, seconds: float) -> None:
        return None

    def auto_submitted(self, lag_s: float) -> None:
        return None

    def request_done(self, route: str, method: str, status: int, seconds: float) -> None:
        return None

    def store_append(self, seconds: float) -> None:
        return None

    def exposition(self) -> tuple[bytes, str]:
        return b"", PLAIN_TEXT

    @property
    def shared(self) -> bool:
        return False

    def refresh(self) -> None:
        return None


NO_METRICS: Metrics = NoMetrics()


class HeartbeatGaps:
    """The last heartbeat time (monotonic) of each session seen on this instance,
    to report the gap between consecutive ones. Bounded: when it holds more than
    ``capacity`` sessions, those silent for longer than ``horizon_s`` are
    forgotten (a gap that long is a reconnect, not a missed heartbeat)."""

    def __init__(self, *, capacity: int = 200_000, horizon_s: float = 600.0) -> None:
        self._last: dict[str, float] = {}
        self._capacity = capacity
        self._horizon = horizon_s

    def beat(self, session_id: str, now: float) -> float | None:
        """Record a heartbeat at ``now``; the gap since the previous one, if any."""
        previous = self._last.get(session_id)
        if previous is None and len(self._last) >= self._capacity:
            cutoff = now - self._horizon
            self._last = {k: v for k, v in self._last.items() if v >= cutoff}
        self._last[session_id] = now
        if previous is None:
            return None
        return max(0.0, now - previous)

    def forget(self, session_id: str) -> None:
        self._last.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._last)
