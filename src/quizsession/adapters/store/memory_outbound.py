"""The memory store's ``OutboundStore``: dictionaries, atomic per call (one
event loop, nothing awaited inside a method), with the same rules as the SQL
stores (``tests/contract`` checks both)."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from quizsession.adapters.store.common import check_page
from quizsession.adapters.store.outbound_common import QUIET_EVENT_TYPES
from quizsession.app.ports import (
    BacklogEntry,
    Claimed,
    DeliveryCounts,
    DeliveryRecord,
    DeliveryResult,
    DeliveryStatus,
    DestinationRecord,
    NewDelivery,
)
from quizsession.domain.events import AttemptEvent, event_type


class MemoryOutbound:
    """The ``OutboundStore`` methods of ``MemoryStore`` (which calls
    ``_note_outbound`` from its ``append`` and provides ``_attempt_ids``)."""

    def _init_outbound(self) -> None:
        self._destinations: dict[str, DestinationRecord] = {}
        self._backlog: dict[str, list[int]] = {}  # attempt -> [cursor, latest]
        self._owners: dict[str, tuple[str, str]] = {}  # attempt -> (quiz, candidate)
        self._deliveries: dict[int, DeliveryRecord] = {}
        self._claims: dict[int, str] = {}
        self._by_event: dict[tuple[str, str], int] = {}
        self._next_delivery = 1

    def _note_outbound(
        self,
        attempt_id: str,
        quiz_id: str,
        candidate_id: str,
        expected: int,
        events: Sequence[AttemptEvent],
    ) -> None:
        self._owners[attempt_id] = (quiz_id, candidate_id)
        latest = 0
        for seq, event in enumerate(events, expected + 1):
            if event_type(event) not in QUIET_EVENT_TYPES:
                latest = seq
        if latest:
            entry = self._backlog.setdefault(attempt_id, [0, 0])
            entry[1] = max(entry[1], latest)

    async def put_destination(self, record: DestinationRecord) -> None:
        self._destinations[record.destination.id] = record

    async def get_destination(self, destination_id: str) -> DestinationRecord | None:
        return self._destinations.get(destination_id)

    async def list_destinations(self, kind: str | None = None) -> list[DestinationRecord]:
        return [
            r
            for _, r in sorted(self._destinations.items())
            if kind is None or r.destination.kind == kind
        ]

    async def delete_destination(self, destination_id: str) -> bool:
        if self._destinations.pop(destination_id, None) is None:
            return False
        for delivery_id, d in list(self._deliveries.items()):
            if d.destination_id == destination_id:
                del self._deliveries[delivery_id]
                self._claims.pop(delivery_id, None)
                del self._by_event[(destination_id, d.event.event_id)]
        return True

    async def outbound_backlog(self, limit: int = 100) -> list[BacklogEntry]:
        check_page(limit, 0)
        entries = []
        for attempt_id in sorted(self._backlog):
            cursor, latest = self._backlog[attempt_id]
            if latest > cursor:
                quiz_id, candidate_id = self._owners[attempt_id]
                entries.append(
                    BacklogEntry(
                        attempt_id=attempt_id,
                        quiz_id=quiz_id,
                        candidate_id=candidate_id,
                        cursor=cursor,
                        latest=latest,
                    )
                )
        return entries[:limit]

    async def fan_out(
        self,
        attempt_id: str,
        upto: int,
        deliveries: Sequence[NewDelivery],
        now: float,
        give_up_at: float,
    ) -> int:
        new = 0
        for d in deliveries:
            if d.destination_id not in self._destinations:
                continue  # deleted meanwhile (a foreign key in the SQL stores)
            key = (d.destination_id, d.event.event_id)
            if key in self._by_event:
                continue
            delivery_id = self._next_delivery
            self._next_delivery += 1
            self._by_event[key] = delivery_id
            self._deliveries[delivery_id] = DeliveryRecord(
                id=delivery_id,
                destination_id=d.destination_id,
                event=d.event,
                sub=d.sub,
                status="pending",
                attempts=0,
                next_try_at=now,
                give_up_at=give_up_at,
                created_at=now,
                updated_at=now,
            )
            new += 1
        entry = self._backlog.setdefault(attempt_id, [0, 0])
        entry[0] = max(entry[0], upto)
        return new

    def _blocked(self, d: DeliveryRecord) -> bool:
        order = (d.event.seq, d.sub, d.id)
        return any(
            e.status == "pending"
            and e.destination_id == d.destination_id
            and e.event.attempt_id == d.event.attempt_id
            and (e.event.seq, e.sub, e.id) < order
            for e in self._deliveries.values()
        )

    async def claim_deliveries(
        self, now: float, lease_s: float, limit: int, claim: str
    ) -> list[Claimed]:
        check_page(limit, 0)
        due = sorted(
            (
                d
                for d in self._deliveries.values()
                if d.status == "pending"
                and d.next_try_at <= now
                and self._destinations[d.destination_id].destination.enabled
            ),
            key=lambda d: (d.next_try_at, d.id),
        )
        claimed: list[Claimed] = []
        for d in due:
            if len(claimed) >= limit:
                break
            if self._blocked(d):
                continue
            d = msgspec.structs.replace(d, next_try_at=now + lease_s)
            self._deliveries[d.id] = d
            self._claims[d.id] = claim
            claimed.append(
                Claimed(delivery=d, destination=self._destinations[d.destination_id].destination)
            )
        return claimed

    async def finish_delivery(self, delivery_id: int, claim: str, result: DeliveryResult) -> bool:
        d = self._deliveries.get(delivery_id)
        if d is None or d.status != "pending" or self._claims.get(delivery_id) != claim:
            return False
        del self._claims[delivery_id]
        self._deliveries[delivery_id] = msgspec.structs.replace(
            d,
            status=result.status,
            attempts=d.attempts + 1,
            next_try_at=result.next_try_at,
            updated_at=result.at,
            last_status=result.last_status,
            last_error=result.last_error,
            delivered_at=result.at if result.status == "delivered" else d.delivered_at,
        )
        record = self._destinations.get(d.destination_id)
        if result.disable_destination and record is not None:
            self._destinations[d.destination_id] = msgspec.structs.replace(
                record,
                destination=msgspec.structs.replace(record.destination, enabled=False),
                updated_at=result.at,
                disabled_reason=result.disable_destination,
            )
        return True

    async def get_delivery(self, delivery_id: int) -> DeliveryRecord | None:
        return self._deliveries.get(delivery_id)

    async def list_deliveries(
        self,
        destination_id: str,
        *,
        status: DeliveryStatus | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[DeliveryRecord]:
        check_page(limit, offset)
        rows = [
            d
            for _, d in sorted(self._deliveries.items(), reverse=True)
            if d.destination_id == destination_id and (status is None or d.status == status)
        ]
        return rows[offset : offset + limit]

    async def delivery_counts(self, destination_id: str) -> DeliveryCounts:
        counts = {"pending": 0, "delivered": 0, "failed": 0}
        oldest: float | None = None
        for d in self._deliveries.values():
            if d.destination_id != destination_id:
                continue
            counts[d.status] += 1
            if d.status == "pending" and (oldest is None or d.created_at < oldest):
                oldest = d.created_at
        return DeliveryCounts(**counts, oldest_pending_at=oldest)

    async def redeliver(self, delivery_id: int, now: float, give_up_at: float) -> bool:
        d = self._deliveries.get(delivery_id)
        if d is None:
            return False
        self._claims.pop(delivery_id, None)
        self._deliveries[delivery_id] = msgspec.structs.replace(
            d, status="pending", next_try_at=now, give_up_at=give_up_at, updated_at=now
        )
        return True
