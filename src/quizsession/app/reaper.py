"""The reaper: submits and scores every attempt at deadline + grace, whether or not
anyone is connected, and on start-up those whose deadline passed while the service
was down. Safe on every instance at once: the store's optimistic lock lets exactly
one submit land; the others find the attempt submitted and do nothing."""

from __future__ import annotations

import asyncio
import logging

from quizsession.app.metrics import NO_METRICS, Metrics
from quizsession.app.ports import AttemptIndexRow, Clock, Store, StoreError
from quizsession.app.sessions import SessionService
from quizsession.domain.errors import DomainError

log = logging.getLogger("quizsession.reaper")


class Reaper:
    def __init__(
        self,
        store: Store,
        sessions: SessionService,
        clock: Clock,
        *,
        interval_s: float = 0.5,
        batch: int = 500,
        concurrency: int = 64,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._sessions = sessions
        self._clock = clock
        self._interval = interval_s
        self._batch = batch
        self._concurrency = concurrency
        self.submitted = 0

    async def run_once(self) -> int:
        """Submit every attempt due now; returns how many this call submitted."""
        total = 0
        sem = asyncio.Semaphore(self._concurrency)
        while True:
            due = await self._store.due_attempts(self._clock.now(), limit=self._batch)
            if not due:
                return total

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

            results = await asyncio.gather(*(reap(row) for row in due))
            done = sum(results)
            total += done
            self.submitted += done
            if len(due) < self._batch or done == 0:
                return total

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except (StoreError, DomainError) as exc:
                log.warning("reaper pass failed: %s", exc)
            except Exception:
                log.exception("reaper pass crashed")
            await asyncio.sleep(self._interval)
