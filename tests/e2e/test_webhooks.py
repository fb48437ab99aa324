"""Webhooks end to end (promise 9): a real ``quizsession serve`` process under
load sends signed webhooks to a real receiver process on loopback, which
verifies every signature with the ``standardwebhooks`` reference implementation
and answers 500 to a share of the requests at random (so deliveries retry). The
service is killed with SIGKILL while deliveries are pending, and restarted on
the same file: every event arrives, a duplicate only ever with the same
``webhook-id``, and each attempt's events arrive in log order."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ServerFactory
from testsupport.net import free_port
from testsupport.processes import STOP_TIMEOUT_S, signal_pid, wait_exit
from testsupport.scenario import Candidate, invite, login, put_quiz, quiz_definition, start_test
from testsupport.service import ServerProcess
from testsupport.webhook_receiver import read_log

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
N_CANDIDATES = 24
FAIL_PERCENT = 35
ARRIVE_WITHIN_S = 90.0
ENV = {
    "QUIZSESSION_WEBHOOK_TIMEOUT_S": "2",
    "QUIZSESSION_OUTBOUND_LEASE_S": "3",
    "QUIZSESSION_OUTBOUND_FIRST_RETRY_S": "1.0",
}
ORDER = {"attempt.started": 0, "attempt.extended": 1, "attempt.submitted": 2, "attempt.scored": 3}


@pytest.fixture
def receiver(tmp_path: Path) -> Any:
    port = free_port()
    log = tmp_path / "received.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "testsupport.webhook_receiver", str(port), str(log), SECRET],
        stdout=subprocess.PIPE,
        stderr=(tmp_path / "receiver.err").open("wb"),
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
        yield f"http://127.0.0.1:{port}", log
    finally:
        signal_pid(proc.pid, signal.SIGTERM)
        if not wait_exit(proc, STOP_TIMEOUT_S):
            signal_pid(proc.pid, signal.SIGKILL)
            wait_exit(proc, STOP_TIMEOUT_S)


async def sit(
    client: httpx.AsyncClient, server: ServerProcess, candidate: Candidate, n: int
) -> list[str]:
    """Log in, start the test, maybe get more time, submit: the event types
    this attempt sends."""
    assert (await login(client, candidate)).status_code == 201
    await start_test(client, candidate)
    types = ["attempt.started"]
    if n % 3 == 0:
        r = await client.post(
            f"/admin/attempts/{candidate.attempt_id}/extend",
            json={"seconds": 60},
            headers=server.admin_headers,
        )
        r.raise_for_status()
        types.append("attempt.extended")
    r = await client.post(
        f"/sessions/{candidate.session_id}/complete", json={}, headers=candidate.auth
    )
    r.raise_for_status()
    return [*types, "attempt.submitted", "attempt.scored"]


async def pending(client: httpx.AsyncClient, server: ServerProcess, endpoint: str) -> int:
    r = await client.get(
        f"/admin/webhooks/{endpoint}/deliveries",
        params={"status": "pending", "limit": 1000},
        headers=server.admin_headers,
    )
    r.raise_for_status()
    return len(r.json()["deliveries"])


async def test_every_event_arrives_signed_in_order_through_a_kill_9(
    server_factory: ServerFactory, receiver: tuple[str, Path]
) -> None:
    receiver_url, log = receiver
    server = server_factory("webhooks", env=ENV)
    await server.start_async()
    expected: dict[str, list[str]] = {}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        r = await client.post(
            "/admin/webhooks",
            json={"url": f"{receiver_url}/flaky/{FAIL_PERCENT}", "secret": SECRET},
            headers=server.admin_headers,
        )
        assert r.status_code == 201, r.text
        endpoint = r.json()["id"]
        await put_quiz(client, server.admin_headers, quiz_definition("hooks"))
        tokens = await invite(client, server.admin_headers, "hooks", N_CANDIDATES)
        candidates = [Candidate(invite_token=t) for t in tokens]
        half = N_CANDIDATES // 2

        # The first half sits the test; the service dies while their webhooks
        # are still pending (retrying after 500s, or not yet fanned out).
        firsts = await asyncio.gather(
            *(sit(client, server, c, n) for n, c in enumerate(candidates[:half]))
        )
        expected.update({c.attempt_id: t for c, t in zip(candidates[:half], firsts, strict=True)})
        # Fan-out polls: wait (bounded) until a delivery is pending, so the kill
        # below lands while some are.
        for _ in range(100):
            if await pending(client, server, endpoint) > 0:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("no delivery was pending before the kill")
        server.kill()

        await server.start_async()
        seconds = await asyncio.gather(
            *(sit(client, server, c, n) for n, c in enumerate(candidates[half:], half))
        )
        expected.update({c.attempt_id: t for c, t in zip(candidates[half:], seconds, strict=True)})

        deadline = time.monotonic() + ARRIVE_WITHIN_S
        while time.monotonic() < deadline:
            arrived = {
                (e["event"]["data"]["attempt_id"], e["event"]["type"])
                for e in read_log(log)
                if e["status"] == 204
            }
            if all((a, t) in arrived for a, types in expected.items() for t in types):
                break
            await asyncio.sleep(0.25)
        left = await pending(client, server, endpoint)

    records = read_log(log)
    assert all(r["verified"] for r in records), "a signature did not verify"
    delivered = [r for r in records if r["status"] == 204]
    got: dict[str, list[str]] = defaultdict(list)
    ids: dict[tuple[str, int, str], set[str]] = defaultdict(set)
    for rec in delivered:
        data = rec["event"]["data"]
        key = (data["attempt_id"], data["seq"], rec["event"]["type"])
        ids[key].add(rec["id"])
        if rec["event"]["type"] not in got[data["attempt_id"]]:
            got[data["attempt_id"]].append(rec["event"]["type"])  # first arrival order
    # Every event arrived (in log order per attempt), nothing else did.
    assert dict(got) == expected
    assert left == 0
    # A duplicate only ever with the same webhook-id, and one id per event.
    assert all(len(v) == 1 for v in ids.values())
    assert len({i for v in ids.values() for i in v}) == len(ids)
    assert any(r["status"] == 500 for r in records)  # retries did happen
    assert [r["event"]["data"]["event_id"] for r in records] == [r["id"] for r in records]
    for attempt_types in got.values():
        assert [ORDER[t] for t in attempt_types] == sorted(ORDER[t] for t in attempt_types)
