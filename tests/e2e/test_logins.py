"""Simultaneous logins with one invite against a real server process: one wins,
every other gets 409 ``session_active`` with ``Retry-After`` (promise 2)."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from tests.e2e.conftest import ServerFactory
from testsupport.processes import assert_no_traceback
from testsupport.scenario import invite, put_quiz, quiz_definition

N = 30


async def test_simultaneous_logins_one_session(server_factory: ServerFactory) -> None:
    server = server_factory()
    await server.start_async()
    limits = httpx.Limits(max_connections=N + 5, max_keepalive_connections=N + 5)
    async with httpx.AsyncClient(base_url=server.url, timeout=30.0, limits=limits) as client:
        await put_quiz(client, server.admin_headers, quiz_definition("logins"))
        [token] = await invite(client, server.admin_headers, "logins", 1)

        # Open every connection first so that the logins leave together.
        await asyncio.gather(*(client.get("/healthz") for _ in range(N)))
        gate = asyncio.Event()

        async def one() -> httpx.Response:
            await gate.wait()
            return await client.post("/sessions", json={"invite_token": token})

        tasks = [asyncio.create_task(one()) for _ in range(N)]
        await asyncio.sleep(0.05)
        gate.set()
        responses = await asyncio.gather(*tasks)

        statuses = Counter(r.status_code for r in responses)
        assert statuses == {201: 1, 409: N - 1}, statuses
        [winner] = [r for r in responses if r.status_code == 201]
        attempt_id = winner.json()["attempt"]["attempt_id"]
        for r in responses:
            if r.status_code != 409:
                continue
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] == "session_active", r.text
            retry_after = r.headers.get("retry-after")
            assert retry_after is not None, r.headers
            assert int(retry_after) >= 1

        r = await client.get(f"/admin/attempts/{attempt_id}/events", headers=server.admin_headers)
        assert r.status_code == 200, r.text
        types = Counter(e["type"] for e in r.json())
        assert types["attempt_created"] == 1, types
        assert types["session_opened"] == 1, types

        # The winner's session works.
        sid = winner.json()["session_id"]
        auth = {"Authorization": f"Bearer {winner.json()['session_token']}"}
        r = await client.get(f"/sessions/{sid}", headers=auth)
        assert r.status_code == 200, r.text
        assert r.json()["attempt_id"] == attempt_id
    server.terminate()
    log = server.log_text()
    assert "Application shutdown complete" in log, log
    assert_no_traceback(log)
