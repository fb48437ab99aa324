"""Live ticks served from an instance's cached attempt stay right across
instances: two real ``quizsession serve`` processes on one PostgreSQL and one
Redis (loopback only), a candidate's live socket on instance B, every change
made through instance A. The test's start and an extension each show in B's
ticks within one tick (their notices make B read the attempt again), while B
reads nothing from the store for the ticks in between."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.e2e.conftest import LOAD_ENV
from testsupport.redis_server import RedisServer
from testsupport.scenario import JSON, Candidate, invite, put_quiz, quiz_definition
from testsupport.service import PgServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(120)]

HEARTBEAT_S = 1.0  # the quiz's: one tick a second
SLACK_S = 0.5  # a notice's trip through Redis, a loaded machine


@pytest.fixture
async def two(
    tmp_path: Path, fresh_dsn: str, redis_server: RedisServer
) -> AsyncIterator[list[PgServerProcess]]:
    env = {
        **LOAD_ENV,
        "QUIZSESSION_REDIS_URL": redis_server.url,
        "QUIZSESSION_SECRET_KEY": secrets.token_urlsafe(48),
        "QUIZSESSION_API_KEYS": "admin=ticks-" + secrets.token_hex(16),
    }
    servers = [PgServerProcess(tmp_path / f"instance-{i}", dsn=fresh_dsn, env=env) for i in (0, 1)]
    try:
        await servers[0].start_async()  # migrates first
        await servers[1].start_async()
        yield servers
    finally:
        for s in servers:
            s.terminate(timeout=5)


async def _recv(ws: ClientConnection, wait_s: float = 10.0) -> JSON:
    message: JSON = json.loads(await asyncio.wait_for(ws.recv(), wait_s))
    return message


async def _ticks_until(
    ws: ClientConnection, done: float, *, want: str | None = None
) -> tuple[list[JSON], JSON | None]:
    """The ticks received until monotonic time ``done`` (and the notice of type
    ``want`` if one came: the ticks after it are not read)."""
    ticks: list[JSON] = []
    while (left := done - time.monotonic()) > 0:
        try:
            message = await _recv(ws, left)
        except TimeoutError:
            break
        if message["type"] == "tick":
            ticks.append(message)
        elif message["type"] == want:
            return ticks, message
    return ticks, None


async def test_a_change_through_another_instance_shows_within_one_tick(
    two: list[PgServerProcess],
) -> None:
    a, b = two
    admin = a.admin_headers
    quiz = quiz_definition("ticks-" + secrets.token_hex(4), practice=True)
    quiz["policies"] = {**quiz.get("policies", {}), "heartbeat_s": HEARTBEAT_S, "lease_ttl_s": 5}
    async with httpx.AsyncClient(base_url=a.url, timeout=20) as via_a:
        await put_quiz(via_a, admin, quiz)
        [token] = await invite(via_a, admin, quiz["id"], 1)
        c = Candidate(token)
        r = await via_a.post("/sessions", json={"invite_token": token})
        assert r.status_code == 201, r.text
        c.opened(r.json())
        url = f"ws://127.0.0.1:{b.port}/sessions/{c.session_id}/live"
        async with connect(url, open_timeout=10, proxy=None, ping_interval=None) as ws:
            await ws.send(json.dumps({"type": "auth", "token": c.session_token}))
            welcome = await _recv(ws)
            assert welcome["type"] == "welcome", welcome
            before, _ = await _ticks_until(ws, time.monotonic() + 3 * HEARTBEAT_S)
            assert before, "no ticks"
            assert all(t["deadline"] is None for t in before), before
            assert before[-1]["state"] == "practice_not_started"

            # The test starts through A (the "changed" notice): within one tick.
            r = await via_a.post(
                f"/sessions/{c.session_id}/start", json={"section": "test"}, headers=c.auth
            )
            assert r.status_code == 200, r.text
            deadline = r.json()["deadline"]
            assert deadline is not None
            started = time.monotonic()
            ticks, _ = await _ticks_until(ws, started + HEARTBEAT_S + SLACK_S)
            assert ticks, "no tick after the start"
            assert ticks[-1]["state"] == "test_started", ticks
            assert ticks[-1]["deadline"] == pytest.approx(deadline), ticks

            # An extension through A: the notice, then the next tick has it.
            r = await via_a.post(
                f"/admin/attempts/{c.attempt_id}/extend",
                json={"seconds": 600, "reason": "fire alarm"},
                headers=admin,
            )
            assert r.status_code == 200, r.text
            extended = r.json()["deadline"]
            assert extended == pytest.approx(deadline + 600)
            _, notice = await _ticks_until(ws, time.monotonic() + 5, want="extension")
            assert notice is not None, "no extension notice"
            assert notice["deadline"] == pytest.approx(extended)
            after, _ = await _ticks_until(ws, time.monotonic() + HEARTBEAT_S + SLACK_S)
            assert after, "no tick after the extension"
            assert all(t["deadline"] == pytest.approx(extended) for t in after), after
            assert after[0]["time_remaining_s"] > 600
