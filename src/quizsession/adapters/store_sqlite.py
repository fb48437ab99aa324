"""The embedded durable store: SQLite through the standard ``sqlite3`` module.

Writes and durability
    One writer thread owns the only write connection. Every write (``append``,
    ``put_quiz``, ``add_invites``) is a request on a queue; the caller awaits an
    asyncio future. The writer takes all pending requests (at most
    ``max_batch``), runs them in ONE ``BEGIN IMMEDIATE`` transaction, each inside
    its own SAVEPOINT (so a request that fails, e.g. on the optimistic lock, is
    rolled back alone), COMMITs once (WAL + ``synchronous=FULL``: one fsync for the
    whole batch) and only then resolves the callers' futures. A caller is never
    told "done" before its data is on disk. If the COMMIT (or anything outside one
    request) fails, every caller of the batch gets ``StoreUnavailable``.

Reads
    A small pool of threads, each with its own read connection (WAL lets them read
    beside the writer); the event loop never blocks on the database.

Errors
    ``sqlite3`` errors never cross the port: driver failures (disk full, I/O error,
    database locked past ``busy_timeout``) become ``StoreUnavailable``; the
    optimistic lock becomes ``VersionConflict``. A failing batch is logged
    (``quizsession.store``: the SQLite error name, e.g. ``SQLITE_FULL``; at most
    every 10 s while failures last) and so is the first success after it.

Leases
    The live state's store-only fallback keeps attempt leases in ``leases``. An
    acquire is one conditional UPSERT run by the writer thread (so acquires are
    serialised and atomic), followed in the same transaction by a read of the
    holder when it was refused.

Liveness marks
    ``alive`` keeps each instance's latest mark (``AliveStore``); a mark is an
    UPSERT through the writer, group-committed like any other write.

Schema
    Created on ``open()``; its version is kept in ``PRAGMA user_version`` and later
    versions append a step to ``_MIGRATIONS``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Final, TypeVar

import msgspec

from quizsession.adapters.store_memory import (
    canonical_quiz,
    check_append,
    check_page,
    decode_quiz,
    lease_grant,
    unversioned,
    versioned_quiz,
)
from quizsession.app.ports import (
    AttemptIndexRow,
    AttemptStatus,
    Invite,
    LeaseGrant,
    QuizSummary,
    RecordedEvent,
    StoreError,
    StoreUnavailable,
    VersionConflict,
)
from quizsession.domain.events import AttemptEvent, decode_event, encode_event, event_type
from quizsession.domain.quiz import Quiz

T = TypeVar("T")
log = logging.getLogger("quizsession.store")
FAILURE_LOG_EVERY_S = 10.0  # while writes keep failing, one warning per this many seconds

# Each step moves the schema from user_version i to i + 1, in one transaction.
_MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        """CREATE TABLE attempts (
            attempt_id   TEXT    NOT NULL PRIMARY KEY,
            quiz_id      TEXT    NOT NULL,
            candidate_id TEXT    NOT NULL,
            status       TEXT    NOT NULL,
            state        TEXT    NOT NULL,
            version      INTEGER NOT NULL,
            updated_at   REAL    NOT NULL,
            deadline     REAL,
            due_at       REAL
        ) WITHOUT ROWID""",
        """CREATE TABLE events (
            attempt_id TEXT    NOT NULL REFERENCES attempts (attempt_id),
            seq        INTEGER NOT NULL,
            type       TEXT    NOT NULL,
            at         REAL    NOT NULL,
            data       BLOB    NOT NULL,
            PRIMARY KEY (attempt_id, seq)
        ) WITHOUT ROWID""",
        """CREATE TABLE quizzes (
            quiz_id TEXT    NOT NULL,
            version INTEGER NOT NULL,
            title   TEXT    NOT NULL,
            data    BLOB    NOT NULL,
            PRIMARY KEY (quiz_id, version)
        ) WITHOUT ROWID""",
        """CREATE TABLE invites (
            token_hash   TEXT NOT NULL PRIMARY KEY,
            quiz_id      TEXT NOT NULL,
            candidate_id TEXT NOT NULL,
            name         TEXT NOT NULL,
            email        TEXT NOT NULL,
            valid_until  REAL NOT NULL,
            created_at   REAL NOT NULL
        ) WITHOUT ROWID""",
        "CREATE INDEX attempts_by_quiz ON attempts (quiz_id, attempt_id)",
        "CREATE INDEX attempts_by_status ON attempts (status, attempt_id)",
        "CREATE INDEX attempts_due ON attempts (due_at, attempt_id) WHERE status = 'open'",
        "CREATE INDEX invites_by_quiz ON invites (quiz_id)",
    ),
    (
        # The store-only fallback's leases (``LeaseStore``): one row per attempt
        # that ever had one; a row with expires_at <= now is a free lease.
        """CREATE TABLE leases (
            attempt_id TEXT NOT NULL PRIMARY KEY,
            session_id TEXT NOT NULL,
            expires_at REAL NOT NULL
        ) WITHOUT ROWID""",
    ),
    (
        # Liveness marks (``AliveStore``): one row per instance, its latest mark.
        """CREATE TABLE alive (
            instance_id TEXT NOT NULL PRIMARY KEY,
            at          REAL NOT NULL
        ) WITHOUT ROWID""",
    ),
)
SCHEMA_VERSION: Final = len(_MIGRATIONS)

# Literal strings (no formatting at run time): each is prepared once and kept in
# the connection's statement cache.
# The two statements of the optimistic lock take the same leading parameters.
_INSERT_ATTEMPT = (
    "INSERT INTO attempts (quiz_id, candidate_id, status, state, version, updated_at, "
    "deadline, due_at, attempt_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (attempt_id) DO NOTHING"
)
_UPDATE_ATTEMPT = (
    "UPDATE attempts SET quiz_id = ?, candidate_id = ?, status = ?, state = ?, version = ?, "
    "updated_at = ?, deadline = ?, due_at = ? WHERE attempt_id = ? AND version = ?"
)
_BULK_INSERT_ATTEMPTS = (
    "INSERT INTO attempts (quiz_id, candidate_id, status, state, version, updated_at, "
    "deadline, due_at, attempt_id) VALUES {} ON CONFLICT (attempt_id) DO NOTHING"
)
_BULK_UPDATE_ATTEMPTS = (
    "UPDATE attempts SET quiz_id = v.column1, candidate_id = v.column2, status = v.column3, "
    "state = v.column4, version = v.column5, updated_at = v.column6, deadline = v.column7, "
    "due_at = v.column8 FROM (VALUES {}) AS v "
    "WHERE attempts.attempt_id = v.column9 AND attempts.version = v.column10"
)
_BULK_INSERT_EVENTS = "INSERT INTO events (attempt_id, seq, type, at, data) VALUES {}"
_SELECT_VERSION = "SELECT version FROM attempts WHERE attempt_id = ?"
_INSERT_EVENT = "INSERT INTO events (attempt_id, seq, type, at, data) VALUES (?, ?, ?, ?, ?)"
_SELECT_LAST_SEQ = "SELECT max(seq) FROM events WHERE attempt_id = ?"
_SELECT_EVENTS = "SELECT seq, data FROM events WHERE attempt_id = ? AND seq > ? ORDER BY seq"
# ``read_many``: the logs of up to _LOGS_PER_STATEMENT attempts as ONE value, a JSON
# array of [position of the attempt id in the list, seq, event] (each event's data
# is its JSON encoding, put in as it is). One row, not one per event: a reader
# thread gives up the GIL at every step of a statement and, while the event loop is
# busy, waits for it at each (see ``_bulk_append``); here a chunk costs one step.
# group_concat's order is not guaranteed, hence the seq in each element.
_SELECT_LOGS = (
    "WITH ids (n, attempt_id) AS (VALUES {}) "
    "SELECT '[' || group_concat('[' || ids.n || ',' || events.seq || ',' || "
    "CAST(events.data AS TEXT) || ']', ',') || ']' "
    "FROM ids JOIN events ON events.attempt_id = ids.attempt_id"
)
_LOGS_PER_STATEMENT = 400  # two bound values each: within SQLite's old limit of 999
_ID_ROW = "(?, ?)"
_LOGS_DECODER = msgspec.json.Decoder(list[tuple[int, int, AttemptEvent]])
_SELECT_ROW = (
    "SELECT attempt_id, quiz_id, candidate_id, status, state, version, updated_at, "
    "deadline, due_at FROM attempts WHERE attempt_id = ?"
)
_SELECT_DUE = (
    "SELECT attempt_id, quiz_id, candidate_id, status, state, version, updated_at, "
    "deadline, due_at FROM attempts INDEXED BY attempts_due "
    "WHERE status = 'open' AND due_at <= ? "
    "ORDER BY due_at, attempt_id LIMIT ?"
)
_LIST_ALL = (
    "SELECT attempt_id, quiz_id, candidate_id, status, state, version, updated_at, "
    "deadline, due_at FROM attempts ORDER BY attempt_id LIMIT ? OFFSET ?"
)
_LIST_BY_QUIZ = (
    "SELECT attempt_id, quiz_id, candidate_id, status, state, version, updated_at, "
    "deadline, due_at FROM attempts WHERE quiz_id = ? "
    "ORDER BY attempt_id LIMIT ? OFFSET ?"
)
_LIST_BY_STATUS = (
    "SELECT attempt_id, quiz_id, candidate_id, status, state, version, updated_at, "
    "deadline, due_at FROM attempts WHERE status = ? "
    "ORDER BY attempt_id LIMIT ? OFFSET ?"
)
_LIST_BY_QUIZ_STATUS = (
    "SELECT attempt_id, quiz_id, candidate_id, status, state, version, updated_at, "
    "deadline, due_at FROM attempts WHERE quiz_id = ? AND status = ? "
    "ORDER BY attempt_id LIMIT ? OFFSET ?"
)
_SELECT_LATEST_QUIZ = (
    "SELECT data, version FROM quizzes WHERE quiz_id = ? ORDER BY version DESC LIMIT 1"
)
_SELECT_QUIZ = "SELECT data FROM quizzes WHERE quiz_id = ? AND version = ?"
_INSERT_QUIZ = "INSERT INTO quizzes (quiz_id, version, title, data) VALUES (?, ?, ?, ?)"
# SQLite documents that a bare column next to max() comes from the row of the max.
_SELECT_QUIZ_LIST = (
    "SELECT quiz_id, max(version), title FROM quizzes GROUP BY quiz_id ORDER BY quiz_id"
)
_UPSERT_INVITE = (
    "INSERT OR REPLACE INTO invites "
    "(token_hash, quiz_id, candidate_id, name, email, valid_until, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_SELECT_INVITE = (
    "SELECT token_hash, quiz_id, candidate_id, name, email, valid_until, created_at "
    "FROM invites WHERE token_hash = ?"
)

# One conditional UPSERT: taken when free, lapsed, already this session's, or
# forced; RETURNING gives no row when the lease stays with another session.
_ACQUIRE_LEASE = (
    "INSERT INTO leases (attempt_id, session_id, expires_at) VALUES (?, ?, ?) "
    "ON CONFLICT (attempt_id) DO UPDATE SET session_id = excluded.session_id, "
    "expires_at = excluded.expires_at "
    "WHERE leases.expires_at <= ? OR leases.session_id = excluded.session_id OR ? "
    "RETURNING session_id"
)
_SELECT_LEASE = "SELECT session_id, expires_at FROM leases WHERE attempt_id = ?"
_RELEASE_LEASE = "DELETE FROM leases WHERE attempt_id = ? AND session_id = ?"

_MARK_ALIVE = (
    "INSERT INTO alive (instance_id, at) VALUES (?, ?) "
    "ON CONFLICT (instance_id) DO UPDATE SET at = excluded.at"
)
_LAST_ALIVE = "SELECT max(at) FROM alive"
_PRUNE_ALIVE = "DELETE FROM alive WHERE at < ?"

_STOP: Final = object()
_Outcome = tuple[asyncio.Future[Any], object, BaseException | None]


class _Append:
    """An append's data, for writing many appends with a few multi-row statements."""

    __slots__ = ("attempt_id", "expected", "rows", "values")

    def __init__(
        self,
        attempt_id: str,
        expected: int,
        values: tuple[object, ...],
        rows: list[tuple[str, int, str, float, bytes]],
    ) -> None:
        self.attempt_id = attempt_id
        self.expected = expected
        self.values = values
        self.rows = rows


class _Write:
    """One write request: a function run by the writer thread inside a savepoint,
    and the future of the caller waiting for its result. An append also carries
    its data (``append``), so that a batch's appends can be written together."""

    __slots__ = ("append", "fn", "future", "loop")

    def __init__(
        self,
        fn: Callable[[sqlite3.Cursor], object],
        future: asyncio.Future[Any],
        loop: asyncio.AbstractEventLoop,
        append: _Append | None = None,
    ) -> None:
        self.fn = fn
        self.future = future
        self.loop = loop
        self.append = append


def _row(r: tuple[Any, ...]) -> AttemptIndexRow:
    return AttemptIndexRow(
        attempt_id=r[0],
        quiz_id=r[1],
        candidate_id=r[2],
        status=r[3],
        state=r[4],
        version=r[5],
        updated_at=r[6],
        deadline=r[7],
        due_at=r[8],
    )


def _settle(outcomes: list[_Outcome]) -> None:
    for future, value, error in outcomes:
        if future.done():  # the caller was cancelled
            continue
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)


def _unavailable(exc: BaseException) -> StoreUnavailable:
    return StoreUnavailable(f"sqlite: {exc}")


class SqliteStore:
    """The ``Store`` port on one SQLite file."""

    def __init__(
        self,
        path: str,
        *,
        readers: int = 4,
        max_batch: int = 1024,
        busy_timeout_ms: int = 5000,
    ) -> None:
        if path == "" or path == ":memory:" or path.startswith("file::memory:"):
            raise ValueError("SqliteStore needs a file; use MemoryStore for a store in memory")
        if readers < 1 or max_batch < 1 or busy_timeout_ms < 0:
            raise ValueError("readers and max_batch must be >= 1, busy_timeout_ms >= 0")
        self.path = path
        self._readers = readers
        self._max_batch = max_batch
        self._busy_timeout_ms = busy_timeout_ms
        self._queue: queue.SimpleQueue[_Write | object] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._read_conns: list[sqlite3.Connection] = []
        self._read_conns_lock = threading.Lock()
        self._accepting = False
        # Batches and write requests the writer has run (committed or failed): for
        # metrics and tests; written by the writer thread only.
        self.batches = 0
        self.writes = 0
        self.bulk_batches = 0  # batches whose appends went in as multi-row statements
        # Failed batches since the last success (disk full, I/O error, locked):
        # logged on the first failure, then at most every FAILURE_LOG_EVERY_S,
        # and once more when writes succeed again. Writer thread only.
        self.failing_batches = 0
        self._failure_logged_at = 0.0

    @property
    def durable(self) -> bool:
        return True

    # -- life cycle -----------------------------------------------------------------

    async def open(self) -> None:
        if self._writer is not None:
            return
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        writer = threading.Thread(
            target=self._writer_main, args=(ready,), name="sqlite-writer", daemon=True
        )
        writer.start()
        try:
            await asyncio.wrap_future(ready)
        except StoreUnavailable:
            await asyncio.to_thread(writer.join)
            raise
        self._writer = writer
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=self._readers, thread_name_prefix="sqlite-read"
        )
        self._accepting = True

    async def close(self) -> None:
        """Stop accepting work, let the writer commit (or fail) everything already
        queued, stop it, then close the read connections. Idempotent."""
        self._accepting = False
        writer, self._writer = self._writer, None
        pool, self._pool = self._pool, None
        if writer is not None:
            self._queue.put(_STOP)
            await asyncio.to_thread(writer.join)
        if pool is not None:
            await asyncio.to_thread(self._close_readers, pool)

    def _close_readers(self, pool: concurrent.futures.ThreadPoolExecutor) -> None:
        pool.shutdown(wait=True)
        with self._read_conns_lock:
            conns, self._read_conns = self._read_conns, []
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    async def ping(self) -> bool:
        try:
            return bool(await self._read(lambda cur: cur.execute("SELECT 1").fetchone()[0]))
        except StoreUnavailable:
            return False

    # -- the writer thread ------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, cached_statements=64
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
        conn = self._connect()
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreUnavailable(f"sqlite: cannot use WAL on {self.path} (got {mode})")
            conn.execute("PRAGMA journal_size_limit = 67108864")
            self._migrate(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        current = conn.execute("PRAGMA user_version").fetchone()[0]
        if current == SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            if current > SCHEMA_VERSION:
                raise StoreUnavailable(
                    f"sqlite: {self.path} has schema {current}, newer than this "
                    f"version of quizsession knows ({SCHEMA_VERSION})"
                )
            for step in _MIGRATIONS[current:]:
                for statement in step:
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise

    def _writer_main(self, ready: concurrent.futures.Future[None]) -> None:
        try:
            conn = self._open_writer()
        except Exception as exc:
            ready.set_exception(exc if isinstance(exc, StoreUnavailable) else _unavailable(exc))
            return
        ready.set_result(None)
        try:
            self._write_loop(conn)
        finally:
            self._accepting = False  # only matters if the loop died unexpectedly
            # Nothing left hanging: whatever is still queued is failed.
            leftovers: list[_Write] = []
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, _Write):
                    leftovers.append(item)
            if leftovers:
                self._deliver(
                    [(w.future, None, StoreUnavailable("store closed")) for w in leftovers],
                    leftovers,
                )
            conn.close()

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        get = self._queue.get
        get_nowait = self._queue.get_nowait
        cur = conn.cursor()
        max_batch = self._max_batch
        while True:
            item = get()
            if not isinstance(item, _Write):
                return
            batch = [item]
            stop = False
            while len(batch) < max_batch:
                try:
                    item = get_nowait()
                except queue.Empty:
                    break
                if not isinstance(item, _Write):
                    stop = True
                    break
                batch.append(item)
            self._deliver(self._run_batch(conn, cur, batch), batch)
            if stop:
                return

    def _run_batch(
        self, conn: sqlite3.Connection, cur: sqlite3.Cursor, batch: list[_Write]
    ) -> list[_Outcome]:
        outcomes: list[_Outcome] = []
        execute = cur.execute
        self.batches += 1
        self.writes += len(batch)
        try:
            execute("BEGIN IMMEDIATE")
            if _bulk_append(cur, batch):
                self.bulk_batches += 1
                outcomes = [
                    (w.future, w.append.expected + len(w.append.rows), None)
                    for w in batch
                    if w.append is not None
                ]
                rest = [w for w in batch if w.append is None]
            else:
                rest = batch
            for w in rest:
                execute("SAVEPOINT w")
                try:
                    value = w.fn(cur)
                except (sqlite3.IntegrityError, sqlite3.DataError, sqlite3.ProgrammingError) as exc:
                    # This request's data broke a constraint, or is too big or unbindable.
                    execute("ROLLBACK TO w")
                    execute("RELEASE w")
                    outcomes.append((w.future, None, StoreError(f"sqlite: {exc}")))
                except sqlite3.Error:
                    raise  # the database, not this request: the whole batch fails
                except Exception as exc:  # VersionConflict, or bad input
                    execute("ROLLBACK TO w")
                    execute("RELEASE w")
                    outcomes.append((w.future, None, exc))
                else:
                    execute("RELEASE w")
                    outcomes.append((w.future, value, None))
            execute("COMMIT")
        except Exception as exc:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            self._note_failure(exc, len(batch))
            return [(w.future, None, _unavailable(exc)) for w in batch]
        if self.failing_batches:
            log.warning(
                "sqlite: writes succeed again on %s (after %d failed batches)",
                self.path,
                self.failing_batches,
            )
            self.failing_batches = 0
        return outcomes

    def _note_failure(self, exc: Exception, requests: int) -> None:
        """Say why writes fail (the callers only get 503 store_unavailable)."""
        self.failing_batches += 1
        now = time.monotonic()
        if self.failing_batches > 1 and now - self._failure_logged_at < FAILURE_LOG_EVERY_S:
            return
        self._failure_logged_at = now
        name = getattr(exc, "sqlite_errorname", type(exc).__name__)
        log.warning(
            "sqlite: a batch of %d write(s) failed on %s, nothing of it stored, callers "
            "told to retry (store_unavailable): %s: %s (%d failed batches so far)",
            requests,
            self.path,
            name,
            exc,
            self.failing_batches,
        )

    @staticmethod
    def _deliver(outcomes: list[_Outcome], batch: list[_Write]) -> None:
        loop = batch[0].loop
        groups: dict[asyncio.AbstractEventLoop, list[_Outcome]]
        if all(w.loop is loop for w in batch):
            groups = {loop: outcomes}
        else:
            groups = {}
            for outcome in outcomes:
                groups.setdefault(outcome[0].get_loop(), []).append(outcome)
        for target, items in groups.items():
            # RuntimeError: that loop is closed, nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                target.call_soon_threadsafe(_settle, items)

    def _submit(
        self, fn: Callable[[sqlite3.Cursor], T], append: _Append | None = None
    ) -> asyncio.Future[T]:
        if not self._accepting:
            raise StoreUnavailable("store is not open")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Write(fn, future, loop, append))
        return future

    # -- the readers ------------------------------------------------------------------

    def _read_conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only = ON")
            self._local.conn = conn
            with self._read_conns_lock:
                self._read_conns.append(conn)
        return conn

    def _run_read(self, fn: Callable[[sqlite3.Cursor], T]) -> T:
        cur = self._read_conn().cursor()
        try:
            return fn(cur)
        finally:
            cur.close()

    async def _read(self, fn: Callable[[sqlite3.Cursor], T]) -> T:
        pool = self._pool
        if pool is None:
            raise StoreUnavailable("store is not open")
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, self._run_read, fn)
        except StoreError:
            raise
        except msgspec.DecodeError as exc:
            raise StoreError(f"sqlite: undecodable record: {exc}") from exc
        except (sqlite3.Error, OSError, RuntimeError) as exc:  # RuntimeError: pool shut down
            raise _unavailable(exc) from exc

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
            partial(_append, attempt_id, expected_version, values, rows),
            _Append(attempt_id, expected_version, values, rows),
        )

    async def read(self, attempt_id: str, after: int = 0) -> list[RecordedEvent]:
        def run(cur: sqlite3.Cursor) -> list[RecordedEvent]:
            return [
                RecordedEvent(attempt_id=attempt_id, seq=seq, event=decode_event(data))
                for seq, data in cur.execute(_SELECT_EVENTS, (attempt_id, after))
            ]

        return await self._read(run)

    async def read_many(self, attempt_ids: Sequence[str]) -> dict[str, list[RecordedEvent]]:
        ids = list(dict.fromkeys(attempt_ids))
        if not ids:
            return {}
        return await self._read(partial(_read_logs, ids))

    async def get_index(self, attempt_id: str) -> AttemptIndexRow | None:
        def run(cur: sqlite3.Cursor) -> AttemptIndexRow | None:
            r = cur.execute(_SELECT_ROW, (attempt_id,)).fetchone()
            return None if r is None else _row(r)

        return await self._read(run)

    async def list_attempts(
        self,
        *,
        quiz_id: str | None = None,
        status: AttemptStatus | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AttemptIndexRow]:
        check_page(limit, offset)
        sql: str
        params: tuple[object, ...]
        if quiz_id is None and status is None:
            sql, params = _LIST_ALL, (limit, offset)
        elif status is None:
            sql, params = _LIST_BY_QUIZ, (quiz_id, limit, offset)
        elif quiz_id is None:
            sql, params = _LIST_BY_STATUS, (status, limit, offset)
        else:
            sql, params = _LIST_BY_QUIZ_STATUS, (quiz_id, status, limit, offset)

        def run(cur: sqlite3.Cursor) -> list[AttemptIndexRow]:
            return [_row(r) for r in cur.execute(sql, params)]

        return await self._read(run)

    async def due_attempts(self, now: float, limit: int = 500) -> list[AttemptIndexRow]:
        check_page(limit, 0)

        def run(cur: sqlite3.Cursor) -> list[AttemptIndexRow]:
            return [_row(r) for r in cur.execute(_SELECT_DUE, (now, limit))]

        return await self._read(run)

    # -- quizzes ----------------------------------------------------------------------

    async def put_quiz(self, quiz: Quiz) -> Quiz:
        canonical = canonical_quiz(quiz)
        return await self._submit(partial(_put_quiz, quiz.id, canonical))

    async def get_quiz(self, quiz_id: str, version: int | None = None) -> Quiz | None:
        def run(cur: sqlite3.Cursor) -> Quiz | None:
            if version is None:
                r = cur.execute(_SELECT_LATEST_QUIZ, (quiz_id,)).fetchone()
            else:
                r = cur.execute(_SELECT_QUIZ, (quiz_id, version)).fetchone()
            return None if r is None else decode_quiz(r[0])

        return await self._read(run)

    async def list_quizzes(self) -> list[QuizSummary]:
        def run(cur: sqlite3.Cursor) -> list[QuizSummary]:
            return [
                QuizSummary(id=r[0], version=r[1], title=r[2])
                for r in cur.execute(_SELECT_QUIZ_LIST)
            ]

        return await self._read(run)

    # -- invites ----------------------------------------------------------------------

    async def add_invites(self, invites: Sequence[Invite]) -> None:
        if not invites:
            return
        rows = [
            (i.token_hash, i.quiz_id, i.candidate_id, i.name, i.email, i.valid_until, i.created_at)
            for i in invites
        ]
        await self._submit(partial(_add_invites, rows))

    async def find_invite(self, token_hash: str) -> Invite | None:
        def run(cur: sqlite3.Cursor) -> Invite | None:
            r = cur.execute(_SELECT_INVITE, (token_hash,)).fetchone()
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

        return await self._read(run)

    # -- leases -----------------------------------------------------------------------

    async def acquire_lease(
        self, attempt_id: str, session_id: str, ttl_s: float, now: float, *, force: bool = False
    ) -> LeaseGrant:
        # Through the writer thread: the UPSERT and the read of a refusal's holder
        # are one transaction, so the answer is consistent.
        return await self._submit(
            partial(_acquire_lease, attempt_id, session_id, ttl_s, now, force)
        )

    async def release_lease(self, attempt_id: str, session_id: str) -> None:
        await self._submit(partial(_release_lease, attempt_id, session_id))

    async def lease_holder(self, attempt_id: str, now: float) -> LeaseGrant:
        def run(cur: sqlite3.Cursor) -> LeaseGrant:
            r = cur.execute(_SELECT_LEASE, (attempt_id,)).fetchone()
            return lease_grant(None, 0.0, now) if r is None else lease_grant(r[0], r[1], now)

        return await self._read(run)

    # -- liveness marks ---------------------------------------------------------------

    async def mark_alive(self, instance_id: str, now: float) -> None:
        await self._submit(partial(_mark_alive, instance_id, now))

    async def last_alive(self) -> float | None:
        def run(cur: sqlite3.Cursor) -> float | None:
            at: float | None = cur.execute(_LAST_ALIVE).fetchone()[0]
            return at

        return await self._read(run)

    async def prune_alive(self, before: float) -> int:
        return await self._submit(partial(_prune_alive, before))


# -- reads run by a reader thread -------------------------------------------------------


def _read_logs(ids: list[str], cur: sqlite3.Cursor) -> dict[str, list[RecordedEvent]]:
    logs: dict[str, list[RecordedEvent]] = {attempt_id: [] for attempt_id in ids}
    for start in range(0, len(ids), _LOGS_PER_STATEMENT):
        chunk = ids[start : start + _LOGS_PER_STATEMENT]
        sql = _SELECT_LOGS.format(", ".join([_ID_ROW] * len(chunk)))
        params = [value for n, attempt_id in enumerate(chunk) for value in (n, attempt_id)]
        text = cur.execute(sql, params).fetchone()[0]
        if text is None:  # none of them has an event
            continue
        for n, seq, event in _LOGS_DECODER.decode(text):
            attempt_id = chunk[n]
            logs[attempt_id].append(RecordedEvent(attempt_id=attempt_id, seq=seq, event=event))
    for records in logs.values():
        records.sort(key=_seq)
    return logs


def _seq(record: RecordedEvent) -> int:
    return record.seq


# -- write operations, run by the writer thread inside a savepoint ----------------------


def _append(
    attempt_id: str,
    expected: int,
    values: tuple[object, ...],
    rows: list[tuple[str, int, str, float, bytes]],
    cur: sqlite3.Cursor,
) -> int:
    if expected == 0:
        cur.execute(_INSERT_ATTEMPT, values)
    else:
        cur.execute(_UPDATE_ATTEMPT, (*values, expected))
    if cur.rowcount != 1:
        r = cur.execute(_SELECT_VERSION, (attempt_id,)).fetchone()
        raise VersionConflict(attempt_id, expected, 0 if r is None else r[0])
    try:
        cur.executemany(_INSERT_EVENT, rows)
    except sqlite3.IntegrityError as exc:
        if exc.sqlite_errorname != "SQLITE_CONSTRAINT_PRIMARYKEY":
            raise
        # A seq already taken although the attempts row agreed: the log moved.
        r = cur.execute(_SELECT_LAST_SEQ, (attempt_id,)).fetchone()
        raise VersionConflict(attempt_id, expected, r[0]) from exc
    return expected + len(rows)


#: Rows per multi-row statement: at most 1,000 bound values each (SQLite's limit
#: is 32,766 since 3.32), so a batch of 1,024 appends takes a handful of steps.
_BULK_ATTEMPTS = 100
_BULK_EVENTS = 200
_ATTEMPT_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
_VERSIONED_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_EVENT_ROW = "(?, ?, ?, ?, ?)"


def _bulk_append(cur: sqlite3.Cursor, batch: list[_Write]) -> bool:
    """Write every append of ``batch`` with a few multi-row statements, inside a
    savepoint; True when all of them went in as asked.

    The writer thread gives up the GIL at every SQLite step, and gets it back only
    when the event loop lets go: one step per row made the writer wait on the
    request handlers for every row. Here a batch of appends costs a few steps. When
    anything does not go as asked (a version moved, a seq taken, two appends to
    one attempt in the batch), the savepoint is rolled back and False returned:
    the caller then runs each write in its own savepoint, which gives each caller
    its own answer."""
    appends = [w.append for w in batch if w.append is not None]
    if len(appends) < 2 or len({a.attempt_id for a in appends}) != len(appends):
        return False
    execute = cur.execute
    execute("SAVEPOINT bulk")
    try:
        fresh = [a.values for a in appends if a.expected == 0]
        moved = [(*a.values, a.expected) for a in appends if a.expected != 0]
        ok = _bulk_rows(cur, _BULK_INSERT_ATTEMPTS, _ATTEMPT_ROW, fresh, _BULK_ATTEMPTS)
        ok = ok and _bulk_rows(cur, _BULK_UPDATE_ATTEMPTS, _VERSIONED_ROW, moved, _BULK_ATTEMPTS)
        events = [row for a in appends for row in a.rows]
        ok = ok and _bulk_rows(cur, _BULK_INSERT_EVENTS, _EVENT_ROW, events, _BULK_EVENTS)
    except sqlite3.IntegrityError:
        ok = False
    except BaseException:
        execute("ROLLBACK TO bulk")
        execute("RELEASE bulk")
        raise
    if not ok:
        execute("ROLLBACK TO bulk")
    execute("RELEASE bulk")
    return ok


def _bulk_rows(
    cur: sqlite3.Cursor,
    template: str,
    row: str,
    rows: Sequence[tuple[object, ...]],
    per_statement: int,
) -> bool:
    """Run ``template`` (``{}`` = the VALUES rows) over ``rows`` in chunks; True
    when each statement changed exactly as many rows as it was given."""
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        sql = template.format(", ".join([row] * len(chunk)))
        cur.execute(sql, [value for r in chunk for value in r])
        if cur.rowcount != len(chunk):
            return False
    return True


def _put_quiz(quiz_id: str, canonical: bytes, cur: sqlite3.Cursor) -> Quiz:
    r = cur.execute(_SELECT_LATEST_QUIZ, (quiz_id,)).fetchone()
    if r is not None and unversioned(r[0]) == canonical:
        return decode_quiz(r[0])
    version = 1 if r is None else r[1] + 1
    quiz, data = versioned_quiz(canonical, version)
    cur.execute(_INSERT_QUIZ, (quiz_id, version, quiz.title, data))
    return quiz


def _add_invites(
    rows: list[tuple[str, str, str, str, str, float, float]], cur: sqlite3.Cursor
) -> None:
    cur.executemany(_UPSERT_INVITE, rows)


def _acquire_lease(
    attempt_id: str, session_id: str, ttl_s: float, now: float, force: bool, cur: sqlite3.Cursor
) -> LeaseGrant:
    taken = cur.execute(
        _ACQUIRE_LEASE, (attempt_id, session_id, now + ttl_s, now, 1 if force else 0)
    ).fetchone()
    if taken is not None:
        return LeaseGrant(acquired=True, holder=session_id, expires_in=ttl_s)
    r = cur.execute(_SELECT_LEASE, (attempt_id,)).fetchone()
    return lease_grant(None, 0.0, now) if r is None else lease_grant(r[0], r[1], now)


def _release_lease(attempt_id: str, session_id: str, cur: sqlite3.Cursor) -> None:
    cur.execute(_RELEASE_LEASE, (attempt_id, session_id))


def _mark_alive(instance_id: str, now: float, cur: sqlite3.Cursor) -> None:
    cur.execute(_MARK_ALIVE, (instance_id, now))


def _prune_alive(before: float, cur: sqlite3.Cursor) -> int:
    return cur.execute(_PRUNE_ALIVE, (before,)).rowcount
