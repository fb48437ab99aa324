"""The SQLite schema: its migrations, applied in order on open. The schema's
version is kept in ``PRAGMA user_version``; a later version appends a step to
``MIGRATIONS`` (never edits one)."""

from __future__ import annotations

import contextlib
import sqlite3
from typing import Final

from quizsession.app.ports import StoreUnavailable

# Each step moves the schema from user_version i to i + 1, in one transaction.
MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
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
    (
        # Facts about the data as a whole, e.g. that it holds data encrypted at
        # rest (``StoreLifecycle.mark_encrypted_data``).
        """CREATE TABLE meta (
            key   TEXT NOT NULL PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID""",
    ),
    (
        # Candidates' accommodations (``AccommodationStore``): one row per
        # candidate, and the index that finds a candidate's attempts.
        """CREATE TABLE accommodations (
            candidate_id  TEXT NOT NULL PRIMARY KEY,
            multiplier    REAL NOT NULL,
            extra_seconds REAL NOT NULL,
            note          TEXT NOT NULL,
            set_by        TEXT NOT NULL,
            set_at        REAL NOT NULL
        ) WITHOUT ROWID""",
        "CREATE INDEX attempts_by_candidate ON attempts (candidate_id, attempt_id)",
    ),
    (
        # LTI 1.3 (``LtiStore``): platform registrations, used launch nonces
        # (until they expire) and the launch link of each attempt from an LMS.
        """CREATE TABLE lti_platforms (
            platform_id TEXT NOT NULL PRIMARY KEY,
            issuer      TEXT NOT NULL,
            data        TEXT NOT NULL
        ) WITHOUT ROWID""",
        "CREATE INDEX lti_platforms_by_issuer ON lti_platforms (issuer, platform_id)",
        """CREATE TABLE lti_nonces (
            key        TEXT NOT NULL PRIMARY KEY,
            expires_at REAL NOT NULL
        ) WITHOUT ROWID""",
        "CREATE INDEX lti_nonces_expiry ON lti_nonces (expires_at)",
        """CREATE TABLE lti_links (
            attempt_id TEXT NOT NULL PRIMARY KEY,
            data       TEXT NOT NULL
        ) WITHOUT ROWID""",
    ),
    (
        # Outbound delivery (``OutboundStore``): destinations, the backlog that
        # follows the log (a trigger records, in the transaction that appends
        # it, the position of every event that may go out; the quiet types of
        # ``outbound_common.QUIET_EVENT_TYPES`` are skipped), and one delivery
        # row per (destination, outbound event).
        """CREATE TABLE outbound_destinations (
            id              TEXT    NOT NULL PRIMARY KEY,
            kind            TEXT    NOT NULL,
            url             TEXT    NOT NULL,
            event_types     TEXT    NOT NULL,
            enabled         INTEGER NOT NULL,
            config          TEXT    NOT NULL,
            created_at      REAL    NOT NULL,
            updated_at      REAL    NOT NULL,
            disabled_reason TEXT    NOT NULL
        ) WITHOUT ROWID""",
        """CREATE TABLE outbound_backlog (
            attempt_id TEXT    NOT NULL PRIMARY KEY,
            cursor     INTEGER NOT NULL DEFAULT 0,
            latest     INTEGER NOT NULL
        ) WITHOUT ROWID""",
        "CREATE INDEX outbound_backlog_ahead ON outbound_backlog (attempt_id) "
        "WHERE latest > cursor",
        """CREATE TRIGGER outbound_follows_log AFTER INSERT ON events
        WHEN NEW.type NOT IN ('answer_saved', 'question_delivered', 'question_viewed',
                              'session_opened', 'session_superseded', 'session_closed')
        BEGIN
            INSERT INTO outbound_backlog (attempt_id, latest) VALUES (NEW.attempt_id, NEW.seq)
            ON CONFLICT (attempt_id) DO UPDATE SET latest = max(latest, excluded.latest);
        END""",
        """CREATE TABLE outbound_deliveries (
            id             INTEGER PRIMARY KEY AUTOINCREMENT,
            destination_id TEXT    NOT NULL
                           REFERENCES outbound_destinations (id) ON DELETE CASCADE,
            event_id       TEXT    NOT NULL,
            attempt_id     TEXT    NOT NULL,
            seq            INTEGER NOT NULL,
            sub            INTEGER NOT NULL,
            event          TEXT    NOT NULL,
            status         TEXT    NOT NULL,
            attempts       INTEGER NOT NULL,
            next_try_at    REAL    NOT NULL,
            give_up_at     REAL    NOT NULL,
            claim          TEXT,
            created_at     REAL    NOT NULL,
            updated_at     REAL    NOT NULL,
            last_status    INTEGER,
            last_error     TEXT,
            delivered_at   REAL,
            UNIQUE (destination_id, event_id)
        )""",
        "CREATE INDEX outbound_deliveries_due ON outbound_deliveries (next_try_at, id) "
        "WHERE status = 'pending'",
        "CREATE INDEX outbound_deliveries_chain ON outbound_deliveries "
        "(destination_id, attempt_id, seq, sub, id) WHERE status = 'pending'",
        "CREATE INDEX outbound_deliveries_log ON outbound_deliveries (destination_id, id)",
    ),
)
SCHEMA_VERSION: Final = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection | sqlite3.Cursor) -> int:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return version


def migrate(conn: sqlite3.Connection, path: str) -> None:
    """Bring the database on ``conn`` to ``SCHEMA_VERSION`` in one transaction;
    ``StoreUnavailable`` if it is newer than this code knows."""
    if schema_version(conn) == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = schema_version(conn)
        if current > SCHEMA_VERSION:
            raise StoreUnavailable(
                f"sqlite: {path} has schema {current}, newer than this "
                f"version of quizsession knows ({SCHEMA_VERSION})"
            )
        for step in MIGRATIONS[current:]:
            for statement in step:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
