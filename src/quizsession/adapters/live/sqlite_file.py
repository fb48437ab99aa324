"""Live state shared by the processes of one machine, in a SQLite file: what
``quizsession serve --workers N`` uses when no Redis is configured.

Every worker process opens the same file (made by the parent in a private
directory that lives as long as the parent: leases die with the service, as
they do with the in-process live state). For speed and coordination only:
correctness (fencing, durability) never depends on it. It passes the same
contract suite as the memory and Redis adapters.

- Writes (leases, session records, rate-limit hits, notices) go through one
  writer thread per process (the store's ``GroupCommitWriter``): each batch is
  one ``BEGIN IMMEDIATE`` transaction, so a compare-and-set (take a free lease,
  count a hit under its limit) is atomic across every process. WAL with
  ``synchronous=NORMAL``: no fsync per commit (nothing here must survive a
  power loss).
- Reads go through a small pool of reader threads; the event loop never waits
  on the file.
- Time is the injected clock's ``monotonic``: ``time.monotonic`` (the system's
  ``CLOCK_MONOTONIC``) is one clock for every process of the machine.
- Notices: ``publish`` delivers at once to this process's subscribers and
  appends the notice to a table; every process with subscribers polls the table
  (a change of ``PRAGMA data_version`` first, every ``poll_s``) and fans out the
  notices of the other processes to its own subscribers. A notice reaches
  another process within about ``poll_s``. A process without subscribers does
  not poll (a worker serving only saves spends nothing on it): its first
  subscriber starts the polling from the table's newest notice, so it gets the
  notices published from then on, as any subscriber does. Old notices are
  pruned (every ``PRUNE_EVERY_S``, polling or not).
- Driver errors leave as ``LiveStateUnavailable``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import sqlite3
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

import msgspec

from quizsession.adapters.live.inbox import NoticeInbox, NoticeSink
from quizsession.adapters.store.sqlite.readers import ReaderPool
from quizsession.adapters.store.sqlite.wal import prepare_wal
from quizsession.adapters.store.sqlite.writer import GroupCommitWriter
from quizsession.app.ports import Clock, LeaseGrant, LiveStateUnavailable, Notice, StoreError

T = TypeVar("T")
log = logging.getLogger("quizsession.live")

#: How long a lapsed session record is remembered, as in the other adapters.
SESSION_RECORD_RETENTION_S = 86_400.0
#: Notices older than this are pruned (a process reads them within ``poll_s``).
NOTICE_RETENTION_S = 60.0
PRUNE_EVERY_S = 10.0

_ENCODE = msgspec.json.Encoder().encode
_DECODE = msgspec.json.Decoder(Notice).decode

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS leases (
        attempt_id TEXT NOT NULL PRIMARY KEY,
        session_id TEXT NOT NULL,
        expires_at REAL NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS seen (
        session_id TEXT NOT NULL PRIMARY KEY,
        until      REAL NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS hits (
        id     INTEGER PRIMARY KEY,
        key    TEXT NOT NULL,
        leaves REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS hits_by_key ON hits (key, leaves)",
    """CREATE TABLE IF NOT EXISTS notices (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        origin     TEXT NOT NULL,
        at         REAL NOT NULL,
        body       BLOB NOT NULL
    )""",
)


def _acquire(
    attempt_id: str, session_id: str, ttl_s: float, now: float, force: bool, cur: sqlite3.Cursor
) -> LeaseGrant:
    row = cur.execute(
        "SELECT session_id, expires_at FROM leases WHERE attempt_id = ?", (attempt_id,)
    ).fetchone()
    if row is None or row[1] <= now or row[0] == session_id or force:
        cur.execute(
            "INSERT INTO leases (attempt_id, session_id, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT (attempt_id) DO UPDATE SET session_id = excluded.session_id, "
            "expires_at = excluded.expires_at",
            (attempt_id, session_id, now + ttl_s),
        )
        return LeaseGrant(acquired=True, holder=session_id, expires_in=ttl_s)
    return LeaseGrant(acquired=False, holder=row[0], expires_in=row[1] - now)


def _holder(attempt_id: str, now: float, cur: sqlite3.Cursor) -> LeaseGrant:
    row = cur.execute(
        "SELECT session_id, expires_at FROM leases WHERE attempt_id = ?", (attempt_id,)
    ).fetchone()
    if row is None or row[1] <= now:
        return LeaseGrant(acquired=False, holder=None, expires_in=0.0)
    return LeaseGrant(acquired=False, holder=row[0], expires_in=row[1] - now)


def _hit(key: str, limit: int, per_seconds: int, now: float, cur: sqlite3.Cursor) -> bool:
    """A moving window (as the other adapters): allowed while fewer than
    ``limit`` hits of ``key`` leave the window after ``now``."""
    count = cur.execute(
        "SELECT count(*) FROM hits WHERE key = ? AND leaves > ?", (key, now)
    ).fetchone()[0]
    if count >= limit:
        return False
    cur.execute("INSERT INTO hits (key, leaves) VALUES (?, ?)", (key, now + per_seconds))
    return True


def _prune(now: float, cur: sqlite3.Cursor) -> None:
    cur.execute("DELETE FROM leases WHERE expires_at <= ?", (now,))
    cur.execute("DELETE FROM seen WHERE until + ? <= ?", (SESSION_RECORD_RETENTION_S, now))
    cur.execute("DELETE FROM hits WHERE leaves <= ?", (now,))
    cur.execute("DELETE FROM notices WHERE at <= ?", (now - NOTICE_RETENTION_S,))


def _touch(session_id: str, until: float, cur: sqlite3.Cursor) -> None:
    cur.execute(
        "INSERT INTO seen (session_id, until) VALUES (?, ?) "
        "ON CONFLICT (session_id) DO UPDATE SET until = excluded.until",
        (session_id, until),
    )


class SqliteFileSubscription(NoticeInbox):
    """One subscriber's notices (the shared ``NoticeInbox``)."""

    __slots__ = ("_owner", "attempt_id")

    def __init__(self, owner: SqliteFileLiveState, attempt_id: str) -> None:
        super().__init__()
        self._owner = owner
        self.attempt_id = attempt_id

    async def close(self) -> None:
        if self.ended:
            return
        self.end()
        await self._owner.detach(self.attempt_id, self)


#: How often an idle poller (no subscribers) wakes to prune, in seconds.
IDLE_WAKE_S = 1.0
#: The longest ``close`` waits for the poller to stop.
CLOSE_WAIT_S = 2.0


def _create_schema(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    for statement in SCHEMA:
        conn.execute(statement)
    conn.execute("COMMIT")


class SqliteFileLiveState:
    """``LiveState`` on the SQLite file at ``path`` (see the module's documentation)."""

    def __init__(
        self, path: str, clock: Clock, *, poll_s: float = 0.05, busy_timeout_ms: int = 5000
    ) -> None:
        if poll_s <= 0:
            raise ValueError("poll_s must be > 0")
        self.path = path
        self._clock = clock
        self._poll_s = poll_s
        self._busy_timeout_ms = busy_timeout_ms
        self._origin = secrets.token_hex(8)  # this process's notices
        self._writer = GroupCommitWriter(path, self._open_writer, max_batch=256)
        self._readers = ReaderPool(self._connect, 2)
        self._local: dict[str, set[NoticeSink]] = {}
        self._poller: asyncio.Task[None] | None = None
        self._poll_conn: sqlite3.Connection | None = None
        self._cursor = 0  # the last notice id seen by the poller
        self._opened = False

    @property
    def process_local(self) -> bool:
        """False: every process that opens the file shares this state."""
        return False

    # -- lifecycle -------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, cached_statements=32
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    def _open_writer(self) -> sqlite3.Connection:
        conn = self._connect()
        try:
            prepare_wal(conn, self._busy_timeout_ms, _create_schema)
        except BaseException:
            conn.close()
            raise
        return conn

    async def open(self) -> None:
        if self._opened:
            return
        try:
            await self._writer.start()
            self._readers.open()
            poll = self._poll_conn = self._connect()
            poll.execute("PRAGMA busy_timeout = 0")  # a busy poll is simply retried
            self._cursor = poll.execute("SELECT coalesce(max(id), 0) FROM notices").fetchone()[0]
        except (StoreError, sqlite3.Error, OSError) as exc:
            await self.close()
            raise LiveStateUnavailable(f"live state file {self.path}: {exc}") from exc
        self._opened = True
        self._poller = asyncio.get_running_loop().create_task(
            self._poll_forever(), name="quizsession-live-file-notices"
        )

    async def close(self) -> None:
        self._opened = False
        for sinks in list(self._local.values()):
            for sink in list(sinks):
                sink.end()
        self._local.clear()
        poller, self._poller = self._poller, None
        if poller is not None:
            poller.cancel()
            # Bounded: it stops at its next await, which is never a long one.
            await asyncio.wait({poller}, timeout=CLOSE_WAIT_S)
        await self._writer.stop()
        await self._readers.close()
        conn, self._poll_conn = self._poll_conn, None
        if conn is not None:
            conn.close()

    async def ping(self) -> bool:
        try:
            return bool(await self._read(lambda cur: cur.execute("SELECT 1").fetchone()[0]))
        except LiveStateUnavailable:
            return False

    async def _guard(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except (StoreError, sqlite3.Error, OSError) as exc:
            raise LiveStateUnavailable(f"live state file: {exc!r}") from exc

    def _write(self, fn: Callable[[sqlite3.Cursor], T]) -> Awaitable[T]:
        try:
            return self._guard(self._writer.submit(fn))
        except StoreError as exc:  # not open
            raise LiveStateUnavailable(f"live state file: {exc!r}") from exc

    def _read(self, fn: Callable[[sqlite3.Cursor], T]) -> Awaitable[T]:
        return self._guard(self._readers.run(fn))

    # -- leases ----------------------------------------------------------------------

    async def acquire_lease(
        self,
        attempt_id: str,
        session_id: str,
        ttl_s: float,
        *,
        force: bool = False,
        activity_ttl_s: float | None = None,
    ) -> LeaseGrant:
        now = self._clock.monotonic()

        def run(cur: sqlite3.Cursor) -> LeaseGrant:
            grant = _acquire(attempt_id, session_id, ttl_s, now, force, cur)
            if grant.acquired and activity_ttl_s is not None:
                _touch(session_id, now + activity_ttl_s, cur)
            return grant

        return await self._write(run)

    async def release_lease(self, attempt_id: str, session_id: str) -> None:
        def run(cur: sqlite3.Cursor) -> None:
            cur.execute(
                "DELETE FROM leases WHERE attempt_id = ? AND session_id = ?",
                (attempt_id, session_id),
            )

        await self._write(run)

    async def lease_holder(self, attempt_id: str) -> LeaseGrant:
        return await self._read(partial(_holder, attempt_id, self._clock.monotonic()))

    # -- sessions --------------------------------------------------------------------

    async def touch_session(self, session_id: str, ttl_s: float) -> None:
        await self._write(partial(_touch, session_id, self._clock.monotonic() + ttl_s))

    async def session_seen(self, session_id: str) -> bool | None:
        def run(cur: sqlite3.Cursor) -> float | None:
            row = cur.execute("SELECT until FROM seen WHERE session_id = ?", (session_id,))
            found = row.fetchone()
            return None if found is None else float(found[0])

        until = await self._read(run)
        now = self._clock.monotonic()
        if until is None or until + SESSION_RECORD_RETENTION_S <= now:
            return None
        return until > now

    # -- rate limits -----------------------------------------------------------------

    async def hit(self, key: str, limit: int, per_seconds: int) -> bool:
        now = self._clock.monotonic()
        return await self._write(partial(_hit, key, limit, per_seconds, now))

    async def exhausted(self, key: str, limit: int, per_seconds: int) -> bool:
        now = self._clock.monotonic()

        def run(cur: sqlite3.Cursor) -> bool:
            count = cur.execute(
                "SELECT count(*) FROM hits WHERE key = ? AND leaves > ?", (key, now)
            ).fetchone()[0]
            return bool(count >= limit)

        return await self._read(run)

    # -- notices ---------------------------------------------------------------------

    async def publish(self, notice: Notice) -> None:
        row = (self._origin, self._clock.monotonic(), _ENCODE(notice))

        def run(cur: sqlite3.Cursor) -> None:
            cur.execute("INSERT INTO notices (origin, at, body) VALUES (?, ?, ?)", row)

        self._fan_out(notice)
        await self._write(run)

    async def subscribe(self, attempt_id: str) -> SqliteFileSubscription:
        sub = SqliteFileSubscription(self, attempt_id)
        await self.attach(attempt_id, sub)
        return sub

    async def attach(self, attempt_id: str, sink: NoticeSink) -> None:
        """From now on: notices of this process at once, of the others at the
        poller's next read (it reads every notice after its cursor)."""
        if not self._opened:
            raise LiveStateUnavailable("live state file is not open")
        if not self._local:
            # The poller idles without subscribers: it starts again from the
            # newest notice (older ones were published before this subscription).
            self._skip_to_newest()
        self._local.setdefault(attempt_id, set()).add(sink)

    async def detach(self, attempt_id: str, sink: NoticeSink) -> None:
        sinks = self._local.get(attempt_id)
        if sinks is not None:
            sinks.discard(sink)
            if not sinks:
                del self._local[attempt_id]

    def _fan_out(self, notice: Notice) -> None:
        for sink in list(self._local.get(notice.attempt_id, ())):
            sink.deliver(notice)

    def _skip_to_newest(self) -> None:
        """Move the poller's cursor to the newest notice in the table."""
        conn = self._poll_conn
        if conn is None:
            raise LiveStateUnavailable("live state file is not open")
        try:
            newest = conn.execute("SELECT coalesce(max(id), 0) FROM notices").fetchone()[0]
        except sqlite3.Error as exc:
            raise LiveStateUnavailable(f"live state file: {exc!r}") from exc
        self._cursor = max(self._cursor, int(newest))

    async def _poll_forever(self) -> None:
        version: int | None = None
        next_prune = self._clock.monotonic()
        while True:
            # Without subscribers nothing is read: the loop only wakes now and
            # then (no event to wait on, so a cancellation is never lost).
            if self._local:
                await asyncio.sleep(self._poll_s)
            else:
                version = None  # ``attach`` moves the cursor: read after it
                await asyncio.sleep(IDLE_WAKE_S)
            conn = self._poll_conn
            if conn is None or not self._opened:
                return
            if self._local:
                try:
                    current = conn.execute("PRAGMA data_version").fetchone()[0]
                    if current != version:
                        version = current
                        self._read_notices(conn)
                except sqlite3.Error as exc:  # busy (retried next time) or failing
                    log.debug("live state file: notices not read: %r", exc)
            now = self._clock.monotonic()
            if now >= next_prune:
                next_prune = now + PRUNE_EVERY_S
                with contextlib.suppress(LiveStateUnavailable):
                    await self._write(partial(_prune, now))

    def _read_notices(self, conn: sqlite3.Connection) -> None:
        rows = conn.execute(
            "SELECT id, origin, body FROM notices WHERE id > ? ORDER BY id", (self._cursor,)
        ).fetchall()
        for notice_id, origin, body in rows:
            self._cursor = notice_id
            if origin == self._origin or not self._local:
                continue
            try:
                notice = _DECODE(body)
            except msgspec.DecodeError:
                continue
            self._fan_out(notice)
