"""Several processes opening one new SQLite file at once (the workers of ``serve
--workers N`` open the store and their shared live-state file together).

Switching a file to WAL does not wait for SQLite's busy timeout: two openers
racing for it got "database is locked" at once, a worker failed its start and
was restarted (with a traceback in the log). A barrier lines the openers up
(threads with their own connections for the bare function, forked processes for
the adapters, as the workers are), and enough rounds make the race near
certain: without the retry about one round in ten failed.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from quizsession.adapters.live.sqlite_file import SqliteFileLiveState
from quizsession.adapters.store.sqlite.store import SqliteStore
from quizsession.adapters.store.sqlite.wal import prepare_wal
from quizsession.app.clock import SystemClock

OPENERS = 4


def _race(opener: Callable[[], None]) -> list[BaseException]:
    """Run ``opener`` in ``OPENERS`` threads released together; their errors."""
    barrier = threading.Barrier(OPENERS)
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            opener()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(OPENERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return errors


def _create_table(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("CREATE TABLE IF NOT EXISTS t (x)")
    conn.execute("COMMIT")


def test_prepare_wal_survives_openers_racing(tmp_path: Path) -> None:
    for round_ in range(60):
        path = tmp_path / f"race-{round_}.db"

        def open_one(path: Path = path) -> None:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            try:
                conn.execute("PRAGMA busy_timeout = 5000")
                prepare_wal(conn, 5000, _create_table)
            finally:
                conn.close()

        assert _race(open_one) == [], f"round {round_}"
        conn = sqlite3.connect(path)
        try:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 0
        finally:
            conn.close()


def _race_processes(path: str, make: Callable[[str], Coroutine[Any, Any, None]]) -> list[int]:
    """``make(path)`` in ``OPENERS`` forked processes released together; their
    exit codes (0: opened)."""
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(OPENERS)

    def run() -> None:
        barrier.wait(timeout=30)
        asyncio.run(make(path))

    procs = [ctx.Process(target=run) for _ in range(OPENERS)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=60)
    return [proc.exitcode if proc.exitcode is not None else -1 for proc in procs]


async def _open_live_file(path: str) -> None:
    live = SqliteFileLiveState(path, SystemClock())
    await live.open()
    try:
        assert await live.ping()
    finally:
        await live.close()


async def _open_store(path: str) -> None:
    store = SqliteStore(path, readers=1)
    await store.open()
    try:
        assert await store.ping()
        assert await store.schema_version() is not None
    finally:
        await store.close()


def test_live_state_files_open_together(tmp_path: Path) -> None:
    for round_ in range(40):
        codes = _race_processes(str(tmp_path / f"live-{round_}.db"), _open_live_file)
        assert codes == [0] * OPENERS, f"round {round_}"


def test_stores_open_one_new_file_together(tmp_path: Path) -> None:
    for round_ in range(20):
        codes = _race_processes(str(tmp_path / f"store-{round_}.db"), _open_store)
        assert codes == [0] * OPENERS, f"round {round_}"


def test_a_file_that_cannot_use_wal_is_refused() -> None:
    conn = sqlite3.connect(":memory:")
    try:
        with pytest.raises(ValueError, match="cannot use WAL"):
            prepare_wal(conn, 100)
    finally:
        conn.close()
