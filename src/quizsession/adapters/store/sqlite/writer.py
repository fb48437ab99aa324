"""Group commit on SQLite: one writer thread owns the only write connection.

Every write is a request on a queue (a function of a cursor); the caller awaits
an asyncio future. The writer takes all pending requests (at most
``max_batch``), runs them in ONE ``BEGIN IMMEDIATE`` transaction, each inside its
own SAVEPOINT (so a request that fails, e.g. on an optimistic lock, is rolled
back alone), COMMITs once (WAL + ``synchronous=FULL``: one fsync for the whole
batch) and only then resolves the callers' futures. A caller is never told
"done" before its data is on disk. If the COMMIT (or anything outside one
request) fails, every caller of the batch gets ``StoreUnavailable``.

A request may also carry a *bulk payload*: when a batch holds several, the
``bulk`` function given to the writer may write them all with a few multi-row
statements (inside its own savepoint) and return each one's result; when it
returns None, each request runs alone as above.

Generic: it knows SQL transactions, not what the requests write.

Several processes writing one file (``serve --workers N``): each has its own
writer thread; SQLite's own lock (``BEGIN IMMEDIATE`` and the busy timeout)
keeps their transactions apart, but a writer that finds the file busy sleeps
in steps of milliseconds, which starves it under load. With ``lock_path``,
each transaction is also taken under an exclusive ``flock`` of that file: a
waiting writer sleeps in the kernel and takes its turn the moment the other's
commit is done (the lock orders, SQLite's lock still decides).

A failing batch is logged (``quizsession.store``: the SQLite error name, e.g.
``SQLITE_FULL``; at most every ``FAILURE_LOG_EVERY_S`` while failures last) and
so is the first success after it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar

from quizsession.app.ports import StoreError, StoreUnavailable

T = TypeVar("T")
log = logging.getLogger("quizsession.store")
FAILURE_LOG_EVERY_S = 10.0  # while writes keep failing, one warning per this many seconds

#: Writes a batch's bulk payloads together inside a savepoint of its own; returns
#: each payload's result in order, or None (having rolled back) to let each
#: request run alone.
BulkWrite = Callable[[sqlite3.Cursor, Sequence[Any]], "list[object] | None"]

_STOP: Final = object()
_Outcome = tuple[asyncio.Future[Any], object, BaseException | None]


class Write:
    """One write request: a function run by the writer thread inside a savepoint,
    the future of the caller waiting for its result, and its bulk payload."""

    __slots__ = ("bulk", "fn", "future", "loop")

    def __init__(
        self,
        fn: Callable[[sqlite3.Cursor], object],
        future: asyncio.Future[Any],
        loop: asyncio.AbstractEventLoop,
        bulk: object = None,
    ) -> None:
        self.fn = fn
        self.future = future
        self.loop = loop
        self.bulk = bulk


def unavailable(exc: BaseException) -> StoreUnavailable:
    return StoreUnavailable(f"sqlite: {exc}")


def _settle(outcomes: list[_Outcome]) -> None:
    for future, value, error in outcomes:
        if future.done():  # the caller was cancelled
            continue
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)


class GroupCommitWriter:
    """The writer thread of one database file (``name`` in logs)."""

    def __init__(
        self,
        name: str,
        connect: Callable[[], sqlite3.Connection],
        *,
        max_batch: int = 1024,
        bulk: BulkWrite | None = None,
        lock_path: str | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be >= 1")
        self.name = name
        self._lock_path = lock_path
        self._lock_fd = -1
        self._connect = connect
        self._max_batch = max_batch
        self._bulk = bulk
        self._queue: queue.SimpleQueue[Write | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._accepting = False
        # Batches and write requests run (committed or failed): for metrics and
        # tests; written by the writer thread only.
        self.batches = 0
        self.writes = 0
        self.bulk_batches = 0  # batches whose bulk payloads went in together
        # Failed batches since the last success (disk full, I/O error, locked):
        # logged on the first failure, then at most every FAILURE_LOG_EVERY_S,
        # and once more when writes succeed again. Writer thread only.
        self.failing_batches = 0
        self._failure_logged_at = 0.0

    # -- life cycle -----------------------------------------------------------------

    async def start(self) -> None:
        """Open the write connection (``connect``: its failure is raised here as
        ``StoreUnavailable``) and start taking requests. Idempotent."""
        if self._thread is not None:
            return
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        thread = threading.Thread(
            target=self._main, args=(ready,), name="sqlite-writer", daemon=True
        )
        thread.start()
        try:
            await asyncio.wrap_future(ready)
        except StoreUnavailable:
            await asyncio.to_thread(thread.join)
            raise
        self._thread = thread
        self._accepting = True

    async def stop(self) -> None:
        """Stop accepting requests, commit (or fail) everything already queued,
        and end the thread. Idempotent."""
        self._accepting = False
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            await asyncio.to_thread(thread.join)

    def submit(self, fn: Callable[[sqlite3.Cursor], T], bulk: object = None) -> asyncio.Future[T]:
        """Queue ``fn`` (and its bulk payload); the future resolves once its batch
        is committed (or failed)."""
        if not self._accepting:
            raise StoreUnavailable("store is not open")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(Write(fn, future, loop, bulk))
        return future

    # -- the thread -------------------------------------------------------------------

    def _main(self, ready: concurrent.futures.Future[None]) -> None:
        try:
            conn = self._connect()
        except Exception as exc:
            ready.set_exception(exc if isinstance(exc, StoreUnavailable) else unavailable(exc))
            return
        if self._lock_path is not None:
            try:
                self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                conn.close()
                ready.set_exception(unavailable(exc))
                return
        ready.set_result(None)
        try:
            self._loop(conn)
        finally:
            if self._lock_fd >= 0:
                os.close(self._lock_fd)
                self._lock_fd = -1
            self._accepting = False  # only matters if the loop died unexpectedly
            # Nothing left hanging: whatever is still queued is failed.
            leftovers: list[Write] = []
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, Write):
                    leftovers.append(item)
            if leftovers:
                self._deliver(
                    [(w.future, None, StoreUnavailable("store closed")) for w in leftovers],
                    leftovers,
                )
            conn.close()

    def _loop(self, conn: sqlite3.Connection) -> None:
        get = self._queue.get
        get_nowait = self._queue.get_nowait
        cur = conn.cursor()
        max_batch = self._max_batch
        while True:
            item = get()
            if not isinstance(item, Write):
                return
            batch = [item]
            stop = False
            while len(batch) < max_batch:
                try:
                    item = get_nowait()
                except queue.Empty:
                    break
                if not isinstance(item, Write):
                    stop = True
                    break
                batch.append(item)
            if self._lock_fd >= 0:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
                try:
                    outcomes = self._run_batch(conn, cur, batch)
                finally:
                    fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            else:
                outcomes = self._run_batch(conn, cur, batch)
            self._deliver(outcomes, batch)
            if stop:
                return

    def _run_bulk(self, cur: sqlite3.Cursor, batch: list[Write]) -> list[_Outcome] | None:
        if self._bulk is None:
            return None
        bulky = [w for w in batch if w.bulk is not None]
        if len(bulky) < 2:
            return None
        results = self._bulk(cur, [w.bulk for w in bulky])
        if results is None:
            return None
        self.bulk_batches += 1
        return [(w.future, result, None) for w, result in zip(bulky, results, strict=True)]

    def _run_batch(
        self, conn: sqlite3.Connection, cur: sqlite3.Cursor, batch: list[Write]
    ) -> list[_Outcome]:
        execute = cur.execute
        self.batches += 1
        self.writes += len(batch)
        try:
            execute("BEGIN IMMEDIATE")
            outcomes = self._run_bulk(cur, batch)
            if outcomes is None:
                outcomes, rest = [], batch
            else:
                rest = [w for w in batch if w.bulk is None]
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
            return [(w.future, None, unavailable(exc)) for w in batch]
        if self.failing_batches:
            log.warning(
                "sqlite: writes succeed again on %s (after %d failed batches)",
                self.name,
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
            self.name,
            name,
            exc,
            self.failing_batches,
        )

    @staticmethod
    def _deliver(outcomes: list[_Outcome], batch: list[Write]) -> None:
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
