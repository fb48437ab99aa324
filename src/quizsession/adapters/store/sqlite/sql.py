"""The SQL of the SQLite store: its statements, and the functions that run them
on a cursor (reads in a reader thread, writes in the writer thread inside a
savepoint)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import msgspec

from quizsession.adapters.store.common import decode_quiz, lease_grant, unversioned, versioned_quiz
from quizsession.app.ports import AttemptIndexRow, LeaseGrant, RecordedEvent, VersionConflict
from quizsession.domain.events import AttemptEvent
from quizsession.domain.quiz import Quiz

# Literal strings (no formatting at run time): each is prepared once and kept in
# the connection's statement cache.
# The two statements of the optimistic lock take the same leading parameters.
INSERT_ATTEMPT = (
    "INSERT INTO attempts (quiz_id, candidate_id, status, state, version, updated_at, "
    "deadline, due_at, attempt_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (attempt_id) DO NOTHING"
)
UPDATE_ATTEMPT = (
    "UPDATE attempts SET quiz_id = ?, candidate_id = ?, status = ?, state = ?, version = ?, "
    "updated_at = ?, deadline = ?, due_at = ? WHERE attempt_id = ? AND version = ?"
)
BULK_INSERT_ATTEMPTS = (
    "INSERT INTO attempts (quiz_id, candidate_id, status, state, version, updated_at, "
    "deadline, due_at, attempt_id) VALUES {} ON CONFLICT (attempt_id) DO NOTHING"
)
BULK_UPDATE_ATTEMPTS = (
    "UPDATE attempts SET quiz_id = v.column1, candidate_id = v.column2, status = v.column3, "
    "state = v.column4, version = v.column5, updated_at = v.column6, deadline = v.column7, "
    "due_at = v.column8 FROM (VALUES {}) AS v "
    "WHERE attempts.attempt_id = v.column9 AND attempts.version = v.column10"
)
BULK_INSERT_EVENTS = "INSERT INTO events (attempt_id, seq, type, at, data) VALUES {}"
SELECT_VERSION = "SELECT version FROM attempts WHERE attempt_id = ?"
INSERT_EVENT = "INSERT INTO events (attempt_id, seq, type, at, data) VALUES (?, ?, ?, ?, ?)"
SELECT_LAST_SEQ = "SELECT max(seq) FROM events WHERE attempt_id = ?"
SELECT_EVENTS = "SELECT seq, data FROM events WHERE attempt_id = ? AND seq > ? ORDER BY seq"
# ``read_many``: the logs of up to _LOGS_PER_STATEMENT attempts as ONE value, a JSON
# array of [position of the attempt id in the list, seq, event] (each event's data
# is its JSON encoding, put in as it is). One row, not one per event: a reader
# thread gives up the GIL at every step of a statement and, while the event loop is
# busy, waits for it at each (see ``bulk_append``); here a chunk costs one step.
# group_concat's order is not guaranteed, hence the seq in each element.
SELECT_LOGS = (
    "WITH ids (n, attempt_id) AS (VALUES {}) "
    "SELECT '[' || group_concat('[' || ids.n || ',' || events.seq || ',' || "
    "CAST(events.data AS TEXT) || ']', ',') || ']' "
    "FROM ids JOIN events ON events.attempt_id = ids.attempt_id"
)
_LOGS_PER_STATEMENT = 400  # two bound values each: within SQLite's old limit of 999
_ID_ROW = "(?, ?)"
_LOGS_DECODER = msgspec.json.Decoder(list[tuple[int, int, AttemptEvent]])
SELECT_ROW = (
    "SELECT attempt_id, quiz_id, candidate_id, status, state, version, updated_at, "
    "deadline, due_at FROM attempts WHERE attempt_id = ?"
)
SELECT_DUE = (
    "SELECT attempt_id, quiz_id, candidate_id, status, state, version, updated_at, "
    "deadline, due_at FROM attempts INDEXED BY attempts_due "
    "WHERE status = 'open' AND due_at <= ? "
    "ORDER BY due_at, attempt_id LIMIT ?"
)
SELECT_LATEST_QUIZ = (
    "SELECT data, version FROM quizzes WHERE quiz_id = ? ORDER BY version DESC LIMIT 1"
)
SELECT_QUIZ = "SELECT data FROM quizzes WHERE quiz_id = ? AND version = ?"
INSERT_QUIZ = "INSERT INTO quizzes (quiz_id, version, title, data) VALUES (?, ?, ?, ?)"
# SQLite documents that a bare column next to max() comes from the row of the max.
SELECT_QUIZ_LIST = (
    "SELECT quiz_id, max(version), title FROM quizzes GROUP BY quiz_id ORDER BY quiz_id"
)
UPSERT_INVITE = (
    "INSERT OR REPLACE INTO invites "
    "(token_hash, quiz_id, candidate_id, name, email, valid_until, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
SELECT_INVITE = (
    "SELECT token_hash, quiz_id, candidate_id, name, email, valid_until, created_at "
    "FROM invites WHERE token_hash = ?"
)

# One conditional UPSERT: taken when free, lapsed, already this session's, or
# forced; RETURNING gives no row when the lease stays with another session.
ACQUIRE_LEASE = (
    "INSERT INTO leases (attempt_id, session_id, expires_at) VALUES (?, ?, ?) "
    "ON CONFLICT (attempt_id) DO UPDATE SET session_id = excluded.session_id, "
    "expires_at = excluded.expires_at "
    "WHERE leases.expires_at <= ? OR leases.session_id = excluded.session_id OR ? "
    "RETURNING session_id"
)
SELECT_LEASE = "SELECT session_id, expires_at FROM leases WHERE attempt_id = ?"
RELEASE_LEASE = "DELETE FROM leases WHERE attempt_id = ? AND session_id = ?"

MARK_ALIVE = (
    "INSERT INTO alive (instance_id, at) VALUES (?, ?) "
    "ON CONFLICT (instance_id) DO UPDATE SET at = excluded.at"
)
LAST_ALIVE = "SELECT max(at) FROM alive"
PRUNE_ALIVE = "DELETE FROM alive WHERE at < ?"

# Facts about the data as a whole (schema step 4).
SELECT_META = "SELECT value FROM meta WHERE key = ?"
PUT_META = "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING"


class Append:
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


def index_row(r: tuple[Any, ...]) -> AttemptIndexRow:
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


# -- reads run by a reader thread -------------------------------------------------------


def read_logs(ids: list[str], cur: sqlite3.Cursor) -> dict[str, list[RecordedEvent]]:
    logs: dict[str, list[RecordedEvent]] = {attempt_id: [] for attempt_id in ids}
    for start in range(0, len(ids), _LOGS_PER_STATEMENT):
        chunk = ids[start : start + _LOGS_PER_STATEMENT]
        sql = SELECT_LOGS.format(", ".join([_ID_ROW] * len(chunk)))
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


def append(
    attempt_id: str,
    expected: int,
    values: tuple[object, ...],
    rows: list[tuple[str, int, str, float, bytes]],
    cur: sqlite3.Cursor,
) -> int:
    if expected == 0:
        cur.execute(INSERT_ATTEMPT, values)
    else:
        cur.execute(UPDATE_ATTEMPT, (*values, expected))
    if cur.rowcount != 1:
        r = cur.execute(SELECT_VERSION, (attempt_id,)).fetchone()
        raise VersionConflict(attempt_id, expected, 0 if r is None else r[0])
    try:
        cur.executemany(INSERT_EVENT, rows)
    except sqlite3.IntegrityError as exc:
        if exc.sqlite_errorname != "SQLITE_CONSTRAINT_PRIMARYKEY":
            raise
        # A seq already taken although the attempts row agreed: the log moved.
        r = cur.execute(SELECT_LAST_SEQ, (attempt_id,)).fetchone()
        raise VersionConflict(attempt_id, expected, r[0]) from exc
    return expected + len(rows)


#: Rows per multi-row statement: at most 1,000 bound values each (SQLite's limit
#: is 32,766 since 3.32), so a batch of 1,024 appends takes a handful of steps.
_BULK_ATTEMPTS = 100
_BULK_EVENTS = 200
_ATTEMPT_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
_VERSIONED_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_EVENT_ROW = "(?, ?, ?, ?, ?)"


def bulk_append(cur: sqlite3.Cursor, appends: Sequence[Append]) -> list[object] | None:
    """Write every append of a batch with a few multi-row statements, inside a
    savepoint; the new versions when all of them went in as asked, else None.

    The writer thread gives up the GIL at every SQLite step, and gets it back only
    when the event loop lets go: one step per row made the writer wait on the
    request handlers for every row. Here a batch of appends costs a few steps. When
    anything does not go as asked (a version moved, a seq taken, two appends to
    one attempt in the batch), the savepoint is rolled back and None returned:
    the writer then runs each write in its own savepoint, which gives each caller
    its own answer."""
    if len(appends) < 2 or len({a.attempt_id for a in appends}) != len(appends):
        return None
    execute = cur.execute
    execute("SAVEPOINT bulk")
    try:
        fresh = [a.values for a in appends if a.expected == 0]
        moved = [(*a.values, a.expected) for a in appends if a.expected != 0]
        ok = _bulk_rows(cur, BULK_INSERT_ATTEMPTS, _ATTEMPT_ROW, fresh, _BULK_ATTEMPTS)
        ok = ok and _bulk_rows(cur, BULK_UPDATE_ATTEMPTS, _VERSIONED_ROW, moved, _BULK_ATTEMPTS)
        events = [row for a in appends for row in a.rows]
        ok = ok and _bulk_rows(cur, BULK_INSERT_EVENTS, _EVENT_ROW, events, _BULK_EVENTS)
    except sqlite3.IntegrityError:
        ok = False
    except BaseException:
        execute("ROLLBACK TO bulk")
        execute("RELEASE bulk")
        raise
    if not ok:
        execute("ROLLBACK TO bulk")
    execute("RELEASE bulk")
    return [a.expected + len(a.rows) for a in appends] if ok else None


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


def put_quiz(quiz_id: str, canonical: bytes, cur: sqlite3.Cursor) -> Quiz:
    r = cur.execute(SELECT_LATEST_QUIZ, (quiz_id,)).fetchone()
    if r is not None and unversioned(r[0]) == canonical:
        return decode_quiz(r[0])
    version = 1 if r is None else r[1] + 1
    quiz, data = versioned_quiz(canonical, version)
    cur.execute(INSERT_QUIZ, (quiz_id, version, quiz.title, data))
    return quiz


def add_invites(
    rows: list[tuple[str, str, str, str, str, float, float]], cur: sqlite3.Cursor
) -> None:
    cur.executemany(UPSERT_INVITE, rows)


def acquire_lease(
    attempt_id: str, session_id: str, ttl_s: float, now: float, force: bool, cur: sqlite3.Cursor
) -> LeaseGrant:
    taken = cur.execute(
        ACQUIRE_LEASE, (attempt_id, session_id, now + ttl_s, now, 1 if force else 0)
    ).fetchone()
    if taken is not None:
        return LeaseGrant(acquired=True, holder=session_id, expires_in=ttl_s)
    r = cur.execute(SELECT_LEASE, (attempt_id,)).fetchone()
    return lease_grant(None, 0.0, now) if r is None else lease_grant(r[0], r[1], now)


def release_lease(attempt_id: str, session_id: str, cur: sqlite3.Cursor) -> None:
    cur.execute(RELEASE_LEASE, (attempt_id, session_id))


def mark_alive(instance_id: str, now: float, cur: sqlite3.Cursor) -> None:
    cur.execute(MARK_ALIVE, (instance_id, now))


def prune_alive(before: float, cur: sqlite3.Cursor) -> int:
    return cur.execute(PRUNE_ALIVE, (before,)).rowcount


def put_meta(key: str, value: str, cur: sqlite3.Cursor) -> None:
    cur.execute(PUT_META, (key, value))


_LIST_COLUMNS = (
    "SELECT attempt_id, quiz_id, candidate_id, status, state, version, updated_at, "
    "deadline, due_at FROM attempts "
)


def list_attempts_query(
    quiz_id: str | None, status: str | None, after: str | None, limit: int, offset: int
) -> tuple[str, tuple[object, ...]]:
    """``list_attempts``' statement for any mix of filters, with a keyset
    (``attempt_id > after``): a page deep in a big quiz costs what the first one
    does (the ``attempts_by_quiz`` and ``attempts_by_status`` indexes end with
    ``attempt_id``)."""
    where: list[str] = []
    params: list[object] = []
    for condition, value in (
        ("quiz_id = ?", quiz_id),
        ("status = ?", status),
        ("attempt_id > ?", after),
    ):
        if value is not None:
            where.append(condition)
            params.append(value)
    clause = ("WHERE " + " AND ".join(where) + " ") if where else ""
    # Fixed fragments only; every value is a parameter.
    statement = _LIST_COLUMNS + clause + "ORDER BY attempt_id LIMIT ? OFFSET ?"
    return statement, (*params, limit, offset)
