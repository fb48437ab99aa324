"""The PostgreSQL schema: versioned migrations (``MIGRATIONS``, applied in
order), recorded in ``schema_migrations(version, applied_at)``. ``migrate``
applies the missing ones in one transaction under ``pg_advisory_xact_lock``, so
instances starting at once do not race.

Event and quiz encodings are stored in ``json`` columns: the msgspec encoding
verbatim (unlike ``jsonb``, ``json`` keeps the text byte for byte and accepts
``\\u0000`` escapes, which ``jsonb`` refuses) and still queryable with ``->>``
(except a record holding a ``\\u0000`` escape, which the JSON operators cannot
turn into text). Ids are ``COLLATE "C"``: listings are in code point order
whatever the database's default collation, as in the other stores.

Two layouts (``partitioning.py``, ``QUIZSESSION_PG_PARTITIONS``): plain tables,
or the per-attempt tables hash-partitioned on ``attempt_id``. The partitioned
layout is created on a database without a schema by ``partitioned_base`` in
place of migrations 1 to 7; every later migration runs on both layouts (an
``ALTER TABLE`` of a partitioned table reaches its partitions; a new
per-attempt table must be created partitioned when ``meta.table_layout`` says
so).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final

from quizsession.adapters.store.postgres import partitioning
from quizsession.app.ports import StoreUnavailable

if TYPE_CHECKING:
    from quizsession.adapters.store.postgres.connections import Conn

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
    # 4: facts about the data as a whole, e.g. that it holds data encrypted at
    # rest (``StoreLifecycle.mark_encrypted_data``).
    """
    CREATE TABLE meta (
        key   text COLLATE "C" NOT NULL PRIMARY KEY,
        value text NOT NULL
    );
    """,
    # 5: candidates' accommodations (``AccommodationStore``): one row per
    # candidate, and the index that finds a candidate's attempts.
    """
    CREATE TABLE accommodations (
        candidate_id  text COLLATE "C" NOT NULL PRIMARY KEY,
        multiplier    double precision NOT NULL,
        extra_seconds double precision NOT NULL,
        note          text NOT NULL,
        set_by        text NOT NULL,
        set_at        double precision NOT NULL
    );
    CREATE INDEX attempts_by_candidate ON attempts (candidate_id, attempt_id);
    """,
    # 6: LTI 1.3 (``LtiStore``): platform registrations, used launch nonces
    # (until they expire) and the launch link of each attempt from an LMS.
    """
    CREATE TABLE lti_platforms (
        platform_id text COLLATE "C" NOT NULL PRIMARY KEY,
        issuer      text COLLATE "C" NOT NULL,
        data        text NOT NULL
    );
    CREATE INDEX lti_platforms_by_issuer ON lti_platforms (issuer, platform_id);
    CREATE TABLE lti_nonces (
        key        text COLLATE "C" NOT NULL PRIMARY KEY,
        expires_at double precision NOT NULL
    );
    CREATE INDEX lti_nonces_expiry ON lti_nonces (expires_at);
    CREATE TABLE lti_links (
        attempt_id text COLLATE "C" NOT NULL PRIMARY KEY,
        data       text NOT NULL
    );
    """,
    # 7: outbound delivery (``OutboundStore``): destinations, the backlog that
    # follows the log (a trigger records, in the transaction that appends it, the
    # position of every event that may go out; the quiet types of
    # ``outbound_common.QUIET_EVENT_TYPES`` are skipped), and one delivery row
    # per (destination, outbound event).
    """
    CREATE TABLE outbound_destinations (
        id              text COLLATE "C" NOT NULL PRIMARY KEY,
        kind            text NOT NULL,
        url             text NOT NULL,
        event_types     text NOT NULL,
        enabled         boolean NOT NULL,
        config          text NOT NULL,
        created_at      double precision NOT NULL,
        updated_at      double precision NOT NULL,
        disabled_reason text NOT NULL
    );
    CREATE TABLE outbound_backlog (
        attempt_id text COLLATE "C" NOT NULL PRIMARY KEY,
        cursor     integer NOT NULL DEFAULT 0,
        latest     integer NOT NULL
    );
    CREATE INDEX outbound_backlog_ahead ON outbound_backlog (attempt_id)
        WHERE latest > cursor;
    CREATE FUNCTION outbound_follows_log() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO outbound_backlog (attempt_id, latest) VALUES (NEW.attempt_id, NEW.seq)
        ON CONFLICT (attempt_id)
        DO UPDATE SET latest = GREATEST(outbound_backlog.latest, EXCLUDED.latest);
        RETURN NULL;
    END $$;
    CREATE TRIGGER outbound_follows_log AFTER INSERT ON events FOR EACH ROW
        WHEN (NEW.type NOT IN ('answer_saved', 'question_delivered', 'question_viewed',
                               'session_opened', 'session_superseded', 'session_closed'))
        EXECUTE FUNCTION outbound_follows_log();
    CREATE TABLE outbound_deliveries (
        id             bigserial PRIMARY KEY,
        destination_id text COLLATE "C" NOT NULL
                       REFERENCES outbound_destinations (id) ON DELETE CASCADE,
        event_id       text COLLATE "C" NOT NULL,
        attempt_id     text COLLATE "C" NOT NULL,
        seq            integer NOT NULL,
        sub            integer NOT NULL,
        event          text NOT NULL,
        status         text NOT NULL,
        attempts       integer NOT NULL,
        next_try_at    double precision NOT NULL,
        give_up_at     double precision NOT NULL,
        claim          text,
        created_at     double precision NOT NULL,
        updated_at     double precision NOT NULL,
        last_status    integer,
        last_error     text,
        delivered_at   double precision,
        UNIQUE (destination_id, event_id)
    );
    CREATE INDEX outbound_deliveries_due ON outbound_deliveries (next_try_at, id)
        WHERE status = 'pending';
    CREATE INDEX outbound_deliveries_chain ON outbound_deliveries
        (destination_id, attempt_id, seq, sub, id) WHERE status = 'pending';
    CREATE INDEX outbound_deliveries_log ON outbound_deliveries (destination_id, id);
    """,
    # 8: the layout of the per-attempt tables, recorded in ``meta``
    # (``partitioning.py``): a database created partitioned recorded it with its
    # tables; any other database is plain.
    """
    INSERT INTO meta (key, value) VALUES ('table_layout', 'plain') ON CONFLICT (key) DO NOTHING;
    """,
)
SCHEMA_VERSION: Final = len(MIGRATIONS)

# Advisory lock key (the one-key bigint space; the quiz locks use the two-key one).
_MIGRATION_LOCK: Final = int.from_bytes(b"qzs:migr", "big")

_CREATE_MIGRATIONS_TABLE = """
    CREATE TABLE IF NOT EXISTS schema_migrations (
        version    integer PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now()
    )
"""


def migrator(partitions: int = 0) -> Callable[[Conn], Awaitable[None]]:
    """``migrate`` for a store configured with ``partitions`` (0: plain tables)."""
    partitioning.check_partitions(partitions)
    return functools.partial(migrate, partitions=partitions)


async def migrate(conn: Conn, partitions: int = 0) -> None:
    """Apply the migrations this database lacks (idempotent; safe to run from
    several instances at once). Raises ``StoreUnavailable`` if the database's
    schema is newer than this code, or if its tables are not laid out as
    ``partitions`` asks (``partitioning.py``; on a database without a schema,
    ``partitions`` > 0 creates the partitioned layout in place of migrations 1
    to 7)."""
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
        if not applied and partitions > 0:
            await conn.execute(partitioning.partitioned_base(partitions))
            base = list(range(1, partitioning.BASE_VERSION + 1))
            await conn.execute(
                "INSERT INTO schema_migrations (version) SELECT unnest($1::integer[])", base
            )
            applied = set(base)
        for version, statements in enumerate(MIGRATIONS, 1):
            if version in applied:
                continue
            await conn.execute(statements)
            await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
        problem = partitioning.layout_mismatch(await partitioning.found_layout(conn), partitions)
        if problem is not None:
            raise StoreUnavailable(problem)


async def schema_version(conn: Conn) -> int:
    """The newest migration applied to the database (0 if none)."""
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return 0
    return int(await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations"))
