"""The SQLite store's ``OutboundStore`` (schema step 7): destinations,
the backlog kept by the trigger ``outbound_follows_log`` in the transaction of
each append, and the deliveries. Writes (fan-out, claims, results) go through
the group-commit writer, so a claim is one atomic step of the single writer:
two dispatchers on one file never claim the same delivery."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import TypeVar

from quizsession.adapters.store.common import check_page
from quizsession.adapters.store.outbound_common import (
    delivery_counts,
    delivery_record,
    destination,
    destination_record,
    destination_values,
    encode,
)
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

T = TypeVar("T")

PUT_DESTINATION = (
    "INSERT INTO outbound_destinations (id, kind, url, event_types, enabled, config, "
    "created_at, updated_at, disabled_reason) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
    "kind = excluded.kind, url = excluded.url, event_types = excluded.event_types, "
    "enabled = excluded.enabled, config = excluded.config, created_at = excluded.created_at, "
    "updated_at = excluded.updated_at, disabled_reason = excluded.disabled_reason"
)
SELECT_DESTINATION = (
    "SELECT id, kind, url, event_types, enabled, config, created_at, updated_at, "
    "disabled_reason FROM outbound_destinations WHERE id = ?"
)
LIST_DESTINATIONS = (
    "SELECT id, kind, url, event_types, enabled, config, created_at, updated_at, "
    "disabled_reason FROM outbound_destinations ORDER BY id"
)
DELETE_DESTINATION = "DELETE FROM outbound_destinations WHERE id = ?"
DISABLE_DESTINATION = (
    "UPDATE outbound_destinations SET enabled = 0, disabled_reason = ?, updated_at = ? WHERE id = ?"
)
BACKLOG = (
    "SELECT b.attempt_id, a.quiz_id, a.candidate_id, b.cursor, b.latest "
    "FROM outbound_backlog AS b INDEXED BY outbound_backlog_ahead "
    "JOIN attempts AS a ON a.attempt_id = b.attempt_id "
    "WHERE b.latest > b.cursor ORDER BY b.attempt_id LIMIT ?"
)
INSERT_DELIVERY = (
    "INSERT INTO outbound_deliveries (destination_id, event_id, attempt_id, seq, sub, event, "
    "status, attempts, next_try_at, give_up_at, created_at, updated_at) "
    "SELECT ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ? "
    "WHERE EXISTS (SELECT 1 FROM outbound_destinations WHERE id = ?) "
    "ON CONFLICT (destination_id, event_id) DO NOTHING"
)
MOVE_CURSOR = (
    "INSERT INTO outbound_backlog (attempt_id, cursor, latest) VALUES (?, ?, 0) "
    "ON CONFLICT (attempt_id) DO UPDATE SET cursor = max(cursor, excluded.cursor)"
)
DUE = (
    "SELECT d.id FROM outbound_deliveries AS d INDEXED BY outbound_deliveries_due "
    "JOIN outbound_destinations AS t ON t.id = d.destination_id "
    "WHERE d.status = 'pending' AND d.next_try_at <= ? AND t.enabled = 1 "
    "AND NOT EXISTS (SELECT 1 FROM outbound_deliveries AS e "
    "WHERE e.destination_id = d.destination_id AND e.attempt_id = d.attempt_id "
    "AND e.status = 'pending' AND (e.seq, e.sub, e.id) < (d.seq, d.sub, d.id)) "
    "ORDER BY d.next_try_at, d.id LIMIT ?"
)
CLAIM = "UPDATE outbound_deliveries SET next_try_at = ?, claim = ? WHERE id = ?"
SELECT_CLAIMED = (
    "SELECT d.id, d.destination_id, d.event, d.sub, d.status, d.attempts, d.next_try_at, "
    "d.give_up_at, d.created_at, d.updated_at, d.last_status, d.last_error, d.delivered_at"
    ", t.id, t.kind, t.url, t.event_types, t.enabled, t.config "
    "FROM outbound_deliveries AS d JOIN outbound_destinations AS t ON t.id = d.destination_id "
    "WHERE d.id = ?"
)
FINISH = (
    "UPDATE outbound_deliveries SET status = ?, attempts = attempts + 1, next_try_at = ?, "
    "updated_at = ?, last_status = ?, last_error = ?, claim = NULL, "
    "delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END "
    "WHERE id = ? AND claim = ? AND status = 'pending' RETURNING destination_id"
)
SELECT_DELIVERY = (
    "SELECT d.id, d.destination_id, d.event, d.sub, d.status, d.attempts, d.next_try_at, "
    "d.give_up_at, d.created_at, d.updated_at, d.last_status, d.last_error, d.delivered_at "
    "FROM outbound_deliveries AS d WHERE d.id = ?"
)
LIST_DELIVERIES = (
    "SELECT d.id, d.destination_id, d.event, d.sub, d.status, d.attempts, d.next_try_at, "
    "d.give_up_at, d.created_at, d.updated_at, d.last_status, d.last_error, d.delivered_at"
    " FROM outbound_deliveries AS d "
    "WHERE d.destination_id = ? ORDER BY d.id DESC LIMIT ? OFFSET ?"
)
LIST_DELIVERIES_BY_STATUS = (
    "SELECT d.id, d.destination_id, d.event, d.sub, d.status, d.attempts, d.next_try_at, "
    "d.give_up_at, d.created_at, d.updated_at, d.last_status, d.last_error, d.delivered_at"
    " FROM outbound_deliveries AS d "
    "WHERE d.destination_id = ? AND d.status = ? ORDER BY d.id DESC LIMIT ? OFFSET ?"
)
DELIVERY_COUNTS = (
    "SELECT status, count(*), min(created_at) FROM outbound_deliveries "
    "WHERE destination_id = ? GROUP BY status"
)
REDELIVER = (
    "UPDATE outbound_deliveries SET status = 'pending', next_try_at = ?, give_up_at = ?, "
    "updated_at = ?, claim = NULL WHERE id = ?"
)


def _fan_out(
    attempt_id: str,
    upto: int,
    rows: list[tuple[object, ...]],
    cur: sqlite3.Cursor,
) -> int:
    new = 0
    for row in rows:
        new += cur.execute(INSERT_DELIVERY, row).rowcount
    cur.execute(MOVE_CURSOR, (attempt_id, upto))
    return new


def _claim(
    now: float, lease_s: float, limit: int, claim: str, cur: sqlite3.Cursor
) -> list[Claimed]:
    ids = [r[0] for r in cur.execute(DUE, (now, limit)).fetchall()]
    claimed: list[Claimed] = []
    for delivery_id in ids:
        cur.execute(CLAIM, (now + lease_s, claim, delivery_id))
        r = cur.execute(SELECT_CLAIMED, (delivery_id,)).fetchone()
        claimed.append(
            Claimed(delivery=delivery_record(r[:13]), destination=destination(*r[13:19]))
        )
    return claimed


def _finish(delivery_id: int, claim: str, result: DeliveryResult, cur: sqlite3.Cursor) -> bool:
    r = cur.execute(
        FINISH,
        (
            result.status,
            result.next_try_at,
            result.at,
            result.last_status,
            result.last_error,
            result.status,
            result.at,
            delivery_id,
            claim,
        ),
    ).fetchone()
    if r is None:
        return False
    if result.disable_destination:
        cur.execute(DISABLE_DESTINATION, (result.disable_destination, result.at, r[0]))
    return True


class SqliteOutbound:
    """The ``OutboundStore`` methods of ``SqliteStore`` (which provides
    ``_read`` and ``_write``)."""

    def _read(self, fn: Callable[[sqlite3.Cursor], T]) -> Awaitable[T]:
        raise NotImplementedError

    def _write(self, fn: Callable[[sqlite3.Cursor], T]) -> asyncio.Future[T]:
        raise NotImplementedError

    async def put_destination(self, record: DestinationRecord) -> None:
        values = destination_values(record)
        await self._write(lambda cur: cur.execute(PUT_DESTINATION, values))

    async def get_destination(self, destination_id: str) -> DestinationRecord | None:
        def run(cur: sqlite3.Cursor) -> DestinationRecord | None:
            r = cur.execute(SELECT_DESTINATION, (destination_id,)).fetchone()
            return None if r is None else destination_record(r)

        return await self._read(run)

    async def list_destinations(self, kind: str | None = None) -> list[DestinationRecord]:
        def run(cur: sqlite3.Cursor) -> list[DestinationRecord]:
            return [destination_record(r) for r in cur.execute(LIST_DESTINATIONS)]

        records = await self._read(run)
        return [r for r in records if kind is None or r.destination.kind == kind]

    async def delete_destination(self, destination_id: str) -> bool:
        def run(cur: sqlite3.Cursor) -> bool:
            return cur.execute(DELETE_DESTINATION, (destination_id,)).rowcount > 0

        return await self._write(run)

    async def outbound_backlog(self, limit: int = 100) -> list[BacklogEntry]:
        check_page(limit, 0)

        def run(cur: sqlite3.Cursor) -> list[BacklogEntry]:
            return [
                BacklogEntry(
                    attempt_id=r[0], quiz_id=r[1], candidate_id=r[2], cursor=r[3], latest=r[4]
                )
                for r in cur.execute(BACKLOG, (limit,))
            ]

        return await self._read(run)

    async def fan_out(
        self,
        attempt_id: str,
        upto: int,
        deliveries: Sequence[NewDelivery],
        now: float,
        give_up_at: float,
    ) -> int:
        rows: list[tuple[object, ...]] = [
            (
                d.destination_id,
                d.event.event_id,
                d.event.attempt_id,
                d.event.seq,
                d.sub,
                encode(d.event),
                now,
                give_up_at,
                now,
                now,
                d.destination_id,
            )
            for d in deliveries
        ]
        return await self._write(partial(_fan_out, attempt_id, upto, rows))

    async def claim_deliveries(
        self, now: float, lease_s: float, limit: int, claim: str
    ) -> list[Claimed]:
        check_page(limit, 0)
        return await self._write(partial(_claim, now, lease_s, limit, claim))

    async def finish_delivery(self, delivery_id: int, claim: str, result: DeliveryResult) -> bool:
        return await self._write(partial(_finish, delivery_id, claim, result))

    async def get_delivery(self, delivery_id: int) -> DeliveryRecord | None:
        def run(cur: sqlite3.Cursor) -> DeliveryRecord | None:
            r = cur.execute(SELECT_DELIVERY, (delivery_id,)).fetchone()
            return None if r is None else delivery_record(r)

        return await self._read(run)

    async def list_deliveries(
        self,
        destination_id: str,
        *,
        status: DeliveryStatus | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[DeliveryRecord]:
        check_page(limit, offset)
        statement: str
        params: tuple[object, ...]
        if status is None:
            statement, params = LIST_DELIVERIES, (destination_id, limit, offset)
        else:
            statement, params = LIST_DELIVERIES_BY_STATUS, (destination_id, status, limit, offset)

        def run(cur: sqlite3.Cursor) -> list[DeliveryRecord]:
            return [delivery_record(r) for r in cur.execute(statement, params)]

        return await self._read(run)

    async def delivery_counts(self, destination_id: str) -> DeliveryCounts:
        def run(cur: sqlite3.Cursor) -> DeliveryCounts:
            return delivery_counts(cur.execute(DELIVERY_COUNTS, (destination_id,)).fetchall())

        return await self._read(run)

    async def redeliver(self, delivery_id: int, now: float, give_up_at: float) -> bool:
        def run(cur: sqlite3.Cursor) -> bool:
            return cur.execute(REDELIVER, (now, give_up_at, now, delivery_id)).rowcount > 0

        return await self._write(run)
