"""The delivery engine: outbound events follow the attempt logs to every
registered destination, at least once, in order per attempt, surviving
``kill -9`` at any moment (promise 9).

How it follows the log (never an in-memory queue)
    1. The store's backlog (``OutboundStore.outbound_backlog``) lists the
       attempts whose log holds an event that may go out past their fan-out
       cursor; the store records it in the transaction that appends the event.
    2. ``fan_out_once`` reads each such attempt's events after its cursor, maps
       them with the one pure function ``events.outbound_events``, and
       in one transaction writes a pending delivery per (subscribed enabled
       destination, outbound event) and moves the cursor. A crash before that
       commits repeats the work later; a repeat writes nothing twice (a delivery
       is unique per destination and ``event_id``).
    3. ``deliver_once`` claims due deliveries (each the first pending one of its
       destination and attempt, so a later event waits while an earlier one is
       retrying; with several instances each delivery goes to one of them, its
       lease moved past ``lease_s``), sends them through the destination kind's
       ``Sink`` at most ``concurrency`` at once, and records each outcome: a
       crash mid-send leaves the delivery to be claimed again when its lease
       lapses (a duplicate, with the same ``event_id``).

Retries
    A failed send is tried again after an exponential backoff with jitter
    (``first_retry_s`` doubling up to ``max_backoff_s``, each wait drawn between
    half and all of it) until ``retry_for_s`` (about a day) after it was first
    due; then it is ``failed``. A destination answering that it is gone (a
    webhook's 410) is disabled at once; its pending deliveries wait until it is
    enabled again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from quizsession.app.delivery.events import outbound_events
from quizsession.app.outbound import SendOutcome, Sink
from quizsession.app.ports import (
    BacklogEntry,
    Claimed,
    Clock,
    DeliveryRecord,
    DeliveryResult,
    DestinationRecord,
    NewDelivery,
    OutboundRecords,
    StoreError,
)

log = logging.getLogger("quizsession.delivery")

#: The longest error text kept in the delivery log.
MAX_ERROR = 500


@dataclass(frozen=True)
class DeliverySettings:
    poll_s: float = 0.5  # how soon a new event or a due retry is noticed
    lease_s: float = 60.0  # a claimed delivery is someone else's to retry after this
    batch: int = 100  # attempts per backlog page
    concurrency: int = 16  # sends in flight at once (per instance)
    first_retry_s: float = 5.0
    max_backoff_s: float = 3600.0
    retry_for_s: float = 86_400.0

    def __post_init__(self) -> None:
        if min(self.poll_s, self.lease_s, self.first_retry_s, self.retry_for_s) <= 0:
            raise ValueError("delivery times must be > 0")
        if self.batch < 1 or self.concurrency < 1 or self.max_backoff_s < self.first_retry_s:
            raise ValueError("batch and concurrency must be >= 1, max_backoff_s >= first_retry_s")


def backoff(tries: int, settings: DeliverySettings, draw: Callable[[], float]) -> float:
    """How long to wait after the ``tries``-th failed try (1-based): exponential,
    capped, with jitter (between half and all of the step; ``draw`` in [0, 1))."""
    step = min(settings.max_backoff_s, settings.first_retry_s * 2.0 ** min(tries - 1, 40))
    return step * (0.5 + 0.5 * draw())


def next_state(
    delivery: DeliveryRecord,
    outcome: SendOutcome,
    now: float,
    settings: DeliverySettings,
    draw: Callable[[], float],
) -> DeliveryResult:
    """What becomes of a delivery after one send (pure)."""
    error = None if outcome.error is None else outcome.error[:MAX_ERROR]
    if outcome.ok:
        return DeliveryResult(
            status="delivered", next_try_at=now, at=now, last_status=outcome.status
        )
    if outcome.disable:
        reason = (
            f"the destination answered {outcome.status}: disabled"
            if outcome.status
            else (error or "disabled by the destination")
        )
        return DeliveryResult(
            status="failed",
            next_try_at=now,
            at=now,
            last_status=outcome.status,
            last_error=error,
            disable_destination=reason,
        )
    if not outcome.retry or now >= delivery.give_up_at:
        return DeliveryResult(
            status="failed", next_try_at=now, at=now, last_status=outcome.status, last_error=error
        )
    wait = backoff(delivery.attempts + 1, settings, draw)
    return DeliveryResult(
        status="pending",
        next_try_at=min(now + wait, delivery.give_up_at),
        at=now,
        last_status=outcome.status,
        last_error=error,
    )


class DeliveryEngine:
    def __init__(
        self,
        store: OutboundRecords,
        sinks: Mapping[str, Sink],
        clock: Clock,
        settings: DeliverySettings | None = None,
        *,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self._store = store
        self._sinks = dict(sinks)
        self._clock = clock
        self.settings = settings or DeliverySettings()
        self._draw = draw
        self._wake = asyncio.Event()

    def add_sink(self, sink: Sink) -> None:
        """Deliver to destinations of ``sink.kind`` through ``sink``."""
        self._sinks[sink.kind] = sink

    def nudge(self) -> None:
        """Look at the backlog now rather than at the next poll (an optimisation:
        the backlog is found by polling anyway)."""
        self._wake.set()

    # -- fan-out ------------------------------------------------------------------------

    async def fan_out_once(self) -> int:
        """Fan out one page of the backlog; how many attempts it moved on."""
        page = await self._store.outbound_backlog(self.settings.batch)
        if not page:
            return 0
        destinations = [r for r in await self._store.list_destinations() if r.destination.enabled]
        for entry in page:
            await self._fan_out(entry, destinations)
        return len(page)

    async def _fan_out(self, entry: BacklogEntry, destinations: list[DestinationRecord]) -> None:
        destinations = [r for r in destinations if await self._reaches(r, entry.attempt_id)]
        records = await self._store.read(entry.attempt_id, after=entry.cursor)
        deliveries: list[NewDelivery] = []
        upto = entry.cursor
        for record in records:
            upto = record.seq
            for sub, event in enumerate(outbound_events(entry, record)):
                deliveries += [
                    NewDelivery(destination_id=r.destination.id, event=event, sub=sub)
                    for r in destinations
                    if event.type in r.destination.event_types
                ]
        if upto < entry.latest:
            # The backlog saw an event this read did not (cannot happen with one
            # store); leave the cursor for the next pass rather than skip it.
            log.warning("attempt %s: log read up to %d of %d", entry.attempt_id, upto, entry.latest)
        now = self._clock.now()
        await self._store.fan_out(
            entry.attempt_id, upto, deliveries, now, now + self.settings.retry_for_s
        )

    async def _reaches(self, record: DestinationRecord, attempt_id: str) -> bool:
        sink = self._sinks.get(record.destination.kind)
        # A kind without its sink here still gets its deliveries written: they
        # wait (and are retried) until an instance that has the sink sends them.
        return sink is None or await sink.reaches(record.destination, attempt_id)

    # -- sending ------------------------------------------------------------------------

    async def deliver_once(self) -> int:
        """Claim what is due (at most ``concurrency``) and send it; how many were
        sent."""
        claim = secrets.token_hex(8)
        now = self._clock.now()
        claimed = await self._store.claim_deliveries(
            now, self.settings.lease_s, self.settings.concurrency, claim
        )
        if claimed:
            await asyncio.gather(*(self._send(c, claim) for c in claimed))
        return len(claimed)

    async def _send(self, claimed: Claimed, claim: str) -> None:
        delivery, destination = claimed.delivery, claimed.destination
        sink = self._sinks.get(destination.kind)
        if sink is None:
            outcome = SendOutcome(
                ok=False, error=f"no sink for destinations of kind {destination.kind}"
            )
        else:
            try:
                outcome = await sink.send(destination, delivery.event)
            except Exception as exc:  # a sink must not raise; never let it stop the engine
                log.exception("the %s sink raised", destination.kind)
                outcome = SendOutcome(ok=False, error=f"{type(exc).__name__}: {exc}")
        result = next_state(delivery, outcome, self._clock.now(), self.settings, self._draw)
        try:
            if not await self._store.finish_delivery(delivery.id, claim, result):
                log.info("delivery %d: its lease lapsed before the send ended", delivery.id)
        except StoreError:
            # Not recorded: the lease lapses and it is sent again (at least once).
            log.warning("delivery %d: the outcome could not be recorded", delivery.id)
        if result.disable_destination:
            log.warning("destination %s disabled: %s", destination.id, result.disable_destination)

    # -- the loop -----------------------------------------------------------------------

    async def run_once(self) -> tuple[int, int]:
        """Fan out the whole backlog, then send until nothing is due: (attempts
        fanned out, deliveries sent)."""
        fanned = sent = 0
        while (n := await self.fan_out_once()) > 0:
            fanned += n
        while (n := await self.deliver_once()) > 0:
            sent += n  # a delivery done makes the next of its attempt due
        return fanned, sent

    async def run(self) -> None:
        """Until cancelled: a pass, then a poll interval's sleep (or a nudge)."""
        while True:
            self._wake.clear()
            try:
                await self.run_once()
            except StoreError as exc:
                log.warning("outbound delivery paused: %s", exc)
            except Exception:
                log.exception("outbound delivery pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_s)
