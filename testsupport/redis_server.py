"""A private Redis server for tests and benchmarks (no Docker): ``start_redis(tmpdir)``
starts one on 127.0.0.1 at a free port and returns once it answers PING. It is
stopped or killed by its pid only."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from testsupport.net import free_port, port_in_use
from testsupport.processes import (
    POLL_S,
    RUNNING,
    START_TIMEOUT_S,
    STOP_TIMEOUT_S,
    BinaryNotFound,
    ManagedServer,
    ServerStartError,
    signal_pid,
    tail,
    wait_exit,
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


class RedisServer(ManagedServer):
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
        RUNNING.add(self)
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
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                code = self._proc.returncode
                self._reap()
                raise ServerStartError(
                    f"redis-server exited with {code} while starting:\n{tail(self.log_path)}"
                )
            if self._ping():
                return
            time.sleep(POLL_S)
        self.kill()
        raise ServerStartError(
            f"redis-server not ready after {START_TIMEOUT_S:.0f}s:\n{tail(self.log_path)}"
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
            signal_pid(proc.pid, signal.SIGTERM)
            if not wait_exit(proc, STOP_TIMEOUT_S):
                self.kill()
                return
        self._reap()

    def kill(self) -> None:
        """SIGKILL (a crash)."""
        proc = self._proc
        if proc is None:
            return
        signal_pid(proc.pid, signal.SIGKILL)
        wait_exit(proc, 10)
        self._reap()

    def restart(self) -> None:
        """Stop (if running) and start again on the same port (empty)."""
        self.stop()
        deadline = time.monotonic() + 10
        while port_in_use(self.port) and time.monotonic() < deadline:
            time.sleep(POLL_S)
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
