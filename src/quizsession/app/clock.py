"""Clocks. The system clock for production; ``FakeClock`` for tests (time moves
only when the test says so).

``SystemClock.now`` is step-proof. It reads the wall clock once, at start, and
from then on advances it by a steady clock (``now() = wall0 + (steady() -
steady0)``), so a step of the system clock (an administrator's ``date -s``, an
NTP step, a VM restored from a snapshot) cannot move deadlines on this
instance: a +1 h step does not make every test due at once, a -1 h step does
not give everyone an hour more. The rule, checked on every call:

- the system clock within ``step_s`` (1 s) of this clock: this clock is pulled
  towards it gradually, by at most ``max_slew`` (50 ms) per second of steady
  time. Slow drift (and small NTP corrections) is followed, time never jumps and
  never runs backwards (it advances at 95 % to 105 % of real time while
  catching up);
- the system clock further away than that: a step, ignored (logged once per
  step). This clock keeps going at the steady clock's rate, and follows the
  system clock again (gradually) once the two agree within ``step_s`` (the step
  was undone). A step that stays (the system clock was wrong when the process
  started and was then corrected) is kept out until the process restarts: the
  log says so, with the offset.

The steady clock is ``CLOCK_BOOTTIME`` where the platform has it (it keeps
counting while the machine is suspended, which ``CLOCK_MONOTONIC`` does not, so
a suspend is not mistaken for a backward step), else ``time.monotonic``. Both
advance at the rate NTP disciplines; neither ever steps.

``monotonic()`` (intervals, TTLs) is ``time.monotonic`` unless the steady clock
is injected (tests), and is never adjusted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("quizsession.clock")

STEP_S = 1.0  # a difference larger than this is a step of the system clock
MAX_SLEW = 0.05  # at most 50 ms of correction per second


def _steady_source() -> Callable[[], float]:
    boottime = getattr(time, "CLOCK_BOOTTIME", None)
    if boottime is None:
        return time.monotonic
    try:
        time.clock_gettime(boottime)
    except OSError:
        return time.monotonic

    def steady() -> float:
        return time.clock_gettime(boottime)

    return steady


class SystemClock:
    def __init__(
        self,
        *,
        wall: Callable[[], float] | None = None,
        monotonic: Callable[[], float] | None = None,
        step_s: float = STEP_S,
        max_slew: float = MAX_SLEW,
    ) -> None:
        if step_s <= 0 or not 0 <= max_slew < 1:
            raise ValueError("step_s must be > 0 and max_slew in [0, 1)")
        self._wall = wall or time.time
        self._steady = monotonic or _steady_source()
        self._mono = monotonic or time.monotonic
        self._step_s = step_s
        self._max_slew = max_slew
        self._lock = threading.Lock()
        steady = self._steady()
        self._offset = self._wall() - steady  # now() = steady() + offset
        self._last = steady
        self._stepped = False

    def now(self) -> float:
        """Wall-clock UTC seconds, step-proof (see the module's docstring)."""
        with self._lock:
            steady = self._steady()
            system = self._wall()
            elapsed = steady - self._last
            if elapsed < 0:  # cannot happen with a steady clock; be safe
                elapsed = 0.0
            self._last = steady
            ours = steady + self._offset
            diff = system - ours
            if abs(diff) <= self._step_s:
                limit = self._max_slew * elapsed
                self._offset += max(-limit, min(limit, diff))
                if self._stepped:
                    self._stepped = False
                    log.warning("system clock agrees with the service clock again")
            elif not self._stepped:
                self._stepped = True
                log.warning(
                    "system clock stepped by %+.3f s: ignored, the service clock keeps "
                    "counting steadily (restart the service to adopt a lasting change)",
                    diff,
                )
            return steady + self._offset

    def monotonic(self) -> float:
        return self._mono()

    @property
    def stepped(self) -> bool:
        """True while the system clock is further than ``step_s`` from this one."""
        return self._stepped


class FakeClock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._wall = start
        self._mono = 1000.0

    def now(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._wall += seconds
        self._mono += seconds

    def jump_wall(self, seconds: float) -> None:
        """Move only the wall clock (an NTP step); monotonic time is unaffected."""
        self._wall += seconds
