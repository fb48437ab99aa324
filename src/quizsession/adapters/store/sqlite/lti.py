"""The SQLite store's ``LtiStore`` (schema step 6): platform registrations in
``lti_platforms``, used launch nonces in ``lti_nonces`` (forgotten once
expired), attempts' launch links in ``lti_links``. Writes go through the
group-commit writer, reads through the reader pool."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

import msgspec

from quizsession.app.ports import LtiLaunchLink, LtiPlatform

T = TypeVar("T")

PUT_PLATFORM = (
    "INSERT INTO lti_platforms (platform_id, issuer, data) VALUES (?, ?, ?) "
    "ON CONFLICT (platform_id) DO UPDATE SET issuer = excluded.issuer, data = excluded.data"
)
GET_PLATFORM = "SELECT data FROM lti_platforms WHERE platform_id = ?"
ALL_PLATFORMS = "SELECT data FROM lti_platforms ORDER BY platform_id"
ISSUER_PLATFORMS = "SELECT data FROM lti_platforms WHERE issuer = ? ORDER BY platform_id"
DELETE_PLATFORM = "DELETE FROM lti_platforms WHERE platform_id = ?"
PRUNE_NONCES = "DELETE FROM lti_nonces WHERE expires_at <= ?"
USE_NONCE = (
    "INSERT INTO lti_nonces (key, expires_at) VALUES (?, ?) "
    "ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at "
    "WHERE lti_nonces.expires_at <= ?"
)
PUT_LINK = (
    "INSERT INTO lti_links (attempt_id, data) VALUES (?, ?) "
    "ON CONFLICT (attempt_id) DO UPDATE SET data = excluded.data"
)
GET_LINK = "SELECT data FROM lti_links WHERE attempt_id = ?"

_platform = msgspec.json.Decoder(LtiPlatform)
_link = msgspec.json.Decoder(LtiLaunchLink)


def _execute(statement: str, params: tuple[Any, ...], cur: sqlite3.Cursor) -> int:
    return cur.execute(statement, params).rowcount


def _use_nonce(key: str, expires_at: float, now: float, cur: sqlite3.Cursor) -> bool:
    cur.execute(PRUNE_NONCES, (now,))
    return cur.execute(USE_NONCE, (key, expires_at, now)).rowcount > 0


class SqliteLti:
    """The ``LtiStore`` methods of ``SqliteStore`` (which provides ``_read`` and
    ``_write``)."""

    def _read(self, fn: Callable[[sqlite3.Cursor], T]) -> Awaitable[T]:
        raise NotImplementedError

    def _write(self, fn: Callable[[sqlite3.Cursor], T]) -> asyncio.Future[T]:
        raise NotImplementedError

    async def put_lti_platform(self, platform: LtiPlatform) -> None:
        params = (platform.id, platform.issuer, msgspec.json.encode(platform).decode())
        await self._write(partial(_execute, PUT_PLATFORM, params))

    async def get_lti_platform(self, platform_id: str) -> LtiPlatform | None:
        def run(cur: sqlite3.Cursor) -> LtiPlatform | None:
            r = cur.execute(GET_PLATFORM, (platform_id,)).fetchone()
            return None if r is None else _platform.decode(r[0])

        return await self._read(run)

    async def lti_platforms(self, issuer: str | None = None) -> list[LtiPlatform]:
        def run(cur: sqlite3.Cursor) -> list[LtiPlatform]:
            rows = (
                cur.execute(ALL_PLATFORMS)
                if issuer is None
                else cur.execute(ISSUER_PLATFORMS, (issuer,))
            )
            return [_platform.decode(r[0]) for r in rows]

        return await self._read(run)

    async def delete_lti_platform(self, platform_id: str) -> bool:
        return await self._write(partial(_execute, DELETE_PLATFORM, (platform_id,))) > 0

    async def use_lti_nonce(self, key: str, expires_at: float, now: float) -> bool:
        return await self._write(partial(_use_nonce, key, expires_at, now))

    async def put_lti_link(self, link: LtiLaunchLink) -> None:
        params = (link.attempt_id, msgspec.json.encode(link).decode())
        await self._write(partial(_execute, PUT_LINK, params))

    async def get_lti_link(self, attempt_id: str) -> LtiLaunchLink | None:
        def run(cur: sqlite3.Cursor) -> LtiLaunchLink | None:
            r = cur.execute(GET_LINK, (attempt_id,)).fetchone()
            return None if r is None else _link.decode(r[0])

        return await self._read(run)
