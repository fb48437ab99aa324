"""The PostgreSQL store's ``OutboundStore`` (migration 7): destinations, the
backlog kept by the trigger ``outbound_follows_log`` in the transaction of each
append, and the deliveries. Several instances share them: a claim takes due
deliveries with ``FOR UPDATE SKIP LOCKED`` and moves their ``next_try_at`` past
a lease, so each delivery is sent by one instance at a time; a fan-out is one
transaction (deliveries, then the cursor), idempotent per (destination, event
id)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from quizsession.adapters.store.common import check_page
from quizsession.adapters.store.outbound_common import (
    delivery_counts,
    delivery_record,
    destination,
    destination_record,
    destination_values,
    encode,
)
from quizsession.adapters.store.postgres import sql
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

if TYPE_CHECKING:
    from quizsession.adapters.store.postgres.connections import Conn

T = TypeVar("T")

PUT_DESTINATION = (
    "INSERT INTO outbound_destinations (id, kind, url, event_types, enabled, config, "
    "created_at, updated_at, disabled_reason) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO UPDATE SET "
    "kind = EXCLUDED.kind, url = EXCLUDED.url, event_types = EXCLUDED.event_types, "
    "enabled = EXCLUDED.enabled, config = EXCLUDED.config, created_at = EXCLUDED.created_at, "
    "updated_at = EXCLUDED.updated_at, disabled_reason = EXCLUDED.disabled_reason"
)
SELECT_DESTINATION = (
    "SELECT id, kind, url, event_types, enabled, config, created_at, updated_at, "
    "disabled_reason FROM outbound_destinations WHERE id = $1"
)
LIST_DESTINATIONS = (
    "SELECT id, kind, url, event_types, enabled, config, created_at, updated_at, "
    "disabled_reason FROM outbound_destinations ORDER BY id"
)
DELETE_DESTINATION = "DELETE FROM outbound_destinations WHERE id = $1"
DISABLE_DESTINATION = (
    "UPDATE outbound_destinations SET enabled = false, disabled_reason = $1, updated_at = $2 "
    "WHERE id = $3"
)
BACKLOG = (
    "SELECT b.attempt_id, a.quiz_id, a.candidate_id, b.cursor, b.latest "
    "FROM outbound_backlog AS b JOIN attempts AS a ON a.attempt_id = b.attempt_id "
    "WHERE b.latest > b.cursor ORDER BY b.attempt_id LIMIT $1"
)
INSERT_DELIVERIES = (
    "INSERT INTO outbound_deliveries (destination_id, event_id, attempt_id, seq, sub, event, "
    "status, attempts, next_try_at, give_up_at, created_at, updated_at) "
    "SELECT v.destination_id, v.event_id, v.attempt_id, v.seq, v.sub, v.event, 'pending', 0, "
    "$7, $8, $7, $7 "
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::integer[], "
    "$6::text[]) WITH ORDINALITY AS v (destination_id, event_id, attempt_id, seq, sub, event, n) "
    "WHERE EXISTS (SELECT 1 FROM outbound_destinations AS t WHERE t.id = v.destination_id) "
    "ORDER BY v.n ON CONFLICT (destination_id, event_id) DO NOTHING"
)
MOVE_CURSOR = (
    "INSERT INTO outbound_backlog (attempt_id, cursor, latest) VALUES ($1, $2, 0) "
    "ON CONFLICT (attempt_id) DO UPDATE "
    "SET cursor = GREATEST(outbound_backlog.cursor, EXCLUDED.cursor)"
)
CLAIM = (
    "WITH picked AS ("
    "SELECT d.id FROM outbound_deliveries AS d "
    "JOIN outbound_destinations AS t ON t.id = d.destination_id "
    "WHERE d.status = 'pending' AND d.next_try_at <= $1 AND t.enabled "
    "AND NOT EXISTS (SELECT 1 FROM outbound_deliveries AS e "
    "WHERE e.destination_id = d.destination_id AND e.attempt_id = d.attempt_id "
    "AND e.status = 'pending' AND (e.seq, e.sub, e.id) < (d.seq, d.sub, d.id)) "
    "ORDER BY d.next_try_at, d.id LIMIT $2 FOR UPDATE OF d SKIP LOCKED) "
    "UPDATE outbound_deliveries AS d SET next_try_at = $3, claim = $4 "
    "FROM picked, outbound_destinations AS t "
    "WHERE d.id = picked.id AND t.id = d.destination_id "
    "RETURNING d.id, d.destination_id, d.event, d.sub, d.status, d.attempts, d.next_try_at, "
    "d.give_up_at, d.created_at, d.updated_at, d.last_status, d.last_error, d.delivered_at"
    ", t.id, t.kind, t.url, t.event_types, t.enabled, t.config"
)
FINISH = (
    "UPDATE outbound_deliveries SET status = $1, attempts = attempts + 1, next_try_at = $2, "
    "updated_at = $3, last_status = $4, last_error = $5, claim = NULL, "
    "delivered_at = CASE WHEN $1 = 'delivered' THEN $3 ELSE delivered_at END "
    "WHERE id = $6 AND claim = $7 AND status = 'pending' RETURNING destination_id"
)
SELECT_DELIVERY = (
    "SELECT d.id, d.destination_id, d.event, d.sub, d.status, d.attempts, d.next_try_at, "
    "d.give_up_at, d.created_at, d.updated_at, d.last_status, d.last_error, d.delivered_at "
    "FROM outbound_deliveries AS d WHERE d.id = $1"
)
LIST_DELIVERIES = (
    "SELECT d.id, d.destination_id, d.event, d.sub, d.status, d.attempts, d.next_try_at, "
    "d.give_up_at, d.created_at, d.updated_at, d.last_status, d.last_error, d.delivered_at"
    " FROM outbound_deliveries AS d "
    "WHERE d.destination_id = $1 ORDER BY d.id DESC LIMIT $2 OFFSET $3"
)
LIST_DELIVERIES_BY_STATUS = (
    "SELECT d.id, d.destination_id, d.event, d.sub, d.status, d.attempts, d.next_try_at, "
    "d.give_up_at, d.created_at, d.updated_at, d.last_status, d.last_error, d.delivered_at"
    " FROM outbound_deliveries AS d "
    "WHERE d.destination_id = $1 AND d.status = $4 ORDER BY d.id DESC LIMIT $2 OFFSET $3"
)
DELIVERY_COUNTS = (
    "SELECT status, count(*), min(created_at) FROM outbound_deliveries "
    "WHERE destination_id = $1 GROUP BY status"
)
REDELIVER = (
    "UPDATE outbound_deliveries SET status = 'pending', next_try_at = $1, give_up_at = $2, "
    "updated_at = $1, claim = NULL WHERE id = $3"
)


class PostgresOutbound:
    """The ``OutboundStore`` methods of ``PostgresStore`` (which provides
    ``_run``)."""

    def _run(self, fn: Callable[[Conn], Awaitable[T]]) -> Awaitable[T]:
        raise NotImplementedError

    async def put_destination(self, record: DestinationRecord) -> None:
        values = destination_values(record)
        enabled = bool(values[4])

        async def run(conn: Conn) -> None:
            await conn.execute(PUT_DESTINATION, *values[:4], enabled, *values[5:])

        await self._run(run)

    async def get_destination(self, destination_id: str) -> DestinationRecord | None:
        async def run(conn: Conn) -> DestinationRecord | None:
            r = await conn.fetchrow(SELECT_DESTINATION, destination_id)
            return None if r is None else destination_record(r)

        return await self._run(run)

    async def list_destinations(self, kind: str | None = None) -> list[DestinationRecord]:
        async def run(conn: Conn) -> list[DestinationRecord]:
            return [destination_record(r) for r in await conn.fetch(LIST_DESTINATIONS)]

        records = await self._run(run)
        return [r for r in records if kind is None or r.destination.kind == kind]

    async def delete_destination(self, destination_id: str) -> bool:
        async def run(conn: Conn) -> bool:
            return sql.rows_affected(await conn.execute(DELETE_DESTINATION, destination_id)) > 0

        return await self._run(run)

    async def outbound_backlog(self, limit: int = 100) -> list[BacklogEntry]:
        check_page(limit, 0)

        async def run(conn: Conn) -> list[BacklogEntry]:
            return [
                BacklogEntry(
                    attempt_id=r[0], quiz_id=r[1], candidate_id=r[2], cursor=r[3], latest=r[4]
                )
                for r in await conn.fetch(BACKLOG, limit)
            ]

        return await self._run(run)

    async def fan_out(
        self,
        attempt_id: str,
        upto: int,
        deliveries: Sequence[NewDelivery],
        now: float,
        give_up_at: float,
    ) -> int:
        columns = (
            [d.destination_id for d in deliveries],
            [d.event.event_id for d in deliveries],
            [d.event.attempt_id for d in deliveries],
            [d.event.seq for d in deliveries],
            [d.sub for d in deliveries],
            [encode(d.event) for d in deliveries],
        )

        async def run(conn: Conn) -> int:
            async with conn.transaction():
                new = 0
                if deliveries:
                    tag = await conn.execute(INSERT_DELIVERIES, *columns, now, give_up_at)
                    new = sql.rows_affected(tag)
                await conn.execute(MOVE_CURSOR, attempt_id, upto)
            return new

        return await self._run(run)

    async def claim_deliveries(
        self, now: float, lease_s: float, limit: int, claim: str
    ) -> list[Claimed]:
        check_page(limit, 0)

        async def run(conn: Conn) -> list[Claimed]:
            rows = await conn.fetch(CLAIM, now, limit, now + lease_s, claim)
            claimed = [
                Claimed(delivery=delivery_record(r[:13]), destination=destination(*r[13:19]))
                for r in rows
            ]
            claimed.sort(key=lambda c: (c.delivery.next_try_at, c.delivery.id))
            return claimed

        return await self._run(run)

    async def finish_delivery(self, delivery_id: int, claim: str, result: DeliveryResult) -> bool:
        async def run(conn: Conn) -> bool:
            async with conn.transaction():
                r = await conn.fetchrow(
                    FINISH,
                    result.status,
                    result.next_try_at,
                    result.at,
                    result.last_status,
                    result.last_error,
                    delivery_id,
                    claim,
                )
                if r is None:
                    return False
                if result.disable_destination:
                    await conn.execute(
                        DISABLE_DESTINATION, result.disable_destination, result.at, r[0]
                    )
            return True

        return await self._run(run)

    async def get_delivery(self, delivery_id: int) -> DeliveryRecord | None:
        async def run(conn: Conn) -> DeliveryRecord | None:
            r = await conn.fetchrow(SELECT_DELIVERY, delivery_id)
            return None if r is None else delivery_record(r)

        return await self._run(run)

    async def list_deliveries(
        self,
        destination_id: str,
        *,
        status: DeliveryStatus | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[DeliveryRecord]:
        check_page(limit, offset)

        async def run(conn: Conn) -> list[DeliveryRecord]:
            if status is None:
                rows = await conn.fetch(LIST_DELIVERIES, destination_id, limit, offset)
            else:
                rows = await conn.fetch(
                    LIST_DELIVERIES_BY_STATUS, destination_id, limit, offset, status
                )
            return [delivery_record(r) for r in rows]

        return await self._run(run)

    async def delivery_counts(self, destination_id: str) -> DeliveryCounts:
        async def run(conn: Conn) -> DeliveryCounts:
            return delivery_counts(await conn.fetch(DELIVERY_COUNTS, destination_id))

        return await self._run(run)

    async def redeliver(self, delivery_id: int, now: float, give_up_at: float) -> bool:
        async def run(conn: Conn) -> bool:
            tag = await conn.execute(REDELIVER, now, give_up_at, delivery_id)
            return sql.rows_affected(tag) > 0

        return await self._run(run)
