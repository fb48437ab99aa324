"""Pytest fixtures for the real servers (a plugin: ``tests/conftest.py`` loads it).

One PostgreSQL and one Redis per test session, started on first use. A missing
server binary skips the tests that need it, except when ``CI=true``: a CI run
must never silently skip these suites, so there it fails instead
(``testsupport/ci.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from testsupport.ci import unavailable
from testsupport.postgres_server import PostgresServer, start_postgres
from testsupport.processes import BinaryNotFound, ManagedServer
from testsupport.redis_server import RedisServer, start_redis

S = TypeVar("S", bound=ManagedServer)


def _running(start: Callable[[Path], S], tmpdir: Path) -> Iterator[S]:
    """The server ``start`` returns, destroyed afterwards."""
    try:
        server = start(tmpdir)
    except BinaryNotFound as exc:
        unavailable(str(exc))
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    yield from _running(start_postgres, tmp_path_factory.mktemp("postgres"))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    yield from _running(start_redis, tmp_path_factory.mktemp("redis"))
