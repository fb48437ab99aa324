"""The circuit breaker in front of the live state's primary (Redis).

``closed``     every call goes to the primary. A call that raises
               ``LiveStateUnavailable`` (or ``OSError``) or takes longer than
               ``call_timeout_s`` (default 2 s, Redis's socket timeout: not less,
               so that a busy event loop at a login burst does not trip it) is a
               failure; ``open_after`` failures in a row open the circuit.
``open``       calls are served by the fallback (store-only mode).
``half_open``  ``retry_after_s`` after opening, one call probes the primary while
               concurrent calls stay on the fallback. An answer closes the
               circuit; a failure keeps it open for another ``retry_after_s``.

The breaker only counts and times; what happens when it opens or closes (the
hand-over of leases) is the caller's (``ResilientLiveState``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar

from quizsession.app.ports import Clock, LiveStateUnavailable

T = TypeVar("T")
BreakerState = Literal["closed", "open", "half_open"]

log = logging.getLogger("quizsession.live")

#: What counts as "the primary failed" (besides a call that takes too long).
FAILURES: tuple[type[BaseException], ...] = (LiveStateUnavailable, TimeoutError, OSError)


class PrimaryDown(Exception):
    """A primary call failed (internal: never leaves the live adapters)."""


class CircuitBreaker:
    def __init__(
        self, clock: Clock, *, open_after: int, retry_after_s: float, call_timeout_s: float
    ) -> None:
        if open_after < 1:
            raise ValueError("open_after must be at least 1")
        self._clock = clock
        self.open_after = open_after
        self.retry_after_s = retry_after_s
        self.call_timeout_s = call_timeout_s
        self.state: BreakerState = "closed"
        self.failures = 0  # in a row
        self.trips = 0
        self.last_error: str | None = None
        self._opened_at = 0.0  # monotonic

    @property
    def is_closed(self) -> bool:
        """Read afresh each time (a call in between may have opened it)."""
        return self.state == "closed"

    async def call(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run one primary call with the timeout; failures become ``PrimaryDown``."""
        try:
            async with asyncio.timeout(self.call_timeout_s):
                result = await make()
        except FAILURES as exc:
            raise PrimaryDown(f"{type(exc).__name__}: {exc}") from exc
        except Exception as exc:
            # Anything else the primary's driver throws is a failure of the
            # primary too: the live state never lets the primary break a request.
            log.warning("live state primary failed unexpectedly: %r", exc)
            raise PrimaryDown(f"{type(exc).__name__}: {exc}") from exc
        self.failures = 0
        return result

    def failed(self, exc: BaseException) -> tuple[bool, bool]:
        """Count a failure: (first failure in a row while closed, circuit opened now)."""
        self.failures += 1
        self.last_error = str(exc) or type(exc).__name__
        if self.state != "closed":
            return False, False
        first = self.failures == 1
        if self.failures < self.open_after:
            return first, False
        self.state = "open"
        self._opened_at = self._clock.monotonic()
        self.trips += 1
        log.warning(
            "live state unavailable (%s): store-only mode; leases in the store, "
            "rate limits and notices in this process; retrying every %.1fs",
            self.last_error,
            self.retry_after_s,
        )
        return first, True

    def should_probe(self) -> bool:
        """Open for ``retry_after_s``: go half-open (the caller probes once)."""
        if self.state != "open":
            return False
        if self._clock.monotonic() - self._opened_at < self.retry_after_s:
            return False
        self.state = "half_open"
        return True

    def probe_failed(self, exc: BaseException) -> None:
        self.last_error = str(exc)
        self.state = "open"
        self._opened_at = self._clock.monotonic()

    def close(self) -> None:
        self.state = "closed"
        self.failures = 0
