"""Fixtures for tests against real ``quizsession serve`` processes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path

import pytest

from testsupport.ci import unavailable
from testsupport.postgres_server import PostgresServer, scratch_database
from testsupport.processes import BinaryNotFound
from testsupport.redis_server import RedisServer, start_redis
from testsupport.service import ServerProcess

ServerFactory = Callable[..., ServerProcess]

#: Limits raised so that load from one address is not throttled.
LOAD_ENV: Mapping[str, str] = {
    "QUIZSESSION_WRITE_LIMIT_PER_SECOND": "100000",
    "QUIZSESSION_LOGIN_LIMIT_PER_MINUTE": "1000000",
}


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[ServerFactory]:
    """Makes (unstarted) ``ServerProcess`` objects under ``tmp_path``; every one
    of them is stopped at teardown (SIGTERM, then SIGKILL), by its own pid."""
    made: list[ServerProcess] = []

    def make(
        name: str = "server",
        *,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        db_path: Path | None = None,
    ) -> ServerProcess:
        server = ServerProcess(
            tmp_path / name, env={**LOAD_ENV, **(env or {})}, port=port, db_path=db_path
        )
        made.append(server)
        return server

    try:
        yield make
    finally:
        for server in made:
            server.terminate(timeout=5)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test's own, to kill and restart."""
    try:
        server = start_redis(tmp_path / "redis")
    except BinaryNotFound as exc:
        unavailable(str(exc))
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
async def fresh_dsn(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """A new, empty database on the suite's PostgreSQL, dropped afterwards."""
    async with scratch_database(postgres_server, "e2e") as dsn:
        yield dsn
