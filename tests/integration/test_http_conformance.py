"""The HTTP edge says what it does: what each content type gets, what a second
logout gets, ``/metrics``'s content type, ``OPTIONS``'s ``Allow`` on every
route, and integral numbers in integer fields (in process, memory store, fake
clock; the limits only a real server enforces are in
``tests/security/test_resource_limits.py``)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from tests.integration.conftest import DEMO_RIGHT, Api, Session, demo_definition

pytestmark = pytest.mark.usefixtures("demo")

JSON = {"content-type": "application/json"}
NOT_JSON = {
    "text/plain": "text/plain",
    "text/plain-utf8": "text/plain; charset=utf-8",
    "form": "application/x-www-form-urlencoded",
    "multipart": "multipart/form-data; boundary=xyz",
    "xml": "application/xml",
    "text-xml": "text/xml",
    "octet-stream": "application/octet-stream",
    "json-in-latin-1": "application/json; charset=iso-8859-1",
    "json-lookalike": "application/jsonp",
}


def body_routes(app: Litestar, session: Session) -> list[tuple[str, str]]:
    """Every (method, concrete path) whose handler takes a JSON body, from the
    app's own routes."""
    values = {
        "session_id": session.session_id,
        "attempt_id": session.attempt_id,
        "quiz_id": "demo",
        "question_id": "capital-au",
        "candidate_id": "cand-1",
        "endpoint_id": "wh_none",
        "delivery_id": "1",
        "platform_id": "none",
    }
    found: list[tuple[str, str]] = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if "body" not in handler.opt:
                continue
            path = re.sub(r"\{([a-z_]+)(?::[a-z]+)?\}", lambda m: values[m.group(1)], route.path)
            found.extend((method, path) for method in sorted(handler.http_methods))
    return found


def save_body(question_id: str, op_id: str, **extra: Any) -> bytes:
    body = {"question_id": question_id, "answer": DEMO_RIGHT[question_id], "op_id": op_id}
    return json.dumps({**body, **extra}).encode()


# -- content types ---------------------------------------------------------------------


@pytest.mark.parametrize("content_type", list(NOT_JSON.values()), ids=list(NOT_JSON))
async def test_a_body_that_is_not_json_is_415_on_every_body_route(
    api: Api, app: Litestar, content_type: str
) -> None:
    session = await api.started()
    routes = body_routes(app, session)
    assert ("PUT", f"{session.path}/progress") in routes
    assert len(routes) >= 10
    headers = {**session.headers, **api.admin, "content-type": content_type}
    for method, path in routes:
        await api.refused(
            api.client.request(method, path, content=b"{}", headers=headers),
            415,
            "unsupported_media_type",
        )


@pytest.mark.parametrize("content_type", [None, *NOT_JSON.values()])
async def test_a_valid_answer_with_another_content_type_is_not_saved(
    api: Api, content_type: str | None
) -> None:
    """The answer is well-formed JSON of the right shape: only its content type
    is wrong (or missing), and nothing is saved."""
    session = await api.started()
    headers = dict(session.headers)
    if content_type is not None:
        headers["content-type"] = content_type
    request = api.client.put(
        f"{session.path}/progress", content=save_body("capital-au", "o1"), headers=headers
    )
    await api.refused(request, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "Application/JSON",
        "application/json; charset=utf-8",
        'application/json;charset="UTF-8"',
        "application/vnd.quizsession+json",
        "application/merge-patch+json; charset=utf-8",
    ],
)
async def test_json_and_plus_json_bodies_are_read(api: Api, content_type: str) -> None:
    session = await api.started()
    r = await api.client.put(
        f"{session.path}/progress",
        content=save_body("capital-au", "o1"),
        headers={**session.headers, "content-type": content_type},
    )
    assert r.status_code == 200, r.text
    assert r.json()["saved"] is True


async def test_an_optional_body_may_be_absent_without_a_content_type(api: Api) -> None:
    session = await api.started()
    r = await api.client.post(f"{session.path}/heartbeat", headers=session.headers)
    assert r.status_code == 200, r.text


async def test_an_empty_required_body_is_still_a_validation_error(api: Api) -> None:
    await api.started()
    await api.refused(
        api.client.post("/sessions", content=b"", headers={"content-type": "text/plain"}),
        422,
        "validation_error",
    )


# -- logging out twice ---------------------------------------------------------------------


async def test_a_second_logout_is_refused_like_any_request_of_an_ended_session(api: Api) -> None:
    session = await api.started()
    r = await api.client.delete(session.path, headers=session.headers)
    assert r.status_code == 204, r.text
    second = api.client.delete(session.path, headers=session.headers)
    await api.refused(second, 401, "session_closed")
    # The same code as every other route gives the closed session.
    await api.refused(api.client.get(session.path, headers=session.headers), 401, "session_closed")


async def test_logging_out_a_superseded_session_is_refused_as_superseded(api: Api) -> None:
    invite = await api.invite()
    old = await api.login(invite["token"])
    api.clock.advance(16)  # the lease lapsed: the next login needs no takeover
    await api.login(invite["token"])
    await api.refused(api.client.delete(old.path, headers=old.headers), 409, "session_superseded")


# -- /metrics -------------------------------------------------------------------------------


async def test_metrics_names_its_charset_once(api: Api) -> None:
    r = await api.client.get("/metrics", headers=api.admin)
    assert r.status_code == 200, r.text
    content_type = r.headers["content-type"]
    assert content_type.lower().count("charset") == 1, content_type
    assert content_type.startswith("text/plain")


# -- OPTIONS ----------------------------------------------------------------------------------


def _concrete(path: str) -> str:
    return re.sub(
        r"\{([a-z_]+)(?::([a-z]+))?\}",
        lambda m: "1" if m.group(2) == "int" else f"x-{m.group(1)}",
        path,
    )


async def test_options_allow_names_every_method_of_every_route(api: Api, app: Litestar) -> None:
    checked = 0
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        r = await api.client.options(_concrete(route.path))
        assert r.status_code == 204, (route.path, r.status_code, r.text)
        allowed = {m.strip() for m in r.headers["allow"].split(",")}
        assert allowed == set(route.methods), route.path
        checked += 1
    assert checked >= 30


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/sessions/s1", {"GET", "DELETE", "OPTIONS"}),
        ("/admin/quizzes/q1", {"GET", "PUT", "OPTIONS"}),
    ],
)
async def test_options_on_routes_with_two_handlers(api: Api, path: str, methods: set[str]) -> None:
    r = await api.client.options(path)
    assert {m.strip() for m in r.headers["allow"].split(",")} == methods


# -- integers --------------------------------------------------------------------------------


async def test_an_integral_number_is_an_integer(api: Api) -> None:
    """``105.0`` is an integer in JSON Schema: ``expected_version`` takes it."""
    session = await api.started()
    version = (await api.client.get(session.path, headers=session.headers)).json()["version"]
    r = await api.client.put(
        f"{session.path}/progress",
        content=save_body("capital-au", "o1", expected_version=float(version)),
        headers={**session.headers, **JSON},
    )
    assert r.status_code == 200, r.text
    stale = api.client.put(
        f"{session.path}/progress",
        content=save_body("capital-au", "o2", expected_version=float(version)),
        headers={**session.headers, **JSON},
    )
    await api.refused(stale, 409, "version_mismatch")


@pytest.mark.parametrize(
    "value", [105.5, "105", True, -1.0, -1], ids=["fraction", "string", "bool", "neg", "neg-int"]
)
async def test_what_is_not_an_integer_stays_refused(api: Api, value: object) -> None:
    session = await api.started()
    request = api.client.put(
        f"{session.path}/progress",
        content=save_body("capital-au", "o1", expected_version=value),
        headers={**session.headers, **JSON},
    )
    await api.refused(request, 422, "validation_error")


async def test_a_huge_integral_number_is_an_integer_too(api: Api) -> None:
    """``1e300`` is a whole number: not the attempt's version, and nothing else."""
    session = await api.started()
    request = api.client.put(
        f"{session.path}/progress",
        content=save_body("capital-au", "o1", expected_version=1e300),
        headers={**session.headers, **JSON},
    )
    await api.refused(request, 409, "version_mismatch")


def _with_difficulty(value: object) -> dict[str, Any]:
    raw = demo_definition("whole")
    raw["test"]["questions"][0]["difficulty"] = value
    return raw


async def test_a_quiz_definition_takes_integral_numbers_for_integers(api: Api) -> None:
    stored = await api.put_quiz(_with_difficulty(3.0))
    assert stored["id"] == "whole"
    r = await api.client.get("/admin/quizzes/whole", headers=api.admin)
    assert r.json()["test"]["questions"][0]["difficulty"] == 3


async def test_a_quiz_definition_refuses_a_fraction_for_an_integer(api: Api) -> None:
    request = api.client.put("/admin/quizzes/whole", json=_with_difficulty(2.5), headers=api.admin)
    await api.refused(request, 422, "quiz_invalid")
