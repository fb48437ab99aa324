"""Attacks on the administrator API. Every ``/admin`` operation the OpenAPI
document lists (so a new route is covered the day it is added) refuses a missing
key, a wrong key, a key sent anywhere but the ``X-API-Key`` header, and a
candidate's session token, with a problem+json ``code`` and nothing changed.

``tests/integration/test_http_errors.py`` checks missing/wrong/empty/prefix/padded
keys on the original admin routes; this file adds the report routes, keys in the
query string, cookies and other headers, session tokens in every slot, key
rotation and the audit trail of which key acted.
"""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from quizsession.bootstrap import build
from quizsession.entrypoints.http.app import create_app
from tests.integration.conftest import (
    API_KEY,
    OTHER_ADMIN_NAME,
    OTHER_API_KEY,
    Api,
    Session,
    assert_problem,
    demo_definition,
    make_settings,
)

pytestmark = pytest.mark.usefixtures("demo")

#: A valid body for each admin operation that takes one (method, path template).
BODIES: dict[tuple[str, str], Any] = {
    ("put", "/admin/quizzes/{quiz_id}"): demo_definition(duration_s=1200),
    ("post", "/admin/quizzes/{quiz_id}/invites"): {
        "roster": [{"name": "Eve", "email": "eve@example.org", "valid_until": "2099-01-01"}]
    },
    ("post", "/admin/attempts/{attempt_id}/extend"): {"seconds": 60},
    ("post", "/admin/attempts/{attempt_id}/void"): {"reason": "x"},
    ("post", "/admin/attempts/{attempt_id}/reopen"): {"extra_seconds": 60},
    ("put", "/admin/candidates/{candidate_id}/accommodation"): {"multiplier": 1.5},
    ("put", "/admin/attempts/{attempt_id}/grades/{question_id}"): {"points": 1},
    ("post", "/admin/quizzes/{quiz_id}/regrade"): {"dry_run": True},
    ("post", "/admin/webhooks"): {"url": "https://backend.example.org/hook"},
    ("patch", "/admin/webhooks/{endpoint_id}"): {"enabled": True},
    ("post", "/admin/lti/platforms"): {
        "issuer": "https://lms.example.org",
        "client_id": "tool-1",
        "deployment_ids": ["d1"],
        "auth_login_url": "https://lms.example.org/auth",
        "jwks_url": "https://lms.example.org/jwks",
    },
}

#: Ids for the path templates of resources the walk does not create itself.
NO_IDS: dict[str, str] = {
    "endpoint_id": "wh_none",
    "delivery_id": "1",
    "platform_id": "none",
    "question_id": "capital-australia",
}


async def admin_operations(
    api: Api, attempt_id: str, ids: dict[str, str] | None = None
) -> list[tuple[str, str, Any]]:
    """(METHOD, concrete path, body) of every ``/admin`` operation in the served
    OpenAPI document."""
    doc = (await api.client.get("/schema/openapi.json")).json()
    found: list[tuple[str, str, Any]] = []
    for template, operations in doc["paths"].items():
        if not template.startswith("/admin"):
            continue
        for method, operation in operations.items():
            if method not in {"get", "put", "post", "delete", "patch"}:
                continue
            if "requestBody" in operation:
                assert (method, template) in BODIES, (
                    f"{method.upper()} {template} takes a body: add a valid one to BODIES"
                )
            body = BODIES.get((method, template))
            path = template.format(
                quiz_id="demo", attempt_id=attempt_id, candidate_id="cand-1", **(ids or NO_IDS)
            )
            found.append((method.upper(), path, body))
    assert len(found) >= 18, found  # the scan works: quizzes, attempts and reports
    # Outside the document but behind the key too (unless QUIZSESSION_METRICS_PUBLIC).
    found.append(("GET", "/metrics", None))
    return found


async def assert_admin_refused(
    api: Api,
    session: Session,
    headers: dict[str, str],
    code: str,
    *,
    params: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
) -> None:
    if cookies:
        api.client.cookies.update(cookies)
    try:
        for method, path, body in await admin_operations(api, session.attempt_id):
            await api.refused(
                api.client.request(method, path, json=body, headers=headers, params=params),
                401,
                code,
            )
    finally:
        api.client.cookies.clear()


async def test_positive_control_the_key_opens_every_route(api: Api) -> None:
    """The walk below refuses for the key's sake, not for a broken request."""
    session = await api.started()
    key = {"x-api-key": API_KEY}
    await api.client.put(
        "/admin/candidates/cand-1/accommodation", json={"multiplier": 1.5}, headers=key
    )
    endpoint = await api.client.post(
        "/admin/webhooks", json=BODIES[("post", "/admin/webhooks")], headers=key
    )
    platform = await api.client.post(
        "/admin/lti/platforms", json=BODIES[("post", "/admin/lti/platforms")], headers=key
    )
    assert endpoint.status_code == platform.status_code == 201, (endpoint.text, platform.text)
    ids = {
        "endpoint_id": endpoint.json()["id"],
        "delivery_id": "1",
        "platform_id": platform.json()["id"],
        "question_id": "capital-australia",
    }
    for method, path, body in await admin_operations(api, session.attempt_id, ids):
        if method != "GET":
            continue
        r = await api.client.request(method, path, json=body, headers={"x-api-key": API_KEY})
        assert r.status_code == 200, (method, path, r.text)


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "api_key_required"),
        ({"X-API-Key": "wrong-key-0123456789abcdef"}, "api_key_invalid"),
        ({"X-API-Key": API_KEY.upper()}, "api_key_invalid"),
        ({"X-API-Key": f"{API_KEY},{API_KEY}"}, "api_key_invalid"),
        ({"X-API-Key": "ops"}, "api_key_invalid"),  # the key's name, not the key
        ({"X-API-Key": f"ops={API_KEY}"}, "api_key_invalid"),  # the settings syntax
        ({"X-API-Key": API_KEY[:8] + "*" * 16}, "api_key_invalid"),
        ({"Authorization": f"ApiKey {API_KEY}"}, "api_key_required"),
        ({"Authorization": f"Basic {API_KEY}"}, "api_key_required"),
        ({"Api-Key": API_KEY}, "api_key_required"),
        ({"X-Api-Token": API_KEY}, "api_key_required"),
        ({"X-API-Key-Name": "ops"}, "api_key_required"),
    ],
    ids=[
        "none",
        "wrong",
        "upper-case",
        "repeated",
        "key-name",
        "settings-syntax",
        "masked",
        "authorization-apikey",
        "authorization-basic",
        "api-key-header",
        "x-api-token-header",
        "name-header",
    ],
)
async def test_every_admin_route_needs_the_key(
    api: Api, headers: dict[str, str], code: str
) -> None:
    session = await api.started()
    await assert_admin_refused(api, session, headers, code)


@pytest.mark.parametrize(
    "param", ["api_key", "apikey", "x-api-key", "X-API-Key", "key", "token", "access_token"]
)
async def test_key_in_the_query_string_is_ignored(api: Api, param: str) -> None:
    session = await api.started()
    await assert_admin_refused(api, session, {}, "api_key_required", params={param: API_KEY})


async def test_key_in_a_cookie_is_ignored(api: Api) -> None:
    session = await api.started()
    await assert_admin_refused(
        api, session, {}, "api_key_required", cookies={"X-API-Key": API_KEY, "api_key": API_KEY}
    )


async def test_a_candidates_session_token_is_not_an_admin_key(api: Api) -> None:
    session = await api.started()
    await assert_admin_refused(api, session, {"X-API-Key": session.token}, "api_key_invalid")
    await assert_admin_refused(api, session, session.headers, "api_key_required")


async def test_a_candidate_cannot_log_in_as_a_backend(api: Api) -> None:
    """``POST /sessions`` with ``user_id``/``quiz_id`` is the backend's door: a
    session token, a query key or a wrong key do not open it."""
    session = await api.started()
    body = {"user_id": "intruder", "quiz_id": "demo"}
    for headers, params, code in (
        (session.headers, None, "api_key_required"),
        ({"X-API-Key": session.token}, None, "api_key_invalid"),
        ({}, {"api_key": API_KEY}, "api_key_required"),
    ):
        await api.refused(
            api.client.post("/sessions", json=body, headers=headers, params=params), 401, code
        )


async def test_key_in_the_query_with_a_valid_header_changes_nothing(api: Api) -> None:
    """A wrong key in the query does not spoil a valid header (it is not read)."""
    r = await api.client.get(
        "/admin/quizzes", headers=api.admin, params={"api_key": "wrong-key-0123456789abcdef"}
    )
    assert r.status_code == 200, r.text


async def test_every_admin_change_names_the_key_that_made_it(api: Api) -> None:
    """With one key per client, a leaked key's actions can be told apart in the
    audit log (and the key removed)."""
    session = await api.started()
    r = await api.client.post(
        f"/admin/attempts/{session.attempt_id}/extend",
        json={"seconds": 60, "reason": "audit"},
        headers={"X-API-Key": OTHER_API_KEY},
    )
    assert r.status_code == 200, r.text
    events = await api.events(session.attempt_id)
    extended = [e for e in events if e["type"] == "time_extended"]
    assert extended, events
    assert extended[-1]["data"]["by"] == f"admin:{OTHER_ADMIN_NAME}"


async def test_api_key_rotation(api: Api) -> None:
    """Add the new key, switch clients, remove the old one: while both are listed
    both work; once the old one is removed it is refused like any wrong key."""
    old, new = "old-key-0123456789abcdef", "new-key-fedcba9876543210"
    for keys, accepted, refused in (
        (f"old={old},new={new}", [old, new], []),
        (f"new={new}", [new], [old]),
    ):
        container = build(make_settings(api_keys=keys), clock=api.clock)
        await container.start(reaper=False)
        try:
            async with AsyncTestClient(create_app(container, manage_lifespan=False)) as client:
                for key in accepted:
                    r = await client.get("/admin/quizzes", headers={"X-API-Key": key})
                    assert r.status_code == 200, r.text
                for key in refused:
                    r = await client.get("/admin/quizzes", headers={"X-API-Key": key})
                    assert_problem(r, 401, "api_key_invalid")
        finally:
            await container.stop()


@pytest.mark.parametrize("keys", ["ops=short", "ops", "=0123456789abcdef0123", "ops=" + " " * 20])
def test_weak_or_malformed_api_key_settings_are_refused_at_startup(keys: str) -> None:
    with pytest.raises(ValueError, match="QUIZSESSION_API_KEYS"):
        make_settings(api_keys=keys).admin_keys()
