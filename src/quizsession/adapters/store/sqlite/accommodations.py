"""The SQLite store's ``AccommodationStore`` (schema step 5): one row per
candidate in ``accommodations``; a candidate's attempts through the index
``attempts_by_candidate``. Writes go through the group-commit writer, reads
through the reader pool, like every other port of ``SqliteStore``."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from quizsession.adapters.store.common import check_page
from quizsession.adapters.store.sqlite import sql
from quizsession.app.ports import Accommodation, AttemptIndexRow, AttemptStatus

T = TypeVar("T")

UPSERT = (
    "INSERT INTO accommodations "
    "(candidate_id, multiplier, extra_seconds, note, set_by, set_at) "
    "VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (candidate_id) DO UPDATE SET multiplier = excluded.multiplier, "
    "extra_seconds = excluded.extra_seconds, note = excluded.note, "
    "set_by = excluded.set_by, set_at = excluded.set_at"
)
_COLUMNS = (
    "SELECT candidate_id, multiplier, extra_seconds, note, set_by, set_at FROM accommodations "
)
SELECT_ONE = _COLUMNS + "WHERE candidate_id = ?"
LIST = _COLUMNS + "ORDER BY candidate_id LIMIT ? OFFSET ?"
DELETE = "DELETE FROM accommodations WHERE candidate_id = ?"
_ROWS = (
    "SELECT attempt_id, quiz_id, candidate_id, status, state, version, updated_at, "
    "deadline, due_at FROM attempts INDEXED BY attempts_by_candidate WHERE candidate_id = ? "
)
CANDIDATE_ATTEMPTS = _ROWS + "ORDER BY attempt_id"
CANDIDATE_ATTEMPTS_BY_STATUS = _ROWS + "AND status = ? ORDER BY attempt_id"


def _record(r: tuple[Any, ...]) -> Accommodation:
    return Accommodation(
        candidate_id=r[0],
        multiplier=r[1],
        extra_seconds=r[2],
        note=r[3],
        set_by=r[4],
        set_at=r[5],
    )


def _put(values: tuple[object, ...], cur: sqlite3.Cursor) -> None:
    cur.execute(UPSERT, values)


def _delete(candidate_id: str, cur: sqlite3.Cursor) -> bool:
    return cur.execute(DELETE, (candidate_id,)).rowcount > 0


class SqliteAccommodations:
    """The ``AccommodationStore`` methods of ``SqliteStore`` (which provides
    ``_read`` and ``_write``)."""

    def _read(self, fn: Callable[[sqlite3.Cursor], T]) -> Awaitable[T]:
        raise NotImplementedError

    def _write(self, fn: Callable[[sqlite3.Cursor], T]) -> asyncio.Future[T]:
        raise NotImplementedError

    async def put_accommodation(self, accommodation: Accommodation) -> None:
        a = accommodation
        values = (a.candidate_id, a.multiplier, a.extra_seconds, a.note, a.set_by, a.set_at)
        await self._write(partial(_put, values))

    async def get_accommodation(self, candidate_id: str) -> Accommodation | None:
        def run(cur: sqlite3.Cursor) -> Accommodation | None:
            r = cur.execute(SELECT_ONE, (candidate_id,)).fetchone()
            return None if r is None else _record(r)

        return await self._read(run)

    async def delete_accommodation(self, candidate_id: str) -> bool:
        return await self._write(partial(_delete, candidate_id))

    async def list_accommodations(
        self, *, limit: int = 100, offset: int = 0
    ) -> list[Accommodation]:
        check_page(limit, offset)

        def run(cur: sqlite3.Cursor) -> list[Accommodation]:
            return [_record(r) for r in cur.execute(LIST, (limit, offset))]

        return await self._read(run)

    async def candidate_attempts(
        self, candidate_id: str, *, status: AttemptStatus | None = "open"
    ) -> list[AttemptIndexRow]:
        statement: str
        params: tuple[object, ...]
        if status is None:
            statement, params = CANDIDATE_ATTEMPTS, (candidate_id,)
        else:
            statement, params = CANDIDATE_ATTEMPTS_BY_STATUS, (candidate_id, status)

        def run(cur: sqlite3.Cursor) -> list[AttemptIndexRow]:
            return [sql.index_row(r) for r in cur.execute(statement, params)]

        return await self._read(run)
