"""Pytest fixtures for the real servers (a plugin: ``tests/conftest.py`` loads it).

One PostgreSQL and one Redis per test session, started on first use. A missing
server binary skips the tests that need it, except when ``CI=true``: a CI run
must never silently skip these suites, so there it fails instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import NoReturn

import pytest

from testsupport.postgres_server import PostgresServer, start_postgres
from testsupport.processes import BinaryNotFound
from testsupport.redis_server import RedisServer, start_redis


def servers_required() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def server_unavailable(reason: str) -> NoReturn:
    """Skip, or fail under CI."""
    if servers_required():
        pytest.fail(f"{reason} (CI=true: server suites must run, not skip)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    try:
        server = start_postgres(tmp_path_factory.mktemp("postgres"))
    except BinaryNotFound as exc:
        server_unavailable(str(exc))
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    try:
        server = start_redis(tmp_path_factory.mktemp("redis"))
    except BinaryNotFound as exc:
        server_unavailable(str(exc))
    try:
        yield server
    finally:
        server.destroy()
