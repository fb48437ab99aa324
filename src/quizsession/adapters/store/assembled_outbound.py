"""The ``OutboundStore`` methods of ``AssembledStore``: the adapter's own
(``base``), unchanged by the decorators."""

from __future__ import annotations

from collections.abc import Sequence

from quizsession.app.ports import (
    BacklogEntry,
    Claimed,
    DeliveryCounts,
    DeliveryRecord,
    DeliveryResult,
    DeliveryStatus,
    DestinationRecord,
    NewDelivery,
    Store,
)


class AssembledOutbound:
    base: Store

    async def put_destination(self, record: DestinationRecord) -> None:
        await self.base.put_destination(record)

    async def get_destination(self, destination_id: str) -> DestinationRecord | None:
        return await self.base.get_destination(destination_id)

    async def list_destinations(self, kind: str | None = None) -> list[DestinationRecord]:
        return await self.base.list_destinations(kind)

    async def delete_destination(self, destination_id: str) -> bool:
        return await self.base.delete_destination(destination_id)

    async def outbound_backlog(self, limit: int = 100) -> list[BacklogEntry]:
        return await self.base.outbound_backlog(limit)

    async def fan_out(
        self,
        attempt_id: str,
        upto: int,
        deliveries: Sequence[NewDelivery],
        now: float,
        give_up_at: float,
    ) -> int:
        return await self.base.fan_out(attempt_id, upto, deliveries, now, give_up_at)

    async def claim_deliveries(
        self, now: float, lease_s: float, limit: int, claim: str
    ) -> list[Claimed]:
        return await self.base.claim_deliveries(now, lease_s, limit, claim)

    async def finish_delivery(self, delivery_id: int, claim: str, result: DeliveryResult) -> bool:
        return await self.base.finish_delivery(delivery_id, claim, result)

    async def get_delivery(self, delivery_id: int) -> DeliveryRecord | None:
        return await self.base.get_delivery(delivery_id)

    async def list_deliveries(
        self,
        destination_id: str,
        *,
        status: DeliveryStatus | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[DeliveryRecord]:
        return await self.base.list_deliveries(
            destination_id, status=status, limit=limit, offset=offset
        )

    async def delivery_counts(self, destination_id: str) -> DeliveryCounts:
        return await self.base.delivery_counts(destination_id)

    async def redeliver(self, delivery_id: int, now: float, give_up_at: float) -> bool:
        return await self.base.redeliver(delivery_id, now, give_up_at)
