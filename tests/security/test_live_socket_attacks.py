"""Attacks on the live WebSocket (``/sessions/{id}/live``): no auth message,
tokens anywhere but the first message, forged and expired tokens, foreign
origins, floods and oversized or binary frames. Each ends in a clean close with
the documented code (4401 auth, 4403 origin, 4429 flood), leaves the store as it
was, and leaves the session usable from a well-behaved socket.

``tests/integration/test_live_socket.py`` covers a non-auth first message, bad
first messages, another session's token, one foreign origin and a ping flood;
this file adds the auth timeout (made fast by patching ``AUTH_TIMEOUT_S``),
query-string tokens, forged tokens, origin look-alikes, floods of junk and size
limits before and after authentication.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient
from litestar.testing.websocket_test_session import WebSocketTestSession

from quizsession.adapters.store.memory import MemoryStore
from quizsession.app.live import CLOSE_AUTH, CLOSE_FLOOD, CLOSE_ORIGIN
from quizsession.bootstrap import build
from quizsession.entrypoints.http import live_socket
from quizsession.entrypoints.http.app import create_app
from quizsession.settings import load_settings
from tests.security import forge

KEY = "live-attack-key-0123456789"
SECRET = "live-attack-secret-" + "s" * 40
H = {"X-API-Key": KEY}
ALLOWED = "https://lms.example"

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
        {},
        store_url="memory://",
        api_keys=f"admin={KEY}",
        secret_key=SECRET,
        allowed_origins=ALLOWED,
    )
    app = create_app(build(settings))
    with TestClient(app) as cl:
        assert cl.put("/admin/quizzes/live", json=QUIZ, headers=H).status_code == 200
        yield cl


@pytest.fixture
def fast_auth(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr(live_socket, "AUTH_TIMEOUT_S", 0.3)
    return 0.3


def login(cl: TestClient[Any]) -> dict[str, Any]:
    r = cl.post(
        "/admin/quizzes/live/invites",
        json={"roster": [{"name": "Ann", "email": "ann@example.org", "valid_until": "2099-01-01"}]},
        headers=H,
    )
    token = r.json()["invites"][0]["token"]
    r = cl.post("/sessions", json={"invite_token": token})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    hdr = {"Authorization": f"Bearer {body['session_token']}"}
    r = cl.post(f"/sessions/{body['session_id']}/start", json={"section": "test"}, headers=hdr)
    assert r.status_code == 200, r.text
    return body


def store_state(cl: TestClient[Any]) -> dict[str, tuple[bytes, ...]]:
    store = cl.app.state.container.store
    assert isinstance(store, MemoryStore)
    return {k: tuple(v) for k, v in store._logs.items()}


def recv(ws: WebSocketTestSession) -> dict[str, Any]:
    msg: dict[str, Any] = json.loads(ws.receive_text(timeout=10))
    return msg


def closed_with(ws: WebSocketTestSession, code: int, *, error: str | None = None) -> None:
    """Read up to the close (skipping ticks); check the last error and the code."""
    seen: list[str] = []
    with pytest.raises(WebSocketDisconnect) as exc:
        for _ in range(500):
            msg = recv(ws)
            if msg["type"] == "error":
                seen.append(msg["code"])
    assert exc.value.code == code, (exc.value.code, seen)
    if error is not None:
        assert seen, seen
        assert seen[-1] == error, seen


def welcome(ws: WebSocketTestSession, token: str) -> dict[str, Any]:
    ws.send_text(json.dumps({"type": "auth", "token": token}))
    msg = recv(ws)
    assert msg["type"] == "welcome", msg
    return msg


def usable(cl: TestClient[Any], s: dict[str, Any]) -> None:
    """A well-behaved socket of the same session still gets in and is answered."""
    with cl.websocket_connect(f"/sessions/{s['session_id']}/live") as ws:
        welcome(ws, s["session_token"])
        ws.send_text(json.dumps({"type": "ping", "sent_at": 1}))
        msg = recv(ws)
        while msg["type"] == "tick":
            msg = recv(ws)
        assert msg["type"] == "pong"


# -- authentication -------------------------------------------------------------------


def test_no_auth_message_is_closed_after_the_timeout(
    client: TestClient[Any], fast_auth: float
) -> None:
    s = login(client)
    before = store_state(client)
    started = time.monotonic()
    with client.websocket_connect(f"/sessions/{s['session_id']}/live") as ws:
        closed_with(ws, CLOSE_AUTH, error="token_invalid")
    assert time.monotonic() - started < fast_auth + 5
    assert store_state(client) == before
    usable(client, s)


@pytest.mark.parametrize("param", ["token", "access_token", "session_token", "auth"])
def test_token_in_the_url_is_not_authentication(
    client: TestClient[Any], fast_auth: float, param: str
) -> None:
    s = login(client)
    url = f"/sessions/{s['session_id']}/live?{param}={s['session_token']}"
    with client.websocket_connect(url) as ws:
        closed_with(ws, CLOSE_AUTH, error="token_invalid")
    # ... nor in the Authorization header or a subprotocol.
    with client.websocket_connect(
        f"/sessions/{s['session_id']}/live",
        headers={"Authorization": f"Bearer {s['session_token']}"},
    ) as ws:
        closed_with(ws, CLOSE_AUTH, error="token_invalid")


def test_a_slow_trickle_does_not_keep_an_unauthenticated_socket(
    client: TestClient[Any], fast_auth: float
) -> None:
    """Only the first message counts: junk first is refused at once."""
    s = login(client)
    with client.websocket_connect(f"/sessions/{s['session_id']}/live") as ws:
        ws.send_text(json.dumps({"type": "ping"}))
        closed_with(ws, CLOSE_AUTH, error="token_invalid")


def _claims(s: dict[str, Any]) -> dict[str, Any]:
    return forge.parts(s["session_token"])[1]


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("alg-none", "token_invalid"),
        ("other-secret", "token_invalid"),
        ("hs512", "token_invalid"),
        ("epoch-bumped", "token_invalid"),
        ("typ-missing", "token_invalid"),
        ("expired", "token_expired"),
        ("over-4kb", "token_invalid"),
    ],
)
def test_forged_tokens_in_the_auth_message(client: TestClient[Any], name: str, code: str) -> None:
    s = login(client)
    claims = _claims(s)
    head, _body, sig = s["session_token"].split(".")
    token = {
        "alg-none": lambda: forge.token(claims, header={"alg": "none"}, key=None),
        "other-secret": lambda: forge.token(claims, key="x" * 40),
        "hs512": lambda: forge.token(claims, header={"alg": "HS512"}, key=SECRET, digest="HS512"),
        "epoch-bumped": lambda: f"{head}.{forge.segment({**claims, 'ep': claims['ep'] + 1})}.{sig}",
        "typ-missing": lambda: forge.token(
            {k: v for k, v in claims.items() if k != "typ"}, key=SECRET
        ),
        "expired": lambda: forge.token({**claims, "exp": int(time.time()) - 1}, key=SECRET),
        "over-4kb": lambda: forge.token({**claims, "pad": "p" * 4096}, key=SECRET),
    }[name]()
    before = store_state(client)
    with client.websocket_connect(f"/sessions/{s['session_id']}/live") as ws:
        ws.send_text(json.dumps({"type": "auth", "token": token}))
        closed_with(ws, CLOSE_AUTH, error=code)
    assert store_state(client) == before
    usable(client, s)


@pytest.mark.parametrize(
    "first",
    [
        json.dumps({"type": "auth", "token": "x", "admin": True}),  # unknown field
        json.dumps({"type": "AUTH", "token": "x"}),
        json.dumps({"type": "auth", "token": 123}),
        json.dumps({"type": "auth", "token": None}),
        json.dumps({"type": "auth", "token": ["a", "b"]}),
        json.dumps({"type": "auth", "token": "a" * 5000}),
        '{"type": "auth", "token": "\\ud800"}',
        '{"type": "auth", "token": "\\u0000"}',
        "[" * 10_000,
        "",
        "null",
    ],
    ids=[
        "unknown-field",
        "type-upper",
        "token-number",
        "token-null",
        "token-list",
        "message-over-4kb",
        "lone-surrogate",
        "nul",
        "deep",
        "empty",
        "null",
    ],
)
def test_malformed_auth_messages(client: TestClient[Any], first: str) -> None:
    s = login(client)
    with client.websocket_connect(f"/sessions/{s['session_id']}/live") as ws:
        ws.send_text(first)
        closed_with(ws, CLOSE_AUTH, error="token_invalid")


def test_binary_first_frame_is_not_authentication(client: TestClient[Any]) -> None:
    """The auth message must be a text frame (a binary one reads as empty)."""
    s = login(client)
    before = store_state(client)
    with client.websocket_connect(f"/sessions/{s['session_id']}/live") as ws:
        ws.send_bytes(json.dumps({"type": "auth", "token": s["session_token"]}).encode())
        closed_with(ws, CLOSE_AUTH, error="token_invalid")
    assert store_state(client) == before
    usable(client, s)


# -- origin ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    [
        "null",
        "https://evil.example",
        "http://testserver.local.evil.example",
        "http://evil.example#testserver.local",
        "http://testserver.local:8080",
        "ftp://testserver.local",
        "http://evil.example@testserver.local",
        "https://lms.example.evil.example",
        "https://lms.example:444",
        "file://",
        "",
    ],
)
def test_foreign_origins_are_refused_before_auth(client: TestClient[Any], origin: str) -> None:
    s = login(client)
    before = store_state(client)
    with (
        pytest.raises(WebSocketDisconnect) as exc,
        client.websocket_connect(
            f"/sessions/{s['session_id']}/live", headers={"origin": origin}
        ) as ws,
    ):
        ws.send_text(json.dumps({"type": "auth", "token": s["session_token"]}))
        ws.receive_text(timeout=5)
    assert exc.value.code == CLOSE_ORIGIN
    assert store_state(client) == before
    usable(client, s)


@pytest.mark.parametrize("origin", [ALLOWED, "http://testserver.local"])
def test_configured_and_own_origins_are_allowed(client: TestClient[Any], origin: str) -> None:
    s = login(client)
    with client.websocket_connect(
        f"/sessions/{s['session_id']}/live", headers={"origin": origin}
    ) as ws:
        welcome(ws, s["session_token"])


# -- floods and sizes after authentication -------------------------------------------------


@pytest.mark.parametrize(
    "junk",
    ["{{{", json.dumps({"type": "shout"}), json.dumps({"type": "ping", "sent_at": "x"})],
    ids=["malformed", "unknown-type", "bad-field"],
)
def test_a_flood_of_junk_is_closed_with_4429(client: TestClient[Any], junk: str) -> None:
    s = login(client)
    with client.websocket_connect(f"/sessions/{s['session_id']}/live") as ws:
        welcome(ws, s["session_token"])
        before = store_state(client)
        for _ in range(live_socket.FLOOD_LIMIT * 3):
            ws.send_text(junk)
        closed_with(ws, CLOSE_FLOOD, error="rate_limited")
    assert store_state(client) == before
    usable(client, s)


def test_a_flood_of_pings_with_a_question_writes_at_most_one_view(
    client: TestClient[Any],
) -> None:
    s = login(client)
    hdr = {"Authorization": f"Bearer {s['session_token']}"}
    qid = client.get(f"/sessions/{s['session_id']}/question", headers=hdr).json()["question"]["id"]
    with client.websocket_connect(f"/sessions/{s['session_id']}/live") as ws:
        welcome(ws, s["session_token"])
        before = store_state(client)
        for _ in range(live_socket.FLOOD_LIMIT * 3):
            ws.send_text(json.dumps({"type": "ping", "question_id": qid, "sent_at": 1}))
        closed_with(ws, CLOSE_FLOOD, error="rate_limited")
    after = store_state(client)
    aid = s["attempt"]["attempt_id"]
    added = after[aid][len(before[aid]) :]
    assert len(added) <= 1, added
    assert all(b'"question_viewed"' in e for e in added), added


@pytest.mark.parametrize("size", [live_socket.MAX_MESSAGE_BYTES + 1, 1024 * 1024])
def test_an_oversized_message_is_closed_with_4429(client: TestClient[Any], size: int) -> None:
    s = login(client)
    with client.websocket_connect(f"/sessions/{s['session_id']}/live") as ws:
        welcome(ws, s["session_token"])
        before = store_state(client)
        ping = json.dumps({"type": "ping", "sent_at": 1, "question_id": None})
        ws.send_text(ping[:-1] + ', "pad": "' + "p" * size + '"}')
        closed_with(ws, CLOSE_FLOOD, error="rate_limited")
    assert store_state(client) == before
    usable(client, s)


def test_a_message_at_the_size_limit_is_read(client: TestClient[Any]) -> None:
    s = login(client)
    with client.websocket_connect(f"/sessions/{s['session_id']}/live") as ws:
        welcome(ws, s["session_token"])
        ping = json.dumps({"type": "ping", "sent_at": 1, "pad": ""})
        ws.send_text(ping[:-2] + "p" * (live_socket.MAX_MESSAGE_BYTES - len(ping)) + '"}')
        msg = recv(ws)
        while msg["type"] == "tick":
            msg = recv(ws)
        assert msg["type"] == "pong", msg


def test_binary_frames_after_auth_are_junk_and_count_towards_the_flood(
    client: TestClient[Any],
) -> None:
    """A binary frame reads as an empty text message: an error reply, the socket
    stays; a flood of them is closed like any other."""
    s = login(client)
    with client.websocket_connect(f"/sessions/{s['session_id']}/live") as ws:
        welcome(ws, s["session_token"])
        before = store_state(client)
        ws.send_bytes(b"\x00\x01" * 10)
        msg = recv(ws)
        while msg["type"] == "tick":
            msg = recv(ws)
        assert msg == {"type": "error", "code": "malformed_json", "detail": msg["detail"]}
        ws.send_text(json.dumps({"type": "ping", "sent_at": 2}))
        msg = recv(ws)
        while msg["type"] == "tick":
            msg = recv(ws)
        assert msg["type"] == "pong"
        for _ in range(live_socket.FLOOD_LIMIT * 3):
            ws.send_bytes(b"\xff" * 100)
        closed_with(ws, CLOSE_FLOOD, error="rate_limited")
    assert store_state(client) == before
    usable(client, s)
