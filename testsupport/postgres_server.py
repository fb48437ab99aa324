"""A private PostgreSQL server for tests and benchmarks (no Docker).

``start_postgres(tmpdir)`` starts one on 127.0.0.1 at a free port and returns once
it answers (polled, bounded in time). It is stopped or killed by its pid only.

PostgreSQL refuses to run as root: when this process is root, ``initdb`` and
``postgres`` run as an unprivileged user (``QUIZSESSION_PG_USER``, default
``nobody``) and the cluster lives in a fresh directory under the system temp
directory (pytest's temp dirs are private to root, so that user could not reach
them); ``destroy()`` removes it. Otherwise the cluster lives in ``tmpdir``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from testsupport.net import free_port
from testsupport.processes import (
    STOP_TIMEOUT_S,
    BinaryNotFound,
    ManagedServer,
    ServerStartError,
    children,
    reap_pids,
    set_child_subreaper,
    signal_pid,
    wait_exit,
)


def find_postgres_bindir() -> Path:
    """The directory holding ``initdb``/``postgres``: from PATH, else the newest
    ``/usr/lib/postgresql/*/bin``."""
    found = shutil.which("initdb")
    if found is not None:
        bindir = Path(os.path.realpath(found)).parent
        if (bindir / "postgres").exists():
            return bindir
    candidates = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")]

    def major(path: Path) -> float:
        try:
            return float(path.parent.name)
        except ValueError:
            return 0.0

    for bindir in sorted(candidates, key=major, reverse=True):
        if (bindir / "initdb").exists() and (bindir / "postgres").exists():
            return bindir
    raise BinaryNotFound(
        "PostgreSQL server binaries (initdb, postgres) not found on PATH or in "
        "/usr/lib/postgresql/*/bin; install PostgreSQL (e.g. apt-get install postgresql)"
    )


@functools.cache
def postgres_major(bindir: Path) -> int:
    """The major version of the server in ``bindir`` (0 if it cannot be told)."""
    try:
        out = subprocess.run(
            [str(bindir / "postgres"), "--version"], capture_output=True, timeout=30, check=False
        ).stdout.decode(errors="replace")
    except (OSError, subprocess.SubprocessError):
        return 0
    match = re.search(r"\b(\d+)(?:\.\d+)?", out)
    return int(match.group(1)) if match else 0


class PostgresServer(ManagedServer):
    """A private PostgreSQL cluster: fsync on, ``synchronous_commit=on``, TCP on
    127.0.0.1, its unix socket in its own directory, database ``quizsession``."""

    name = "postgres"
    database = "quizsession"
    superuser = "postgres"
    #: Fast shutdown (SIGINT: abort open transactions, checkpoint, exit), then
    #: immediate shutdown (SIGQUIT), then SIGKILL.
    stop_signals = ((signal.SIGINT, STOP_TIMEOUT_S), (signal.SIGQUIT, 10.0))
    #: A start after a crash first runs recovery: never cut it short (a start
    #: killed mid-recovery makes the next one begin it again), even on a
    #: machine slowed by other work.
    start_timeout_s = 180.0

    def __init__(self, tmpdir: Path, *, run_as: str | None = None) -> None:
        self.bindir = find_postgres_bindir()
        self.run_as = run_as
        self._owned_dir: Path | None = None
        if run_as is not None:
            base = Path(tempfile.mkdtemp(prefix="quizsession-pg-"))
            self._owned_dir = base
        else:
            base = Path(tmpdir) / "postgres"
            base.mkdir(parents=True, exist_ok=True)
        self.base = base
        self.data_dir = base / "data"
        self.socket_dir = base / "sock"
        self.log_path = Path(tmpdir) / "postgres.log"
        self.host = "127.0.0.1"
        self.port = free_port()

    # -- addresses -------------------------------------------------------------
    def dsn_for(self, database: str) -> str:
        return f"postgresql://{self.superuser}@{self.host}:{self.port}/{database}"

    @property
    def dsn(self) -> str:
        return self.dsn_for(self.database)

    @property
    def admin_dsn(self) -> str:
        return self.dsn_for("postgres")

    # -- processes ---------------------------------------------------------------
    def _ids(self) -> tuple[int, int] | None:
        if self.run_as is None:
            return None
        entry = pwd.getpwnam(self.run_as)
        return entry.pw_uid, entry.pw_gid

    def _run(self, args: list[str], timeout: float = 120.0) -> None:
        ids = self._ids()
        result = subprocess.run(
            args,
            capture_output=True,
            timeout=timeout,
            check=False,
            cwd=self.base,
            user=ids[0] if ids else None,
            group=ids[1] if ids else None,
            extra_groups=[] if ids else None,
        )
        if result.returncode != 0:
            raise ServerStartError(
                f"{' '.join(args)} failed ({result.returncode}):\n"
                + result.stdout.decode(errors="replace")
                + result.stderr.decode(errors="replace")
            )

    def initdb(self) -> None:
        ids = self._ids()
        self.socket_dir.mkdir(mode=0o700, exist_ok=True)
        if ids is not None:
            for path in (self.base, self.socket_dir):
                os.chown(path, *ids)
        # --no-sync only skips flushing initdb's own files; the server runs with
        # fsync and synchronous_commit on.
        self._run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                self.superuser,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ]
        )

    def _start(self) -> None:
        ids = self._ids()
        args = [
            str(self.bindir / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-k",
            str(self.socket_dir),
            "-c",
            f"listen_addresses={self.host}",
            "-c",
            "fsync=on",
            "-c",
            "synchronous_commit=on",
            "-c",
            "full_page_writes=on",
            "-c",
            "max_connections=200",
            "-c",
            "logging_collector=off",
        ]
        if postgres_major(self.bindir) >= 14:
            # Crash recovery flushes the data directory first: one syncfs()
            # instead of an fsync per file (thousands after the suite's tests,
            # over 30 s on a busy disk). Commits still wait for their fsync.
            args += ["-c", "recovery_init_sync_method=syncfs"]
        self._spawn(
            args,
            cwd=self.base,
            user=ids[0] if ids else None,
            group=ids[1] if ids else None,
            extra_groups=[] if ids else None,
        )

    def _ready(self) -> bool:
        probe = subprocess.run(
            [
                str(self.bindir / "pg_isready"),
                "-q",
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                self.superuser,
                "-d",
                "postgres",
                "-t",
                "1",
            ],
            capture_output=True,
            timeout=10,
            check=False,
        )
        return probe.returncode == 0

    def create_database(self, name: str) -> None:
        """Create an empty database (for a test that needs one of its own)."""
        self._run(
            [
                str(self.bindir / "createdb"),
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-U",
                self.superuser,
                name,
            ]
        )

    def kill(self) -> None:
        """SIGKILL the postmaster and its backends (a crash); ``restart()`` then
        runs crash recovery.

        The postmaster is frozen first (SIGSTOP) so that it forks no backend we
        would miss; while it dies this process is made a child subreaper, so its
        orphaned backends are reparented here and reaped instead of lingering as
        zombies."""
        proc = self._proc
        if proc is None:
            return
        signal_pid(proc.pid, signal.SIGSTOP)
        kids = children(proc.pid)
        subreaper = set_child_subreaper(True)
        try:
            signal_pid(proc.pid, signal.SIGKILL)
            wait_exit(proc, 10)
            for kid in kids:
                signal_pid(kid, signal.SIGKILL)
            reap_pids(kids, timeout=10)
        finally:
            if subreaper:
                set_child_subreaper(False)
        self._reap()

    def destroy(self) -> None:
        """Stop the server and remove the cluster if it lives outside ``tmpdir``."""
        super().destroy()
        if self._owned_dir is not None:
            shutil.rmtree(self._owned_dir, ignore_errors=True)
            self._owned_dir = None


@contextlib.asynccontextmanager
async def scratch_database(server: PostgresServer, prefix: str) -> AsyncIterator[str]:
    """A new, empty database (no schema) on ``server`` named ``<prefix>_<random>``:
    its DSN; dropped afterwards (the server is started again first if a test
    stopped it)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    await asyncio.to_thread(server.create_database, name)
    try:
        yield server.dsn_for(name)
    finally:
        if not server.running:
            await asyncio.to_thread(server.restart)
        conn = await asyncpg.connect(server.admin_dsn)
        try:
            await conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
        finally:
            await conn.close()


def _default_pg_user() -> str | None:
    if os.geteuid() != 0:
        return None
    return os.environ.get("QUIZSESSION_PG_USER", "nobody")


def start_postgres(tmpdir: Path | str, *, run_as: str | None = None) -> PostgresServer:
    """initdb a fresh cluster, start it and create the ``quizsession`` database."""
    user = run_as if run_as is not None else _default_pg_user()
    server = PostgresServer(Path(tmpdir), run_as=user)
    try:
        server.initdb()
        server.start_on_a_free_port()
        server.create_database(server.database)
    except BaseException:
        server.destroy()
        raise
    return server
