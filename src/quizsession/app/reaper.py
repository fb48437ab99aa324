"""The reaper: submits and scores every attempt at deadline + grace, whether or not
anyone is connected, and on start-up those whose deadline passed while the service
was down. Safe on every instance at once: the store's optimistic lock lets exactly
one submit land; the others find the attempt submitted and do nothing.

When it wakes
    After a pass it sleeps until just after the earliest ``due_at`` it knows of
    (``AFTER_DUE_S``), at most ``interval_s``: an attempt due in 0.3 s is
    submitted 0.3 s from now, not at the next tick; the cap is how soon an
    attempt created (or extended) meanwhile is seen. An attempt that was due and
    could not be submitted (refused, or the store failing) does not count as
    "earliest": it is tried again on the next pass, an interval later at most.

A pass
    Due attempts are read a page (``batch``) at a time, earliest first, and
    submitted ``concurrency`` at a time. The next page is read, and its logs read
    ahead with one store call (``prefetch``), while the previous page is still
    being submitted: as soon as fewer than ``batch`` submits remain, so at most
    two pages are in hand. A page leaves out the attempts this pass is already
    submitting (they stay open until their submit commits) or could not submit.
    The pass ends when a read finds nothing left for it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence

from quizsession.app.metrics import NO_METRICS, Metrics
from quizsession.app.ports import AttemptIndex, AttemptIndexRow, Clock, StoreError
from quizsession.app.sessions.service import SessionService
from quizsession.domain.errors import DomainError

log = logging.getLogger("quizsession.reaper")

#: How long after a due time the reaper wakes for it: the domain submits only
#: once the clock is past deadline + grace (at that very moment a write still
#: counts). Also the shortest sleep between passes.
AFTER_DUE_S = 0.001


class Reaper:
    def __init__(
        self,
        store: AttemptIndex,
        sessions: SessionService,
        clock: Clock,
        *,
        interval_s: float = 0.5,
        batch: int = 500,
        concurrency: int = 64,
        metrics: Metrics = NO_METRICS,
        prefetch: Callable[[Sequence[str]], Awaitable[object]] | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if interval_s <= 0 or batch < 1 or concurrency < 1:
            raise ValueError("interval_s must be > 0, batch and concurrency >= 1")
        self._store = store
        self._metrics = metrics
        self._sessions = sessions
        self._clock = clock
        self._interval = interval_s
        self._batch = batch
        self._concurrency = concurrency
        self._prefetch = prefetch
        self._sleep = sleep
        self.submitted = 0
        # Due attempts the last pass could not submit: not a reason to wake early.
        self._unsubmitted: set[str] = set()

    async def run_once(self) -> int:
        """Submit every attempt due now; returns how many this call submitted."""
        sem = asyncio.Semaphore(self._concurrency)
        running: dict[str, asyncio.Task[bool]] = {}
        unsubmitted: set[str] = set()
        # Finished since the current read began: that read may have seen them
        # still open (its snapshot can be older than their commit).
        recent: set[str] = set()
        failures: list[BaseException] = []
        changed = asyncio.Event()  # a submit finished
        total = 0

        async def reap(row: AttemptIndexRow) -> bool:
            attempt_id = row.attempt_id
            async with sem:
                try:
                    outcome = await self._sessions.submit_due(attempt_id)
                except DomainError as exc:
                    log.warning("reaper: %s not submitted: %s", attempt_id, exc.code)
                    return False
                done = outcome is not None and bool(outcome.events)
                if done and row.due_at is not None:
                    self._metrics.auto_submitted(self._clock.now() - row.due_at)
                return done

        def finished(attempt_id: str, task: asyncio.Task[bool]) -> None:
            nonlocal total
            del running[attempt_id]
            recent.add(attempt_id)
            changed.set()
            error = None if task.cancelled() else task.exception()
            if not task.cancelled() and error is None and task.result():
                total += 1
                self.submitted += 1
                return
            unsubmitted.add(attempt_id)
            if error is not None:
                failures.append(error)

        async def until(done: Callable[[], bool]) -> None:
            while not done():
                changed.clear()
                await changed.wait()

        try:
            while not failures:
                recent.clear()
                limit = self._batch + len(running) + len(unsubmitted)
                due = await self._store.due_attempts(self._clock.now(), limit=limit)
                taken = running.keys() | unsubmitted | recent
                page = [row for row in due if row.attempt_id not in taken]
                # True: every attempt due at that read is in ``due``.
                whole = len(due) < limit
                if not page and not running and whole:
                    break
                if page and self._prefetch is not None:
                    await self._prefetch([row.attempt_id for row in page])
                for row in page:
                    task = asyncio.create_task(reap(row))
                    running[row.attempt_id] = task
                    task.add_done_callback(functools.partial(finished, row.attempt_id))
                if whole:
                    # Every attempt due at that read is in hand: finish them, then
                    # look once more for any that fell due meanwhile.
                    await until(lambda: not running or bool(failures))
                else:
                    await until(lambda: len(running) < self._batch or bool(failures))
            await until(lambda: not running)
        except asyncio.CancelledError:
            # Shutdown: the submits in flight go with the pass. One whose append
            # is already queued may still land; none can land twice.
            tasks = list(running.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        except BaseException:
            # A read failed: the submits already started finish first.
            if running:
                await asyncio.wait(list(running.values()))
            raise
        self._unsubmitted = unsubmitted
        if failures:
            raise failures[0]
        return total

    async def next_wake(self) -> float:
        """Seconds to sleep before the next pass: until the earliest due time of
        an attempt the last pass did not already try, at most the interval."""
        now = self._clock.now()
        skip = self._unsubmitted
        rows = await self._store.due_attempts(now + self._interval, limit=len(skip) + 1)
        for row in rows:
            if row.attempt_id not in skip and row.due_at is not None:
                return min(self._interval, max(AFTER_DUE_S, row.due_at - now + AFTER_DUE_S))
        return self._interval

    async def run_forever(self) -> None:
        while True:
            wait = self._interval
            try:
                await self.run_once()
                wait = await self.next_wake()
            except (StoreError, DomainError) as exc:
                log.warning("reaper pass failed: %s", exc)
            except Exception:
                log.exception("reaper pass crashed")
            await self._sleep(wait)
