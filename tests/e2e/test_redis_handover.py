"""Leases handed over from the store back to Redis, on real processes: an
instance started after Redis came back empty must not trust it over the lease a
live session holds in the store (promise 10).

Two ``quizsession serve`` processes (A and B) share a fresh PostgreSQL database
and a Redis of this test's own (loopback only). Session S1 of a candidate (a quiz
that refuses a second login) logs in through A and heartbeats every second.
B is SIGKILLed, then Redis; S1 keeps heartbeating through A for 5 s (A serves
leases from the store). Redis comes back empty, then B starts again. For 6 s a
plain second login is tried through A and through B, again and again, while S1
heartbeats through both.

Asserted: every second login is refused, 409 ``session_active`` (the lease's
holder is known: it is in the store); S1's heartbeats all get 200; the log has
one ``session_opened`` and no ``session_superseded``. Bounded: ~25 s in all.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import LOAD_ENV
from testsupport.processes import assert_no_traceback
from testsupport.redis_server import RedisServer
from testsupport.scenario import Candidate, invite, put_quiz, quiz_definition
from testsupport.service import PgServerProcess

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.timeout(120),  # the phases add up to ~25 s
]

STORE_ONLY_S = 5.0
PROBING_S = 6.0


def _code(r: httpx.Response) -> str:
    try:
        return str(r.json().get("code", ""))
    except ValueError:
        return f"http_{r.status_code}"


async def test_an_instance_started_after_redis_came_back_empty_refuses_a_second_login(
    tmp_path: Path, fresh_dsn: str, own_redis: RedisServer
) -> None:
    env = {
        **LOAD_ENV,
        "QUIZSESSION_STORE_URL": fresh_dsn,
        "QUIZSESSION_REDIS_URL": own_redis.url,
        "QUIZSESSION_SECRET_KEY": secrets.token_urlsafe(48),
        "QUIZSESSION_API_KEYS": f"admin=handover-{secrets.token_hex(16)}",
    }
    a, b = (PgServerProcess(tmp_path / f"instance-{n}", dsn=fresh_dsn, env=env) for n in "ab")
    beats: Counter[tuple[str, int]] = Counter()
    second_logins: Counter[tuple[str, int, str]] = Counter()
    stop = asyncio.Event()
    beating: asyncio.Task[None] | None = None
    await a.start_async()  # migrates the fresh database
    await b.start_async()
    via_a = httpx.AsyncClient(base_url=a.url, timeout=15.0)
    via_b = httpx.AsyncClient(base_url=b.url, timeout=15.0)
    try:
        await put_quiz(via_a, a.admin_headers, quiz_definition("handover"))
        (token,) = await invite(via_a, a.admin_headers, "handover", 1)
        s1 = Candidate(token)
        r = await via_a.post("/sessions", json={"invite_token": token})
        assert r.status_code == 201, r.text
        s1.opened(r.json())
        phase = "before"
        targets = [via_a]

        async def heartbeat_every_second() -> None:
            i = 0
            while not stop.is_set():
                client = targets[i % len(targets)]
                r = await client.post(f"/sessions/{s1.session_id}/heartbeat", headers=s1.auth)
                beats[(phase, r.status_code)] += 1
                assert r.status_code == 200, (phase, r.text)
                i += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)

        beating = asyncio.create_task(heartbeat_every_second())
        await asyncio.sleep(1.5)
        b.kill()
        own_redis.kill()
        phase = "store-only"
        await asyncio.sleep(STORE_ONLY_S)
        await asyncio.to_thread(own_redis.restart)  # the same port, empty
        await b.start_async()
        phase = "after"
        targets = [via_a, via_b]
        until = time.monotonic() + PROBING_S
        while time.monotonic() < until:
            for name, client in (("a", via_a), ("b", via_b)):
                r = await client.post("/sessions", json={"invite_token": token})
                second_logins[(name, r.status_code, _code(r))] += 1
            await asyncio.sleep(0.25)
        stop.set()
        await asyncio.wait_for(beating, 20)
        r = await via_a.get(f"/admin/attempts/{s1.attempt_id}/events", headers=a.admin_headers)
        assert r.status_code == 200, r.text
        kinds = Counter(e["type"] for e in r.json())
    finally:
        stop.set()
        if beating is not None and not beating.done():
            beating.cancel()
            await asyncio.gather(beating, return_exceptions=True)
        await via_a.aclose()
        await via_b.aclose()
        for server in (a, b):
            server.terminate(timeout=10)

    print(f"\nheartbeats {dict(beats)}; second logins {dict(second_logins)}")
    assert beats[("store-only", 200)] >= 3, beats
    assert beats[("after", 200)] >= 3, beats
    assert {k for k in beats if k[1] != 200} == set(), beats
    assert second_logins, second_logins
    assert {(name, status, code) for name, status, code in second_logins} <= {
        ("a", 409, "session_active"),
        ("b", 409, "session_active"),
    }, second_logins
    assert ("b", 409, "session_active") in second_logins
    assert kinds["session_opened"] == 1, kinds
    assert kinds["session_superseded"] == 0, kinds
    for server in (a, b):
        assert_no_traceback(server.log_text())
