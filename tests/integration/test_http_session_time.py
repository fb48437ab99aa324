"""Time over HTTP, with a fake clock: the code a late write gets (the same before
and after the server's own submit), the idle timeout (never early), the
deployment's heartbeat on the candidate's page, and the live channel's token
refresh by elapsed time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from quizsession.app.clock import FakeClock
from quizsession.app.sessions.activity import WRITE_EVERY_S
from quizsession.bootstrap import build
from quizsession.entrypoints.http.app import create_app
from quizsession.settings import load_settings
from tests.integration.conftest import (
    API_KEY,
    START,
    Api,
    Session,
    assert_problem,
    make_settings,
)

GRACE = 5.0
DURATION = 600.0


async def late_writes(api: Api, s: Session) -> dict[str, httpx.Response]:
    """One request on every write route of a candidate."""
    c, h = api.client, s.headers
    return {
        "progress": await c.put(
            f"{s.path}/progress",
            json={"question_id": "capital-au", "answer": "perth", "op_id": "late"},
            headers=h,
        ),
        "question": await c.get(f"{s.path}/question", headers=h),
        "start": await c.post(f"{s.path}/start", json={"section": "test"}, headers=h),
        "complete": await c.post(f"{s.path}/complete", json={"op_id": "late-c"}, headers=h),
    }


async def started_and_answered(api: Api) -> Session:
    await api.load_demo()
    s = await api.started()
    await api.answer_current(s, "o1")
    return s


@pytest.mark.parametrize("reaped", [False, True], ids=["before-the-reaper", "after-the-reaper"])
async def test_a_write_after_deadline_plus_grace_gets_deadline_passed(
    api: Api, reaped: bool
) -> None:
    s = await started_and_answered(api)
    end = START + DURATION
    api.clock.advance(DURATION + GRACE + 0.5)
    if reaped:
        assert await api.reap() == 1
    for route, response in (await late_writes(api, s)).items():
        body = assert_problem(response, 409, "deadline_passed")
        assert body["deadline"] == end, route
    detail = await api.detail(s.attempt_id)
    assert detail["attempt"]["status"] == "submitted"
    assert detail["attempt"]["result"]["finished_at"] == end
    # Every route refuses alike once the server has submitted: nothing changes.
    await api.refused(
        api.client.put(
            f"{s.path}/progress",
            json={"question_id": "capital-au", "answer": "x", "op_id": "again"},
            headers=s.headers,
        ),
        409,
        "deadline_passed",
    )


async def test_after_the_candidates_submit_a_late_write_gets_attempt_closed(api: Api) -> None:
    s = await started_and_answered(api)
    r = await api.client.post(f"{s.path}/complete", json={"op_id": "done"}, headers=s.headers)
    assert r.status_code == 200, r.text
    api.clock.advance(DURATION + GRACE + 0.5)
    assert await api.reap() == 0
    responses = await late_writes(api, s)
    for route in ("progress", "question", "start"):
        assert_problem(responses[route], 409, "attempt_closed")
    # Submitting again returns the same score (promise 6).
    assert responses["complete"].status_code == 200
    assert responses["complete"].json()["score"] == r.json()["score"]


async def test_after_a_void_a_late_write_gets_attempt_voided(api: Api) -> None:
    s = await started_and_answered(api)
    r = await api.client.post(
        f"/admin/attempts/{s.attempt_id}/void", json={"reason": "r"}, headers=api.admin
    )
    assert r.status_code == 200, r.text
    api.clock.advance(DURATION + GRACE + 0.5)
    for response in (await late_writes(api, s)).values():
        assert_problem(response, 409, "attempt_voided")


async def test_the_idle_timeout_is_never_early(api: Api) -> None:
    await api.load_demo(policies={"grace_s": GRACE, "idle_timeout_s": 60, "lease_ttl_s": 120})
    s = await api.open_session()
    view = f"{s.path}"
    for at in (1, 14, 64):
        api.clock.advance(at - (api.clock.now() - START))
        r = await api.client.get(view, headers=s.headers)
        assert r.status_code == 200, (at, r.text)
    api.clock.advance(60 - 0.01)  # 60 s after the last request, less a hair
    r = await api.client.post(f"{s.path}/heartbeat", json={}, headers=s.headers)
    assert r.status_code == 200, r.text
    api.clock.advance(60 + WRITE_EVERY_S + 0.01)
    r = await api.client.get(view, headers=s.headers)
    assert_problem(r, 401, "session_idle_timeout")
    events = await api.events(s.attempt_id)
    closed = events[-1]
    assert closed["type"] == "session_closed"
    assert closed["data"]["reason"] == "idle"
    assert closed["data"]["by"] == "system"


# -------------------------------------------------------------------------- heartbeat


@pytest.mark.parametrize("settings", [make_settings(heartbeat_s=2.5)])
async def test_the_page_beats_at_the_deployments_heartbeat(api: Api) -> None:
    r = await api.client.get("/take")
    assert r.status_code == 200
    assert '<meta name="quizsession-heartbeat-s" content="2.5">' in r.text


@pytest.fixture
def live_client() -> Iterator[tuple[TestClient[Any], FakeClock]]:
    clock = FakeClock(START)
    settings = load_settings(
        {"QUIZSESSION_HEARTBEAT_S": "2"},
        store_url="memory://",
        api_keys=f"ops={API_KEY}",
        secret_key="s" * 40,
    )
    assert settings.token_refresh_s == 24.0
    with TestClient(create_app(build(settings, clock=clock))) as cl:
        yield cl, clock


def test_the_live_channel_refreshes_the_token_by_elapsed_time(
    live_client: tuple[TestClient[Any], FakeClock],
) -> None:
    cl, clock = live_client
    h = {"X-API-Key": API_KEY}
    quiz = {
        "id": "q",
        "title": "t",
        "duration_s": 600,
        "policies": {"heartbeat_s": 30, "lease_ttl_s": 90},
        "test": {"questions": [{"id": "q1", "kind": "true_false", "text": "?", "correct": True}]},
    }
    assert cl.put("/admin/quizzes/q", json=quiz, headers=h).status_code == 200
    roster = {"roster": [{"name": "A", "email": "a@example.org", "valid_until": "2099-01-01"}]}
    token = cl.post("/admin/quizzes/q/invites", json=roster, headers=h).json()["invites"][0]
    opened = cl.post("/sessions", json={"invite_token": token["token"]}).json()
    sid = opened["session_id"]

    def pong(ws: Any) -> dict[str, Any]:
        ws.send_text(json.dumps({"type": "ping", "question_id": None, "sent_at": 1}))
        while True:
            msg: dict[str, Any] = json.loads(ws.receive_text(timeout=10))
            if msg["type"] == "pong":
                return msg

    with cl.websocket_connect(f"/sessions/{sid}/live") as ws:
        ws.send_text(json.dumps({"type": "auth", "token": opened["session_token"]}))
        welcome = json.loads(ws.receive_text(timeout=10))
        assert welcome["type"] == "welcome"
        assert welcome["session_token"]
        # Pings within the refresh interval (24 s: 12 heartbeats of 2 s) carry
        # no new token, however few or many they are.
        assert "session_token" not in pong(ws)
        clock.advance(23.9)
        assert "session_token" not in pong(ws)
        clock.advance(0.1)
        assert pong(ws)["session_token"]
        assert "session_token" not in pong(ws)
        clock.advance(24)
        assert pong(ws)["session_token"]


@pytest.mark.parametrize("value", ["0.5", "61", "fast"])
def test_the_heartbeat_setting_is_bounded(value: str) -> None:
    with pytest.raises(ValueError, match="HEARTBEAT_S"):
        load_settings({"QUIZSESSION_HEARTBEAT_S": value})


def test_the_token_refresh_is_at_most_a_third_of_the_token_lifetime() -> None:
    assert load_settings({}).token_refresh_s == 60.0
    assert load_settings({"QUIZSESSION_TOKEN_TTL_S": "90"}).token_refresh_s == 30.0
    assert load_settings({"QUIZSESSION_HEARTBEAT_S": "1"}).token_refresh_s == 12.0
