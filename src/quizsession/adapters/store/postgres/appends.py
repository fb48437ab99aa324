"""Group commit for appends on PostgreSQL.

Appends that arrive while a batch is being written wait for the next one, and a
batch of any size (one included) is written with ONE statement
(``WRITE_BATCH``: data-modifying CTEs over ``unnest`` arrays): one round trip,
one implicit transaction, one commit (and WAL flush) for the whole batch, the
attempts rows, the events and the outbound trigger's backlog rows together. Per
save, the instance does a fraction of the work of a transaction of its own
(BEGIN, the row, the events, COMMIT: four round trips), and PostgreSQL commits
once per batch.

Each append still gets its own answer. The attempts rows are updated with the
version check of a single append (``WHERE version = expected``); the ones that
come back landed, the others are refused with ``VersionConflict`` and none of
their events are written. A refused append's conflict carries the log's events
after its expected version, read by the same statement
(``VersionConflict.after``, from the statement's snapshot: a prefix of the log,
enough in the usual case of a cache one instance behind): the caller catches up
with them and decides again without a read of its own. Anything else going
wrong with a batch (a seq already taken although the row agreed, a value the
database refuses) rolls it back and writes each of its appends alone, which
gives each caller its own error. Two appends to one attempt never share a batch
(the second waits for the next).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from asyncpg.exceptions import TransactionRollbackError

from quizsession.app.ports import RecordedEvent, StoreUnavailable, VersionConflict
from quizsession.domain.events import decode_event

#: Appends written together at most (arrays of this many rows; a batch is written
#: in a few milliseconds).
MAX_BATCH = 512
#: Batches written at once, each on its own pooled connection.
MAX_IN_FLIGHT = 2

#: A batch of appends as ONE statement (one round trip, one implicit transaction,
#: one commit): the new attempts' rows, the moved ones' (version checked), the
#: events of those that landed (the outbound trigger fires with them), then one
#: row per landed append (version NULL) and, for each refused one, the attempt's
#: version and the events after the expected one, from the statement's snapshot
#: (LATERAL with OFFSET 0: one index range scan each, even in a generic plan).
WRITE_BATCH = (
    "WITH v AS MATERIALIZED (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], "
    "$4::text[], $5::text[], $6::integer[], $7::float8[], $8::float8[], $9::float8[], "
    "$10::integer[]) AS v (attempt_id, quiz_id, candidate_id, status, state, version, "
    "updated_at, deadline, due_at, expected)), "
    "created AS (INSERT INTO attempts (attempt_id, quiz_id, candidate_id, status, state, "
    "version, updated_at, deadline, due_at) "
    "SELECT attempt_id, quiz_id, candidate_id, status, state, version, updated_at, deadline, "
    "due_at FROM v WHERE expected = 0 "
    "ON CONFLICT (attempt_id) DO NOTHING RETURNING attempt_id), "
    "moved AS (UPDATE attempts AS a SET quiz_id = v.quiz_id, candidate_id = v.candidate_id, "
    "status = v.status, state = v.state, version = v.version, updated_at = v.updated_at, "
    "deadline = v.deadline, due_at = v.due_at FROM v "
    "WHERE v.expected <> 0 AND a.attempt_id = v.attempt_id AND a.version = v.expected "
    "RETURNING a.attempt_id), "
    "landed AS (SELECT attempt_id FROM created UNION ALL SELECT attempt_id FROM moved), "
    "appended AS (INSERT INTO events (attempt_id, seq, type, at, data) "
    "SELECT e.attempt_id, e.seq, e.type, e.at, e.data::json "
    "FROM unnest($11::text[], $12::integer[], $13::text[], $14::float8[], $15::text[]) "
    "AS e (attempt_id, seq, type, at, data) "
    "WHERE e.attempt_id IN (SELECT attempt_id FROM landed)) "
    "SELECT attempt_id, NULL::integer, NULL::integer, NULL::text FROM landed "
    "UNION ALL "
    "SELECT r.attempt_id, "
    "coalesce((SELECT a.version FROM attempts AS a WHERE a.attempt_id = r.attempt_id), 0), "
    "b.seq, b.data::text FROM v AS r "
    "LEFT JOIN LATERAL (SELECT seq, data FROM events "
    "WHERE attempt_id = r.attempt_id AND seq > r.expected OFFSET 0) AS b ON true "
    "WHERE r.attempt_id NOT IN (SELECT attempt_id FROM landed)"
)
#: Where refused appends' attempts stand, read again after ``WRITE_BATCH`` when
#: its snapshot predates the write that refused them (a concurrent batch
#: committed while the row update waited for its lock).
SELECT_BEHIND = (
    "SELECT r.attempt_id, "
    "coalesce((SELECT a.version FROM attempts AS a WHERE a.attempt_id = r.attempt_id), 0), "
    "b.seq, b.data::text "
    "FROM unnest($1::text[], $2::integer[]) AS r (attempt_id, expected) "
    "LEFT JOIN LATERAL (SELECT seq, data FROM events "
    "WHERE attempt_id = r.attempt_id AND seq > r.expected OFFSET 0) AS b ON true"
)


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
        self.batches = 0  # batches written with the one statement
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
        try:
            landed, behind = await self._write(lambda conn: write_batch(conn, batch))
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
                _settle(item, conflict(item.attempt_id, item.expected, behind.get(item.attempt_id)))

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


@dataclass(frozen=True)
class Behind:
    """Where a refused append's attempt is: its version, and the (seq, data) of
    its events after the expected version, in order."""

    version: int
    rows: list[tuple[int, str]]


def conflict(attempt_id: str, expected: int, behind: Behind | None) -> VersionConflict:
    """The refusal of an append at ``expected``, carrying the log's events after
    it when they decode and lead from ``expected`` to the version found (else
    the caller reads them itself)."""
    if behind is None:
        return VersionConflict(attempt_id, expected)
    actual, rows = behind.version, behind.rows
    if actual <= expected or len(rows) != actual - expected:
        return VersionConflict(attempt_id, expected, actual)
    try:
        after = [
            RecordedEvent(attempt_id=attempt_id, seq=seq, event=decode_event(data))
            for seq, data in rows
        ]
    except msgspec.DecodeError:
        return VersionConflict(attempt_id, expected, actual)
    if any(rec.seq != n for n, rec in enumerate(after, expected + 1)):
        return VersionConflict(attempt_id, expected, actual)
    return VersionConflict(attempt_id, expected, actual, after=after)


async def write_batch(
    conn: Connection, batch: Sequence[PendingAppend]
) -> tuple[set[str], dict[str, Behind]]:
    """``WRITE_BATCH`` for ``batch``: the attempts whose appends landed, and
    where the others' attempts stand."""
    rows = await conn.fetch(
        WRITE_BATCH,
        *_columns(batch),
        [i.expected for i in batch],
        [i.attempt_id for i in batch for _ in i.seqs],
        [s for i in batch for s in i.seqs],
        [t for i in batch for t in i.types],
        [a for i in batch for a in i.ats],
        [d for i in batch for d in i.data],
    )
    landed = {r[0] for r in rows if r[1] is None}
    behind = _behind(r for r in rows if r[1] is not None)
    late = [
        (i.attempt_id, i.expected)
        for i in batch
        if i.attempt_id not in landed
        and (i.attempt_id not in behind or behind[i.attempt_id].version <= i.expected)
    ]
    if late:
        behind.update(await read_behind(conn, late))
    return landed, behind


async def read_behind(conn: Connection, items: Sequence[tuple[str, int]]) -> dict[str, Behind]:
    """Where each (attempt id, expected version) of a refused append stands now."""
    rows = await conn.fetch(SELECT_BEHIND, [a for a, _ in items], [v for _, v in items])
    return _behind(rows)


def _behind(rows: Iterable[Any]) -> dict[str, Behind]:
    """(attempt id, version, seq, data) rows by attempt, events in order."""
    behind: dict[str, Behind] = {}
    for attempt_id, version, seq, data in rows:
        found = behind.get(attempt_id)
        if found is None:
            found = behind[attempt_id] = Behind(version, [])
        if seq is not None:
            found.rows.append((seq, data))
    for found in behind.values():
        found.rows.sort()
    return behind


def _columns(items: Sequence[PendingAppend]) -> list[list[Any]]:
    """The attempt ids and the attempts rows' fields as nine arrays (one per
    column)."""
    return [[i.attempt_id for i in items]] + [
        list(column) for column in zip(*(i.row for i in items), strict=True)
    ]
