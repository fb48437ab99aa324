"""The SQL of the PostgreSQL store: its statements and the decoding of its rows."""

from __future__ import annotations

from typing import Final

import asyncpg

from quizsession.app.ports import AttemptIndexRow, Invite

# Advisory lock class of ``put_quiz`` (the two-key (int, int) space, distinct
# from the one-key space of the migration lock).
QUIZ_LOCK_CLASS: Final = int.from_bytes(b"qzsQ", "big")

_ROW_COLUMNS = ROW_COLUMNS = (
    "SELECT attempt_id, quiz_id, candidate_id, status, state, version, updated_at, "
    "deadline, due_at FROM attempts "
)
# The appends' statement: appends.py (``WRITE_BATCH``).
SELECT_EVENTS = "SELECT seq, data FROM events WHERE attempt_id = $1 AND seq > $2 ORDER BY seq"
SELECT_LOGS = (
    "SELECT attempt_id, seq, data FROM events WHERE attempt_id = ANY($1::text[]) "
    "ORDER BY attempt_id, seq"
)
SELECT_ROW = _ROW_COLUMNS + "WHERE attempt_id = $1"
# The index's lists: reads_paged.py (``list_attempts_query``).
# The literal status matches the partial index's predicate (a parameter would not).
SELECT_DUE = (
    _ROW_COLUMNS + "WHERE status = 'open' AND due_at <= $1 ORDER BY due_at, attempt_id LIMIT $2"
)
LOCK_QUIZ = "SELECT pg_advisory_xact_lock($1::integer, hashtext($2))"
SELECT_LATEST_QUIZ = (
    "SELECT data, version FROM quizzes WHERE quiz_id = $1 ORDER BY version DESC LIMIT 1"
)
SELECT_QUIZ = "SELECT data FROM quizzes WHERE quiz_id = $1 AND version = $2"
INSERT_QUIZ = "INSERT INTO quizzes (quiz_id, version, title, data) VALUES ($1, $2, $3, $4::json)"
SELECT_QUIZ_LIST = (
    "SELECT DISTINCT ON (quiz_id) quiz_id, version, title FROM quizzes "
    "ORDER BY quiz_id, version DESC"
)
UPSERT_INVITES = (
    "INSERT INTO invites (token_hash, quiz_id, candidate_id, name, email, valid_until, "
    "created_at) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], "
    "$5::text[], $6::float8[], $7::float8[]) "
    "ON CONFLICT (token_hash) DO UPDATE SET quiz_id = EXCLUDED.quiz_id, "
    "candidate_id = EXCLUDED.candidate_id, name = EXCLUDED.name, email = EXCLUDED.email, "
    "valid_until = EXCLUDED.valid_until, created_at = EXCLUDED.created_at"
)
SELECT_INVITE = (
    "SELECT token_hash, quiz_id, candidate_id, name, email, valid_until, created_at "
    "FROM invites WHERE token_hash = $1"
)

# Taken when free, lapsed, already this session's or forced. ON CONFLICT locks
# the row and re-checks the WHERE on its latest version (READ COMMITTED), so of
# N racing acquirers of a free lease exactly one gets a row back.
ACQUIRE_LEASE = (
    "INSERT INTO leases AS l (attempt_id, session_id, expires_at) VALUES ($1, $2, $3) "
    "ON CONFLICT (attempt_id) DO UPDATE SET session_id = EXCLUDED.session_id, "
    "expires_at = EXCLUDED.expires_at "
    "WHERE l.expires_at <= $4 OR l.session_id = EXCLUDED.session_id OR $5 "
    "RETURNING l.session_id"
)
SELECT_LEASE = "SELECT session_id, expires_at FROM leases WHERE attempt_id = $1"
RELEASE_LEASE = "DELETE FROM leases WHERE attempt_id = $1 AND session_id = $2"

MARK_ALIVE = (
    "INSERT INTO alive (instance_id, at) VALUES ($1, $2) "
    "ON CONFLICT (instance_id) DO UPDATE SET at = EXCLUDED.at"
)
LAST_ALIVE = "SELECT max(at) FROM alive"
PRUNE_ALIVE = "DELETE FROM alive WHERE at < $1"

# Facts about the data as a whole (migration 4).
SELECT_META = "SELECT value FROM meta WHERE key = $1"
PUT_META = "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING"


def index_row(r: asyncpg.Record) -> AttemptIndexRow:
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


def invite_of(r: asyncpg.Record) -> Invite:
    return Invite(
        token_hash=r[0],
        quiz_id=r[1],
        candidate_id=r[2],
        name=r[3],
        email=r[4],
        valid_until=r[5],
        created_at=r[6],
    )


def rows_affected(status: str) -> int:
    """The count at the end of a command tag such as ``INSERT 0 1`` / ``UPDATE 0``."""
    return int(status.rsplit(" ", 1)[-1])
