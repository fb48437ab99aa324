"""Outage credit against a real server process on SQLite (issue 7).

A candidate starts a 20 s test; the only server is killed with SIGKILL and stays
down longer than the outage threshold (15 s: three missed liveness marks); on
restart the attempt's deadline has moved by the downtime, recorded as a
``time_extended`` event by ``system`` whose reason names the outage window, the
candidate's old session keeps writing past the OLD deadline, and the reaper
submits at the NEW deadline (finish time = the new deadline).

Alongside: an attempt of a quiz whose policy is ``outage_credit: false`` passed
its deadline during the outage: the reaper's first pass submits it at its
original deadline, and an attempt whose test had not started gets nothing.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import httpx
import pytest

from quizsession.app.outage import DOWN_AFTER_S, MARK_EVERY_S
from tests.e2e.conftest import ServerFactory
from testsupport.processes import assert_no_traceback
from testsupport.scenario import Candidate, invite, login, put_quiz, quiz_definition, start_test
from testsupport.service import ServerProcess

DURATION_S = 20.0
GRACE_S = 1.0
DOWN_S = DOWN_AFTER_S + 1.5  # longer than the threshold, whatever the last mark was

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

_WINDOW = re.compile(r"outage credit: the service was down from (\S+) to (\S+)")


async def _events(client: httpx.AsyncClient, server: ServerProcess, attempt_id: str) -> Any:
    r = await client.get(f"/admin/attempts/{attempt_id}/events", headers=server.admin_headers)
    assert r.status_code == 200, r.text
    return r.json()


async def _view(client: httpx.AsyncClient, c: Candidate) -> Any:
    r = await client.get(f"/sessions/{c.session_id}", headers=c.auth)
    assert r.status_code == 200, r.text
    return r.json()


def _submitted(events: Any) -> list[Any]:
    return [e for e in events if e["type"] == "submitted"]


async def test_a_whole_service_outage_moves_deadlines_by_the_downtime(
    server_factory: ServerFactory,
) -> None:
    server = server_factory("outage")
    await server.start_async()
    admin = server.admin_headers
    async with httpx.AsyncClient(base_url=server.url, timeout=10.0) as client:
        await put_quiz(client, admin, quiz_definition("fair", duration_s=DURATION_S, grace_s=1))
        strict = quiz_definition("strict", duration_s=DURATION_S / 2, grace_s=GRACE_S)
        strict["policies"]["outage_credit"] = False
        await put_quiz(client, admin, strict)
        c, idle = (Candidate(t) for t in await invite(client, admin, "fair", 2))
        [s] = [Candidate(t) for t in await invite(client, admin, "strict", 1, "s")]
        for each in (c, idle, s):
            assert (await login(client, each)).status_code == 201
        await start_test(client, c)
        await start_test(client, s)
        assert c.deadline is not None
        assert s.deadline is not None
        old_deadline = c.deadline

        # A liveness mark is written at start-up and every 5 s: kill right after
        # the test started, at an arbitrary point of the mark cycle.
        server.kill()
        killed_at = time.time()
        await asyncio.sleep(DOWN_S)
        spawned_at = time.time()
        await server.start_async()
        ready_at = time.time()

        # The credit: one event, by the system, naming the window, of the downtime.
        events = await _events(client, server, c.attempt_id)
        credits = [e for e in events if e["type"] == "time_extended"]
        assert len(credits) == 1, credits
        credit = credits[0]["data"]
        assert credit["by"] == "system"
        window = _WINDOW.fullmatch(credit["reason"])
        assert window is not None, credit
        start, end = float(window.group(1)), float(window.group(2))
        # The window starts at the last mark (at most one mark interval before the
        # kill) and ends when the new process started up.
        assert killed_at - MARK_EVERY_S - 0.5 <= start <= killed_at
        assert spawned_at <= end <= ready_at
        # The credit runs from the attempt's last event before it (the test's
        # start, just before the kill) or the mark, whichever is later, to the
        # end: the downtime.
        assert events[-1]["type"] == "time_extended"
        seen = events[-2]["at"]
        assert seen <= killed_at
        assert credit["seconds"] == pytest.approx(end - max(start, seen), abs=1e-6)
        assert spawned_at - killed_at <= credit["seconds"] <= ready_at - killed_at + 0.5
        assert "the whole service was down" in server.log_text()

        # The deadline moved by exactly the credit; the candidate sees it.
        new_deadline = old_deadline + credit["seconds"]
        view = await _view(client, c)
        assert view["deadline"] == pytest.approx(new_deadline, abs=1e-6)
        assert view["status"] == "open"
        assert view["time_remaining_s"] > 0

        # Nothing for a test that had not started, nor for a quiz with the policy off.
        assert not [
            e
            for e in await _events(client, server, idle.attempt_id)
            if e["type"] == "time_extended"
        ]
        strict_events = await _events(client, server, s.attempt_id)
        assert not [e for e in strict_events if e["type"] == "time_extended"]
        # The strict quiz's deadline passed during the outage: submitted on start-up
        # at its original deadline.
        [strict_submit] = _submitted(strict_events)
        assert strict_submit["data"]["reason"] == "deadline"
        assert strict_submit["data"]["finished_at"] == pytest.approx(s.deadline, abs=1e-6)

        # Past the OLD deadline + grace: still open, writes still count (with the
        # session opened before the crash).
        await asyncio.sleep(max(0.0, old_deadline + GRACE_S + 0.5 - time.time()))
        r = await client.get(f"/sessions/{c.session_id}/question", headers=c.auth)
        assert r.status_code == 200, r.text
        question = r.json()["question"]
        assert question is not None
        r = await client.put(
            f"/sessions/{c.session_id}/progress",
            json={"question_id": question["id"], "answer": None, "op_id": "after-old-deadline"},
            headers=c.auth,
        )
        assert r.status_code == 200, r.text
        assert not _submitted(await _events(client, server, c.attempt_id))

        # The reaper submits at the NEW deadline + grace, finished at the new deadline.
        give_up = time.monotonic() + DURATION_S + MARK_EVERY_S + 30
        while not _submitted(events := await _events(client, server, c.attempt_id)):
            assert time.monotonic() < give_up, "never submitted"
            await asyncio.sleep(0.1)
        [submit] = _submitted(events)
        assert submit["data"]["reason"] == "deadline"
        assert submit["data"]["finished_at"] == pytest.approx(new_deadline, abs=1e-6)
        assert submit["at"] >= new_deadline + GRACE_S
        assert submit["at"] <= new_deadline + GRACE_S + 3.0
        saved = [e for e in events if e["type"] == "answer_saved"]
        assert [e["data"]["op_id"] for e in saved] == ["after-old-deadline"]

    print(
        f"\noutage: killed {DOWN_S:.1f}s + start-up (ready {ready_at - killed_at:.2f}s after the "
        f"kill); credit {credit['seconds']:.2f}s (window {end - start:.2f}s from the last mark); "
        f"deadline {old_deadline:.3f} -> {new_deadline:.3f}; a save {GRACE_S + 0.5:.1f}s past the "
        f"old deadline: 200; submitted at new deadline + {submit['at'] - new_deadline:.2f}s"
    )
    assert server.terminate() == 0
    log = server.log_text()
    assert_no_traceback(log)
