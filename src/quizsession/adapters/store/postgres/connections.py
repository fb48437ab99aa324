"""Running statements on PostgreSQL: an asyncpg pool, driver errors translated
into the port's, and the one retry policy.

Errors
    Driver errors never cross the port. Connection loss, a server that is down,
    starting or shutting down, timeouts, resource exhaustion and serialization
    failures become ``StoreUnavailable`` (try again later); anything else the
    server refuses (bad data, a broken constraint) becomes ``StoreError``.

Retries
    A call whose pooled connection turns out dead (it died while idle because
    the server restarted or killed the backend, or it dropped in the middle of
    the call) is run once more on a fresh connection, reads and writes alike:
    every write of the store is safe to repeat. An append that did land cannot
    land twice (the version check and the (attempt_id, seq) key refuse it: the
    repeat raises ``VersionConflict`` and the executor catches up, finding its
    own events); quizzes are stored by content, invites keyed by token hash,
    leases, marks and the metadata row are upserts. Any other failure, or a
    second dead connection, is raised.

Releasing a connection
    asyncpg's pool resets a released connection with ``RESET ALL; SELECT
    pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *``: one more round trip and
    one more transaction for every call, as many as the calls themselves. This
    store never leaves session state behind (no ``SET``, no session-level
    advisory lock, no ``LISTEN``, no cursor outside a transaction), so the pool
    skips that statement (``_keep_session``). An open transaction is still
    rolled back on release by asyncpg itself, whatever the reset.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Final, TypeAlias, TypeVar

import asyncpg
import asyncpg.exceptions as pgerr
import msgspec

from quizsession.app.ports import StoreError, StoreUnavailable

T = TypeVar("T")
if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Conn: TypeAlias = PoolConnectionProxy[asyncpg.Record]

# What "the store cannot be used right now" looks like from asyncpg.
_UNAVAILABLE: Final[tuple[type[BaseException], ...]] = (
    OSError,  # refused, reset, unreachable (ConnectionError is one)
    TimeoutError,  # connect, acquire or command timeout
    pgerr.InterfaceError,  # connection closed, pool closing
    pgerr.InternalClientError,
    pgerr.PostgresConnectionError,  # class 08
    pgerr.TransactionRollbackError,  # class 40: serialization failure, deadlock
    pgerr.InsufficientResourcesError,  # class 53: disk full, out of memory, connections
    pgerr.OperatorInterventionError,  # class 57: shutdown, starting up, canceled
    pgerr.PostgresSystemError,  # class 58: I/O error
)
# A dead pooled connection: run the call once more on a fresh one.
_DEAD_CONNECTION: Final[tuple[type[BaseException], ...]] = (
    pgerr.InterfaceError,  # "connection is closed", checked before sending
    pgerr.InternalClientError,  # "cannot switch to state": protocol not idle
    pgerr.AdminShutdownError,  # the backend was terminated
    pgerr.CannotConnectNowError,
    pgerr.ConnectionDoesNotExistError,  # dropped in the middle of the call
    ConnectionError,
)


def translate(exc: BaseException) -> StoreError | None:
    """The port's error for a driver error, or None if ``exc`` is not one."""
    if isinstance(exc, _UNAVAILABLE):
        return StoreUnavailable(f"postgres: {type(exc).__name__}: {exc}")
    if isinstance(exc, pgerr.PostgresError):
        return StoreError(f"postgres: {type(exc).__name__}: {exc}")
    if isinstance(exc, msgspec.DecodeError):
        return StoreError(f"postgres: undecodable record: {exc}")
    return None


async def _keep_session(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    """The pool's reset on release: nothing to reset (see the module's docstring)."""


class Connections:
    """A pool of connections to one database, opened and closed with the store."""

    def __init__(
        self,
        dsn: str,
        *,
        min_size: int = 2,
        max_size: int = 20,
        connect_timeout_s: float = 5.0,
        acquire_timeout_s: float = 10.0,
        command_timeout_s: float = 30.0,
    ) -> None:
        self._dsn = dsn
        self._min_size = min_size
        self._max_size = max_size
        self._connect_timeout_s = connect_timeout_s
        self._acquire_timeout_s = acquire_timeout_s
        self._command_timeout_s = command_timeout_s
        self._pool: asyncpg.Pool[asyncpg.Record] | None = None

    @property
    def is_open(self) -> bool:
        return self._pool is not None

    async def open(self, prepare: Callable[[Conn], Awaitable[None]]) -> None:
        """Create the pool and run ``prepare`` (the migrations) once; if that
        fails, the pool is closed again. Idempotent."""
        if self._pool is not None:
            return
        try:
            pool: asyncpg.Pool[asyncpg.Record] = await asyncpg.create_pool(
                self._dsn,
                min_size=self._min_size,
                max_size=self._max_size,
                timeout=self._connect_timeout_s,
                command_timeout=self._command_timeout_s,
                server_settings={"application_name": "quizsession"},
                reset=_keep_session,
            )
        except Exception as exc:
            error = translate(exc)
            if error is None:
                raise
            raise error from exc
        self._pool = pool
        try:
            await self.run(prepare)
        except BaseException:
            self._pool = None
            await self._close_pool(pool)
            raise

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await self._close_pool(pool)

    @staticmethod
    async def _close_pool(pool: asyncpg.Pool[asyncpg.Record]) -> None:
        try:
            await asyncio.wait_for(pool.close(), 10.0)
        except Exception:
            pool.terminate()

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[Conn]:
        pool = self._pool
        if pool is None:
            raise StoreUnavailable("postgres: store is not open")
        try:
            async with pool.acquire(timeout=self._acquire_timeout_s) as conn:
                yield conn
        except StoreError:
            raise
        except Exception as exc:
            error = translate(exc)
            if error is None:
                raise
            raise error from exc

    async def run(self, fn: Callable[[Conn], Awaitable[T]]) -> T:
        """``fn`` on a pooled connection, run once more on a fresh one when that
        connection turns out dead (see the module's docstring)."""
        try:
            async with self._connection() as conn:
                return await fn(conn)
        except StoreUnavailable as exc:
            if self._pool is None or not isinstance(exc.__cause__, _DEAD_CONNECTION):
                raise
        # The pooled connection was dead (the pool replaces it): once more.
        async with self._connection() as conn:
            return await fn(conn)
