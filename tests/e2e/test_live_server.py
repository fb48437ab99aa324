"""The live WebSocket as ``quizsession serve`` runs it (uvicorn settings from
``serving.LIVE_SOCKET_CONFIG``), against a real server process: a client offering
permessage-deflate gets an uncompressed socket (each socket's zlib streams cost
~50 KiB of server memory); the channel's own size limit still answers a message
over 4 KiB with ``rate_limited`` and close 4429; a frame over the protocol's
64 KiB is refused with close 1009 before it is buffered; the socket ticks.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from quizsession.app.live import CLOSE_FLOOD
from quizsession.entrypoints.http.live_socket import MAX_MESSAGE_BYTES
from quizsession.entrypoints.serving import LIVE_SOCKET_CONFIG
from tests.e2e.conftest import ServerFactory
from testsupport.scenario import Candidate, invite, login, put_quiz, quiz_definition
from testsupport.service import ServerProcess

QUIZ = "live-server"


@pytest.fixture
async def server(server_factory: ServerFactory) -> ServerProcess:
    server = server_factory()
    await server.start_async()
    return server


@pytest.fixture
async def candidates(server: ServerProcess) -> AsyncIterator[list[Candidate]]:
    definition = quiz_definition(QUIZ, duration_s=600.0)
    definition["policies"] = {**definition["policies"], "heartbeat_s": 1, "lease_ttl_s": 3}
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        await put_quiz(client, server.admin_headers, definition)
        tokens = await invite(client, server.admin_headers, QUIZ, 3)
        found = [Candidate(token) for token in tokens]
        for c in found:
            assert (await login(client, c)).status_code == 201
        yield found


async def _open(server: ServerProcess, c: Candidate) -> ClientConnection:
    ws = await connect(
        f"ws://127.0.0.1:{server.port}/sessions/{c.session_id}/live",
        compression="deflate",  # offered; the server declines
        proxy=None,
        open_timeout=10,
        max_size=None,
    )
    await ws.send(json.dumps({"type": "auth", "token": c.session_token}))
    welcome: dict[str, Any] = json.loads(await ws.recv(decode=True))
    assert welcome["type"] == "welcome", welcome
    return ws


async def test_an_offered_compression_is_declined_and_the_socket_ticks(
    server: ServerProcess, candidates: list[Candidate]
) -> None:
    ws = await _open(server, candidates[0])
    try:
        assert ws.response is not None
        assert "Sec-WebSocket-Extensions" not in ws.response.headers
        tick = json.loads(await ws.recv(decode=True))
        assert tick["type"] == "tick"
        await ws.send(json.dumps({"type": "ping", "sent_at": 1.5}))
        msg = json.loads(await ws.recv(decode=True))
        while msg["type"] == "tick":
            msg = json.loads(await ws.recv(decode=True))
        assert msg["type"] == "pong"
        assert msg["echo"] == 1.5
    finally:
        await ws.close()


async def test_a_message_over_the_channels_limit_is_closed_with_4429(
    server: ServerProcess, candidates: list[Candidate]
) -> None:
    ws = await _open(server, candidates[1])
    await ws.send(json.dumps({"type": "ping", "pad": "p" * (MAX_MESSAGE_BYTES + 1)}))
    codes = []
    with pytest.raises(ConnectionClosed) as exc:
        for _ in range(20):
            codes.append(json.loads(await ws.recv(decode=True)).get("code"))
    assert "rate_limited" in codes
    assert exc.value.rcvd is not None
    assert exc.value.rcvd.code == CLOSE_FLOOD


async def test_a_frame_over_the_protocols_limit_is_refused_with_1009(
    server: ServerProcess, candidates: list[Candidate]
) -> None:
    limit = LIVE_SOCKET_CONFIG["ws_max_size"]
    assert MAX_MESSAGE_BYTES < limit <= 1024 * 1024
    ws = await _open(server, candidates[2])
    await ws.send(json.dumps({"type": "ping", "pad": "p" * limit}))
    with pytest.raises(ConnectionClosed) as exc:
        for _ in range(20):
            await ws.recv()
    assert exc.value.rcvd is not None
    assert exc.value.rcvd.code == 1009
