"""A real ``quizsession serve`` process for the end-to-end tests and the benchmarks.

``ServerProcess(workdir, env=..., port=...)`` runs
``sys.executable -m quizsession.entrypoints.cli serve --port P --store-url sqlite:///FILE``
on 127.0.0.1 with stdout and stderr appended to ``workdir/server.log``.
``start()`` returns once ``GET /healthz`` answers 200 (polled, bounded in time);
``kill()`` sends SIGKILL to the process's pid (a crash); ``terminate()`` sends
SIGTERM and waits (SIGKILL if it does not exit in time). The same object can be
started again on the same file and port after a kill.

Only processes started here are ever signalled, each by its own pid. Every
process still running when the interpreter exits is killed (``atexit``), so a
failed test cannot leave a server behind even without its fixture finalizer.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Self

import httpx

from testsupport.net import free_port
from testsupport.processes import OwnedProcess, ServerStartError, tail

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
_POLL_S = 0.05

_RUNNING: set[ServerProcess] = set()


class ServerProcess(OwnedProcess):
    """One ``quizsession serve`` process at a time on ``db_path`` and ``port``.

    ``env`` is added to a copy of this process's environment (``QUIZSESSION_*``
    variables inherited from the caller are dropped first, so the server sees only
    what the caller meant). An administrator key is set unless ``env`` names one:
    ``admin_headers`` carries it.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        db_path: Path | None = None,
        extra_args: Sequence[str] = (),
        asgi_server: str = "uvicorn",
    ) -> None:
        self.workdir = Path(workdir)
        self.asgi_server = asgi_server  # "uvicorn" (``quizsession serve``) or "granian"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port if port is not None else free_port()
        self.db_path = db_path if db_path is not None else self.workdir / "quizsession.db"
        self.log_path = self.workdir / "server.log"
        self.extra_args = tuple(extra_args)
        self.admin_key = "bench-" + secrets.token_hex(16)
        base = {k: v for k, v in os.environ.items() if not k.startswith("QUIZSESSION_")}
        base["QUIZSESSION_API_KEYS"] = f"admin={self.admin_key}"
        base["PYTHONUNBUFFERED"] = "1"
        # One process unless the caller asks for workers (``serve`` defaults to
        # one per CPU): a test means the process model it was written for.
        base["QUIZSESSION_WORKERS"] = "1"
        base.update(env or {})
        if "QUIZSESSION_API_KEYS" in (env or {}):
            self.admin_key = _first_key(base["QUIZSESSION_API_KEYS"])
        self.env = base
        self.starts = 0
        self.kills = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    # -- addresses --------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def store_url(self) -> str:
        return f"sqlite:///{self.db_path}"

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"X-API-Key": self.admin_key}

    def command(self) -> list[str]:
        if self.asgi_server == "granian":
            self.env["QUIZSESSION_STORE_URL"] = self.store_url
            return [
                str(Path(sys.executable).with_name("granian")),
                "--interface",
                "asgi",
                "--factory",
                "--loop",
                "uvloop",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-ws",
                "--log-level",
                "warning",
                "bench.granian_app:factory",
            ]
        return [
            sys.executable,
            "-m",
            "quizsession.entrypoints.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--store-url",
            self.store_url,
            *self.extra_args,
        ]

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    # -- life cycle -------------------------------------------------------------------

    def spawn(self) -> None:
        """Start the process without waiting for it to be ready."""
        if self.running:
            raise RuntimeError(f"server already running (pid {self.pid})")
        self._close_log()
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in _reaped
        self._log.write(f"--- start #{self.starts + 1} at {time.time():.3f}\n".encode())
        self._log.flush()
        self._proc = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir if self.asgi_server == "uvicorn" else Path.cwd(),
            env=self.env,
        )
        self.starts += 1
        _RUNNING.add(self)

    def _not_ready(self, why: str) -> ServerStartError:
        return ServerStartError(f"server on port {self.port} {why}:\n{tail(self.log_path)}")

    def _check_exited(self) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            code = None if proc is None else proc.returncode
            self._reaped()
            raise self._not_ready(f"exited with {code} while starting")

    def start(self, ready_within_s: float = START_TIMEOUT_S) -> None:
        """Spawn and block until ``/healthz`` answers 200."""
        self.spawn()
        deadline = time.monotonic() + ready_within_s
        with httpx.Client(timeout=1.0) as client:
            while time.monotonic() < deadline:
                self._check_exited()
                with contextlib.suppress(httpx.TransportError):
                    if client.get(self.url + "/healthz").status_code == 200:
                        return
                time.sleep(_POLL_S)
        self.kill()
        raise self._not_ready(f"did not answer /healthz within {ready_within_s:.0f}s")

    async def start_async(self, ready_within_s: float = START_TIMEOUT_S) -> None:
        """``start()`` without blocking the running event loop."""
        self.spawn()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ready_within_s
        async with httpx.AsyncClient(timeout=1.0) as client:
            while loop.time() < deadline:
                self._check_exited()
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(self.url + "/healthz")).status_code == 200:
                        return
                await asyncio.sleep(_POLL_S)
        self.kill()
        raise self._not_ready(f"did not answer /healthz within {ready_within_s:.0f}s")

    def kill(self) -> None:
        """SIGKILL (a crash at an arbitrary moment) and reap the process."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            self.kills += 1
        proc.wait()
        self._reaped()

    def terminate(self, timeout: float = STOP_TIMEOUT_S) -> int | None:
        """SIGTERM (graceful shutdown), SIGKILL if it is not gone in ``timeout``.
        Returns the exit code (None if it had to be killed or was not running)."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        code = proc.returncode
        self._reaped()
        return code

    def _reaped(self) -> None:
        self._proc = None
        self._close_log()
        _RUNNING.discard(self)

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.terminate()


def _first_key(api_keys: str) -> str:
    for part in api_keys.split(","):
        _name, sep, key = part.strip().partition("=")
        if sep and key:
            return key
    raise ValueError("QUIZSESSION_API_KEYS names no key")


@atexit.register
def _kill_leftovers() -> None:
    for server in list(_RUNNING):
        server.kill()


class PgServerProcess(ServerProcess):
    """``quizsession serve`` on a PostgreSQL database instead of a SQLite file."""

    def __init__(self, workdir: Path, *, dsn: str, env: Mapping[str, str]) -> None:
        super().__init__(workdir, env=env)
        self.dsn = dsn

    @property
    def store_url(self) -> str:
        return self.dsn
