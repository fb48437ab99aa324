"""Turning a SQLite file to WAL mode when several processes may open it at once.

Switching a file's journal mode takes an exclusive lock and SQLite does not call
the busy handler for it: a process that opens a new file while another is doing
the same gets "database is locked" at once, whatever ``busy_timeout`` says. The
worker processes of ``serve --workers N`` open the store and their shared
live-state file together, so every such open goes through ``prepare_wal``, which
retries a "locked" answer until the busy timeout has passed.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

RETRY_STEP_S = 0.01


def prepare_wal(
    conn: sqlite3.Connection,
    busy_timeout_ms: int,
    setup: Callable[[sqlite3.Connection], None] = lambda _conn: None,
) -> None:
    """Put ``conn``'s file in WAL mode, then run ``setup`` (its schema); retried
    while the file is locked by another opener, for at most ``busy_timeout_ms``.
    ``sqlite3.OperationalError`` once that has passed, or for any other error;
    ``ValueError`` if the file cannot use WAL (a read-only medium, a memory
    database)."""
    give_up = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise ValueError(f"cannot use WAL (got journal mode {mode})")
            setup(conn)
            return
        except sqlite3.OperationalError as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if "locked" not in str(exc) or time.monotonic() >= give_up:
                raise
            time.sleep(RETRY_STEP_S)
