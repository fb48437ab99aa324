"""Outage credit: when the WHOLE service was down while tests were running, their
deadlines move by the downtime (DESIGN, defaults: "server outage credit: on").

How an outage is told from a restart
    Every running instance writes a liveness mark to the durable store every
    ``mark_every_s`` (the deployment's heartbeat, ``QUIZSESSION_HEARTBEAT_S``,
    5 s by default): ``AliveStore.mark_alive``. On
    start-up, before the reaper's first pass, an instance reads the newest mark
    of ANY instance (``last_alive``) and then marks itself alive at once. If that
    newest mark is more than ``down_after_s`` old (three missed marks: 15 s by
    default, the lease TTL), no instance was up in between: the service was down from that
    mark until now. If any instance marked recently (one instance of a cluster
    died and restarts, or a restart quicker than the threshold), nothing is
    credited: someone was serving, or the gap was shorter than clients and
    leases ride out anyway.

What is credited
    Every open attempt whose test was running when the service went down gets a
    ``TimeExtended(by="system", reason="outage credit: the service was down from
    <start> to <end>")`` event, appended through the executor like every other
    change. The domain (``CreditOutage``) decides. The service was alive for this
    attempt until the later of the last mark and the attempt's own last event
    (``down_from``): the credit is ``end - down_from``, so the candidate gets back
    exactly the time they had left then, i.e. the downtime, give or take the
    mark interval (never less: the crash came after ``down_from``). Nothing for
    a quiz whose ``policies.outage_credit`` is false, a test not started,
    submitted, voided or whose time was up by ``down_from``. A window
    overlapping one already credited is refused (``not_allowed``), so two
    instances starting at once after the same outage credit it once.

The quiz window's close
    The credit never takes a deadline past the quiz window's close: ``deadline``
    caps every extension by ``closes_at``, as DESIGN says ("capped by the quiz
    window's close"). The event records the credit in full; the deadline it
    yields is capped. After an administrator's reopen the deadline is not capped
    (the reopen's rule), and neither is a credit on top of it.

Clocks
    Marks and windows are wall-clock times (``Clock.now``; several machines share
    them), the interval between marks is the event loop's monotonic clock.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from dataclasses import dataclass

from quizsession.app.attempts import AttemptExecutor
from quizsession.app.ports import Clock, LivenessRecords, StoreError
from quizsession.domain.commands import CreditOutage
from quizsession.domain.errors import DomainError, ErrorCode

log = logging.getLogger("quizsession.outage")

MARK_EVERY_S = 5.0  # the default heartbeat (settings.heartbeat_s)
MISSED_MARKS = 3  # the service counts as down after this many missed marks
DOWN_AFTER_S = MISSED_MARKS * MARK_EVERY_S
FORGET_MARKS_AFTER_S = 7 * 24 * 3600.0  # marks of instances long gone are pruned
_RETRYABLE = frozenset({ErrorCode.STORE_UNAVAILABLE, ErrorCode.BUSY})


def new_instance_id() -> str:
    """Host, process and a random part: unique per process start, readable in
    the store."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True)
class OutageReport:
    """What a start-up found and did."""

    last_alive: float | None  # the newest mark of any instance before this start
    now: float
    down: bool  # True when the whole service was down (a credit was due)
    credited: int = 0  # attempts this instance credited
    already: int = 0  # attempts another instance had credited for this outage
    failed: int = 0  # attempts that could not be credited (store errors)

    @property
    def downtime_s(self) -> float:
        return self.now - self.last_alive if self.down and self.last_alive is not None else 0.0


class OutageCredit:
    def __init__(
        self,
        store: LivenessRecords,
        executor: AttemptExecutor,
        clock: Clock,
        *,
        instance_id: str | None = None,
        mark_every_s: float = MARK_EVERY_S,
        down_after_s: float | None = None,
        concurrency: int = 64,
        page: int = 500,
        retries: int = 3,
    ) -> None:
        if down_after_s is None:
            down_after_s = MISSED_MARKS * mark_every_s
        if not 0 < mark_every_s < down_after_s:
            raise ValueError("marks must come more often than the outage threshold")
        self._store = store
        self._exec = executor
        self._clock = clock
        self.instance_id = instance_id or new_instance_id()
        self.mark_every_s = mark_every_s
        self.down_after_s = down_after_s
        self._concurrency = concurrency
        self._page = page
        self._retries = retries

    # -- marks ------------------------------------------------------------------------

    async def mark(self) -> bool:
        """Record that this instance is alive now; False (logged) if the store
        refused."""
        try:
            await self._store.mark_alive(self.instance_id, self._clock.now())
        except StoreError as exc:
            log.warning("outage credit: liveness mark not stored: %s", exc)
            return False
        return True

    async def keep_marking(self) -> None:
        """Mark every ``mark_every_s`` until cancelled."""
        while True:
            await asyncio.sleep(self.mark_every_s)
            try:
                await self.mark()
            except Exception:
                log.exception("outage credit: liveness mark crashed")

    # -- start-up ---------------------------------------------------------------------

    async def begin(self) -> OutageReport:
        """Read the newest mark of any instance, then mark this one alive (so an
        instance starting a moment later sees the service up and credits
        nothing). Store errors propagate: the instance cannot start without its
        store anyway."""
        last = await self._store.last_alive()
        now = self._clock.now()
        await self._store.mark_alive(self.instance_id, now)
        try:
            await self._store.prune_alive(now - FORGET_MARKS_AFTER_S)
        except StoreError as exc:
            log.warning("outage credit: old liveness marks not pruned: %s", exc)
        down = last is not None and now - last > self.down_after_s
        return OutageReport(last_alive=last, now=now, down=down)

    async def credit(self, found: OutageReport) -> OutageReport:
        """Credit the outage ``found`` by ``begin`` to every attempt whose test
        was running when it began (nothing if the service was not down)."""
        if not found.down or found.last_alive is None:
            return found
        start, end = found.last_alive, found.now
        pending = await self._running_at(start)
        credited = already = 0
        for attempt in range(self._retries + 1):
            if attempt:
                await asyncio.sleep(0.2 * attempt)
            outcomes = await self._credit_all(pending, start, end)
            credited += sum(1 for o in outcomes.values() if o == "credited")
            already += sum(1 for o in outcomes.values() if o == "already")
            pending = [a for a, o in outcomes.items() if o == "retry"]
            if not pending:
                break
        report = OutageReport(
            last_alive=start,
            now=end,
            down=True,
            credited=credited,
            already=already,
            failed=len(pending),
        )
        log.warning(
            "the whole service was down for %.1f s (last liveness mark %.3f, back at %.3f): "
            "%d attempts credited, %d already credited by another instance, %d failed",
            report.downtime_s,
            start,
            end,
            credited,
            already,
            len(pending),
        )
        return report

    async def start_up(self) -> OutageReport:
        """``begin`` then ``credit``."""
        return await self.credit(await self.begin())

    async def _running_at(self, start: float) -> list[str]:
        """Open attempts in their test with a deadline after ``start`` according
        to the index (the domain decides on the folded log)."""
        ids: list[str] = []
        offset = 0
        while True:
            rows = await self._store.list_attempts(status="open", limit=self._page, offset=offset)
            ids.extend(
                row.attempt_id
                for row in rows
                if row.state == "test_started" and row.deadline is not None and row.deadline > start
            )
            if len(rows) < self._page:
                return ids
            offset += len(rows)

    async def _credit_all(self, ids: list[str], start: float, end: float) -> dict[str, str]:
        sem = asyncio.Semaphore(self._concurrency)

        async def one(attempt_id: str) -> tuple[str, str]:
            async with sem:
                try:
                    outcome = await self._exec.execute(
                        attempt_id, lambda _l: CreditOutage(start=start, end=end)
                    )
                except DomainError as exc:
                    if exc.code == ErrorCode.NOT_ALLOWED:
                        return attempt_id, "already"
                    if exc.code in _RETRYABLE:
                        return attempt_id, "retry"
                    log.warning("outage credit: %s not credited: %s", attempt_id, exc.code)
                    return attempt_id, "skipped"
                return attempt_id, "credited" if outcome.events else "skipped"

        return dict(await asyncio.gather(*(one(a) for a in ids)))
