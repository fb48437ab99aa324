"""The durable store on PostgreSQL, through asyncpg and a connection pool.

Writes and durability
    Every write is one transaction. The server runs with ``synchronous_commit=on``
    (the default; this adapter does not lower it), so COMMIT returns only once the
    WAL is flushed: a returned ``append`` is on disk. Concurrent appends are
    written together (group commit, ``appends.py``).

The optimistic lock
    ``append`` with ``expected_version`` 0 inserts the attempt's index row
    (``ON CONFLICT DO NOTHING``: if the row exists, nothing is written and the
    caller gets ``VersionConflict`` with the version found); otherwise it runs
    ``UPDATE attempts ... WHERE attempt_id = v.attempt_id AND version =
    v.expected``, and no row back means ``VersionConflict``. Under READ COMMITTED
    a concurrent writer of the same attempt waits for the row lock and then
    re-checks the version, so of N racing writers exactly one wins each version.
    The events go in with ``INSERT ... SELECT FROM unnest(...)`` in the same
    statement: all or nothing. The primary key (attempt_id, seq) backs the lock
    up. Appends are written in batches, each batch one statement
    (``appends.py``). A refusal carries the log's events after the expected
    version (``VersionConflict.after``), read by the statement that refused: the
    caller catches up without another call.

Quizzes
    ``put_quiz`` takes a transaction-scoped advisory lock on the quiz id, so two
    instances storing the same quiz at once still get consecutive versions and an
    unchanged definition is never stored twice.

Leases
    The live state's store-only fallback keeps attempt leases in ``leases``. An
    acquire is ``INSERT ... ON CONFLICT DO UPDATE ... WHERE (lapsed OR same
    session OR force) RETURNING``: the conflicting row is locked and the WHERE
    re-checked on its latest version, so of N racing acquirers one wins.

Liveness marks
    ``alive`` keeps each instance's latest mark (``AliveStore``, migration 3).

Errors and retries
    ``connections.py``: driver errors become the port's; a call whose pooled
    connection turns out dead is run once more on a fresh one.

Schema
    ``schema.py``: migrations applied by ``open()``, under an advisory lock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

import asyncpg.exceptions as pgerr

from quizsession.adapters.store.common import (
    canonical_quiz,
    check_append,
    check_page,
    decode_quiz,
    lease_grant,
    unversioned,
    versioned_quiz,
)
from quizsession.adapters.store.postgres import schema, sql
from quizsession.adapters.store.postgres.accommodations import PostgresAccommodations
from quizsession.adapters.store.postgres.appends import (
    AppendBatcher,
    PendingAppend,
    conflict,
    write_batch,
)
from quizsession.adapters.store.postgres.connections import Connections
from quizsession.adapters.store.postgres.lti import PostgresLti
from quizsession.adapters.store.postgres.outbound import PostgresOutbound
from quizsession.adapters.store.postgres.reads_paged import list_attempts_query
from quizsession.app.ports import (
    AttemptIndexRow,
    AttemptStatus,
    Invite,
    LeaseGrant,
    QuizSummary,
    RecordedEvent,
    StoreError,
    VersionConflict,
)
from quizsession.domain.events import AttemptEvent, decode_event, encode_event, event_type
from quizsession.domain.quiz import Quiz

if TYPE_CHECKING:
    from quizsession.adapters.store.postgres.connections import Conn

T = TypeVar("T")
#: The ``meta`` row recording that the database holds data encrypted at rest.
ENCRYPTED_KEY = "encrypted_at_rest"


class PostgresStore(PostgresAccommodations, PostgresLti, PostgresOutbound):
    """The ``Store`` ports on PostgreSQL (asyncpg pool; accommodations:
    ``accommodations.py``; LTI: ``lti.py``)."""

    def __init__(
        self,
        dsn: str,
        *,
        min_size: int = 2,
        max_size: int = 20,
        connect_timeout_s: float = 5.0,
        acquire_timeout_s: float = 10.0,
        command_timeout_s: float = 30.0,
        partitions: int = 0,
    ) -> None:
        # The table layout asked for (0: plain; else hash partitions on attempt_id).
        self._migrate = schema.migrator(partitions)
        self._db = Connections(
            dsn,
            min_size=min_size,
            max_size=max_size,
            connect_timeout_s=connect_timeout_s,
            acquire_timeout_s=acquire_timeout_s,
            command_timeout_s=command_timeout_s,
        )
        # Group commit: concurrent appends written together (appends.py).
        self._appends = AppendBatcher(self._db.run, self._append_alone)

    def _run(self, fn: Callable[[Conn], Awaitable[T]]) -> Awaitable[T]:
        return self._db.run(fn)

    # -- declared capabilities --------------------------------------------------------

    @property
    def durable(self) -> bool:
        return True

    @property
    def shared(self) -> bool:
        return True  # any number of instances on one database

    @property
    def secret_file(self) -> str | None:
        return None  # the instances must share a configured secret

    async def schema_version(self) -> int | None:
        """The newest migration applied to the database (0 if none)."""
        return await self._db.run(schema.schema_version)

    async def holds_encrypted_data(self) -> bool:
        async def run(conn: Conn) -> bool:
            return await conn.fetchval(sql.SELECT_META, ENCRYPTED_KEY) is not None

        return await self._db.run(run)

    async def mark_encrypted_data(self) -> None:
        async def run(conn: Conn) -> None:
            await conn.execute(sql.PUT_META, ENCRYPTED_KEY, "yes")

        await self._db.run(run)

    # -- life cycle -------------------------------------------------------------------

    async def open(self) -> None:
        await self._db.open(self._migrate)

    async def close(self) -> None:
        await self._db.close()

    async def ping(self) -> bool:
        async def run(conn: Conn) -> bool:
            return bool(await conn.fetchval("SELECT 1", timeout=5.0) == 1)

        try:
            return await self._db.run(run)
        except StoreError:
            return False

    async def migrate(self) -> None:
        """Apply the migrations this database lacks (``open`` does; idempotent,
        safe from several instances at once)."""
        await self._db.run(self._migrate)

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
        """One append written alone: a batch's appends one by one after the batch
        failed, so that each gets its own answer."""
        try:
            landed, behind = await self._db.run(lambda conn: write_batch(conn, [item]))
        except StoreError as exc:
            # A seq already taken behind the attempts row: the primary key is the
            # last line of defence; report it as the conflict it is.
            if isinstance(exc.__cause__, pgerr.UniqueViolationError):
                raise VersionConflict(item.attempt_id, item.expected) from exc
            raise
        if item.attempt_id in landed:
            return item.version
        raise conflict(item.attempt_id, item.expected, behind.get(item.attempt_id))

    async def read(self, attempt_id: str, after: int = 0) -> list[RecordedEvent]:
        async def run(conn: Conn) -> list[RecordedEvent]:
            rows = await conn.fetch(sql.SELECT_EVENTS, attempt_id, max(after, 0))
            return [
                RecordedEvent(attempt_id=attempt_id, seq=r[0], event=decode_event(r[1]))
                for r in rows
            ]

        return await self._db.run(run)

    async def read_many(self, attempt_ids: Sequence[str]) -> dict[str, list[RecordedEvent]]:
        ids = list(dict.fromkeys(attempt_ids))
        if not ids:
            return {}

        async def run(conn: Conn) -> dict[str, list[RecordedEvent]]:
            logs: dict[str, list[RecordedEvent]] = {attempt_id: [] for attempt_id in ids}
            for r in await conn.fetch(sql.SELECT_LOGS, ids):
                logs[r[0]].append(
                    RecordedEvent(attempt_id=r[0], seq=r[1], event=decode_event(r[2]))
                )
            return logs

        return await self._db.run(run)

    async def get_index(self, attempt_id: str) -> AttemptIndexRow | None:
        async def run(conn: Conn) -> AttemptIndexRow | None:
            r = await conn.fetchrow(sql.SELECT_ROW, attempt_id)
            return None if r is None else sql.index_row(r)

        return await self._db.run(run)

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
        query, args = list_attempts_query(quiz_id, status, after)

        async def run(conn: Conn) -> list[AttemptIndexRow]:
            return [sql.index_row(r) for r in await conn.fetch(query, limit, offset, *args)]

        return await self._db.run(run)

    async def due_attempts(self, now: float, limit: int = 500) -> list[AttemptIndexRow]:
        check_page(limit, 0)

        async def run(conn: Conn) -> list[AttemptIndexRow]:
            return [sql.index_row(r) for r in await conn.fetch(sql.SELECT_DUE, now, limit)]

        return await self._db.run(run)

    # -- quizzes ----------------------------------------------------------------------

    async def put_quiz(self, quiz: Quiz) -> Quiz:
        canonical = canonical_quiz(quiz)

        async def run(conn: Conn) -> Quiz:
            async with conn.transaction():
                await conn.execute(sql.LOCK_QUIZ, sql.QUIZ_LOCK_CLASS, quiz.id)
                latest = await conn.fetchrow(sql.SELECT_LATEST_QUIZ, quiz.id)
                if latest is not None:
                    latest_data = latest[0].encode()
                    if unversioned(latest_data) == canonical:
                        return decode_quiz(latest_data)
                version = 1 if latest is None else latest[1] + 1
                stored, data = versioned_quiz(canonical, version)
                await conn.execute(sql.INSERT_QUIZ, quiz.id, version, stored.title, data.decode())
                return stored

        return await self._db.run(run)

    async def get_quiz(self, quiz_id: str, version: int | None = None) -> Quiz | None:
        async def run(conn: Conn) -> Quiz | None:
            if version is None:
                r = await conn.fetchrow(sql.SELECT_LATEST_QUIZ, quiz_id)
            else:
                r = await conn.fetchrow(sql.SELECT_QUIZ, quiz_id, version)
            return None if r is None else decode_quiz(r[0].encode())

        return await self._db.run(run)

    async def list_quizzes(self) -> list[QuizSummary]:
        async def run(conn: Conn) -> list[QuizSummary]:
            rows = await conn.fetch(sql.SELECT_QUIZ_LIST)
            return [QuizSummary(id=r[0], version=r[1], title=r[2]) for r in rows]

        return await self._db.run(run)

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
            await conn.execute(sql.UPSERT_INVITES, *columns)

        await self._db.run(run)

    async def find_invite(self, token_hash: str) -> Invite | None:
        async def run(conn: Conn) -> Invite | None:
            r = await conn.fetchrow(sql.SELECT_INVITE, token_hash)
            return None if r is None else sql.invite_of(r)

        return await self._db.run(run)

    # -- leases -----------------------------------------------------------------------

    async def acquire_lease(
        self, attempt_id: str, session_id: str, ttl_s: float, now: float, *, force: bool = False
    ) -> LeaseGrant:
        async def run(conn: Conn) -> LeaseGrant:
            async with conn.transaction():
                taken = await conn.fetchrow(
                    sql.ACQUIRE_LEASE, attempt_id, session_id, now + ttl_s, now, force
                )
                if taken is not None:
                    return LeaseGrant(acquired=True, holder=session_id, expires_in=ttl_s)
                # Refused: the row is locked by the INSERT above and this
                # statement's snapshot sees its latest committed version.
                r = await conn.fetchrow(sql.SELECT_LEASE, attempt_id)
            return lease_grant(None, 0.0, now) if r is None else lease_grant(r[0], r[1], now)

        return await self._db.run(run)

    async def release_lease(self, attempt_id: str, session_id: str) -> None:
        async def run(conn: Conn) -> None:
            await conn.execute(sql.RELEASE_LEASE, attempt_id, session_id)

        await self._db.run(run)

    async def lease_holder(self, attempt_id: str, now: float) -> LeaseGrant:
        async def run(conn: Conn) -> LeaseGrant:
            r = await conn.fetchrow(sql.SELECT_LEASE, attempt_id)
            return lease_grant(None, 0.0, now) if r is None else lease_grant(r[0], r[1], now)

        return await self._db.run(run)

    # -- liveness marks ---------------------------------------------------------------

    async def mark_alive(self, instance_id: str, now: float) -> None:
        async def run(conn: Conn) -> None:
            await conn.execute(sql.MARK_ALIVE, instance_id, now)

        await self._db.run(run)

    async def last_alive(self) -> float | None:
        async def run(conn: Conn) -> float | None:
            at: float | None = await conn.fetchval(sql.LAST_ALIVE)
            return at

        return await self._db.run(run)

    async def prune_alive(self, before: float) -> int:
        async def run(conn: Conn) -> int:
            return sql.rows_affected(await conn.execute(sql.PRUNE_ALIVE, before))

        return await self._db.run(run)
