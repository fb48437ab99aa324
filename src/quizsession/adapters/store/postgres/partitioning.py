"""The partitioned layout of the PostgreSQL schema (``QUIZSESSION_PG_PARTITIONS``).

Two layouts hold the same columns, keys, indexes and trigger:

``plain`` (``QUIZSESSION_PG_PARTITIONS=0``, the default)
    every table an ordinary table, as migrations 1 to 7 create them;
``hash N`` (``QUIZSESSION_PG_PARTITIONS=N``, 1 to ``MAX_PARTITIONS``)
    the tables that grow with attempts (``PARTITIONED_TABLES``: attempts,
    events, leases, lti_links, outbound_backlog) hash-partitioned on
    ``attempt_id`` into N partitions each (``events_p0`` ... ``events_p{N-1}``);
    one attempt's rows are in partition ``hash(attempt_id) mod N`` of every one
    of them. The other tables (quizzes, invites, accommodations, destinations,
    deliveries, LTI platforms and nonces, liveness marks, meta) stay plain.

Every primary key and unique constraint of a partitioned table includes
``attempt_id`` (PostgreSQL requires it of a partitioned table, and so does a
distributed PostgreSQL such as Citus with ``attempt_id`` as distribution
column), and every statement of a candidate's request names one attempt id, so
the planner prunes it to one partition (``docs/scaling.md``).

The layout is chosen once, when the schema is created: on a database without a
schema and with N > 0, ``partitioned_base(N)`` stands in for migrations 1 to 7
(``BASE_VERSION``), creating the same schema at version 7 with the per-attempt
tables partitioned; the later migrations then run on either layout. A database
keeps the layout it was created with: the store reads it from the catalog on
open, records it in ``meta`` (key ``table_layout``: ``plain`` or ``hash N``) and
refuses to run with a setting that does not match (``layout_mismatch``).
Changing the layout of a database that holds data is a dump and a restore into
a database created with the other setting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from quizsession.adapters.store.postgres.connections import Conn

#: The tables hash-partitioned on ``attempt_id`` in the partitioned layout.
PARTITIONED_TABLES: Final = ("attempts", "events", "leases", "lti_links", "outbound_backlog")
#: The most partitions per table (``settings.pg_partitions``'s bound).
MAX_PARTITIONS: Final = 256
#: The schema version ``partitioned_base`` creates (it stands in for 1 to 7).
BASE_VERSION: Final = 7
#: The ``meta`` row that records the layout.
LAYOUT_KEY: Final = "table_layout"
PLAIN: Final = "plain"


def layout_name(partitions: int) -> str:
    """``plain`` for 0, else ``hash N``."""
    return PLAIN if partitions == 0 else f"hash {partitions}"


def check_partitions(partitions: int) -> int:
    if not 0 <= partitions <= MAX_PARTITIONS:
        raise ValueError(f"partitions must be 0 (plain tables) to {MAX_PARTITIONS}")
    return partitions


def partition_name(table: str, remainder: int) -> str:
    return f"{table}_p{remainder}"


def _partitions(table: str, partitions: int) -> str:
    return "\n".join(
        f"CREATE TABLE {partition_name(table, i)} PARTITION OF {table} "
        f"FOR VALUES WITH (MODULUS {partitions}, REMAINDER {i});"
        for i in range(partitions)
    )


def partitioned_base(partitions: int) -> str:
    """The schema at version ``BASE_VERSION`` (migrations 1 to 7 as one script),
    the per-attempt tables hash-partitioned into ``partitions``. Keep it equal
    to migrations 1 to 7 but for the partitioning (a test compares the two)."""
    check_partitions(partitions)
    if partitions == 0:
        raise ValueError("the partitioned layout needs at least one partition")
    # Built from constants and a bounded integer only.
    return f"""
    CREATE TABLE attempts (
        attempt_id   text COLLATE "C" NOT NULL,
        quiz_id      text COLLATE "C" NOT NULL,
        candidate_id text COLLATE "C" NOT NULL,
        status       text NOT NULL,
        state        text NOT NULL,
        version      integer NOT NULL CHECK (version > 0),
        updated_at   double precision NOT NULL,
        deadline     double precision,
        due_at       double precision,
        PRIMARY KEY (attempt_id)
    ) PARTITION BY HASH (attempt_id);
    {_partitions("attempts", partitions)}
    CREATE TABLE events (
        attempt_id text COLLATE "C" NOT NULL REFERENCES attempts (attempt_id),
        seq        integer NOT NULL CHECK (seq > 0),
        type       text NOT NULL,
        at         double precision NOT NULL,
        data       json NOT NULL,
        PRIMARY KEY (attempt_id, seq)
    ) PARTITION BY HASH (attempt_id);
    {_partitions("events", partitions)}
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

    CREATE TABLE leases (
        attempt_id text COLLATE "C" NOT NULL,
        session_id text COLLATE "C" NOT NULL,
        expires_at double precision NOT NULL,
        PRIMARY KEY (attempt_id)
    ) PARTITION BY HASH (attempt_id);
    {_partitions("leases", partitions)}
    CREATE TABLE alive (
        instance_id text COLLATE "C" NOT NULL PRIMARY KEY,
        at          double precision NOT NULL
    );
    CREATE TABLE meta (
        key   text COLLATE "C" NOT NULL PRIMARY KEY,
        value text NOT NULL
    );
    CREATE TABLE accommodations (
        candidate_id  text COLLATE "C" NOT NULL PRIMARY KEY,
        multiplier    double precision NOT NULL,
        extra_seconds double precision NOT NULL,
        note          text NOT NULL,
        set_by        text NOT NULL,
        set_at        double precision NOT NULL
    );
    CREATE INDEX attempts_by_candidate ON attempts (candidate_id, attempt_id);

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
        attempt_id text COLLATE "C" NOT NULL,
        data       text NOT NULL,
        PRIMARY KEY (attempt_id)
    ) PARTITION BY HASH (attempt_id);
    {_partitions("lti_links", partitions)}

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
        attempt_id text COLLATE "C" NOT NULL,
        cursor     integer NOT NULL DEFAULT 0,
        latest     integer NOT NULL,
        PRIMARY KEY (attempt_id)
    ) PARTITION BY HASH (attempt_id);
    {_partitions("outbound_backlog", partitions)}
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

    INSERT INTO meta (key, value) VALUES ('{LAYOUT_KEY}', '{layout_name(partitions)}');
    """  # noqa: S608


# The per-attempt tables as the catalog has them: partitioned or not, and how
# many partitions each ($1: their names).
_FOUND_LAYOUT = """
    SELECT c.relname, c.relkind = 'p',
           (SELECT count(*) FROM pg_inherits AS i WHERE i.inhparent = c.oid)
    FROM pg_class AS c
    WHERE c.oid IN (SELECT to_regclass(t) FROM unnest($1::text[]) AS t)
"""


async def found_layout(conn: Conn) -> str:
    """The layout of the database's per-attempt tables, from the catalog
    (``plain``, ``hash N``, or a description of a mixture)."""
    rows = await conn.fetch(_FOUND_LAYOUT, list(PARTITIONED_TABLES))
    layouts = {r[0]: layout_name(int(r[2])) if r[1] else PLAIN for r in rows}
    distinct = set(layouts.values())
    if len(distinct) == 1:
        return distinct.pop()
    return "mixed (" + ", ".join(f"{t}: {layouts[t]}" for t in sorted(layouts)) + ")"


def layout_mismatch(found: str, partitions: int) -> str | None:
    """Why a database of layout ``found`` cannot be run with ``partitions``
    (None if it can)."""
    wanted = layout_name(partitions)
    if found == wanted:
        return None
    setting = "0" if found == PLAIN else found.removeprefix("hash ")
    hint = (
        f"set QUIZSESSION_PG_PARTITIONS={setting}"
        if found == PLAIN or found.startswith("hash ")
        else "the per-attempt tables must all have one layout"
    )
    return (
        f"postgres: the database's tables are laid out {found!r}, but "
        f"QUIZSESSION_PG_PARTITIONS={partitions} asks for {wanted!r}; the layout is "
        f"chosen when the schema is created and kept ({hint}, or dump and restore "
        "into a database created with the new setting)"
    )
