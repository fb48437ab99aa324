"""Every refusal over HTTP: RFC 9457 problem+json with a stable ``code``, the
status from ``api.problems.HTTP_STATUS``, never a 500, and (promise 8) nothing changed in
the store. ``api.refused`` checks all of that for one request."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.openapi.spec import OpenAPIResponse

from quizsession.adapters.tokens_jwt import JwtTokens
from quizsession.api.problems import HTTP_STATUS, status_for
from quizsession.app.ports import SessionClaims, StoreUnavailable, VersionConflict
from quizsession.app.sessions.activity import WRITE_EVERY_S
from quizsession.domain.errors import ErrorCode
from quizsession.entrypoints.http.routes_sessions import SAVE_BODY_BYTES
from tests.integration.conftest import (
    API_KEY,
    DEMO_RIGHT,
    PROBLEM_JSON,
    SECRET_KEY,
    START,
    Api,
    Session,
    StoreSnapshot,
    assert_problem,
    demo_definition,
)

pytestmark = pytest.mark.usefixtures("demo")

JSON = {"content-type": "application/json"}


def new_events(before: StoreSnapshot, after: StoreSnapshot, attempt_id: str) -> list[bytes]:
    old = before.logs.get(attempt_id, ())
    new = after.logs.get(attempt_id, ())
    assert new[: len(old)] == old, "the log was rewritten"
    return list(new[len(old) :])


# -- the codes a route documents -------------------------------------------------


def test_every_documented_code_is_an_error_code_with_its_status(app: Litestar) -> None:
    """Each route's problem responses come from ``problem_responses``: every code
    listed is an ``ErrorCode`` documented under its status in ``HTTP_STATUS``, and
    every code the service answers over HTTP is documented by some route, but the
    framework's own (any route may answer them)."""
    documented: set[ErrorCode] = set()
    for path in (app.openapi_schema.paths or {}).values():
        for method in ("get", "put", "post", "delete", "patch"):
            operation = getattr(path, method)
            if operation is None or not operation.responses:
                continue
            for status, response in operation.responses.items():
                if not isinstance(response, OpenAPIResponse) or not status.startswith(("4", "5")):
                    continue
                listed = response.description.partition("`code` is one of:")[2]
                for code in re.findall(r"`([a-z_]+)`", listed):
                    known = ErrorCode(code)
                    assert HTTP_STATUS[known] == int(status), (code, status)
                    documented.add(known)
    by_any_route = {
        ErrorCode.BAD_REQUEST,
        ErrorCode.UNSUPPORTED_MEDIA_TYPE,
        ErrorCode.METHOD_NOT_ALLOWED,
        ErrorCode.INTERNAL,
    }
    assert set(ErrorCode) - documented - by_any_route == set()


# -- malformed and mis-shaped bodies ---------------------------------------------


def session_routes(s: Session) -> list[tuple[str, str]]:
    return [
        ("POST", "/sessions"),
        ("POST", f"{s.path}/start"),
        ("PUT", f"{s.path}/progress"),
        ("POST", f"{s.path}/heartbeat"),
        ("POST", f"{s.path}/complete"),
    ]


def admin_body_routes(attempt_id: str) -> list[tuple[str, str]]:
    return [
        ("PUT", "/admin/quizzes/demo"),
        ("POST", "/admin/quizzes/demo/invites"),
        ("POST", f"/admin/attempts/{attempt_id}/extend"),
        ("POST", f"/admin/attempts/{attempt_id}/void"),
        ("POST", f"/admin/attempts/{attempt_id}/reopen"),
    ]


@pytest.mark.parametrize(
    "body",
    [b"{bad", b'{"op_id": "x",}', b"{'op_id': 'x'}", b'{"a": 1} trailing', b"\x00\x01"],
    ids=["bare", "trailing-comma", "single-quotes", "trailing-garbage", "binary"],
)
async def test_malformed_json(api: Api, body: bytes) -> None:
    session = await api.started()
    headers = {**session.headers, **api.admin, **JSON}
    routes = session_routes(session) + admin_body_routes(session.attempt_id)
    for method, path in routes:
        await api.refused(
            api.client.request(method, path, content=body, headers=headers),
            400,
            "malformed_json",
        )


@pytest.mark.parametrize(
    "body",
    [b'{"section": ', b'{"reason": "\\ud800"}', b'{"seconds": 1e400}'],
    ids=["truncated", "lone-surrogate", "out-of-range"],
)
async def test_undecodable_json_is_malformed_json(api: Api, body: bytes) -> None:
    session = await api.started()
    headers = {**session.headers, **api.admin, **JSON}
    routes = session_routes(session) + admin_body_routes(session.attempt_id)
    for method, path in routes:
        await api.refused(
            api.client.request(method, path, content=body, headers=headers),
            400,
            "malformed_json",
        )


async def test_unknown_field(api: Api) -> None:
    session = await api.started()
    body = await api.refused(
        api.save(session, "capital-au", "canberra", "op-1", colour="red"),
        422,
        "validation_error",
    )
    assert body["problems"], body
    assert any("colour" in p["message"] for p in body["problems"]), body
    await api.refused(
        api.client.post("/sessions", json={"invite_token": "x" * 30, "admin": True}),
        422,
        "validation_error",
    )
    await api.refused(
        api.client.post(
            f"/admin/attempts/{session.attempt_id}/extend",
            json={"seconds": 60, "by": "admin:root"},
            headers=api.admin,
        ),
        422,
        "validation_error",
    )


@pytest.mark.parametrize(
    ("route", "payload", "path"),
    [
        ("progress", {"question_id": 5, "answer": "canberra", "op_id": "o"}, "/question_id"),
        ("progress", {"question_id": "capital-au", "answer": {"a": [1]}, "op_id": "o"}, "/answer"),
        ("progress", {"question_id": "capital-au", "answer": "x", "op_id": 7}, "/op_id"),
        (
            "progress",
            {"question_id": "capital-au", "answer": "x", "op_id": "o", "expected_version": "v3"},
            "/expected_version",
        ),
        pytest.param(
            "progress",
            {"question_id": "capital-au", "answer": "x", "op_id": "o", "expected_version": "3"},
            "/expected_version",
            id="progress-numeric-string-version",
        ),
        ("progress", {"question_id": "bad id!", "answer": "x", "op_id": "o"}, "/question_id"),
        ("start", {"section": 1}, "/section"),
        ("start", {"section": "bonus"}, "/section"),
        ("heartbeat", {"question_id": []}, "/question_id"),
        ("complete", {"op_id": False}, "/op_id"),
        ("extend", {"seconds": "a minute"}, "/seconds"),
        pytest.param(
            "extend",
            {"seconds": "60"},
            "/seconds",
            id="extend-numeric-string-seconds",
        ),
        ("extend", {"seconds": 0}, "/seconds"),
        ("extend", {"seconds": 8 * 24 * 3600}, "/seconds"),
        ("reopen", {"extra_seconds": -1}, "/extra_seconds"),
        ("void", {"reason": 42}, "/reason"),
        pytest.param(
            "invites",
            {"roster": [{"name": 1, "email": "a@b.c", "valid_until": "2099-01-01"}]},
            "/roster/0/name",
            id="invites-nested-wrong-type",
        ),
        ("invites", {"roster": "Ann ann@example.org"}, "/roster"),
        ("open", {"invite_token": 123}, "/invite_token"),
        ("open", {"invite_token": "t" * 30, "takeover": "yes"}, "/takeover"),
    ],
)
async def test_wrong_type_names_the_field(
    api: Api, route: str, payload: dict[str, Any], path: str
) -> None:
    session = await api.started()
    targets = {
        "progress": ("PUT", f"{session.path}/progress"),
        "start": ("POST", f"{session.path}/start"),
        "heartbeat": ("POST", f"{session.path}/heartbeat"),
        "complete": ("POST", f"{session.path}/complete"),
        "extend": ("POST", f"/admin/attempts/{session.attempt_id}/extend"),
        "reopen": ("POST", f"/admin/attempts/{session.attempt_id}/reopen"),
        "void": ("POST", f"/admin/attempts/{session.attempt_id}/void"),
        "invites": ("POST", "/admin/quizzes/demo/invites"),
        "open": ("POST", "/sessions"),
    }
    method, url = targets[route]
    body = await api.refused(
        api.client.request(method, url, json=payload, headers={**session.headers, **api.admin}),
        422,
        "validation_error",
    )
    assert [p["path"] for p in body["problems"]] == [path], body


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        ({"answer": "canberra", "op_id": "o"}, "/question_id"),
        ({"question_id": "capital-au", "op_id": "o"}, "/answer"),
        ({"question_id": "capital-au", "answer": "canberra"}, "/op_id"),
    ],
)
async def test_missing_field(api: Api, payload: dict[str, Any], path: str) -> None:
    session = await api.started()
    body = await api.refused(
        api.client.put(f"{session.path}/progress", json=payload, headers=session.headers),
        422,
        "validation_error",
    )
    assert [p["path"] for p in body["problems"]] == [path], body


async def test_missing_field_in_admin_bodies(api: Api) -> None:
    session = await api.started()
    body = await api.refused(
        api.client.post(f"/admin/attempts/{session.attempt_id}/extend", json={}, headers=api.admin),
        422,
        "validation_error",
    )
    assert [p["path"] for p in body["problems"]] == ["/seconds"]


async def test_missing_nested_field_names_its_path(api: Api) -> None:
    body = await api.refused(
        api.client.post(
            "/admin/quizzes/demo/invites",
            json={"roster": [{"name": "Ann", "valid_until": "2099-01-01"}]},
            headers=api.admin,
        ),
        422,
        "validation_error",
    )
    assert [p["path"] for p in body["problems"]] == ["/roster/0/email"]


async def test_missing_body(api: Api) -> None:
    session = await api.started()
    for method, path in [
        ("PUT", f"{session.path}/progress"),
        ("POST", f"{session.path}/start"),
        ("POST", "/sessions"),
        ("POST", f"/admin/attempts/{session.attempt_id}/extend"),
    ]:
        await api.refused(
            api.client.request(method, path, headers={**session.headers, **api.admin}),
            422,
            "validation_error",
        )


async def test_open_session_needs_one_kind_of_credentials(api: Api) -> None:
    invite = await api.invite()
    body = await api.refused(
        api.client.post(
            "/sessions",
            json={"invite_token": invite["token"], "user_id": "u1", "quiz_id": "demo"},
            headers=api.admin,
        ),
        422,
        "validation_error",
    )
    assert "either" in body["detail"]
    await api.refused(api.client.post("/sessions", json={}), 422, "validation_error")
    await api.refused(
        api.client.post("/sessions", json={"user_id": "u1"}, headers=api.admin),
        422,
        "validation_error",
    )


async def test_invite_roster_problems(api: Api) -> None:
    body = await api.refused(
        api.client.post(
            "/admin/quizzes/demo/invites",
            json={
                "roster": [
                    {"name": "Ann", "email": "not-an-email", "valid_until": "2099-13-40"},
                    {"name": " ", "email": "bo@example.org", "valid_until": "2099-01-01T10:00"},
                ]
            },
            headers=api.admin,
        ),
        422,
        "validation_error",
    )
    assert {p["path"] for p in body["problems"]} == {
        "/roster/0/email",
        "/roster/0/valid_until",
        "/roster/1/name",
        "/roster/1/valid_until",
    }
    body = await api.refused(
        api.client.post(
            "/admin/quizzes/demo/invites",
            json={"roster_text": "Ann ann@example.org 2099-01-01 rosterToken-0001-abcdefgh\nBo\n"},
            headers=api.admin,
        ),
        422,
        "validation_error",
    )
    assert body["problems"] == [{"line": 2, "message": "expected: name email valid-until token"}]
    body = await api.refused(
        api.client.post(
            "/admin/quizzes/demo/invites",
            json={"roster_text": "Ann ann@example.org 2099-01-01 short"},
            headers=api.admin,
        ),
        422,
        "validation_error",
    )
    assert [p["path"] for p in body["problems"]] == ["/roster/0/token"]
    await api.refused(
        api.client.post("/admin/quizzes/demo/invites", json={"roster": []}, headers=api.admin),
        422,
        "validation_error",
    )


async def test_put_quiz_id_mismatch(api: Api) -> None:
    await api.refused(
        api.client.put("/admin/quizzes/demo", json=demo_definition("other"), headers=api.admin),
        422,
        "validation_error",
    )


async def test_quiz_invalid_lists_every_problem(api: Api) -> None:
    raw: dict[str, Any] = {
        "id": "broken",
        "title": "",
        "duration_s": -5,
        "colour": "red",
        "opens_at": "tomorrow",
        "policies": {"grace_s": "five", "bogus": 1},
        "test": {
            "questions": [
                {"id": "q1", "kind": "single", "text": "Pick", "choices": []},
                {"id": "q2", "kind": "drag_and_drop", "text": "Drag"},
                {"id": "q3", "kind": "true_false", "text": "T?", "correct": True, "choices": []},
            ]
        },
    }
    body = await api.refused(
        api.client.put("/admin/quizzes/broken", json=raw, headers=api.admin),
        422,
        "quiz_invalid",
    )
    paths = [p["path"] for p in body["problems"]]
    assert all(isinstance(p["message"], str) and p["message"] for p in body["problems"])
    assert sorted(paths) == sorted(
        [
            "/title",
            "/duration_s",
            "/colour",
            "/opens_at",
            "/policies/grace_s",
            "/policies/bogus",
            "/test/questions/0/choices",
            "/test/questions/1/kind",
            "/test/questions/2/choices",
        ]
    ), paths
    assert body["detail"] == f"the quiz definition has {len(body['problems'])} problem(s)"
    r = await api.client.get("/admin/quizzes/broken", headers=api.admin)
    assert_problem(r, 404, "not_found")


async def test_body_too_large(api: Api) -> None:
    session = await api.started()
    limit = api.container.settings.max_body_bytes
    # A save's limit is raised to hold an essay at its cap in any script.
    save_limit = max(limit, SAVE_BODY_BYTES)
    huge = b'{"question_id": "red-planet", "answer": "' + b"x" * save_limit + b'", "op_id": "o"}'
    await api.refused(
        api.client.put(
            f"{session.path}/progress", content=huge, headers={**session.headers, **JSON}
        ),
        413,
        "body_too_large",
    )
    await api.refused(
        api.client.post("/sessions", content=b'{"x": "' + b"y" * limit + b'"}', headers=JSON),
        413,
        "body_too_large",
    )
    await api.refused(
        api.client.post(
            f"/admin/attempts/{session.attempt_id}/extend",
            content=b'{"reason": "' + b"y" * limit + b'"}',
            headers={**api.admin, **JSON},
        ),
        413,
        "body_too_large",
    )


async def test_admin_imports_have_a_larger_but_finite_limit(api: Api) -> None:
    raw = demo_definition("big", instructions="x" * 100_000)  # over the session limit
    r = await api.client.put("/admin/quizzes/big", json=raw, headers=api.admin)
    assert r.status_code == 422  # instructions are capped at 50 000, but the body got in
    assert r.json()["code"] == "quiz_invalid"
    huge = b'{"id": "big", "title": "' + b"x" * (8 * 1024 * 1024 + 1) + b'"}'
    await api.refused(
        api.client.put("/admin/quizzes/big", content=huge, headers={**api.admin, **JSON}),
        413,
        "body_too_large",
    )


# -- who you are -------------------------------------------------------------------


async def test_missing_bearer_token(api: Api) -> None:
    session = await api.started()
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": f"Basic {session.token}"}):
        body = await api.refused(
            api.client.put(
                f"{session.path}/progress",
                json={"question_id": "capital-au", "answer": "canberra", "op_id": "o"},
                headers=headers,
            ),
            401,
            "token_invalid",
        )
        assert body["instance"] == f"{session.path}/progress"


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b.c",
        "eyJhbGciOiJub25lIn0.eyJ0eXAiOiJxcy1zZXNzaW9uIn0.",  # alg: none
        "x" * 5000,
    ],
    ids=["garbage", "three-parts", "alg-none", "oversized"],
)
async def test_garbled_bearer_token(api: Api, token: str) -> None:
    session = await api.started()
    await api.refused(
        api.save(
            Session(session.session_id, token, session.attempt_id, {}),
            "capital-au",
            "canberra",
            "o",
        ),
        401,
        "token_invalid",
    )


async def test_tampered_bearer_token(api: Api) -> None:
    session = await api.started()
    head, payload, signature = session.token.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    forged = Session(session.session_id, f"{head}.{payload}.{flipped}", session.attempt_id, {})
    await api.refused(api.save(forged, "capital-au", "canberra", "o"), 401, "token_invalid")


async def test_expired_bearer_token(api: Api) -> None:
    session = await api.started()
    api.clock.advance(api.container.settings.token_ttl_s + 1)
    await api.refused(api.save(session, "capital-au", "canberra", "o"), 401, "token_expired")
    await api.refused(api.client.get(session.path, headers=session.headers), 401, "token_expired")


async def test_foreign_bearer_token(api: Api) -> None:
    """A well-formed token signed with another deployment's secret."""
    session = await api.started()
    other = JwtTokens("another-deployment-secret-" + "z" * 32, api.clock)
    token = other.issue(
        SessionClaims(
            session_id=session.session_id,
            attempt_id=session.attempt_id,
            epoch=1,
            issued_at=START,
            expires_at=START + 900,
        )
    )
    forged = Session(session.session_id, token, session.attempt_id, {})
    await api.refused(api.save(forged, "capital-au", "canberra", "o"), 401, "token_invalid")


async def test_token_for_another_session(api: Api) -> None:
    mine = await api.started()
    theirs = await api.started()
    borrowed = Session(theirs.session_id, mine.token, theirs.attempt_id, {})
    await api.refused(api.save(borrowed, "capital-au", "sydney", "o"), 401, "token_invalid")
    await api.refused(api.client.get(theirs.path, headers=mine.headers), 401, "token_invalid")
    await api.refused(api.client.delete(theirs.path, headers=mine.headers), 401, "token_invalid")


async def test_invite_invalid(api: Api) -> None:
    await api.refused(
        api.client.post("/sessions", json={"invite_token": "no-such-invite-token-123456"}),
        401,
        "invite_invalid",
    )


async def test_invite_expired(api: Api) -> None:
    invite = await api.invite(valid_until="2027-01-15T09:00:00+00:00")  # START + 1 h
    api.clock.advance(3601)
    await api.refused(
        api.client.post("/sessions", json={"invite_token": invite["token"]}),
        401,
        "invite_expired",
    )


def admin_routes(attempt_id: str) -> list[tuple[str, str, Any]]:
    extend = {"seconds": 60}
    return [
        ("PUT", "/admin/quizzes/demo", demo_definition(duration_s=1200)),
        ("GET", "/admin/quizzes", None),
        ("GET", "/admin/quizzes/demo", None),
        ("GET", "/admin/quizzes/demo/live", None),
        ("POST", "/admin/quizzes/demo/apply-timing", None),
        (
            "POST",
            "/admin/quizzes/demo/invites",
            {"roster": [{"name": "E", "email": "e@example.org", "valid_until": "2099-01-01"}]},
        ),
        ("GET", "/admin/attempts", None),
        ("GET", f"/admin/attempts/{attempt_id}", None),
        ("GET", f"/admin/attempts/{attempt_id}/events", None),
        ("GET", f"/admin/attempts/{attempt_id}/timeline", None),
        ("POST", f"/admin/attempts/{attempt_id}/extend", extend),
        ("POST", f"/admin/attempts/{attempt_id}/unlock", None),
        ("POST", f"/admin/attempts/{attempt_id}/void", {"reason": "x"}),
        ("POST", f"/admin/attempts/{attempt_id}/reopen", {"extra_seconds": 60}),
    ]


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "api_key_required"),
        ({"X-API-Key": "wrong-key-0123456789abcdef"}, "api_key_invalid"),
        ({"X-API-Key": ""}, "api_key_invalid"),
        ({"X-API-Key": API_KEY[:-1]}, "api_key_invalid"),
        ({"X-API-Key": API_KEY + " "}, "api_key_invalid"),
        ({"Authorization": f"Bearer {API_KEY}"}, "api_key_required"),
    ],
    ids=["none", "wrong", "empty", "prefix", "padded", "as-bearer"],
)
async def test_admin_routes_need_a_valid_api_key(
    api: Api, headers: dict[str, str], code: str
) -> None:
    session = await api.started()
    for method, path, payload in admin_routes(session.attempt_id):
        await api.refused(
            api.client.request(method, path, json=payload, headers=headers), 401, code
        )


async def test_admin_key_with_non_ascii_bytes(api: Api) -> None:
    await api.refused(
        api.client.get("/admin/quizzes", headers={b"X-API-Key": "é".encode() * 20}),
        401,
        "api_key_invalid",
    )


async def test_backend_login_needs_an_api_key(api: Api) -> None:
    await api.refused(
        api.client.post("/sessions", json={"user_id": "u1", "quiz_id": "demo"}),
        401,
        "api_key_required",
    )
    await api.refused(
        api.client.post(
            "/sessions",
            json={"user_id": "u1", "quiz_id": "demo"},
            headers={"X-API-Key": "wrong-key-0123456789abcdef"},
        ),
        401,
        "api_key_invalid",
    )


async def test_session_tokens_do_not_open_admin_routes(api: Api) -> None:
    session = await api.started()
    await api.refused(
        api.client.get(f"/admin/attempts/{session.attempt_id}", headers=session.headers),
        401,
        "api_key_required",
    )


# -- what exists ----------------------------------------------------------------------


async def test_not_found_unknown_attempt(api: Api) -> None:
    for method, path, payload in admin_routes("a_000000000000000000000000"):
        if "/attempts/a_" not in path:
            continue
        await api.refused(
            api.client.request(method, path, json=payload, headers=api.admin), 404, "not_found"
        )


async def test_not_found_unknown_quiz(api: Api) -> None:
    await api.refused(api.client.get("/admin/quizzes/nope", headers=api.admin), 404, "not_found")
    await api.refused(
        api.client.get("/admin/quizzes/demo", params={"version": 2}, headers=api.admin),
        404,
        "not_found",
    )
    await api.refused(
        api.client.post("/admin/quizzes/nope/apply-timing", headers=api.admin), 404, "not_found"
    )
    await api.refused(
        api.client.get("/admin/quizzes/nope/live", headers=api.admin), 404, "not_found"
    )
    await api.refused(
        api.client.post(
            "/admin/quizzes/nope/invites",
            json={"roster": [{"name": "A", "email": "a@example.org", "valid_until": "2099-01-01"}]},
            headers=api.admin,
        ),
        404,
        "not_found",
    )
    await api.refused(
        api.client.post("/sessions", json={"user_id": "u1", "quiz_id": "nope"}, headers=api.admin),
        404,
        "not_found",
    )


async def test_unknown_session_id(api: Api) -> None:
    session = await api.started()
    # Without a token for it, an unknown session is an authentication failure
    # (the service does not say which session ids exist).
    await api.refused(
        api.client.get("/sessions/s_unknown", headers=session.headers), 401, "token_invalid"
    )
    await api.refused(api.client.get("/sessions/s_unknown"), 401, "token_invalid")
    # A validly signed token for a session whose attempt does not exist: 404.
    tokens = JwtTokens(SECRET_KEY, api.clock)
    ghost_token = tokens.issue(
        SessionClaims(
            session_id="s_ghost",
            attempt_id="a_ghost",
            epoch=1,
            issued_at=START,
            expires_at=START + 900,
        )
    )
    ghost = Session("s_ghost", ghost_token, "a_ghost", {})
    await api.refused(api.client.get(ghost.path, headers=ghost.headers), 404, "not_found")
    await api.refused(api.save(ghost, "capital-au", "canberra", "o"), 404, "not_found")
    await api.refused(
        api.client.post(f"{ghost.path}/heartbeat", headers=ghost.headers), 404, "not_found"
    )
    await api.refused(
        api.client.post(f"{ghost.path}/complete", headers=ghost.headers), 404, "not_found"
    )
    await api.refused(
        api.client.post(f"{ghost.path}/start", json={}, headers=ghost.headers), 404, "not_found"
    )
    await api.refused(
        api.client.get(f"{ghost.path}/question", headers=ghost.headers), 404, "not_found"
    )
    await api.refused(api.client.delete(ghost.path, headers=ghost.headers), 404, "not_found")


@pytest.mark.parametrize(
    "path", ["/nope", "/sessions/x/y/z", "/admin/nope", "/admin/attempts/a/b/c", "/%00"]
)
async def test_not_found_unknown_path(api: Api, path: str) -> None:
    await api.refused(api.client.get(path, headers=api.admin), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", "/sessions/s_x"),
        ("PUT", "/sessions/s_x"),
        ("GET", "/sessions"),
        ("DELETE", "/sessions"),
        ("GET", "/sessions/s_x/progress"),
        ("POST", "/sessions/s_x/question"),
        ("DELETE", "/admin/quizzes/demo"),
        ("POST", "/admin/quizzes/demo"),
        ("GET", "/admin/attempts/a_x/extend"),
        ("GET", "/sessions/s_x/live"),
        ("DELETE", "/admin/attempts/a_x"),
        ("POST", "/healthz"),
        ("PUT", "/readyz"),
    ],
)
async def test_method_not_allowed(api: Api, method: str, path: str) -> None:
    await api.refused(
        api.client.request(method, path, headers=api.admin), 405, "method_not_allowed"
    )


async def test_bad_query_parameters(api: Api) -> None:
    for params in (
        {"limit": "abc"},
        {"limit": 0},
        {"limit": 1001},
        {"offset": -1},
        {"status": "pending"},
        {"quiz_id": "q" * 200},
    ):
        body = await api.refused(
            api.client.get("/admin/attempts", params=params, headers=api.admin),
            422,
            "validation_error",
        )
        assert [p["path"] for p in body["problems"]] == ["/" + next(iter(params))], body
    await api.refused(
        api.client.get("/admin/quizzes/demo", params={"version": 0}, headers=api.admin),
        422,
        "validation_error",
    )


# -- the state of the attempt ------------------------------------------------------------


async def test_session_active_with_retry_after(api: Api) -> None:
    await api.load_demo("strict", policies={"second_login": "refuse"})
    invite = await api.invite("strict")
    await api.login(invite["token"])
    api.clock.advance(5)
    r_body = await api.refused(
        api.client.post("/sessions", json={"invite_token": invite["token"]}),
        409,
        "session_active",
    )
    assert r_body["takeover_allowed"] is False
    assert r_body["retry_after"] == 10
    r = await api.client.post("/sessions", json={"invite_token": invite["token"], "takeover": True})
    assert_problem(r, 409, "session_active")
    assert r.headers["retry-after"] == "10"


async def test_session_active_where_takeover_is_allowed(api: Api) -> None:
    invite = await api.invite()
    await api.login(invite["token"])
    before = await api.snapshot()
    r = await api.client.post("/sessions", json={"invite_token": invite["token"]})
    body = assert_problem(r, 409, "session_active")
    assert body["takeover_allowed"] is True
    assert r.headers["retry-after"] == "15"
    assert await api.snapshot() == before


async def test_session_superseded_after_takeover(api: Api) -> None:
    invite = await api.invite()
    old = await api.login(invite["token"])
    await api.start(old)
    await api.question(old)
    await api.login(invite["token"], takeover=True)
    await api.refused(api.save(old, "capital-au", "canberra", "o1"), 409, "session_superseded")
    await api.refused(api.client.get(old.path, headers=old.headers), 409, "session_superseded")
    await api.refused(
        api.client.post(f"{old.path}/heartbeat", headers=old.headers), 409, "session_superseded"
    )
    await api.refused(
        api.client.get(f"{old.path}/question", headers=old.headers), 409, "session_superseded"
    )
    await api.refused(
        api.client.post(f"{old.path}/complete", headers=old.headers), 409, "session_superseded"
    )


async def test_session_closed_after_logout(api: Api) -> None:
    session = await api.started()
    r = await api.client.delete(session.path, headers=session.headers)
    assert r.status_code == 204
    await api.refused(api.save(session, "capital-au", "canberra", "o1"), 401, "session_closed")
    await api.refused(api.client.get(session.path, headers=session.headers), 401, "session_closed")
    await api.refused(
        api.client.get(f"{session.path}/question", headers=session.headers), 401, "session_closed"
    )
    await api.refused(
        api.client.post(f"{session.path}/heartbeat", headers=session.headers),
        401,
        "session_closed",
    )
    await api.refused(
        api.client.post(f"{session.path}/complete", headers=session.headers),
        401,
        "session_closed",
    )


async def test_session_closed_after_unlock(api: Api) -> None:
    session = await api.started()
    r = await api.client.post(f"/admin/attempts/{session.attempt_id}/unlock", headers=api.admin)
    assert r.status_code == 200
    await api.refused(api.save(session, "capital-au", "canberra", "o1"), 401, "session_closed")


async def test_session_idle_timeout(api: Api) -> None:
    await api.load_demo("idle", policies={"idle_timeout_s": 60, "second_login": "takeover"})
    session = await api.open_session("idle")
    api.clock.advance(61 + WRITE_EVERY_S)  # an idle close is at most this late
    before = await api.snapshot()
    r = await api.client.get(session.path, headers=session.headers)
    assert_problem(r, 401, "session_idle_timeout")
    after = await api.snapshot()
    # The refusal records only that the session ended for idleness (the log is the
    # audit trail); nothing the request asked for happened.
    added = new_events(before, after, session.attempt_id)
    assert len(added) == 1
    assert b'"type":"session_closed"' in added[0]
    assert b'"reason":"idle"' in added[0]
    assert b'"by":"system"' in added[0]  # the service's idle timeout, not the candidate
    # Asking again changes nothing more.
    await api.refused(
        api.client.get(session.path, headers=session.headers), 401, "session_idle_timeout"
    )


async def test_attempt_closed_after_complete(api: Api) -> None:
    session = await api.started()
    r = await api.client.post(f"{session.path}/complete", headers=session.headers)
    assert r.status_code == 200
    await api.refused(api.save(session, "capital-au", "canberra", "o1"), 409, "attempt_closed")
    await api.refused(
        api.client.get(f"{session.path}/question", headers=session.headers), 409, "attempt_closed"
    )
    await api.refused(
        api.client.post(f"{session.path}/start", json={"section": "test"}, headers=session.headers),
        409,
        "attempt_closed",
    )
    await api.refused(
        api.client.post(
            f"/admin/attempts/{session.attempt_id}/extend", json={"seconds": 60}, headers=api.admin
        ),
        409,
        "attempt_closed",
    )


async def test_attempt_voided(api: Api) -> None:
    invite = await api.invite()
    session = await api.login(invite["token"])
    await api.start(session)
    r = await api.client.post(
        f"/admin/attempts/{session.attempt_id}/void", json={"reason": "x"}, headers=api.admin
    )
    assert r.status_code == 200
    api.clock.advance(1)
    await api.refused(
        api.client.post("/sessions", json={"invite_token": invite["token"]}), 409, "attempt_voided"
    )
    await api.refused(
        api.client.post(
            f"/admin/attempts/{session.attempt_id}/extend", json={"seconds": 60}, headers=api.admin
        ),
        409,
        "attempt_voided",
    )
    await api.refused(api.save(session, "capital-au", "canberra", "o1"), 409, "attempt_voided")


async def test_deadline_passed(api: Api) -> None:
    session = await api.started()
    api.clock.advance(600 + 5 + 0.001)  # just past deadline + grace
    before = await api.snapshot()
    r = await api.save(session, "capital-au", "canberra", "late")
    body = assert_problem(r, 409, "deadline_passed")
    assert body["deadline"] == START + 600
    after = await api.snapshot()
    # The late answer is not there; the only change is the submission that was due
    # anyway (the reaper would have made it), finished at the deadline.
    added = new_events(before, after, session.attempt_id)
    assert all(b'"answer_saved"' not in e for e in added), added
    assert len(added) == 1  # the live session stays open to read the result
    assert b'"type":"submitted"' in added[0]
    assert b'"reason":"deadline"' in added[0]
    detail = await api.detail(session.attempt_id)
    assert detail["attempt"]["result"]["finished_at"] == START + 600
    assert detail["attempt"]["answers"] == {}
    assert await api.reap() == 0


async def test_deadline_passed_for_a_new_question(api: Api) -> None:
    session = await api.started()
    assert (await api.save(session, "capital-au", "canberra", "o1")).status_code == 200
    api.clock.advance(606)
    r = await api.client.get(f"{session.path}/question", headers=session.headers)
    assert_problem(r, 409, "deadline_passed")
    events = await api.events(session.attempt_id)
    assert "question_delivered" not in [e["type"] for e in events[-2:]]
    assert events[-1]["type"] == "submitted"


async def test_complete_after_deadline_and_grace(api: Api) -> None:
    session = await api.started()
    api.clock.advance(606)
    r = await api.client.post(f"{session.path}/complete", headers=session.headers)
    assert_problem(r, 409, "deadline_passed")
    result = (await api.detail(session.attempt_id))["attempt"]["result"]
    assert result["reason"] == "deadline"
    assert result["finished_at"] == START + 600


async def test_a_write_within_grace_counts(api: Api) -> None:
    session = await api.started()
    api.clock.advance(600 + 4.9)
    r = await api.save(session, "capital-au", "canberra", "just-in-time")
    assert r.status_code == 200, r.text
    assert r.json()["time_remaining_s"] == 0


async def test_section_not_started(api: Api) -> None:
    session = await api.open_session()
    await api.refused(
        api.client.get(f"{session.path}/question", headers=session.headers),
        409,
        "section_not_started",
    )
    await api.refused(api.save(session, "capital-au", "canberra", "o1"), 409, "section_not_started")
    await api.refused(
        api.client.post(f"{session.path}/complete", headers=session.headers),
        409,
        "section_not_started",
    )


async def test_section_state(api: Api) -> None:
    session = await api.started()
    await api.refused(
        api.client.post(
            f"{session.path}/start", json={"section": "practice"}, headers=session.headers
        ),
        409,
        "section_state",
    )


async def test_section_state_practice_over(api: Api) -> None:
    session = await api.open_session()
    await api.start(session, "practice")
    r = await api.client.post(f"{session.path}/complete", headers=session.headers)
    assert r.status_code == 200
    await api.refused(
        api.client.post(
            f"{session.path}/start", json={"section": "practice"}, headers=session.headers
        ),
        409,
        "section_state",
    )


async def test_no_such_section(api: Api) -> None:
    await api.load_demo("testonly", practice=None)
    session = await api.open_session("testonly")
    await api.refused(
        api.client.post(
            f"{session.path}/start", json={"section": "practice"}, headers=session.headers
        ),
        422,
        "no_such_section",
    )


async def test_question_not_delivered(api: Api) -> None:
    session = await api.started()
    await api.refused(api.save(session, "primes", ["n2"], "o1"), 409, "question_not_delivered")
    # Sequential navigation keeps what lies ahead unknown: a practice question
    # (not a test question) and an id that is no question get the same answer.
    await api.refused(api.save(session, "p-colour", "a", "o2"), 409, "question_not_delivered")
    await api.refused(api.save(session, "nope", "a", "o3"), 409, "question_not_delivered")


async def test_question_unknown(api: Api) -> None:
    """With free navigation the plan is shown: an id that is no question of the
    section is unknown."""
    await api.load_demo(navigation="free")
    session = await api.started()
    await api.refused(api.save(session, "nope", "a", "o1"), 422, "question_unknown")
    await api.refused(api.save(session, "p-colour", "a", "o2"), 422, "question_unknown")


@pytest.mark.parametrize(
    "answer",
    ["brisbane", True, ["canberra"], 3, "", "CANBERRA"],
    ids=["not-a-choice", "bool", "list", "number", "empty", "wrong-case"],
)
async def test_answer_invalid(api: Api, answer: Any) -> None:
    session = await api.started()
    body = await api.refused(api.save(session, "capital-au", answer, "o1"), 422, "answer_invalid")
    assert body["question_id"] == "capital-au"


async def test_answer_invalid_by_kind(api: Api) -> None:
    session = await api.started()
    cases: list[tuple[str, Any, Any]] = [
        ("primes", ["n2", "n2"], ["n2", "n11", "n17"]),
        ("noble-gases", "he", ["he", "ar"]),
        ("great-wall", "false", False),
        ("water-boils", 1, True),
        ("red-planet", "x" * 2001, "Mars"),
        ("hamlet-author", ["Shakespeare"], "Shakespeare"),
        ("speed-of-light", "300", 300),
        ("pi-digits", True, 3.14),
    ]
    assert (await api.save(session, "capital-au", "canberra", "ok-0")).status_code == 200
    for n, (qid, bad, good) in enumerate(cases, start=1):
        question = (await api.question(session))["question"]
        assert question["id"] == qid
        await api.refused(api.save(session, qid, bad, f"bad-{n}"), 422, "answer_invalid")
        assert (await api.save(session, qid, good, f"ok-{n}")).status_code == 200
        api.clock.advance(1)  # stay under the write rate limit


async def test_version_mismatch(api: Api) -> None:
    session = await api.started()
    version = (await api.client.get(session.path, headers=session.headers)).json()["version"]
    body = await api.refused(
        api.save(session, "capital-au", "canberra", "o1", expected_version=version - 1),
        409,
        "version_mismatch",
    )
    assert body["version"] == version


async def test_op_id_conflict(api: Api) -> None:
    session = await api.started()
    assert (await api.save(session, "capital-au", "canberra", "o1")).status_code == 200
    await api.refused(api.save(session, "capital-au", "sydney", "o1"), 409, "op_id_conflict")
    # The same op id for another kind of write is a conflict too.
    await api.refused(
        api.client.post(f"{session.path}/complete", json={"op_id": "o1"}, headers=session.headers),
        409,
        "op_id_conflict",
    )


async def test_reopen_not_allowed(api: Api) -> None:
    session = await api.started()
    path = f"/admin/attempts/{session.attempt_id}/reopen"
    await api.refused(
        api.client.post(path, json={"extra_seconds": 60}, headers=api.admin), 409, "not_allowed"
    )
    fresh = await api.open_session()
    await api.refused(
        api.client.post(
            f"/admin/attempts/{fresh.attempt_id}/reopen",
            json={"extra_seconds": 60},
            headers=api.admin,
        ),
        409,
        "not_allowed",
    )
    # Submitted and past the deadline: reopening without extra time is refused.
    await api.client.post(f"{session.path}/complete", headers=session.headers)
    api.clock.advance(700)
    await api.refused(api.client.post(path, json={}, headers=api.admin), 409, "not_allowed")


async def test_quiz_not_open_is_refused(api: Api) -> None:
    await api.load_demo("later", opens_at=START + 3600)
    invite = await api.invite("later")
    r = await api.client.post("/sessions", json={"invite_token": invite["token"]})
    body = assert_problem(r, 403, "quiz_not_open")
    assert body["opens_at"] == START + 3600
    api.clock.advance(3600)
    session = await api.login(invite["token"])
    await api.start(session)


async def test_quiz_not_open_changes_nothing(api: Api) -> None:
    await api.load_demo("later", opens_at=START + 3600)
    invite = await api.invite("later")
    await api.refused(
        api.client.post("/sessions", json={"invite_token": invite["token"]}), 403, "quiz_not_open"
    )
    await api.refused(
        api.client.post("/sessions", json={"user_id": "u9", "quiz_id": "later"}, headers=api.admin),
        403,
        "quiz_not_open",
    )


async def test_quiz_closed(api: Api) -> None:
    await api.load_demo("window", opens_at=START - 3600, closes_at=START + 60)
    session = await api.open_session("window")
    api.clock.advance(61)
    body = await api.refused(
        api.client.post(f"{session.path}/start", json={"section": "test"}, headers=session.headers),
        403,
        "quiz_closed",
    )
    assert body["closes_at"] == START + 60


async def test_deadline_is_capped_by_the_window(api: Api) -> None:
    await api.load_demo("window", opens_at=START - 3600, closes_at=START + 60)
    session = await api.open_session("window")
    view = await api.start(session)
    assert view["deadline"] == START + 60


# -- capacity ------------------------------------------------------------------------------


async def test_rate_limited_logins_for_one_candidate(api: Api) -> None:
    limit = api.container.settings.login_limit_per_minute
    await api.backend_login("u-busy")
    for _ in range(limit - 1):
        r = await api.client.post(
            "/sessions", json={"user_id": "u-busy", "quiz_id": "demo"}, headers=api.admin
        )
        assert_problem(r, 409, "session_active")
    before = await api.snapshot()
    r = await api.client.post(
        "/sessions",
        json={"user_id": "u-busy", "quiz_id": "demo", "takeover": True},
        headers=api.admin,
    )
    body = assert_problem(r, 429, "rate_limited")
    assert r.headers["retry-after"] == "60"
    assert body["retry_after"] == 60
    assert await api.snapshot() == before
    # Another candidate is not affected; the limit lifts after its window.
    await api.backend_login("u-calm")
    api.clock.advance(61)
    await api.backend_login("u-busy")


async def test_rate_limited_invite_guessing(api: Api) -> None:
    limit = api.container.settings.failed_login_limit_per_minute
    for n in range(limit):
        r = await api.client.post("/sessions", json={"invite_token": f"guess-{n:04d}-abcdefghijk"})
        assert_problem(r, 401, "invite_invalid")
    invite = await api.invite()
    await api.refused(
        api.client.post("/sessions", json={"invite_token": invite["token"]}), 429, "rate_limited"
    )


async def test_rate_limited_writes(api: Api) -> None:
    session = await api.started()
    limit = api.container.settings.write_limit_per_second
    for n in range(limit):
        r = await api.save(session, "capital-au", "canberra" if n % 2 else "sydney", f"w{n}")
        assert r.status_code == 200, r.text
    r_body = await api.refused(
        api.save(session, "capital-au", "perth", "w-over"), 429, "rate_limited"
    )
    assert r_body["retry_after"] == 1
    api.clock.advance(1)
    assert (await api.save(session, "capital-au", "perth", "w-over")).status_code == 200


async def test_store_unavailable(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    session = await api.started()

    async def down(*_args: object, **_kwargs: object) -> int:
        raise StoreUnavailable("disk on fire")

    monkeypatch.setattr(api.container.store, "append", down)
    await api.refused(api.save(session, "capital-au", "canberra", "o1"), 503, "store_unavailable")
    monkeypatch.undo()
    r = await api.save(session, "capital-au", "canberra", "o1")
    assert r.status_code == 200, r.text
    assert r.json()["replayed"] is False


async def test_busy_when_the_attempt_keeps_moving(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = await api.started()

    async def moved(attempt_id: str, expected: int, *_args: object) -> int:
        raise VersionConflict(attempt_id, expected, expected + 1)

    monkeypatch.setattr(api.container.store, "append", moved)
    await api.refused(api.save(session, "capital-au", "canberra", "o1"), 503, "busy")


# -- hostile bodies on every route ---------------------------------------------------------

DEEP = b"[" * 1000 + b"]" * 1000
BIG_ANSWER = (
    b'{"question_id": "red-planet", "answer": "' + b"\xc3\xa9" * 25_000 + b'", "op_id": "big"}'
)
HOSTILE: list[Any] = [
    pytest.param(b"", id="empty"),
    pytest.param(b"null", id="null"),
    pytest.param(b"[]", id="array"),
    pytest.param(b"{}", id="object"),
    pytest.param(b"0", id="number"),
    pytest.param(b'"text"', id="string"),
    pytest.param(
        DEEP,
        id="deep-array",
    ),
    pytest.param(
        b'{"answer": ' + DEEP + b"}",
        id="deep-in-object",
    ),
    pytest.param(BIG_ANSWER, id="50kb-answer"),
    pytest.param(
        b'{"question_id": "capital-au", "answer": "\\ud800", "op_id": "\\udc00"}',
        id="lone-surrogates",
    ),
    pytest.param(
        b'{"question_id": "\\ud83d\\ude00", "answer": "\\u202e", "op_id": "\\ufeff"}',
        id="odd-unicode",
    ),
    pytest.param(b"\xef\xbb\xbf{}", id="utf8-bom"),
    pytest.param(
        b'{"question_id": "capital-au", "answer": "\\u0000", "op_id": "\\u0000",'
        b' "reason": "\\u0000", "invite_token": "\\u0000", "section": "\\u0000"}',
        id="escaped-nul",
    ),
    pytest.param(b'{"answer": "a\x00b"}', id="raw-nul"),
    pytest.param(b"\x00" * 64, id="nul-bytes"),
    pytest.param(
        b'{"invite_token": "\xff\xfe"}',
        id="invalid-utf8",
    ),
    pytest.param(b'{"seconds": 1e999, "extra_seconds": -1e999}', id="huge-numbers"),
    pytest.param(
        b'{"roster_text": "' + b"a b@c.d 2099-01-01 \\u0000" * 10 + b'"}', id="roster-nul"
    ),
]


# Every API route, the destructive ones last ({session_id}, {attempt_id}, {quiz_id}
# are filled in by ``walk``).
WALK: list[tuple[str, str]] = [
    ("POST", "/sessions"),
    ("GET", "/sessions/{session_id}"),
    ("POST", "/sessions/{session_id}/start"),
    ("GET", "/sessions/{session_id}/question"),
    ("GET", "/sessions/{session_id}/questions"),
    ("GET", "/sessions/{session_id}/questions/capital-au"),
    ("PUT", "/sessions/{session_id}/flags/capital-au"),
    ("POST", "/sessions/{session_id}/questions/capital-au/check"),
    ("GET", "/sessions/{session_id}/review"),
    ("PUT", "/sessions/{session_id}/progress"),
    ("POST", "/sessions/{session_id}/heartbeat"),
    ("GET", "/sessions/{session_id}/live"),
    ("PUT", "/admin/quizzes/{quiz_id}"),
    ("GET", "/admin/quizzes"),
    ("GET", "/admin/quizzes/{quiz_id}"),
    ("GET", "/admin/quizzes/{quiz_id}/live"),
    ("POST", "/admin/quizzes/{quiz_id}/apply-timing"),
    ("POST", "/admin/quizzes/{quiz_id}/invites"),
    ("GET", "/admin/attempts"),
    ("GET", "/admin/attempts/{attempt_id}"),
    ("GET", "/admin/attempts/{attempt_id}/events"),
    ("GET", "/admin/attempts/{attempt_id}/timeline"),
    ("GET", "/admin/attempts/{attempt_id}/analytics"),
    ("GET", "/admin/attempts/{attempt_id}/review"),
    ("GET", "/admin/quizzes/{quiz_id}/results"),
    ("GET", "/admin/quizzes/{quiz_id}/item-analysis"),
    ("GET", "/admin/quizzes/{quiz_id}/report.html"),
    ("POST", "/admin/attempts/{attempt_id}/extend"),
    ("GET", "/admin/quizzes/{quiz_id}/grading"),
    ("PUT", "/admin/attempts/{attempt_id}/grades/capital-au"),
    ("POST", "/admin/quizzes/{quiz_id}/regrade"),
    ("PUT", "/admin/candidates/{candidate_id}/accommodation"),
    ("GET", "/admin/candidates/{candidate_id}/accommodation"),
    ("GET", "/admin/accommodations"),
    ("POST", "/admin/lti/platforms"),
    ("GET", "/admin/lti/platforms"),
    ("GET", "/admin/lti/platforms/{platform_id}"),
    ("GET", "/admin/lti/urls"),
    ("GET", "/lti/login"),
    ("POST", "/lti/login"),
    ("POST", "/lti/launch"),
    ("POST", "/lti/deep-link"),
    ("POST", "/lti/continue"),
    ("GET", "/lti/jwks"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/schema/openapi.json"),
    ("POST", "/nope"),
    ("POST", "/sessions/{session_id}/complete"),
    ("POST", "/admin/attempts/{attempt_id}/reopen"),
    ("POST", "/admin/attempts/{attempt_id}/unlock"),
    ("POST", "/admin/attempts/{attempt_id}/void"),
    ("POST", "/admin/webhooks"),
    ("GET", "/admin/webhooks"),
    ("GET", "/admin/webhooks/{endpoint_id}"),
    ("PATCH", "/admin/webhooks/{endpoint_id}"),
    ("GET", "/admin/webhooks/{endpoint_id}/deliveries"),
    ("POST", "/admin/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver"),
    ("DELETE", "/admin/candidates/{candidate_id}/accommodation"),
    ("DELETE", "/admin/lti/platforms/{platform_id}"),
    ("DELETE", "/admin/webhooks/{endpoint_id}"),
    ("DELETE", "/sessions/{session_id}"),
]


def walk(session: Session, attempt_id: str) -> list[tuple[str, str]]:
    ids = {
        "session_id": session.session_id,
        "attempt_id": attempt_id,
        "quiz_id": "demo",
        "candidate_id": "cand-1",
        "platform_id": "lti_0123456789abcdef",
        "endpoint_id": "wh_0123456789abcdef",
        "delivery_id": "1",
    }
    return [(method, template.format(**ids)) for method, template in WALK]


async def test_the_walk_covers_every_api_route(api: Api) -> None:
    """A route added to the API without being added to ``WALK`` fails here."""
    doc = (await api.client.get("/schema/openapi.json")).json()
    declared = {
        (method.upper(), path)
        for path, operations in doc["paths"].items()
        for method in operations
        if method.upper() in {"GET", "POST", "PUT", "PATCH", "DELETE"}
    }
    assert declared, doc["paths"]
    templates = {(m, p.replace("{question_id}", "capital-au")) for m, p in declared}
    assert templates <= set(WALK), sorted(templates - set(WALK))


@pytest.mark.parametrize("body", HOSTILE)
async def test_hostile_bodies_never_500(api: Api, body: bytes) -> None:
    session = await api.started()
    other = await api.started()
    failures: list[str] = []
    for auth in ("candidate", "admin", "none"):
        headers = dict(JSON)
        if auth == "candidate":
            headers.update(session.headers)
        elif auth == "admin":
            headers.update(api.admin)
        target = session if auth != "admin" else other
        for method, path in walk(
            target, other.attempt_id if auth == "admin" else session.attempt_id
        ):
            before = await api.snapshot()
            r = await api.client.request(method, path, content=body, headers=headers)
            api.clock.advance(1)  # keep clear of the per-second write limit
            label = f"{auth} {method} {path} -> {r.status_code} {r.text[:200]}"
            if r.status_code >= 500 and path != "/readyz":
                failures.append(label)
                continue
            if r.status_code >= 400:
                if not r.headers.get("content-type", "").startswith(PROBLEM_JSON):
                    failures.append("not problem+json: " + label)
                    continue
                problem = r.json()
                if (
                    problem.get("status") != r.status_code
                    or status_for(str(problem.get("code"))) is None
                ):
                    failures.append("bad problem: " + label)
                if await api.snapshot() != before:
                    failures.append("refusal changed the store: " + label)
    assert not failures, "\n".join(failures)


HOSTILE_HEADERS: list[dict[str, Any]] = [
    {"Authorization": b"Bearer \xc3\xa9"},
    {"Authorization": b"Bearer \xff\xfe"},
    {"Authorization": "Bearer"},
    {"Authorization": "bearer    "},
    {"X-API-Key": b"\xff" * 20},
    {"X-API-Key": "x" * 10_000},
    {"content-type": "application/x-www-form-urlencoded"},
    {"content-type": "multipart/form-data; boundary=zzz"},
    {"content-type": "text/plain"},
    {"content-length": "5"},
]


@pytest.mark.parametrize("headers", HOSTILE_HEADERS)
async def test_hostile_headers_never_500(api: Api, headers: dict[str, Any]) -> None:
    session = await api.started()
    body = b'{"question_id": "capital-au", "answer": "canberra", "op_id": "h"}'
    # Valid credentials of both kinds, then the hostile header on top.
    merged: dict[str, Any] = {**session.headers, **api.admin, **JSON, **headers}
    failures: list[str] = []
    sent = 0
    for method, path in walk(session, session.attempt_id)[:-5]:
        before = await api.snapshot()
        try:
            r = await api.client.request(method, path, content=body, headers=merged)
        except httpx.LocalProtocolError:
            continue  # the client refuses to send it: nothing reached the server
        sent += 1
        label = f"{method} {path} -> {r.status_code} {r.text[:200]}"
        if r.status_code >= 500 and path != "/readyz":
            failures.append(label)
        elif r.status_code >= 400:
            if not r.headers.get("content-type", "").startswith(PROBLEM_JSON):
                failures.append("not problem+json: " + label)
            elif await api.snapshot() != before:
                failures.append("refusal changed the store: " + label)
    assert sent > 0, "no request was sent"
    assert not failures, "\n".join(failures)


async def _asgi_put(
    app: Litestar, path: str, headers: dict[str, str], parts: list[bytes]
) -> tuple[int, bytes]:
    """PUT ``parts`` as separate ASGI messages (as a server passes a chunked or
    slow body); returns the status and the body of the answer."""
    incoming = [
        {"type": "http.request", "body": part, "more_body": n < len(parts) - 1}
        for n, part in enumerate(parts)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PUT",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


async def test_a_body_in_several_asgi_messages_is_read_whole(api: Api, app: Litestar) -> None:
    session = await api.started()
    question = (await api.question(session))["question"]
    body = {"question_id": question["id"], "answer": DEMO_RIGHT[question["id"]], "op_id": "c1"}
    parts = _split(json.dumps(body).encode(), 4)
    assert len(parts) == 4
    headers = {**session.headers, **JSON}
    status, answer = await _asgi_put(app, f"{session.path}/progress", headers, parts)
    assert status == 200, answer
    assert json.loads(answer)["saved"] is True
    # Over the limit only once the parts are added up: refused, nothing saved.
    # (A save's limit is raised to hold an essay at its cap in any script.)
    limit = max(api.container.settings.max_body_bytes, SAVE_BODY_BYTES)
    before = await api.snapshot()
    status, answer = await _asgi_put(
        app, f"{session.path}/progress", headers, [b" " * (limit // 2 + 1)] * 2
    )
    assert (status, json.loads(answer)["code"]) == (413, "body_too_large")
    # A client gone before the end of its body: 400, nothing saved.
    status, answer = await _asgi_put(app, f"{session.path}/progress", headers, [])
    assert status == 400, answer
    assert await api.snapshot() == before


def _split(data: bytes, pieces: int) -> list[bytes]:
    step = -(-len(data) // pieces)
    return [data[i : i + step] for i in range(0, len(data), step)]
