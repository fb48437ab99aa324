"""Group commit for appends on PostgreSQL.

One append alone costs four round trips (BEGIN, the attempts row, the events,
COMMIT) and the event loop's work for each. Under load, appends that arrive
while a batch is being written wait for the next one, and a batch of any size
is written with the same few statements (``unnest`` over arrays) in one
transaction on one connection: per save, the instance then does a fraction of
the work and PostgreSQL commits (and flushes its WAL) once per batch.

Each append still gets its own answer. The attempts rows are updated with the
version check of a single append (``WHERE version = expected``); the ones that
come back with ``RETURNING`` landed, the others are refused with
``VersionConflict`` and none of their events are written. Anything else going
wrong with a batch (a seq already taken although the row agreed, a value the
database refuses) rolls it back and writes each of its appends alone, through
the ordinary path, which gives each caller its own error. Two appends to one
attempt never share a batch (the second waits for the next).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from asyncpg.exceptions import TransactionRollbackError

from quizsession.app.ports import StoreUnavailable, VersionConflict

#: Appends written together at most (arrays of this many rows; a batch is written
#: in a few milliseconds).
MAX_BATCH = 512
#: Batches written at once, each on its own pooled connection.
MAX_IN_FLIGHT = 2

_INSERT_NEW = (
    "INSERT INTO attempts (attempt_id, quiz_id, candidate_id, status, state, version, "
    "updated_at, deadline, due_at) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], "
    "$6::integer[], $7::float8[], $8::float8[], $9::float8[]) "
    "ON CONFLICT (attempt_id) DO NOTHING RETURNING attempt_id"
)
_UPDATE_MOVED = (
    "UPDATE attempts AS a SET quiz_id = v.quiz_id, candidate_id = v.candidate_id, "
    "status = v.status, state = v.state, version = v.version, updated_at = v.updated_at, "
    "deadline = v.deadline, due_at = v.due_at "
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], "
    "$6::integer[], $7::float8[], $8::float8[], $9::float8[], $10::integer[]) "
    "AS v (attempt_id, quiz_id, candidate_id, status, state, version, updated_at, "
    "deadline, due_at, expected) "
    "WHERE a.attempt_id = v.attempt_id AND a.version = v.expected RETURNING a.attempt_id"
)
_INSERT_EVENTS = (
    "INSERT INTO events (attempt_id, seq, type, at, data) "
    "SELECT e.attempt_id, e.seq, e.type, e.at, e.data::json "
    "FROM unnest($1::text[], $2::integer[], $3::text[], $4::float8[], $5::text[]) "
    "AS e (attempt_id, seq, type, at, data)"
)
_SELECT_VERSIONS = "SELECT attempt_id, version FROM attempts WHERE attempt_id = ANY($1::text[])"


@dataclass(eq=False)
class PendingAppend:
    """One append, ready to be written: the attempts row's fields (``row``:
    quiz_id, candidate_id, status, state, version, updated_at, deadline, due_at)
    and its events' columns."""

    attempt_id: str
    expected: int
    row: tuple[Any, ...]
    seqs: list[int]
    types: list[str]
    ats: list[float]
    data: list[str]
    future: asyncio.Future[int] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    @property
    def version(self) -> int:
        """The attempt's version once this append lands."""
        version: int = self.row[4]
        return version


Connection = Any  # an asyncpg connection (the adapter's ``Conn``)
Write = Callable[[Callable[[Connection], Awaitable[Any]]], Awaitable[Any]]


class AppendBatcher:
    """Queues appends and writes them in batches with ``write`` (the store's
    write runner: a pooled connection, retried once when it turns out dead);
    ``single`` writes one append alone (the fallback)."""

    def __init__(
        self,
        write: Write,
        single: Callable[[PendingAppend], Awaitable[int]],
        *,
        max_batch: int = MAX_BATCH,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self._write = write
        self._single = single
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._pending: list[PendingAppend] = []
        self._writers = 0
        self.batches = 0  # batches written with the multi-row statements
        self.fallbacks = 0  # batches rolled back and written one append at a time

    async def append(self, item: PendingAppend) -> int:
        self._pending.append(item)
        if self._writers < self._max_in_flight:
            self._writers += 1
            asyncio.get_running_loop().create_task(self._drain())
        return await item.future

    def _take(self) -> list[PendingAppend]:
        """The next batch: at most ``max_batch``, one append per attempt."""
        batch: list[PendingAppend] = []
        seen: set[str] = set()
        rest: list[PendingAppend] = []
        for item in self._pending:
            if item.future.done():  # the caller was cancelled before its turn
                continue
            if len(batch) < self._max_batch and item.attempt_id not in seen:
                seen.add(item.attempt_id)
                batch.append(item)
            else:
                rest.append(item)
        self._pending = rest
        # Rows locked in one order by every batch, so two instances' batches
        # meet without deadlocking (unless the planner reorders the join).
        batch.sort(key=lambda item: item.attempt_id)
        return batch

    async def _drain(self) -> None:
        try:
            while True:
                batch = self._take()
                if not batch:
                    return
                await self._flush(batch)
        finally:
            self._writers -= 1

    async def _flush(self, batch: list[PendingAppend]) -> None:
        if len(batch) == 1:
            await self._alone(batch)
            return
        try:
            landed, actual = await self._write(lambda conn: _write_batch(conn, batch))
        except StoreUnavailable as exc:
            if isinstance(exc.__cause__, TransactionRollbackError):
                # A deadlock with another instance's batch: each alone instead.
                self.fallbacks += 1
                await self._alone(batch)
                return
            # The database is away: the callers retry, as after a single append.
            for item in batch:
                _settle(item, exc)
            return
        except Exception:  # e.g. a seq taken behind the row: each alone, own answer
            self.fallbacks += 1
            await self._alone(batch)
            return
        self.batches += 1
        for item in batch:
            if item.attempt_id in landed:
                _settle(item, item.version)
            else:
                _settle(
                    item,
                    VersionConflict(item.attempt_id, item.expected, actual.get(item.attempt_id, 0)),
                )

    async def _alone(self, batch: Sequence[PendingAppend]) -> None:
        async def one(item: PendingAppend) -> None:
            try:
                _settle(item, await self._single(item))
            except Exception as exc:
                _settle(item, exc)

        await asyncio.gather(*(one(item) for item in batch))


def _settle(item: PendingAppend, outcome: int | BaseException) -> None:
    if item.future.done():
        return
    if isinstance(outcome, BaseException):
        item.future.set_exception(outcome)
    else:
        item.future.set_result(outcome)


async def _write_batch(
    conn: Connection, batch: Sequence[PendingAppend]
) -> tuple[set[str], dict[str, int]]:
    """One transaction: the new attempts, the moved ones (version checked), the
    events of those that landed; returns the attempts that landed and the
    current versions of those that did not."""
    fresh = [item for item in batch if item.expected == 0]
    moved = [item for item in batch if item.expected != 0]
    landed: set[str] = set()
    async with conn.transaction():
        if fresh:
            rows = await conn.fetch(_INSERT_NEW, [i.attempt_id for i in fresh], *_columns(fresh))
            landed.update(r[0] for r in rows)
        if moved:
            rows = await conn.fetch(
                _UPDATE_MOVED,
                [i.attempt_id for i in moved],
                *_columns(moved),
                [i.expected for i in moved],
            )
            landed.update(r[0] for r in rows)
        ok = [item for item in batch if item.attempt_id in landed]
        if ok:
            await conn.execute(
                _INSERT_EVENTS,
                [i.attempt_id for i in ok for _ in i.seqs],
                [s for i in ok for s in i.seqs],
                [t for i in ok for t in i.types],
                [a for i in ok for a in i.ats],
                [d for i in ok for d in i.data],
            )
        refused = [item.attempt_id for item in batch if item.attempt_id not in landed]
        actual: dict[str, int] = {}
        if refused:
            actual = {r[0]: r[1] for r in await conn.fetch(_SELECT_VERSIONS, refused)}
    return landed, actual


def _columns(items: Sequence[PendingAppend]) -> list[list[Any]]:
    """The attempts rows' fields as eight arrays (one per column)."""
    return [list(column) for column in zip(*(i.row for i in items), strict=True)]
