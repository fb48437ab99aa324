"""The live channel over a real WebSocket (in-process server, system clock, a quiz
with a 1 s heartbeat so ticks come quickly)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient
from litestar.testing.websocket_test_session import WebSocketTestSession

from quizsession.app.live import CLOSE_AUTH, CLOSE_ENDED, CLOSE_FLOOD, CLOSE_SUPERSEDED
from quizsession.bootstrap import build
from quizsession.entrypoints.http.app import create_app
from quizsession.settings import load_settings

KEY = "live-test-key-0123456789"
H = {"X-API-Key": KEY}

QUIZ: dict[str, Any] = {
    "id": "live",
    "title": "Live channel quiz",
    "duration_s": 600,
    "policies": {"second_login": "takeover", "heartbeat_s": 1, "lease_ttl_s": 3},
    "test": {
        "questions": [
            {"id": "q1", "kind": "true_false", "text": "Sky is blue?", "correct": True},
            {"id": "q2", "kind": "true_false", "text": "Fire is cold?", "correct": False},
        ]
    },
}


@pytest.fixture
def client() -> Iterator[TestClient[Any]]:
    settings = load_settings(
        {}, store_url="memory://", api_keys=f"admin={KEY}", secret_key="s" * 40
    )
    app = create_app(build(settings))
    with TestClient(app) as cl:
        assert cl.put("/admin/quizzes/live", json=QUIZ, headers=H).status_code == 200
        yield cl


def login(
    cl: TestClient[Any], *, takeover: bool = False, token: str | None = None
) -> dict[str, Any]:
    if token is None:
        r = cl.post(
            "/admin/quizzes/live/invites",
            json={
                "roster": [{"name": "Ann", "email": "ann@example.org", "valid_until": "2099-01-01"}]
            },
            headers=H,
        )
        token = r.json()["invites"][0]["token"]
    r = cl.post("/sessions", json={"invite_token": token, "takeover": takeover})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    body["invite"] = token
    return body


def recv(ws: WebSocketTestSession) -> dict[str, Any]:
    msg: dict[str, Any] = json.loads(ws.receive_text(timeout=10))
    return msg


def auth(ws: WebSocketTestSession, token: str) -> dict[str, Any]:
    ws.send_text(json.dumps({"type": "auth", "token": token}))
    return recv(ws)


def test_welcome_ticks_and_pong(client: TestClient[Any]) -> None:
    s = login(client)
    sid, tok = s["session_id"], s["session_token"]
    hdr = {"Authorization": f"Bearer {tok}"}
    client.post(f"/sessions/{sid}/start", json={"section": "test"}, headers=hdr)
    with client.websocket_connect(f"/sessions/{sid}/live") as ws:
        welcome = auth(ws, tok)
        assert welcome["type"] == "welcome"
        assert welcome["attempt"]["state"] == "test_started"
        assert welcome["session_token"]
        started = time.monotonic()
        tick = recv(ws)
        assert tick["type"] == "tick"
        assert time.monotonic() - started < 5
        assert 0 < tick["time_remaining_s"] <= 600
        assert abs(tick["server_time"] - time.time()) < 5
        ws.send_text(json.dumps({"type": "ping", "question_id": None, "sent_at": 123.5}))
        msg = recv(ws)
        while msg["type"] == "tick":
            msg = recv(ws)
        assert msg["type"] == "pong"
        assert msg["echo"] == 123.5
        assert msg["deadline"] == tick["deadline"]


def test_ping_with_question_on_screen_records_one_view(client: TestClient[Any]) -> None:
    s = login(client)
    sid, tok = s["session_id"], s["session_token"]
    hdr = {"Authorization": f"Bearer {tok}"}
    client.post(f"/sessions/{sid}/start", json={"section": "test"}, headers=hdr)
    qid = client.get(f"/sessions/{sid}/question", headers=hdr).json()["question"]["id"]
    with client.websocket_connect(f"/sessions/{sid}/live") as ws:
        auth(ws, tok)
        for _ in range(3):
            ws.send_text(json.dumps({"type": "ping", "question_id": qid, "sent_at": 1}))
            msg = recv(ws)
            while msg["type"] != "pong":
                msg = recv(ws)
    aid = s["attempt"]["attempt_id"]
    events = client.get(f"/admin/attempts/{aid}/events", headers=H).json()
    assert [e["type"] for e in events].count("question_viewed") == 1


def test_token_must_come_in_the_first_message(client: TestClient[Any]) -> None:
    s = login(client)
    with client.websocket_connect(f"/sessions/{s['session_id']}/live") as ws:
        ws.send_text(json.dumps({"type": "ping"}))
        msg = recv(ws)
        assert msg == {"type": "error", "code": "token_invalid", "detail": msg["detail"]}
        with pytest.raises(WebSocketDisconnect) as exc:
            ws.receive_text(timeout=5)
        assert exc.value.code == CLOSE_AUTH


@pytest.mark.parametrize(
    "first",
    ['{"type": "auth", "token": "not-a-jwt"}', "not json", '{"type": "auth"}', "[]"],
)
def test_bad_first_message_is_refused(client: TestClient[Any], first: str) -> None:
    s = login(client)
    with client.websocket_connect(f"/sessions/{s['session_id']}/live") as ws:
        ws.send_text(first)
        msg = recv(ws)
        assert msg["type"] == "error"
        assert msg["code"] == "token_invalid"


def test_token_of_another_session_is_refused(client: TestClient[Any]) -> None:
    a = login(client)
    client.delete(
        f"/sessions/{a['session_id']}",
        headers={"Authorization": f"Bearer {a['session_token']}"},
    )
    b = login(client, token=a["invite"])
    with client.websocket_connect(f"/sessions/{b['session_id']}/live") as ws:
        assert auth(ws, a["session_token"])["code"] == "token_invalid"


def test_foreign_origin_is_refused(client: TestClient[Any]) -> None:
    s = login(client)
    with (
        pytest.raises(WebSocketDisconnect) as exc,
        client.websocket_connect(
            f"/sessions/{s['session_id']}/live", headers={"origin": "https://evil.example"}
        ) as ws,
    ):
        ws.send_text("{}")
        ws.receive_text(timeout=5)
    assert exc.value.code == 4403


def test_own_origin_is_allowed(client: TestClient[Any]) -> None:
    s = login(client)
    with client.websocket_connect(
        f"/sessions/{s['session_id']}/live", headers={"origin": "http://testserver.local"}
    ) as ws:
        assert auth(ws, s["session_token"])["type"] == "welcome"


def test_takeover_is_pushed_and_the_old_socket_closed(client: TestClient[Any]) -> None:
    a = login(client)
    with client.websocket_connect(f"/sessions/{a['session_id']}/live") as ws:
        auth(ws, a["session_token"])
        b = login(client, takeover=True, token=a["invite"])
        msg = recv(ws)
        while msg["type"] == "tick":
            msg = recv(ws)
        assert msg["type"] == "takeover"
        assert msg["by_session_id"] == b["session_id"]
        with pytest.raises(WebSocketDisconnect) as exc:
            ws.receive_text(timeout=5)
        assert exc.value.code == CLOSE_SUPERSEDED
    # the superseded session cannot come back on the socket either
    with client.websocket_connect(f"/sessions/{a['session_id']}/live") as ws:
        assert auth(ws, a["session_token"])["code"] == "session_superseded"


def test_extension_and_end_of_test_are_pushed(client: TestClient[Any]) -> None:
    s = login(client)
    sid, tok = s["session_id"], s["session_token"]
    hdr = {"Authorization": f"Bearer {tok}"}
    client.post(f"/sessions/{sid}/start", json={"section": "test"}, headers=hdr)
    aid = s["attempt"]["attempt_id"]
    with client.websocket_connect(f"/sessions/{sid}/live") as ws:
        auth(ws, tok)
        client.post(f"/admin/attempts/{aid}/extend", json={"seconds": 60}, headers=H)
        msg = recv(ws)
        while msg["type"] == "tick":
            msg = recv(ws)
        assert msg["type"] == "extension"
        assert msg["seconds"] == 60
        client.post(f"/sessions/{sid}/complete", headers=hdr)
        msg = recv(ws)
        while msg["type"] == "tick":
            msg = recv(ws)
        assert msg["type"] == "end_of_test"
        assert msg["max_score"] == 2
        with pytest.raises(WebSocketDisconnect) as exc:
            ws.receive_text(timeout=5)
        assert exc.value.code == CLOSE_ENDED


def test_flooding_closes_the_socket(client: TestClient[Any]) -> None:
    s = login(client)
    with client.websocket_connect(f"/sessions/{s['session_id']}/live") as ws:
        auth(ws, s["session_token"])
        for _ in range(60):
            ws.send_text(json.dumps({"type": "ping", "sent_at": 1}))
        codes = []
        with pytest.raises(WebSocketDisconnect) as exc:
            for _ in range(200):
                codes.append(recv(ws).get("code"))
        assert exc.value.code == CLOSE_FLOOD
        assert "rate_limited" in codes


def test_unknown_messages_get_an_error_and_the_socket_stays(client: TestClient[Any]) -> None:
    s = login(client)
    with client.websocket_connect(f"/sessions/{s['session_id']}/live") as ws:
        auth(ws, s["session_token"])
        ws.send_text(json.dumps({"type": "shout"}))
        assert recv(ws)["code"] == "validation_error"
        ws.send_text("{{{")
        assert recv(ws)["code"] == "malformed_json"
        ws.send_text(json.dumps({"type": "ping", "sent_at": 7}))
        msg = recv(ws)
        while msg["type"] == "tick":
            msg = recv(ws)
        assert msg["type"] == "pong"


def test_a_tick_after_logout_tells_why_and_closes_the_socket(client: TestClient[Any]) -> None:
    s = login(client)
    sid, tok = s["session_id"], s["session_token"]
    with client.websocket_connect(f"/sessions/{sid}/live") as ws:
        assert auth(ws, tok)["type"] == "welcome"
        r = client.delete(f"/sessions/{sid}", headers={"Authorization": f"Bearer {tok}"})
        assert r.status_code in (200, 204), r.text
        msg = recv(ws)
        while msg["type"] == "tick":
            msg = recv(ws)
        assert msg["type"] == "error"
        assert msg["code"] == "session_closed"
        with pytest.raises(WebSocketDisconnect) as exc:
            ws.receive_text(timeout=5)
        assert exc.value.code == CLOSE_ENDED


def test_a_closed_socket_leaves_no_ticks_behind(
    client: TestClient[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ticks come from the hub's one timer: a socket that goes away leaves it."""
    hub = client.app.state.container.hub
    discard = hub.discard
    gone = threading.Event()  # set by the handler's clean-up (in the server's thread)

    def discard_and_tell(conn: Any) -> None:
        discard(conn)
        gone.set()

    monkeypatch.setattr(hub, "discard", discard_and_tell)
    s = login(client)
    with client.websocket_connect(f"/sessions/{s['session_id']}/live") as ws:
        auth(ws, s["session_token"])
        assert recv(ws)["type"] == "tick"
        assert recv(ws)["type"] == "tick"
        assert len(hub) == 1
        assert len(hub.ticks) == 1
    assert gone.wait(5)  # the timeout is only a failsafe
    assert len(hub) == 0
    assert len(hub.ticks) == 0
