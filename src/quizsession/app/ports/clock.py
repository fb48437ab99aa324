"""Time, as the app reads it: wall clock for timestamps, monotonic for intervals."""

from __future__ import annotations

from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Wall-clock UTC seconds since the epoch (timestamps, deadlines)."""
        ...

    def monotonic(self) -> float:
        """Monotonic seconds (intervals, TTLs)."""
        ...
