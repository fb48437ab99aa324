"""The embedded durable store: SQLite through the standard ``sqlite3`` module.

Writes and durability
    Through the group-commit writer thread (``writer.py``): concurrent writes are
    committed together, one fsync per batch (WAL + ``synchronous=FULL``), and a
    caller is told "done" only once its batch is on disk. The appends of a batch
    go in with a few multi-row statements (``sql.bulk_append``).

Reads
    A small pool of reader threads (``readers.py``), each with its own read
    connection; the event loop never blocks on the database.

Errors
    ``sqlite3`` errors never cross the port: driver failures (disk full, I/O error,
    database locked past ``busy_timeout``) become ``StoreUnavailable``; the
    optimistic lock becomes ``VersionConflict``.

Leases
    The live state's store-only fallback keeps attempt leases in ``leases``. An
    acquire is one conditional UPSERT run by the writer thread (so acquires are
    serialised and atomic), followed in the same transaction by a read of the
    holder when it was refused.

Liveness marks
    ``alive`` keeps each instance's latest mark (``AliveStore``); a mark is an
    UPSERT through the writer, group-committed like any other write.

Schema
    Created on ``open()`` (``schema.py``).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import TypeVar
from urllib.parse import quote

from quizsession.adapters.store.common import (
    canonical_quiz,
    check_append,
    check_page,
    decode_quiz,
    lease_grant,
)
from quizsession.adapters.store.sqlite import schema, sql
from quizsession.adapters.store.sqlite.accommodations import SqliteAccommodations
from quizsession.adapters.store.sqlite.lti import SqliteLti
from quizsession.adapters.store.sqlite.outbound import SqliteOutbound
from quizsession.adapters.store.sqlite.readers import ReaderPool
from quizsession.adapters.store.sqlite.wal import prepare_wal
from quizsession.adapters.store.sqlite.writer import GroupCommitWriter
from quizsession.app.ports import (
    AttemptIndexRow,
    AttemptStatus,
    Invite,
    LeaseGrant,
    QuizSummary,
    RecordedEvent,
    StoreMissing,
    StoreUnavailable,
)
from quizsession.domain.events import AttemptEvent, decode_event, encode_event, event_type
from quizsession.domain.quiz import Quiz

T = TypeVar("T")
#: The ``meta`` row recording that the file holds data encrypted at rest.
ENCRYPTED_KEY = "encrypted_at_rest"


class SqliteStore(SqliteAccommodations, SqliteLti, SqliteOutbound):
    """The ``Store`` ports on one SQLite file (accommodations: ``accommodations.py``;
    LTI: ``lti.py``)."""

    def __init__(
        self,
        path: str,
        *,
        readers: int = 4,
        max_batch: int = 1024,
        busy_timeout_ms: int = 5000,
        create: bool = True,
    ) -> None:
        """``create=False``: open an existing file only (``StoreMissing`` if there
        is none), for the commands that read a store and must not leave an empty
        one behind."""
        if path == "" or path == ":memory:" or path.startswith("file::memory:"):
            raise ValueError("SqliteStore needs a file; use MemoryStore for a store in memory")
        if readers < 1 or max_batch < 1 or busy_timeout_ms < 0:
            raise ValueError("readers and max_batch must be >= 1, busy_timeout_ms >= 0")
        self.path = path
        self._create = create
        self._busy_timeout_ms = busy_timeout_ms
        self._writer = GroupCommitWriter(
            path,
            self._open_writer,
            max_batch=max_batch,
            bulk=sql.bulk_append,
            lock_path=path + ".writer-lock",  # turns between worker processes
        )
        self._readers = ReaderPool(self._connect, readers)

    # -- declared capabilities --------------------------------------------------------

    @property
    def durable(self) -> bool:
        return True

    @property
    def shared(self) -> bool:
        # One machine: the file is not shared by instances (the signing secret is
        # kept beside it). ``serve --workers N`` opens it from every worker (WAL,
        # ``BEGIN IMMEDIATE``, a busy timeout: the optimistic lock decides between
        # them), and the composition root then trusts no worker's cache.
        return False

    @property
    def secret_file(self) -> str | None:
        return self.path + ".secret"

    async def schema_version(self) -> int | None:
        return await self._readers.run(schema.schema_version)

    async def holds_encrypted_data(self) -> bool:
        def run(cur: sqlite3.Cursor) -> bool:
            return cur.execute(sql.SELECT_META, (ENCRYPTED_KEY,)).fetchone() is not None

        return await self._readers.run(run)

    async def mark_encrypted_data(self) -> None:
        await self._writer.submit(partial(sql.put_meta, ENCRYPTED_KEY, "yes"))

    # -- the writer's counters (metrics and tests) ------------------------------------

    @property
    def batches(self) -> int:
        return self._writer.batches

    @property
    def writes(self) -> int:
        return self._writer.writes

    @property
    def bulk_batches(self) -> int:
        return self._writer.bulk_batches

    @property
    def failing_batches(self) -> int:
        return self._writer.failing_batches

    # -- life cycle -----------------------------------------------------------------

    async def open(self) -> None:
        await self._writer.start()
        self._readers.open()

    async def close(self) -> None:
        """Stop accepting work, let the writer commit (or fail) everything already
        queued, stop it, then close the read connections. Idempotent."""
        await self._writer.stop()
        await self._readers.close()

    async def ping(self) -> bool:
        try:
            return bool(await self._readers.run(lambda cur: cur.execute("SELECT 1").fetchone()[0]))
        except StoreUnavailable:
            return False

    def _connect(self) -> sqlite3.Connection:
        # mode=rw: never create the file (the default mode is rwc).
        target = self.path if self._create else f"file:{quote(self.path)}?mode=rw"
        conn = sqlite3.connect(
            target,
            isolation_level=None,
            check_same_thread=False,
            cached_statements=64,
            uri=not self._create,
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = FULL")
        except BaseException:
            conn.close()
            raise
        return conn

    def _open_writer(self) -> sqlite3.Connection:
        if not self._create and not os.path.exists(self.path):
            raise StoreMissing(f"no store at {self.path}")
        conn = self._connect()
        try:
            self._prepare(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """WAL mode and the schema (``wal.prepare_wal``: worker processes may open
        a new file at once)."""

        def setup(c: sqlite3.Connection) -> None:
            c.execute("PRAGMA journal_size_limit = 67108864")
            schema.migrate(c, self.path)

        try:
            prepare_wal(conn, self._busy_timeout_ms, setup)
        except ValueError as exc:
            raise StoreUnavailable(f"sqlite: {self.path}: {exc}") from exc

    def _submit(self, fn: Callable[[sqlite3.Cursor], T], bulk: object = None) -> asyncio.Future[T]:
        return self._writer.submit(fn, bulk)

    def _write(self, fn: Callable[[sqlite3.Cursor], T]) -> asyncio.Future[T]:
        return self._writer.submit(fn)

    def _read(self, fn: Callable[[sqlite3.Cursor], T]) -> Awaitable[T]:
        return self._readers.run(fn)

    # -- events -----------------------------------------------------------------------

    async def append(
        self,
        attempt_id: str,
        expected_version: int,
        events: Sequence[AttemptEvent],
        index: AttemptIndexRow,
    ) -> int:
        index = check_append(attempt_id, expected_version, events, index)
        rows = [
            (attempt_id, seq, event_type(event), event.at, encode_event(event))
            for seq, event in enumerate(events, expected_version + 1)
        ]
        values = (
            index.quiz_id,
            index.candidate_id,
            index.status,
            index.state,
            index.version,
            index.updated_at,
            index.deadline,
            index.due_at,
            attempt_id,
        )
        return await self._submit(
            partial(sql.append, attempt_id, expected_version, values, rows),
            sql.Append(attempt_id, expected_version, values, rows),
        )

    async def read(self, attempt_id: str, after: int = 0) -> list[RecordedEvent]:
        def run(cur: sqlite3.Cursor) -> list[RecordedEvent]:
            return [
                RecordedEvent(attempt_id=attempt_id, seq=seq, event=decode_event(data))
                for seq, data in cur.execute(sql.SELECT_EVENTS, (attempt_id, after))
            ]

        return await self._readers.run(run)

    async def read_many(self, attempt_ids: Sequence[str]) -> dict[str, list[RecordedEvent]]:
        ids = list(dict.fromkeys(attempt_ids))
        if not ids:
            return {}
        return await self._readers.run(partial(sql.read_logs, ids))

    async def get_index(self, attempt_id: str) -> AttemptIndexRow | None:
        def run(cur: sqlite3.Cursor) -> AttemptIndexRow | None:
            r = cur.execute(sql.SELECT_ROW, (attempt_id,)).fetchone()
            return None if r is None else sql.index_row(r)

        return await self._readers.run(run)

    async def list_attempts(
        self,
        *,
        quiz_id: str | None = None,
        status: AttemptStatus | None = None,
        limit: int = 100,
        offset: int = 0,
        after: str | None = None,
    ) -> list[AttemptIndexRow]:
        check_page(limit, offset)
        statement, params = sql.list_attempts_query(quiz_id, status, after, limit, offset)

        def run(cur: sqlite3.Cursor) -> list[AttemptIndexRow]:
            return [sql.index_row(r) for r in cur.execute(statement, params)]

        return await self._readers.run(run)

    async def due_attempts(self, now: float, limit: int = 500) -> list[AttemptIndexRow]:
        check_page(limit, 0)

        def run(cur: sqlite3.Cursor) -> list[AttemptIndexRow]:
            return [sql.index_row(r) for r in cur.execute(sql.SELECT_DUE, (now, limit))]

        return await self._readers.run(run)

    # -- quizzes ----------------------------------------------------------------------

    async def put_quiz(self, quiz: Quiz) -> Quiz:
        canonical = canonical_quiz(quiz)
        return await self._submit(partial(sql.put_quiz, quiz.id, canonical))

    async def get_quiz(self, quiz_id: str, version: int | None = None) -> Quiz | None:
        def run(cur: sqlite3.Cursor) -> Quiz | None:
            if version is None:
                r = cur.execute(sql.SELECT_LATEST_QUIZ, (quiz_id,)).fetchone()
            else:
                r = cur.execute(sql.SELECT_QUIZ, (quiz_id, version)).fetchone()
            return None if r is None else decode_quiz(r[0])

        return await self._readers.run(run)

    async def list_quizzes(self) -> list[QuizSummary]:
        def run(cur: sqlite3.Cursor) -> list[QuizSummary]:
            return [
                QuizSummary(id=r[0], version=r[1], title=r[2])
                for r in cur.execute(sql.SELECT_QUIZ_LIST)
            ]

        return await self._readers.run(run)

    # -- invites ----------------------------------------------------------------------

    async def add_invites(self, invites: Sequence[Invite]) -> None:
        if not invites:
            return
        rows = [
            (i.token_hash, i.quiz_id, i.candidate_id, i.name, i.email, i.valid_until, i.created_at)
            for i in invites
        ]
        await self._submit(partial(sql.add_invites, rows))

    async def find_invite(self, token_hash: str) -> Invite | None:
        def run(cur: sqlite3.Cursor) -> Invite | None:
            r = cur.execute(sql.SELECT_INVITE, (token_hash,)).fetchone()
            if r is None:
                return None
            return Invite(
                token_hash=r[0],
                quiz_id=r[1],
                candidate_id=r[2],
                name=r[3],
                email=r[4],
                valid_until=r[5],
                created_at=r[6],
            )

        return await self._readers.run(run)

    # -- leases -----------------------------------------------------------------------

    async def acquire_lease(
        self, attempt_id: str, session_id: str, ttl_s: float, now: float, *, force: bool = False
    ) -> LeaseGrant:
        # Through the writer thread: the UPSERT and the read of a refusal's holder
        # are one transaction, so the answer is consistent.
        return await self._submit(
            partial(sql.acquire_lease, attempt_id, session_id, ttl_s, now, force)
        )

    async def release_lease(self, attempt_id: str, session_id: str) -> None:
        await self._submit(partial(sql.release_lease, attempt_id, session_id))

    async def lease_holder(self, attempt_id: str, now: float) -> LeaseGrant:
        def run(cur: sqlite3.Cursor) -> LeaseGrant:
            r = cur.execute(sql.SELECT_LEASE, (attempt_id,)).fetchone()
            return lease_grant(None, 0.0, now) if r is None else lease_grant(r[0], r[1], now)

        return await self._readers.run(run)

    # -- liveness marks ---------------------------------------------------------------

    async def mark_alive(self, instance_id: str, now: float) -> None:
        await self._submit(partial(sql.mark_alive, instance_id, now))

    async def last_alive(self) -> float | None:
        def run(cur: sqlite3.Cursor) -> float | None:
            at: float | None = cur.execute(sql.LAST_ALIVE).fetchone()[0]
            return at

        return await self._readers.run(run)

    async def prune_alive(self, before: float) -> int:
        return await self._submit(partial(sql.prune_alive, before))
