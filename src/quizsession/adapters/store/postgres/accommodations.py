"""The PostgreSQL store's ``AccommodationStore`` (migration 5): one row per
candidate in ``accommodations``; a candidate's attempts through the index
``attempts_by_candidate``. Every call is one statement on a pooled connection,
through the store's ``Connections`` (driver errors become the port's)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import asyncpg

from quizsession.adapters.store.common import check_page
from quizsession.adapters.store.postgres import sql
from quizsession.app.ports import Accommodation, AttemptIndexRow, AttemptStatus

if TYPE_CHECKING:
    from quizsession.adapters.store.postgres.connections import Conn

T = TypeVar("T")

UPSERT = (
    "INSERT INTO accommodations "
    "(candidate_id, multiplier, extra_seconds, note, set_by, set_at) "
    "VALUES ($1, $2, $3, $4, $5, $6) "
    "ON CONFLICT (candidate_id) DO UPDATE SET multiplier = EXCLUDED.multiplier, "
    "extra_seconds = EXCLUDED.extra_seconds, note = EXCLUDED.note, "
    "set_by = EXCLUDED.set_by, set_at = EXCLUDED.set_at"
)
_COLUMNS = (
    "SELECT candidate_id, multiplier, extra_seconds, note, set_by, set_at FROM accommodations "
)
SELECT_ONE = _COLUMNS + "WHERE candidate_id = $1"
LIST = _COLUMNS + "ORDER BY candidate_id LIMIT $1 OFFSET $2"
DELETE = "DELETE FROM accommodations WHERE candidate_id = $1"
_ROWS = (
    "SELECT attempt_id, quiz_id, candidate_id, status, state, version, updated_at, "
    "deadline, due_at FROM attempts WHERE candidate_id = $1 "
)
CANDIDATE_ATTEMPTS = _ROWS + "ORDER BY attempt_id"
CANDIDATE_ATTEMPTS_BY_STATUS = _ROWS + "AND status = $2 ORDER BY attempt_id"


def _record(r: asyncpg.Record) -> Accommodation:
    return Accommodation(
        candidate_id=r[0],
        multiplier=r[1],
        extra_seconds=r[2],
        note=r[3],
        set_by=r[4],
        set_at=r[5],
    )


class PostgresAccommodations:
    """The ``AccommodationStore`` methods of ``PostgresStore`` (which provides
    ``_run``)."""

    def _run(self, fn: Callable[[Conn], Awaitable[T]]) -> Awaitable[T]:
        raise NotImplementedError

    async def put_accommodation(self, accommodation: Accommodation) -> None:
        a = accommodation

        async def run(conn: Conn) -> None:
            await conn.execute(
                UPSERT, a.candidate_id, a.multiplier, a.extra_seconds, a.note, a.set_by, a.set_at
            )

        await self._run(run)

    async def get_accommodation(self, candidate_id: str) -> Accommodation | None:
        async def run(conn: Conn) -> Accommodation | None:
            r = await conn.fetchrow(SELECT_ONE, candidate_id)
            return None if r is None else _record(r)

        return await self._run(run)

    async def delete_accommodation(self, candidate_id: str) -> bool:
        async def run(conn: Conn) -> bool:
            return sql.rows_affected(await conn.execute(DELETE, candidate_id)) > 0

        return await self._run(run)

    async def list_accommodations(
        self, *, limit: int = 100, offset: int = 0
    ) -> list[Accommodation]:
        check_page(limit, offset)

        async def run(conn: Conn) -> list[Accommodation]:
            return [_record(r) for r in await conn.fetch(LIST, limit, offset)]

        return await self._run(run)

    async def candidate_attempts(
        self, candidate_id: str, *, status: AttemptStatus | None = "open"
    ) -> list[AttemptIndexRow]:
        async def run(conn: Conn) -> list[AttemptIndexRow]:
            if status is None:
                rows = await conn.fetch(CANDIDATE_ATTEMPTS, candidate_id)
            else:
                rows = await conn.fetch(CANDIDATE_ATTEMPTS_BY_STATUS, candidate_id, status)
            return [sql.index_row(r) for r in rows]

        return await self._run(run)
