"""The PostgreSQL store's ``LtiStore`` (migration 6): platform registrations in
``lti_platforms``, used launch nonces in ``lti_nonces`` (forgotten once
expired), attempts' launch links in ``lti_links``. Every call is one statement
(or one transaction) on a pooled connection, through the store's
``Connections`` (driver errors become the port's)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import msgspec

from quizsession.adapters.store.postgres import sql
from quizsession.app.ports import LtiLaunchLink, LtiPlatform

if TYPE_CHECKING:
    from quizsession.adapters.store.postgres.connections import Conn

T = TypeVar("T")

PUT_PLATFORM = (
    "INSERT INTO lti_platforms (platform_id, issuer, data) VALUES ($1, $2, $3) "
    "ON CONFLICT (platform_id) DO UPDATE SET issuer = EXCLUDED.issuer, data = EXCLUDED.data"
)
GET_PLATFORM = "SELECT data FROM lti_platforms WHERE platform_id = $1"
ALL_PLATFORMS = "SELECT data FROM lti_platforms ORDER BY platform_id"
ISSUER_PLATFORMS = "SELECT data FROM lti_platforms WHERE issuer = $1 ORDER BY platform_id"
DELETE_PLATFORM = "DELETE FROM lti_platforms WHERE platform_id = $1"
PRUNE_NONCES = "DELETE FROM lti_nonces WHERE expires_at <= $1"
USE_NONCE = (
    "INSERT INTO lti_nonces (key, expires_at) VALUES ($1, $2) "
    "ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at "
    "WHERE lti_nonces.expires_at <= $3"
)
PUT_LINK = (
    "INSERT INTO lti_links (attempt_id, data) VALUES ($1, $2) "
    "ON CONFLICT (attempt_id) DO UPDATE SET data = EXCLUDED.data"
)
GET_LINK = "SELECT data FROM lti_links WHERE attempt_id = $1"

_platform = msgspec.json.Decoder(LtiPlatform)
_link = msgspec.json.Decoder(LtiLaunchLink)


class PostgresLti:
    """The ``LtiStore`` methods of ``PostgresStore`` (which provides ``_run``)."""

    def _run(self, fn: Callable[[Conn], Awaitable[T]]) -> Awaitable[T]:
        raise NotImplementedError

    async def put_lti_platform(self, platform: LtiPlatform) -> None:
        data = msgspec.json.encode(platform).decode()

        async def run(conn: Conn) -> None:
            await conn.execute(PUT_PLATFORM, platform.id, platform.issuer, data)

        await self._run(run)

    async def get_lti_platform(self, platform_id: str) -> LtiPlatform | None:
        async def run(conn: Conn) -> LtiPlatform | None:
            data = await conn.fetchval(GET_PLATFORM, platform_id)
            return None if data is None else _platform.decode(data)

        return await self._run(run)

    async def lti_platforms(self, issuer: str | None = None) -> list[LtiPlatform]:
        async def run(conn: Conn) -> list[LtiPlatform]:
            if issuer is None:
                rows = await conn.fetch(ALL_PLATFORMS)
            else:
                rows = await conn.fetch(ISSUER_PLATFORMS, issuer)
            return [_platform.decode(r[0]) for r in rows]

        return await self._run(run)

    async def delete_lti_platform(self, platform_id: str) -> bool:
        async def run(conn: Conn) -> bool:
            return sql.rows_affected(await conn.execute(DELETE_PLATFORM, platform_id)) > 0

        return await self._run(run)

    async def use_lti_nonce(self, key: str, expires_at: float, now: float) -> bool:
        async def run(conn: Conn) -> bool:
            await conn.execute(PRUNE_NONCES, now)
            status = await conn.execute(USE_NONCE, key, expires_at, now)
            return sql.rows_affected(status) > 0

        return await self._run(run)

    async def put_lti_link(self, link: LtiLaunchLink) -> None:
        data = msgspec.json.encode(link).decode()

        async def run(conn: Conn) -> None:
            await conn.execute(PUT_LINK, link.attempt_id, data)

        await self._run(run)

    async def get_lti_link(self, attempt_id: str) -> LtiLaunchLink | None:
        async def run(conn: Conn) -> LtiLaunchLink | None:
            data = await conn.fetchval(GET_LINK, attempt_id)
            return None if data is None else _link.decode(data)

        return await self._run(run)
