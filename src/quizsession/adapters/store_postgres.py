"""The durable store on PostgreSQL, through asyncpg and a connection pool.

Writes and durability
    Every write is one transaction. The server runs with ``synchronous_commit=on``
    (the default; this adapter does not lower it), so COMMIT returns only once the
    WAL is flushed: a returned ``append`` is on disk.

The optimistic lock
    ``append`` with ``expected_version`` 0 inserts the attempt's index row
    (``ON CONFLICT DO NOTHING``: if the row exists, nothing is written and the
    caller gets ``VersionConflict`` with the version found); otherwise it runs
    ``UPDATE attempts ... WHERE attempt_id = $1 AND version = $expected``, and 0
    rows means ``VersionConflict``. Under READ COMMITTED a concurrent writer of the
    same attempt waits for the row lock and then re-checks the version, so of N
    racing writers exactly one wins each version. The events go in with one
    ``INSERT ... SELECT FROM unnest(...)`` in the same transaction: all or nothing.
    The primary key (attempt_id, seq) backs the lock up.

Quizzes
    ``put_quiz`` takes a transaction-scoped advisory lock on the quiz id, so two
    instances storing the same quiz at once still get consecutive versions and an
    unchanged definition is never stored twice.

Leases
    The live state's store-only fallback keeps attempt leases in ``leases``. An
    acquire is ``INSERT ... ON CONFLICT DO UPDATE ... WHERE (lapsed OR same
    session OR force) RETURNING``: the conflicting row is locked and the WHERE
    re-checked on its latest version, so of N racing acquirers one wins.

Errors
    Driver errors never cross the port. Connection loss, a server that is down,
    starting or shutting down, timeouts, resource exhaustion and serialization
    failures become ``StoreUnavailable`` (try again later); anything else the
    server refuses (bad data, a broken constraint) becomes ``StoreError``; the
    optimistic lock is ``VersionConflict``. A call that meets a pooled connection
    that died while idle (the server restarted, or killed the backend) is retried
    once on a fresh connection: reads always, writes only when the failure proves
    nothing reached the server. A connection lost in the middle of a write is
    ``StoreUnavailable`` (the caller retries with its operation id).

Liveness marks
    ``alive`` keeps each instance's latest mark (``AliveStore``, migration 3).

Schema
    Versioned migrations (``MIGRATIONS``, applied in order), recorded in
    ``schema_migrations(version, applied_at)``. ``migrate()`` applies the missing
    ones in one transaction under ``pg_advisory_xact_lock``, so instances starting
    at once do not race; ``open()`` calls it. Event and quiz encodings are stored
    in ``json`` columns: the msgspec encoding verbatim (unlike ``jsonb``, ``json``
    keeps the text byte for byte and accepts ``\\u0000`` escapes, which ``jsonb``
    refuses) and still queryable with ``->>`` (except a record holding a ``\\u0000``
    escape, which the JSON operators cannot turn into text). Ids are
    ``COLLATE "C"``: listings are in code point order whatever the database's
    default collation, as in the other stores.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeAlias, TypeVar

import asyncpg
import asyncpg.exceptions as pgerr
import msgspec

from quizsession.adapters.pg_appends import AppendBatcher, PendingAppend
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
if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Conn: TypeAlias = PoolConnectionProxy[asyncpg.Record]

#: Migration i + 1 moves the schema from version i to i + 1. Append, never edit.
MIGRATIONS: Final[tuple[str, ...]] = (
    """
    CREATE TABLE attempts (
        attempt_id   text COLLATE "C" NOT NULL PRIMARY KEY,
        quiz_id      text COLLATE "C" NOT NULL,
        candidate_id text COLLATE "C" NOT NULL,
        status       text NOT NULL,
        state        text NOT NULL,
        version      integer NOT NULL CHECK (version > 0),
        updated_at   double precision NOT NULL,
        deadline     double precision,
        due_at       double precision
    );
    CREATE TABLE events (
        attempt_id text COLLATE "C" NOT NULL REFERENCES attempts (attempt_id),
        seq        integer NOT NULL CHECK (seq > 0),
        type       text NOT NULL,
        at         double precision NOT NULL,
        data       json NOT NULL,
        PRIMARY KEY (attempt_id, seq)
    );
    CREATE TABLE quizzes (
        quiz_id    text COLLATE "C" NOT NULL,
        version    integer NOT NULL CHECK (version > 0),
        title      text NOT NULL,
        data       json NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (quiz_id, version)
    );
    CREATE TABLE invites (
        token_hash   text COLLATE "C" NOT NULL PRIMARY KEY,
        quiz_id      text COLLATE "C" NOT NULL,
        candidate_id text COLLATE "C" NOT NULL,
        name         text NOT NULL,
        email        text NOT NULL,
        valid_until  double precision NOT NULL,
        created_at   double precision NOT NULL
    );
    CREATE INDEX attempts_by_quiz ON attempts (quiz_id, attempt_id);
    CREATE INDEX attempts_by_status ON attempts (status, attempt_id);
    CREATE INDEX attempts_due ON attempts (due_at, attempt_id) WHERE status = 'open';
    CREATE INDEX invites_by_quiz ON invites (quiz_id);
    """,
    # 2: the store-only fallback's leases (``LeaseStore``): one row per attempt
    # that ever had one; a row with expires_at <= now is a free lease.
    """
    CREATE TABLE leases (
        attempt_id text COLLATE "C" NOT NULL PRIMARY KEY,
        session_id text COLLATE "C" NOT NULL,
        expires_at double precision NOT NULL
    );
    """,
    # 3: liveness marks (``AliveStore``): one row per instance, its latest mark.
    """
    CREATE TABLE alive (
        instance_id text COLLATE "C" NOT NULL PRIMARY KEY,
        at          double precision NOT NULL
    );
    """,
)
SCHEMA_VERSION: Final = len(MIGRATIONS)

# Advisory lock keys. The one-key (bigint) and two-key (int, int) spaces are
# distinct in PostgreSQL.
_MIGRATION_LOCK: Final = int.from_bytes(b"qzs:migr", "big")
_QUIZ_LOCK_CLASS: Final = int.from_bytes(b"qzsQ", "big")

_CREATE_MIGRATIONS_TABLE = """
    CREATE TABLE IF NOT EXISTS schema_migrations (
        version    integer PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now()
    )
"""

_ROW_COLUMNS = (
    "SELECT attempt_id, quiz_id, candidate_id, status, state, version, updated_at, "
    "deadline, due_at FROM attempts "
)
_INSERT_ATTEMPT = (
    "INSERT INTO attempts (attempt_id, quiz_id, candidate_id, status, state, version, "
    "updated_at, deadline, due_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
    "ON CONFLICT (attempt_id) DO NOTHING"
)
_UPDATE_ATTEMPT = (
    "UPDATE attempts SET quiz_id = $2, candidate_id = $3, status = $4, state = $5, "
    "version = $6, updated_at = $7, deadline = $8, due_at = $9 "
    "WHERE attempt_id = $1 AND version = $10"
)
_SELECT_VERSION = "SELECT version FROM attempts WHERE attempt_id = $1"
_INSERT_EVENTS = (
    "INSERT INTO events (attempt_id, seq, type, at, data) "
    "SELECT $1, e.seq, e.type, e.at, e.data::json "
    "FROM unnest($2::integer[], $3::text[], $4::float8[], $5::text[]) AS e (seq, type, at, data)"
)
_SELECT_EVENTS = "SELECT seq, data FROM events WHERE attempt_id = $1 AND seq > $2 ORDER BY seq"
_SELECT_LOGS = (
    "SELECT attempt_id, seq, data FROM events WHERE attempt_id = ANY($1::text[]) "
    "ORDER BY attempt_id, seq"
)
_SELECT_ROW = _ROW_COLUMNS + "WHERE attempt_id = $1"
_LIST_ALL = _ROW_COLUMNS + "ORDER BY attempt_id LIMIT $1 OFFSET $2"
_LIST_BY_QUIZ = _ROW_COLUMNS + "WHERE quiz_id = $3 ORDER BY attempt_id LIMIT $1 OFFSET $2"
_LIST_BY_STATUS = _ROW_COLUMNS + "WHERE status = $3 ORDER BY attempt_id LIMIT $1 OFFSET $2"
_LIST_BY_QUIZ_STATUS = (
    _ROW_COLUMNS + "WHERE quiz_id = $3 AND status = $4 ORDER BY attempt_id LIMIT $1 OFFSET $2"
)
# The literal status matches the partial index's predicate (a parameter would not).
_SELECT_DUE = (
    _ROW_COLUMNS + "WHERE status = 'open' AND due_at <= $1 ORDER BY due_at, attempt_id LIMIT $2"
)
_LOCK_QUIZ = "SELECT pg_advisory_xact_lock($1::integer, hashtext($2))"
_SELECT_LATEST_QUIZ = (
    "SELECT data, version FROM quizzes WHERE quiz_id = $1 ORDER BY version DESC LIMIT 1"
)
_SELECT_QUIZ = "SELECT data FROM quizzes WHERE quiz_id = $1 AND version = $2"
_INSERT_QUIZ = "INSERT INTO quizzes (quiz_id, version, title, data) VALUES ($1, $2, $3, $4::json)"
_SELECT_QUIZ_LIST = (
    "SELECT DISTINCT ON (quiz_id) quiz_id, version, title FROM quizzes "
    "ORDER BY quiz_id, version DESC"
)
_UPSERT_INVITES = (
    "INSERT INTO invites (token_hash, quiz_id, candidate_id, name, email, valid_until, "
    "created_at) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], "
    "$5::text[], $6::float8[], $7::float8[]) "
    "ON CONFLICT (token_hash) DO UPDATE SET quiz_id = EXCLUDED.quiz_id, "
    "candidate_id = EXCLUDED.candidate_id, name = EXCLUDED.name, email = EXCLUDED.email, "
    "valid_until = EXCLUDED.valid_until, created_at = EXCLUDED.created_at"
)
_SELECT_INVITE = (
    "SELECT token_hash, quiz_id, candidate_id, name, email, valid_until, created_at "
    "FROM invites WHERE token_hash = $1"
)

# Taken when free, lapsed, already this session's or forced. ON CONFLICT locks
# the row and re-checks the WHERE on its latest version (READ COMMITTED), so of
# N racing acquirers of a free lease exactly one gets a row back.
_ACQUIRE_LEASE = (
    "INSERT INTO leases AS l (attempt_id, session_id, expires_at) VALUES ($1, $2, $3) "
    "ON CONFLICT (attempt_id) DO UPDATE SET session_id = EXCLUDED.session_id, "
    "expires_at = EXCLUDED.expires_at "
    "WHERE l.expires_at <= $4 OR l.session_id = EXCLUDED.session_id OR $5 "
    "RETURNING l.session_id"
)
_SELECT_LEASE = "SELECT session_id, expires_at FROM leases WHERE attempt_id = $1"
_RELEASE_LEASE = "DELETE FROM leases WHERE attempt_id = $1 AND session_id = $2"

_MARK_ALIVE = (
    "INSERT INTO alive (instance_id, at) VALUES ($1, $2) "
    "ON CONFLICT (instance_id) DO UPDATE SET at = EXCLUDED.at"
)
_LAST_ALIVE = "SELECT max(at) FROM alive"
_PRUNE_ALIVE = "DELETE FROM alive WHERE at < $1"

# What "the store cannot be used right now" looks like from asyncpg.
_UNAVAILABLE: Final[tuple[type[BaseException], ...]] = (
    OSError,  # refused, reset, unreachable (ConnectionError is one)
    TimeoutError,  # connect, acquire or command timeout
    pgerr.InterfaceError,  # connection closed, pool closing
    pgerr.InternalClientError,
    pgerr.PostgresConnectionError,  # class 08
    pgerr.TransactionRollbackError,  # class 40: serialization failure, deadlock
    pgerr.InsufficientResourcesError,  # class 53: disk full, out of memory, connections
    pgerr.OperatorInterventionError,  # class 57: shutdown, starting up, canceled
    pgerr.PostgresSystemError,  # class 58: I/O error
)
# The statement never reached a live server, or the server refused it as a whole
# (a pooled connection that died while idle, e.g. the server restarted or killed
# the backend): nothing was written, so even a write can be retried once.
_NOT_SENT: Final[tuple[type[BaseException], ...]] = (
    pgerr.InterfaceError,  # "connection is closed", checked before sending
    pgerr.InternalClientError,  # "cannot switch to state": protocol not idle
    pgerr.AdminShutdownError,  # the backend was terminated
    pgerr.CannotConnectNowError,
)
# A read may also be retried after its connection dropped in the middle.
_STALE: Final[tuple[type[BaseException], ...]] = (
    *_NOT_SENT,
    pgerr.ConnectionDoesNotExistError,
    ConnectionError,
)


def _translate(exc: BaseException) -> StoreError | None:
    """The port's error for a driver error, or None if ``exc`` is not one."""
    if isinstance(exc, _UNAVAILABLE):
        return StoreUnavailable(f"postgres: {type(exc).__name__}: {exc}")
    if isinstance(exc, pgerr.PostgresError):
        return StoreError(f"postgres: {type(exc).__name__}: {exc}")
    if isinstance(exc, msgspec.DecodeError):
        return StoreError(f"postgres: undecodable record: {exc}")
    return None


def _row(r: asyncpg.Record) -> AttemptIndexRow:
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


def _invite(r: asyncpg.Record) -> Invite:
    return Invite(
        token_hash=r[0],
        quiz_id=r[1],
        candidate_id=r[2],
        name=r[3],
        email=r[4],
        valid_until=r[5],
        created_at=r[6],
    )


def _rows_affected(status: str) -> int:
    """The count at the end of a command tag such as ``INSERT 0 1`` / ``UPDATE 0``."""
    return int(status.rsplit(" ", 1)[-1])


class PostgresStore:
    """The ``Store`` port on PostgreSQL (asyncpg pool)."""

    def __init__(
        self,
        dsn: str,
        *,
        min_size: int = 2,
        max_size: int = 20,
        connect_timeout_s: float = 5.0,
        acquire_timeout_s: float = 10.0,
        command_timeout_s: float = 30.0,
    ) -> None:
        self._dsn = dsn
        self._min_size = min_size
        self._max_size = max_size
        self._connect_timeout_s = connect_timeout_s
        self._acquire_timeout_s = acquire_timeout_s
        self._command_timeout_s = command_timeout_s
        self._pool: asyncpg.Pool[asyncpg.Record] | None = None
        # Group commit: concurrent appends written together (pg_appends).
        self._appends = AppendBatcher(self._write, self._append_alone)

    @property
    def durable(self) -> bool:
        return True

    # -- lifecycle --------------------------------------------------------------------

    async def open(self) -> None:
        if self._pool is not None:
            return
        try:
            pool: asyncpg.Pool[asyncpg.Record] = await asyncpg.create_pool(
                self._dsn,
                min_size=self._min_size,
                max_size=self._max_size,
                timeout=self._connect_timeout_s,
                command_timeout=self._command_timeout_s,
                server_settings={"application_name": "quizsession"},
            )
        except Exception as exc:
            error = _translate(exc)
            if error is None:
                raise
            raise error from exc
        self._pool = pool
        try:
            await self.migrate()
        except BaseException:
            self._pool = None
            await self._close_pool(pool)
            raise

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await self._close_pool(pool)

    @staticmethod
    async def _close_pool(pool: asyncpg.Pool[asyncpg.Record]) -> None:
        try:
            await asyncio.wait_for(pool.close(), 10.0)
        except Exception:
            pool.terminate()

    async def ping(self) -> bool:
        try:
            return bool(await self._read(lambda c: c.fetchval("SELECT 1", timeout=5.0)) == 1)
        except StoreError:
            return False

    async def migrate(self) -> None:
        """Apply the migrations this database lacks (idempotent; safe to run from
        several instances at once). Raises ``StoreUnavailable`` if the database's
        schema is newer than this code."""

        async def run(conn: Conn) -> None:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1::bigint)", _MIGRATION_LOCK)
                await conn.execute(_CREATE_MIGRATIONS_TABLE)
                applied = {r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")}
                newest = max(applied, default=0)
                if newest > SCHEMA_VERSION:
                    raise StoreUnavailable(
                        f"postgres: the database has schema version {newest}, newer than "
                        f"this code ({SCHEMA_VERSION}); upgrade quizsession"
                    )
                for version, sql in enumerate(MIGRATIONS, 1):
                    if version in applied:
                        continue
                    await conn.execute(sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version) VALUES ($1)", version
                    )

        await self._write(run)

    async def schema_version(self) -> int:
        """The newest migration applied to the database (0 if none)."""

        async def run(conn: Conn) -> int:
            exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
            if not exists:
                return 0
            return int(
                await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")
            )

        return await self._read(run)

    # -- running statements -----------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[Conn]:
        pool = self._pool
        if pool is None:
            raise StoreUnavailable("postgres: store is not open")
        try:
            async with pool.acquire(timeout=self._acquire_timeout_s) as conn:
                yield conn
        except StoreError:
            raise
        except Exception as exc:
            error = _translate(exc)
            if error is None:
                raise
            raise error from exc

    async def _run(
        self, fn: Callable[[Conn], Awaitable[T]], retry_on: tuple[type[BaseException], ...]
    ) -> T:
        try:
            async with self._connection() as conn:
                return await fn(conn)
        except StoreUnavailable as exc:
            if self._pool is None or not isinstance(exc.__cause__, retry_on):
                raise
        # The pooled connection was dead (the pool replaces it): once more.
        async with self._connection() as conn:
            return await fn(conn)

    async def _write(self, fn: Callable[[Conn], Awaitable[T]]) -> T:
        """Run a write, retried once on a fresh connection when its pooled one
        turns out dead. Every write here is safe to repeat: an append that did land
        cannot land twice (the version check and the (attempt_id, seq) key refuse
        it: the retry raises VersionConflict and the executor catches up, finding
        its own events); quizzes, invites and leases are idempotent."""
        return await self._run(fn, _STALE)

    async def _read(self, fn: Callable[[Conn], Awaitable[T]]) -> T:
        return await self._run(fn, _STALE)

    async def _idempotent_write(self, fn: Callable[[Conn], Awaitable[T]]) -> T:
        """A write whose repetition changes nothing (storing a quiz definition is
        idempotent by content; invites are keyed by token hash): retried like a
        read when its pooled connection turns out dead."""
        return await self._run(fn, _STALE)

    # -- events -----------------------------------------------------------------------

    async def append(
        self,
        attempt_id: str,
        expected_version: int,
        events: Sequence[AttemptEvent],
        index: AttemptIndexRow,
    ) -> int:
        index = check_append(attempt_id, expected_version, events, index)
        new_version = index.version
        seqs = list(range(expected_version + 1, new_version + 1))
        types = [event_type(e) for e in events]
        ats = [e.at for e in events]
        data = [encode_event(e).decode() for e in events]
        fields = (
            index.quiz_id,
            index.candidate_id,
            index.status,
            index.state,
            new_version,
            index.updated_at,
            index.deadline,
            index.due_at,
        )

        pending = PendingAppend(attempt_id, expected_version, fields, seqs, types, ats, data)
        return await self._appends.append(pending)

    async def _append_alone(self, item: PendingAppend) -> int:
        """One append in its own transaction (a batch of one, or a batch's
        appends one by one after the batch was rolled back)."""
        attempt_id, expected_version = item.attempt_id, item.expected

        async def run(conn: Conn) -> int:
            async with conn.transaction():
                if expected_version == 0:
                    done = await conn.execute(_INSERT_ATTEMPT, attempt_id, *item.row)
                else:
                    done = await conn.execute(
                        _UPDATE_ATTEMPT, attempt_id, *item.row, expected_version
                    )
                if _rows_affected(done) != 1:
                    actual = await conn.fetchval(_SELECT_VERSION, attempt_id)
                    raise VersionConflict(attempt_id, expected_version, actual or 0)
                await conn.execute(
                    _INSERT_EVENTS, attempt_id, item.seqs, item.types, item.ats, item.data
                )
            return item.version

        try:
            return await self._write(run)
        except StoreError as exc:
            # Two creators racing past ON CONFLICT cannot happen, but the primary
            # key is the last line of defence: report it as the conflict it is.
            if isinstance(exc.__cause__, pgerr.UniqueViolationError):
                raise VersionConflict(attempt_id, expected_version) from exc
            raise

    async def read(self, attempt_id: str, after: int = 0) -> list[RecordedEvent]:
        async def run(conn: Conn) -> list[RecordedEvent]:
            rows = await conn.fetch(_SELECT_EVENTS, attempt_id, max(after, 0))
            return [
                RecordedEvent(attempt_id=attempt_id, seq=r[0], event=decode_event(r[1]))
                for r in rows
            ]

        return await self._read(run)

    async def read_many(self, attempt_ids: Sequence[str]) -> dict[str, list[RecordedEvent]]:
        ids = list(dict.fromkeys(attempt_ids))
        if not ids:
            return {}

        async def run(conn: Conn) -> dict[str, list[RecordedEvent]]:
            logs: dict[str, list[RecordedEvent]] = {attempt_id: [] for attempt_id in ids}
            for r in await conn.fetch(_SELECT_LOGS, ids):
                logs[r[0]].append(
                    RecordedEvent(attempt_id=r[0], seq=r[1], event=decode_event(r[2]))
                )
            return logs

        return await self._read(run)

    async def get_index(self, attempt_id: str) -> AttemptIndexRow | None:
        async def run(conn: Conn) -> AttemptIndexRow | None:
            r = await conn.fetchrow(_SELECT_ROW, attempt_id)
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
        args: tuple[Any, ...]
        if quiz_id is not None and status is not None:
            sql, args = _LIST_BY_QUIZ_STATUS, (quiz_id, status)
        elif quiz_id is not None:
            sql, args = _LIST_BY_QUIZ, (quiz_id,)
        elif status is not None:
            sql, args = _LIST_BY_STATUS, (status,)
        else:
            sql, args = _LIST_ALL, ()

        async def run(conn: Conn) -> list[AttemptIndexRow]:
            return [_row(r) for r in await conn.fetch(sql, limit, offset, *args)]

        return await self._read(run)

    async def due_attempts(self, now: float, limit: int = 500) -> list[AttemptIndexRow]:
        check_page(limit, 0)

        async def run(conn: Conn) -> list[AttemptIndexRow]:
            return [_row(r) for r in await conn.fetch(_SELECT_DUE, now, limit)]

        return await self._read(run)

    # -- quizzes ----------------------------------------------------------------------

    async def put_quiz(self, quiz: Quiz) -> Quiz:
        canonical = canonical_quiz(quiz)

        async def run(conn: Conn) -> Quiz:
            async with conn.transaction():
                await conn.execute(_LOCK_QUIZ, _QUIZ_LOCK_CLASS, quiz.id)
                latest = await conn.fetchrow(_SELECT_LATEST_QUIZ, quiz.id)
                if latest is not None:
                    latest_data = latest[0].encode()
                    if unversioned(latest_data) == canonical:
                        return decode_quiz(latest_data)
                version = 1 if latest is None else latest[1] + 1
                stored, data = versioned_quiz(canonical, version)
                await conn.execute(_INSERT_QUIZ, quiz.id, version, stored.title, data.decode())
                return stored

        return await self._idempotent_write(run)

    async def get_quiz(self, quiz_id: str, version: int | None = None) -> Quiz | None:
        async def run(conn: Conn) -> Quiz | None:
            if version is None:
                r = await conn.fetchrow(_SELECT_LATEST_QUIZ, quiz_id)
            else:
                r = await conn.fetchrow(_SELECT_QUIZ, quiz_id, version)
            return None if r is None else decode_quiz(r[0].encode())

        return await self._read(run)

    async def list_quizzes(self) -> list[QuizSummary]:
        async def run(conn: Conn) -> list[QuizSummary]:
            rows = await conn.fetch(_SELECT_QUIZ_LIST)
            return [QuizSummary(id=r[0], version=r[1], title=r[2]) for r in rows]

        return await self._read(run)

    # -- invites ----------------------------------------------------------------------

    async def add_invites(self, invites: Sequence[Invite]) -> None:
        latest = {i.token_hash: i for i in invites}  # a repeated token: the last wins
        if not latest:
            return
        batch = list(latest.values())
        columns = (
            [i.token_hash for i in batch],
            [i.quiz_id for i in batch],
            [i.candidate_id for i in batch],
            [i.name for i in batch],
            [i.email for i in batch],
            [i.valid_until for i in batch],
            [i.created_at for i in batch],
        )

        async def run(conn: Conn) -> None:
            await conn.execute(_UPSERT_INVITES, *columns)

        await self._idempotent_write(run)

    async def find_invite(self, token_hash: str) -> Invite | None:
        async def run(conn: Conn) -> Invite | None:
            r = await conn.fetchrow(_SELECT_INVITE, token_hash)
            return None if r is None else _invite(r)

        return await self._read(run)

    # -- leases -----------------------------------------------------------------------

    async def acquire_lease(
        self, attempt_id: str, session_id: str, ttl_s: float, now: float, *, force: bool = False
    ) -> LeaseGrant:
        async def run(conn: Conn) -> LeaseGrant:
            async with conn.transaction():
                taken = await conn.fetchrow(
                    _ACQUIRE_LEASE, attempt_id, session_id, now + ttl_s, now, force
                )
                if taken is not None:
                    return LeaseGrant(acquired=True, holder=session_id, expires_in=ttl_s)
                # Refused: the row is locked by the INSERT above and this
                # statement's snapshot sees its latest committed version.
                r = await conn.fetchrow(_SELECT_LEASE, attempt_id)
            return lease_grant(None, 0.0, now) if r is None else lease_grant(r[0], r[1], now)

        return await self._write(run)

    async def release_lease(self, attempt_id: str, session_id: str) -> None:
        async def run(conn: Conn) -> None:
            await conn.execute(_RELEASE_LEASE, attempt_id, session_id)

        await self._write(run)

    async def lease_holder(self, attempt_id: str, now: float) -> LeaseGrant:
        async def run(conn: Conn) -> LeaseGrant:
            r = await conn.fetchrow(_SELECT_LEASE, attempt_id)
            return lease_grant(None, 0.0, now) if r is None else lease_grant(r[0], r[1], now)

        return await self._read(run)

    # -- liveness marks ---------------------------------------------------------------

    async def mark_alive(self, instance_id: str, now: float) -> None:
        async def run(conn: Conn) -> None:
            await conn.execute(_MARK_ALIVE, instance_id, now)

        await self._write(run)

    async def last_alive(self) -> float | None:
        async def run(conn: Conn) -> float | None:
            at: float | None = await conn.fetchval(_LAST_ALIVE)
            return at

        return await self._read(run)

    async def prune_alive(self, before: float) -> int:
        async def run(conn: Conn) -> int:
            return _rows_affected(await conn.execute(_PRUNE_ALIVE, before))

        return await self._write(run)
