"""A private Redis server for tests and benchmarks (no Docker): ``start_redis(tmpdir)``
starts one on 127.0.0.1 at a free port and returns once it answers PING. It is
stopped or killed by its pid only."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

from testsupport.net import free_port
from testsupport.processes import BinaryNotFound, ManagedServer


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
    survives a restart, which is the point: Redis holds no truth). Stopped by
    SIGTERM (SIGKILL if it does not exit in time)."""

    name = "redis-server"

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
        self._spawn(args, cwd=self.dir)

    def _ready(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=1.0) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False


def start_redis(tmpdir: Path | str) -> RedisServer:
    """Start redis-server on a free port; returns once it answers PING."""
    server = RedisServer(Path(tmpdir))
    server.start_on_a_free_port()
    return server
