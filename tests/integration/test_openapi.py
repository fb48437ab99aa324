"""The OpenAPI document: the one the service serves is the one committed in
``docs/openapi.json`` (so an API change shows in review as a diff of that file),
and it describes exactly the HTTP routes the app registers.

The live WebSocket (``/sessions/{id}/live``) is not an HTTP operation and OpenAPI
cannot describe it; the web pages and their assets (``/take``, ``/admin``,
``/static/...``) and the schema's own routes (``/schema/...``) are excluded from
the document on purpose.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from quizsession.api.problems import status_for

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "openapi.json"
SCHEMA_PATH = "/schema/openapi.json"
PROBLEM_JSON = "application/problem+json"
METHODS = frozenset({"get", "put", "post", "delete", "patch"})
#: Routes served outside the API, each left out of the document on purpose (the
#: Prometheus scrape endpoint included).
NOT_API = re.compile(r"^/(take|admin|metrics|static/.*|schema(/.*)?)$")
#: Operations that never answer 4xx (liveness; readiness answers 200 or 503).
NEVER_4XX = frozenset({"/healthz", "/readyz", "/lti/jwks"})


def render(document: dict[str, Any]) -> str:
    """The committed form (the same as ``scripts/dump_openapi.py``'s)."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def openapi_path(route_path: str) -> str:
    """``/sessions/{session_id:str}`` -> ``/sessions/{session_id}``."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", route_path)


def registered(app: Litestar) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(method, path) of every HTTP operation the app registers, split into those
    included in the schema and those excluded (OPTIONS and HEAD, which the
    framework adds by itself, are left out)."""
    included: set[tuple[str, str]] = set()
    excluded: set[tuple[str, str]] = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue  # the WebSocket route
        path = openapi_path(route.path)
        for handler in route.route_handlers:
            for method in handler.http_methods:
                name = method.lower()
                if name not in METHODS:
                    continue
                target = included if handler.resolve_include_in_schema() else excluded
                target.add((name, path))
    return included, excluded


def documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    paths: dict[str, dict[str, Any]] = document["paths"]
    return {(method, path) for path, ops in paths.items() for method in ops if method in METHODS}


@pytest.fixture
async def served(client: AsyncTestClient[Litestar]) -> dict[str, Any]:
    response = await client.get(SCHEMA_PATH)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


async def test_the_served_document_is_the_committed_one(served: dict[str, Any]) -> None:
    assert COMMITTED.exists(), f"{COMMITTED} is missing: run `make openapi` to create it"
    committed = COMMITTED.read_text(encoding="utf-8")
    assert committed == render(served), (
        f"{COMMITTED.relative_to(ROOT)} differs from the document the service serves at "
        f"{SCHEMA_PATH}: run `make openapi` to refresh it, and review the diff"
    )


async def test_every_route_is_documented_and_nothing_else(
    app: Litestar, served: dict[str, Any]
) -> None:
    included, excluded = registered(app)
    in_document = documented(served)
    assert included - in_document == set(), "routes missing from the document"
    assert in_document - included == set(), "documented operations with no route"
    # Nothing of the API is left out: only the pages, assets and schema routes are.
    assert {path for _method, path in excluded if not NOT_API.match(path)} == set()
    assert not any(NOT_API.match(path) for _method, path in in_document)
    assert "/sessions/{session_id}/live" not in served["paths"]
    # Sanity: the walk found the API (it did not compare two empty sets).
    assert {("post", "/sessions"), ("put", "/sessions/{session_id}/progress")} <= included
    assert {("get", "/take"), ("get", "/admin")} <= excluded


def _problem_statuses(operation: dict[str, Any]) -> set[str]:
    responses: dict[str, dict[str, Any]] = operation.get("responses", {})
    return {
        status
        for status, response in responses.items()
        if status.startswith("4") and PROBLEM_JSON in response.get("content", {})
    }


async def test_every_operation_declares_a_problem_response(served: dict[str, Any]) -> None:
    missing = sorted(
        f"{method.upper()} {path}"
        for path, ops in served["paths"].items()
        for method, operation in ops.items()
        if method in METHODS and path not in NEVER_4XX and not _problem_statuses(operation)
    )
    assert missing == []


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, ops in document["paths"].items()
        for method, operation in ops.items()
        if method in METHODS
    ]


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node))
    return set()


async def test_every_reference_resolves(served: dict[str, Any]) -> None:
    schemas = served["components"]["schemas"]
    refs = _refs(served)
    assert "#/components/schemas/ProblemDetails" in refs
    prefix = "#/components/schemas/"
    assert {r for r in refs if not r.startswith(prefix) or r[len(prefix) :] not in schemas} == set()


async def test_errors_are_documented_as_problems_only(served: dict[str, Any]) -> None:
    """No trace of Litestar's default ``{status_code, detail, extra}`` 400: every
    4xx/5xx an operation declares is problem+json with a status and codes from
    ``api.problems.HTTP_STATUS`` (``/readyz``'s 503 may also be its readiness body)."""
    wrong: list[str] = []
    for method, path, operation in _operations(served):
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            label = f"{method.upper()} {path} {status}"
            content = response.get("content", {})
            if PROBLEM_JSON not in content:
                wrong.append(f"{label}: not problem+json")
                continue
            if set(content) - {PROBLEM_JSON} and (path, status) != ("/readyz", "503"):
                wrong.append(f"{label}: other media types {sorted(content)}")
            schema = content[PROBLEM_JSON]["schema"]
            if schema != {"$ref": "#/components/schemas/ProblemDetails"}:
                wrong.append(f"{label}: schema {schema}")
            listed = response["description"].partition("`code` is one of:")[2]
            codes = re.findall(r"`([a-z_]+)`", listed)
            if not codes or any(status_for(code) != int(status) for code in codes):
                wrong.append(f"{label}: codes {codes}")
    assert wrong == []


async def test_security_is_declared(served: dict[str, Any]) -> None:
    schemes = served["components"]["securitySchemes"]
    assert schemes["sessionToken"] == {
        **schemes["sessionToken"],
        "type": "http",
        "scheme": "bearer",
    }
    assert schemes["apiKey"] == {**schemes["apiKey"], "type": "apiKey", "in": "header"}
    assert schemes["apiKey"]["name"] == "X-API-Key"
    for method, path, operation in _operations(served):
        security = operation.get("security")
        label = f"{method.upper()} {path}"
        if path in NEVER_4XX:
            assert security is None, label
        elif path == "/sessions":
            # An invite needs no credentials; a backend login needs the API key.
            assert security == [{}, {"apiKey": []}], label
        elif path.startswith("/sessions/"):
            assert security == [{"sessionToken": []}], label
            assert "401" in operation["responses"], label
        elif path.startswith("/admin/"):
            assert security == [{"apiKey": []}], label
            assert "401" in operation["responses"], label
        elif security is not None:
            # Anything else (ops endpoints) names a defined scheme and says 401.
            assert {name for req in security for name in req} <= set(schemes), label
            assert "401" in operation["responses"], label


def closed(name: str) -> dict[str, Any]:
    """A body schema refusing unknown members (as the service does)."""
    return {
        "allOf": [{"$ref": f"#/components/schemas/{name}"}],
        "unevaluatedProperties": {"not": {}},
    }


async def test_bodies_refuse_unknown_members(served: dict[str, Any]) -> None:
    for method, path, operation in _operations(served):
        if "requestBody" not in operation:
            continue
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert schema.get("unevaluatedProperties") == {"not": {}}, f"{method} {path}"
        assert schema["allOf"][0]["$ref"].startswith("#/components/schemas/"), f"{method} {path}"


async def test_what_the_signatures_cannot_say(served: dict[str, Any]) -> None:
    paths = served["paths"]
    session = "/sessions/{session_id}"
    # Optional bodies: nothing, or the object (a JSON null is refused).
    for action, body in (("heartbeat", "HeartbeatBody"), ("complete", "CompleteBody")):
        request = paths[f"{session}/{action}"]["post"]["requestBody"]
        assert request["required"] is False
        assert request["content"]["application/json"]["schema"] == closed(body)
    assert paths["/sessions/{session_id}/progress"]["put"]["requestBody"]["required"] is True
    # Logout: 204 without content.
    assert "content" not in paths[session]["delete"]["responses"]["204"]
    # Results: JSON or CSV; the report: HTML.
    results = paths["/admin/quizzes/{quiz_id}/results"]["get"]["responses"]["200"]["content"]
    assert results["application/json"]["schema"] == {"$ref": "#/components/schemas/QuizResults"}
    assert results["text/csv"]["schema"]["type"] == "string"
    report = paths["/admin/quizzes/{quiz_id}/report.html"]["get"]["responses"]["200"]["content"]
    assert set(report) == {"text/html"}
    # Readiness: 200 or 503 with its body, or the draining problem.
    ready = paths["/readyz"]["get"]["responses"]
    readiness = {"$ref": "#/components/schemas/Readiness"}
    assert ready["200"]["content"]["application/json"]["schema"] == readiness
    assert ready["503"]["content"]["application/json"]["schema"] == readiness
    assert PROBLEM_JSON in ready["503"]["content"]
    # POST /sessions: an invite, or a backend login; never both.
    login = paths["/sessions"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert [s["required"] for s in login["allOf"][1]["oneOf"]] == [
        ["invite_token"],
        ["user_id", "quiz_id"],
    ]
    # The quiz definition, in and out.
    definition = {"$ref": "#/components/schemas/QuizDefinition"}
    quiz = paths["/admin/quizzes/{quiz_id}"]
    put_body = quiz["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert put_body == closed("QuizDefinition")
    assert quiz["get"]["responses"]["200"]["content"]["application/json"]["schema"] == definition
    # Retry-After is documented where it is sent.
    assert "Retry-After" in paths[f"{session}/progress"]["put"]["responses"]["429"]["headers"]
    # Handler docstrings are the operations' descriptions.
    assert "takeover" in paths["/sessions"]["post"]["description"]
