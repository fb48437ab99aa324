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
