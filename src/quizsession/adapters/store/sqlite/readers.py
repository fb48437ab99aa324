"""Reads on SQLite off the event loop: a small pool of threads, each with its own
read-only connection (WAL lets them read beside the writer), so the event loop
never blocks on the database. Generic: it runs functions of a cursor.

Errors: ``sqlite3`` errors (and a pool shut down) become ``StoreUnavailable``; a
record that does not decode becomes ``StoreError``."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import sqlite3
import threading
from collections.abc import Callable
from typing import TypeVar

import msgspec

from quizsession.adapters.store.sqlite.writer import unavailable
from quizsession.app.ports import StoreError, StoreUnavailable

T = TypeVar("T")


class ReaderPool:
    def __init__(self, connect: Callable[[], sqlite3.Connection], size: int = 4) -> None:
        if size < 1:
            raise ValueError("a reader pool needs at least one thread")
        self._connect = connect
        self._size = size
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()

    def open(self) -> None:
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=self._size, thread_name_prefix="sqlite-read"
            )

    async def close(self) -> None:
        """Wait for the reads running, then close every read connection. Idempotent."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(self._close, pool)

    def _close(self, pool: concurrent.futures.ThreadPoolExecutor) -> None:
        pool.shutdown(wait=True)
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only = ON")
            self._local.conn = conn
            with self._conns_lock:
                self._conns.append(conn)
        return conn

    def _run(self, fn: Callable[[sqlite3.Cursor], T]) -> T:
        cur = self._conn().cursor()
        try:
            return fn(cur)
        finally:
            cur.close()

    async def run(self, fn: Callable[[sqlite3.Cursor], T]) -> T:
        """``fn`` run on a cursor of one of the pool's connections."""
        pool = self._pool
        if pool is None:
            raise StoreUnavailable("store is not open")
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, self._run, fn)
        except StoreError:
            raise
        except msgspec.DecodeError as exc:
            raise StoreError(f"sqlite: undecodable record: {exc}") from exc
        except (sqlite3.Error, OSError, RuntimeError) as exc:  # RuntimeError: pool shut down
            raise unavailable(exc) from exc
