"""Real PostgreSQL and Redis servers for tests and benchmarks (no Docker).

``start_postgres(tmpdir)`` and ``start_redis(tmpdir)`` start a private server on
127.0.0.1 at a free port and return once it answers (polled, bounded in time).
Every process is started by this module and is stopped or killed by its pid only.

PostgreSQL refuses to run as root: when this process is root, ``initdb`` and
``postgres`` run as an unprivileged user (``QUIZSESSION_PG_USER``, default
``nobody``) and the cluster lives in a fresh directory under the system temp
directory (pytest's temp dirs are private to root, so that user could not reach
them); ``destroy()`` removes it. Otherwise the cluster lives in ``tmpdir``.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO, Self

_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 30.0
_POLL_S = 0.05

_RUNNING: set[_Server] = set()


class BinaryNotFound(RuntimeError):
    """A server binary is not installed on this machine."""


class ServerStartError(RuntimeError):
    """A server did not become ready in time (the message ends with its log)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _port_in_use(port: int) -> bool:
    """True while something listens on the port (TIME_WAIT leftovers do not
    count: the servers bind with SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


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


def find_redis_server() -> Path:
    found = shutil.which("redis-server")
    if found is None and os.path.exists("/usr/bin/redis-server"):
        found = "/usr/bin/redis-server"
    if found is None:
        raise BinaryNotFound(
            "redis-server not found on PATH; install Redis (e.g. apt-get install redis-server)"
        )
    return Path(found)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _wait_exit(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return False
    return True


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux /proc)."""
    kids: list[int] = []
    for task in glob.glob(f"/proc/{pid}/task/*/children"):
        with contextlib.suppress(OSError):
            kids.extend(int(p) for p in Path(task).read_text().split())
    return kids


def _pid_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # A zombie (state Z) is dead for our purposes.
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _set_child_subreaper(on: bool) -> bool:
    """prctl(PR_SET_CHILD_SUBREAPER): orphaned descendants reparent to us."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(36, int(on), 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _reap_pids(pids: list[int], timeout: float) -> None:
    """Wait (bounded) until ``pids`` are gone, reaping those that are our children."""
    pending = set(pids)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for pid in list(pending):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                # Not (or no longer) our child: wait until it is gone.
                done = 0 if _pid_alive(pid) else pid
            if done:
                pending.discard(pid)
        if pending:
            time.sleep(_POLL_S / 5)


class _Server:
    _proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _reap(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
        self._proc = None
        _RUNNING.discard(self)

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class PostgresServer(_Server):
    """A private PostgreSQL cluster: fsync on, ``synchronous_commit=on``, TCP on
    127.0.0.1, its unix socket in its own directory, database ``quizsession``."""

    database = "quizsession"
    superuser = "postgres"

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
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in _reap
        self._proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.base,
            user=ids[0] if ids else None,
            group=ids[1] if ids else None,
            extra_groups=[] if ids else None,
        )
        _RUNNING.add(self)
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self._proc is not None
        pg_isready = self.bindir / "pg_isready"
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                code = self._proc.returncode
                self._reap()
                raise ServerStartError(
                    f"postgres exited with {code} while starting:\n{_tail(self.log_path)}"
                )
            probe = subprocess.run(
                [
                    str(pg_isready),
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
            if probe.returncode == 0:
                return
            time.sleep(_POLL_S)
        self.kill()
        raise ServerStartError(
            f"postgres not ready after {_START_TIMEOUT_S:.0f}s:\n{_tail(self.log_path)}"
        )

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

    def start(self) -> None:
        if self.running:
            return
        self._start()

    def stop(self) -> None:
        """Fast shutdown (SIGINT: abort open transactions, checkpoint, exit)."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            _signal(proc.pid, signal.SIGINT)
            if not _wait_exit(proc, _STOP_TIMEOUT_S):
                _signal(proc.pid, signal.SIGQUIT)  # immediate shutdown
                if not _wait_exit(proc, 10):
                    self.kill()
                    return
        self._reap()

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
        _signal(proc.pid, signal.SIGSTOP)
        kids = _children(proc.pid)
        subreaper = _set_child_subreaper(True)
        try:
            _signal(proc.pid, signal.SIGKILL)
            _wait_exit(proc, 10)
            for kid in kids:
                _signal(kid, signal.SIGKILL)
            _reap_pids(kids, timeout=10)
        finally:
            if subreaper:
                _set_child_subreaper(False)
        self._reap()

    def restart(self) -> None:
        """Stop (if running) and start again on the same port and data."""
        self.stop()
        deadline = time.monotonic() + 10
        while _port_in_use(self.port) and time.monotonic() < deadline:
            time.sleep(_POLL_S)
        self._start()

    def destroy(self) -> None:
        """Stop the server and remove the cluster if it lives outside ``tmpdir``."""
        self.stop()
        if self._owned_dir is not None:
            shutil.rmtree(self._owned_dir, ignore_errors=True)
            self._owned_dir = None


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
        for attempt in range(3):
            try:
                server._start()
                break
            except ServerStartError:
                # Most likely the port was taken between choosing and binding it.
                if attempt == 2:
                    raise
                server.port = free_port()
        server.create_database(server.database)
    except BaseException:
        server.destroy()
        raise
    return server


class RedisServer(_Server):
    """A private redis-server on 127.0.0.1: no snapshots, no AOF (nothing
    survives a restart, which is the point: Redis holds no truth)."""

    def __init__(self, tmpdir: Path, port: int | None = None) -> None:
        self.binary = find_redis_server()
        self.dir = Path(tmpdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.dir / "redis.log"
        self.host = "127.0.0.1"
        self.port = port if port is not None else free_port()

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def _start(self) -> None:
        args = [
            str(self.binary),
            "--port",
            str(self.port),
            "--bind",
            self.host,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.dir),
            "--daemonize",
            "no",
            "--protected-mode",
            "yes",
            "--logfile",
            "",
        ]
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in _reap
        self._proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.dir,
        )
        _RUNNING.add(self)
        self._wait_ready()

    def _ping(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=1.0) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                code = self._proc.returncode
                self._reap()
                raise ServerStartError(
                    f"redis-server exited with {code} while starting:\n{_tail(self.log_path)}"
                )
            if self._ping():
                return
            time.sleep(_POLL_S)
        self.kill()
        raise ServerStartError(
            f"redis-server not ready after {_START_TIMEOUT_S:.0f}s:\n{_tail(self.log_path)}"
        )

    def start(self) -> None:
        if self.running:
            return
        self._start()

    def stop(self) -> None:
        """SIGTERM and wait (SIGKILL if it does not exit in time)."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            _signal(proc.pid, signal.SIGTERM)
            if not _wait_exit(proc, _STOP_TIMEOUT_S):
                self.kill()
                return
        self._reap()

    def kill(self) -> None:
        """SIGKILL (a crash)."""
        proc = self._proc
        if proc is None:
            return
        _signal(proc.pid, signal.SIGKILL)
        _wait_exit(proc, 10)
        self._reap()

    def restart(self) -> None:
        """Stop (if running) and start again on the same port (empty)."""
        self.stop()
        deadline = time.monotonic() + 10
        while _port_in_use(self.port) and time.monotonic() < deadline:
            time.sleep(_POLL_S)
        self._start()

    def destroy(self) -> None:
        self.stop()


def start_redis(tmpdir: Path | str) -> RedisServer:
    """Start redis-server on a free port; returns once it answers PING."""
    server = RedisServer(Path(tmpdir))
    for attempt in range(3):
        try:
            server._start()
            break
        except ServerStartError:
            if attempt == 2:
                raise
            server.port = free_port()
    return server


@atexit.register
def _stop_leftovers() -> None:
    """Last resort: stop servers still running at interpreter exit (only ours)."""
    for server in list(_RUNNING):
        with contextlib.suppress(Exception):
            server.stop()
