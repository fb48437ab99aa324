"""Hostile input: oversized bodies (declared and streamed), deep nesting at the
depth limit, huge answers at the length limit, and odd Unicode (RTL override,
zero-width characters, NUL and other controls, lone surrogates, astral
characters) in names, answers and ids. Each is either stored and returned
exactly, or refused with a problem+json ``code`` and nothing changed; never a 500.

``tests/integration/test_http_errors.py`` sends a list of hostile bodies to every
route and checks "never a 500, never a change"; this file checks the exact
boundaries and that what is accepted comes back byte for byte, on the memory
store, on SQLite and through encryption at rest.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar

from quizsession.adapters.store.encrypted import new_key
from quizsession.entrypoints.http.routes_sessions import SAVE_BODY_BYTES
from quizsession.settings import Settings
from tests.integration.conftest import (
    DEMO_RIGHT,
    PROBLEM_JSON,
    Api,
    Session,
    assert_problem,
    make_settings,
)

pytestmark = pytest.mark.usefixtures("demo")

JSON = {"content-type": "application/json"}
MAX_TEXT = 2000  # domain.scoring.MAX_TEXT_ANSWER
MAX_DEPTH = 64  # entrypoints.http.bodies.MAX_DEPTH

ODD_TEXT: dict[str, str] = {
    "rtl-override": "Ann \u202eelpmaxE\u202c",
    "rtl-isolates": "\u2067Mars\u2069 \u2066x\u2069",
    "zero-width": "M\u200ba\u200cr\u200ds\u2060\ufeff",
    "bom-first": "\ufeffMars",
    "nul": "Ma\u0000rs",
    "controls": "\u0007\u001b[31mred\u001b[0m\r\n\t\u0085\u2028\u2029",
    "combining": "e\u0301\u0301\u0301 Zalgo\u0336\u0337",
    "astral": "\U0001f600\U0001d573\U00010348",
    "nfd-vs-nfc": "Sha\u0301kespeare / Shákespeare",
    "private-use": "\ue000\U000f0000",
    "noncharacters": "\ufffe\uffff\U0010ffff",
    "html": "<script>alert(1)</script>&amp;\"'",
    "sql": "Robert'); DROP TABLE attempts;--",
    "path": "../../etc/passwd\\..\\",
    "json-looking": '{"answer": "x"}',
}


# -- the store underneath: memory, SQLite, SQLite + encryption -----------------------------


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """The memory store, unless a test names another with ``EVERY_STORE``."""
    kind = getattr(request, "param", "memory")
    if kind == "memory":
        return make_settings()
    url = f"sqlite:///{tmp_path / 'hostile.db'}"
    if kind == "sqlite":
        return make_settings(store_url=url)
    return make_settings(store_url=url, encryption_keys=f"k1:{new_key()}")


#: Round trips are checked on each store: memory, SQLite, SQLite + encryption.
EVERY_STORE = pytest.mark.parametrize(
    "settings", ["memory", "sqlite", "sqlite-encrypted"], indirect=True
)


def on_memory(api: Api) -> bool:
    return api.container.settings.store_url.startswith("memory")


async def refused(api: Api, request: Any, status: int, code: str) -> dict[str, Any]:
    """``api.refused`` where the store can be snapshotted (memory); elsewhere the
    problem is checked (and the memory run checks that nothing changed)."""
    if on_memory(api):
        return await api.refused(request, status, code)
    return assert_problem(await request, status, code)


async def deliver(api: Api, session: Session, question_id: str) -> None:
    """Answer the test's questions in order until ``question_id`` is current."""
    n = 0
    while True:
        question = (await api.question(session))["question"]
        assert question is not None
        if question["id"] == question_id:
            return
        n += 1
        api.clock.advance(1)
        r = await api.save(session, question["id"], DEMO_RIGHT[question["id"]], f"warm-{n}")
        assert r.status_code == 200, r.text


async def saved_answer(api: Api, session: Session, question_id: str) -> Any:
    """The saved answer as the candidate and the administrator each see it."""
    view = (await api.client.get(session.path, headers=session.headers)).json()
    question = (
        await api.client.get(f"{session.path}/questions/{question_id}", headers=session.headers)
    ).json()
    detail = await api.detail(session.attempt_id)
    candidate = view["answers"][question_id]
    assert detail["attempt"]["answers"][question_id] == candidate
    assert question.get("answer", candidate) == candidate, question
    return candidate


# -- answers --------------------------------------------------------------------------------


@EVERY_STORE
@pytest.mark.parametrize("name", sorted(ODD_TEXT))
async def test_odd_unicode_short_text_answer_comes_back_exactly(api: Api, name: str) -> None:
    session = await api.started()
    await deliver(api, session, "red-planet")
    answer = ODD_TEXT[name]
    r = await api.save(session, "red-planet", answer, f"odd-{name}")
    if r.status_code == 200:
        assert await saved_answer(api, session, "red-planet") == answer
        # The same op id with the same text is a retry; NFC/NFD or invisible
        # characters make another payload (nothing is normalised behind the back).
        api.clock.advance(1)
        r = await api.save(session, "red-planet", answer, f"odd-{name}")
        assert r.json()["replayed"] is True
        await refused(
            api,
            api.save(session, "red-planet", answer + "\u200b", f"odd-{name}"),
            409,
            "op_id_conflict",
        )
    else:
        assert_problem(r, 422, "answer_invalid")


@EVERY_STORE
async def test_short_text_length_is_counted_in_characters(api: Api) -> None:
    session = await api.started()
    await deliver(api, session, "red-planet")
    for n, unit in enumerate(["x", "é", "\U0001f600", "\u0301"]):
        api.clock.advance(1)
        exact = unit * MAX_TEXT
        r = await api.save(session, "red-planet", exact, f"max-{n}")
        assert r.status_code == 200, r.text
        assert await saved_answer(api, session, "red-planet") == exact
        body = await refused(
            api, api.save(session, "red-planet", exact + unit, f"over-{n}"), 422, "answer_invalid"
        )
        assert body["question_id"] == "red-planet"


@EVERY_STORE
async def test_brackets_and_escapes_inside_strings_are_not_nesting(api: Api) -> None:
    """The depth guard skips strings: an answer made of brackets, quotes and
    backslashes is text, stored exactly."""
    session = await api.started()
    await deliver(api, session, "red-planet")
    for n, text in enumerate(
        ["[" * 1000, "{" * 500 + "}" * 500, '\\"' + "[" * 200, "\\" * 300 + '"]]', "]" * 100]
    ):
        api.clock.advance(1)
        r = await api.save(session, "red-planet", text, f"brackets-{n}")
        assert r.status_code == 200, r.text
        assert await saved_answer(api, session, "red-planet") == text


@pytest.mark.parametrize("depth", [MAX_DEPTH, MAX_DEPTH + 1, 10_000])
async def test_nesting_at_the_depth_limit(api: Api, depth: int) -> None:
    """Up to 64 levels a body is parsed (and refused for its shape); beyond, it is
    malformed JSON before any parsing."""
    session = await api.started()
    inner = depth - 1  # the object around "answer" is one level
    body = (
        b'{"question_id": "capital-au", "op_id": "deep", "answer": '
        + b"[" * inner
        + b"]" * inner
        + b"}"
    )
    code = "validation_error" if depth <= MAX_DEPTH else "malformed_json"
    status = 422 if depth <= MAX_DEPTH else 400
    await refused(
        api,
        api.client.put(
            f"{session.path}/progress", content=body, headers={**session.headers, **JSON}
        ),
        status,
        code,
    )


@pytest.mark.parametrize(
    ("question_id", "answer"),
    [
        ("speed-of-light", 10**30),
        ("speed-of-light", -(10**30)),
        ("speed-of-light", 1.7976931348623157e308),
        ("speed-of-light", 5e-324),
        ("speed-of-light", -0.0),
        ("capital-au", ""),
        ("capital-au", "\u0000"),
        ("capital-au", "canberra\u0000"),
        ("capital-au", "canberr\u0430"),  # Cyrillic a: a homoglyph is another choice
        ("primes", ["n2"] * 1000),
        ("primes", []),
    ],
    ids=[
        "huge-int",
        "huge-negative-int",
        "max-float",
        "min-subnormal",
        "negative-zero",
        "empty-choice",
        "nul-choice",
        "choice-with-nul",
        "homoglyph-choice",
        "1000-duplicates",
        "empty-list",
    ],
)
async def test_odd_answers_never_500(api: Api, question_id: str, answer: Any) -> None:
    session = await api.started()
    await deliver(api, session, question_id)
    r = await api.save(session, question_id, answer, "odd")
    assert r.status_code < 500, r.text
    if r.status_code == 200:
        saved = await saved_answer(api, session, question_id)
        if isinstance(answer, int | float) and not isinstance(answer, bool):
            # Numbers are IEEE doubles end to end (JSON numbers): 10**30 comes
            # back as 1e30, the same double.
            assert float(saved) == float(answer)
        else:
            assert saved == answer
    else:
        assert r.headers["content-type"].startswith(PROBLEM_JSON)
        assert r.json()["code"] in ("answer_invalid", "validation_error", "malformed_json")


@pytest.mark.parametrize(
    "raw",
    [
        b'"\\ud800"',
        b'"\\udfff"',
        b'"a\\ud83d"',
        b'"\\ude00\\ud83d"',
        b'"\xed\xa0\x80"',  # a surrogate encoded as (invalid) UTF-8
        b"NaN",
        b"Infinity",
        b"-Infinity",
        b"1e400",
    ],
    ids=[
        "lone-high",
        "lone-low",
        "trailing-high",
        "reversed-pair",
        "utf8-encoded-surrogate",
        "nan",
        "infinity",
        "minus-infinity",
        "overflow",
    ],
)
async def test_unrepresentable_answers_are_malformed_json(api: Api, raw: bytes) -> None:
    session = await api.started()
    await deliver(api, session, "speed-of-light")
    body = b'{"question_id": "speed-of-light", "op_id": "bad", "answer": ' + raw + b"}"
    await refused(
        api,
        api.client.put(
            f"{session.path}/progress", content=body, headers={**session.headers, **JSON}
        ),
        400,
        "malformed_json",
    )


@pytest.mark.parametrize("name", sorted(ODD_TEXT))
async def test_odd_unicode_in_ids_is_refused_cleanly(api: Api, name: str) -> None:
    """Ids (question ids, user ids, quiz ids) have a strict pattern; odd text in
    them is a validation error naming the field."""
    session = await api.started()
    body = await refused(api, api.save(session, ODD_TEXT[name], "x", "op"), 422, "validation_error")
    assert [p["path"] for p in body["problems"]] == ["/question_id"]
    body = await refused(
        api,
        api.client.post(
            "/sessions", json={"user_id": ODD_TEXT[name], "quiz_id": "demo"}, headers=api.admin
        ),
        422,
        "validation_error",
    )
    assert [p["path"] for p in body["problems"]] == ["/user_id"]


@pytest.mark.parametrize("name", ["nul", "rtl-override", "zero-width", "astral", "controls"])
async def test_odd_unicode_op_ids_are_opaque(api: Api, name: str) -> None:
    session = await api.started()
    op = ODD_TEXT[name][:128]
    r = await api.save(session, "capital-au", "canberra", op)
    assert r.status_code == 200, r.text
    api.clock.advance(1)
    r = await api.save(session, "capital-au", "canberra", op)
    assert r.json()["replayed"] is True
    await refused(api, api.save(session, "capital-au", "perth", op), 409, "op_id_conflict")


# -- names ----------------------------------------------------------------------------------


@EVERY_STORE
@pytest.mark.parametrize("name", sorted(ODD_TEXT))
async def test_odd_unicode_candidate_names(api: Api, name: str) -> None:
    """A roster name is stored and shown exactly (trimmed of surrounding white
    space only), or the roster is refused naming the field."""
    text = ODD_TEXT[name]
    r = await api.client.post(
        "/admin/quizzes/demo/invites",
        json={
            "roster": [{"name": text, "email": f"{name}@example.org", "valid_until": "2099-01-01"}]
        },
        headers=api.admin,
    )
    if r.status_code == 422:
        assert r.json()["code"] == "validation_error"
        assert [p["path"] for p in r.json()["problems"]] == ["/roster/0/name"]
        return
    assert r.status_code == 201, r.text
    issued = r.json()["invites"][0]
    assert issued["name"] == text.strip()
    session = await api.login(issued["token"])
    detail = await api.detail(session.attempt_id)
    assert detail["candidate_name"] == text.strip()


@EVERY_STORE
@pytest.mark.parametrize("name", sorted(ODD_TEXT))
async def test_odd_unicode_backend_login_names(api: Api, name: str) -> None:
    text = ODD_TEXT[name]
    r = await api.client.post(
        "/sessions",
        json={"user_id": f"user-{name}", "quiz_id": "demo", "name": text},
        headers=api.admin,
    )
    assert r.status_code == 201, r.text
    detail = await api.detail(r.json()["attempt"]["attempt_id"])
    assert detail["candidate_name"] == text


@EVERY_STORE
async def test_odd_unicode_in_roster_text_and_emails(api: Api) -> None:
    for email in ("a\u202e@example.org", "a\u0000b@example.org", "\u200b@x"):
        r = await api.client.post(
            "/admin/quizzes/demo/invites",
            json={"roster": [{"name": "A", "email": email, "valid_until": "2099-01-01"}]},
            headers=api.admin,
        )
        assert r.status_code in (201, 422), r.text
        if r.status_code == 201:
            assert r.json()["invites"][0]["email"] == email
    text = "Ann \u202eelpmaxE\u202c ann@example.org 2099-01-01 roster-token-\u200b-0123456789ab\n"
    r = await api.client.post(
        "/admin/quizzes/demo/invites", json={"roster_text": text}, headers=api.admin
    )
    assert r.status_code in (201, 422), r.text
    if r.status_code == 201:
        issued = r.json()["invites"][0]
        assert issued["name"] == "Ann \u202eelpmaxE\u202c"
        session = await api.login(issued["token"])
        assert (await api.detail(session.attempt_id))["candidate_name"] == issued["name"]


@pytest.mark.parametrize("name", ["nul", "rtl-override", "zero-width", "astral", "controls"])
async def test_odd_unicode_invite_tokens_are_just_wrong(api: Api, name: str) -> None:
    token = ("x" * 22 + ODD_TEXT[name])[:512]
    await refused(
        api, api.client.post("/sessions", json={"invite_token": token}), 401, "invite_invalid"
    )


# -- sizes ----------------------------------------------------------------------------------


def body_routes(session: Session) -> list[tuple[str, str]]:
    """Routes under the 64 KB limit (the admin imports have a larger one)."""
    return [
        ("POST", "/sessions"),
        ("POST", f"{session.path}/start"),
        ("PUT", f"{session.path}/progress"),
        ("POST", f"{session.path}/heartbeat"),
        ("POST", f"{session.path}/complete"),
        ("POST", f"/admin/attempts/{session.attempt_id}/extend"),
        ("POST", f"/admin/attempts/{session.attempt_id}/void"),
        ("POST", f"/admin/attempts/{session.attempt_id}/reopen"),
    ]


def seventy_kb(path: str = "") -> bytes:
    """70 KB (over the 64 KiB default limit); for a save (``.../progress``),
    whose limit is raised to hold an essay at its cap in any script, 70 KB over
    that limit."""
    size = 70 * 1024 + (SAVE_BODY_BYTES if path.endswith("/progress") else 0)
    pad = "x" * size
    return json.dumps({"question_id": "red-planet", "answer": pad, "op_id": "big"}).encode()


async def test_a_70kb_body_is_413_everywhere(api: Api) -> None:
    session = await api.started()
    assert len(seventy_kb()) > api.container.settings.max_body_bytes
    headers = {**session.headers, **api.admin, **JSON}
    for method, path in body_routes(session):
        await refused(
            api,
            api.client.request(method, path, content=seventy_kb(path), headers=headers),
            413,
            "body_too_large",
        )


async def test_a_streamed_70kb_body_without_content_length_is_413(api: Api, app: Litestar) -> None:
    """Chunked transfer (no Content-Length to check up front): the limit is
    enforced on the bytes read. (httpx's ASGI transport: Litestar's test client
    cannot stream a request body.)"""
    session = await api.started()

    async def chunks(body: bytes) -> AsyncIterator[bytes]:
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    headers = {**session.headers, **api.admin, **JSON}
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        for method, path in body_routes(session):
            request = c.build_request(
                method, path, content=chunks(seventy_kb(path)), headers=headers
            )
            assert "content-length" not in request.headers
            assert request.headers["transfer-encoding"] == "chunked"
            await refused(api, c.send(request), 413, "body_too_large")


async def test_a_body_just_under_the_limit_is_read(api: Api) -> None:
    """The limit is on bytes: a body just under it gets to validation."""
    session = await api.started()
    limit = api.container.settings.max_body_bytes
    prefix = b'{"question_id": "red-planet", "op_id": "near", "answer": "'
    body = prefix + b"x" * (limit - len(prefix) - 2) + b'"}'
    assert len(body) == limit
    r = await api.client.put(
        f"{session.path}/progress", content=body, headers={**session.headers, **JSON}
    )
    assert r.status_code != 413, r.text
    assert r.json()["code"] in ("question_not_delivered", "answer_invalid"), r.text


async def test_many_small_fields(api: Api) -> None:
    """A body of 5 000 unknown keys is refused as a shape error (cheaply)."""
    session = await api.started()
    fields = {f"k{n}": n for n in range(5000)}
    r = await api.client.put(
        f"{session.path}/progress",
        content=json.dumps({"question_id": "capital-au", "answer": "x", "op_id": "o", **fields}),
        headers={**session.headers, **JSON},
    )
    assert r.status_code in (413, 422), r.text
    assert r.json()["code"] in ("body_too_large", "validation_error")


async def test_huge_header_values_never_500(api: Api) -> None:
    session = await api.started()
    for headers in (
        {"Authorization": "Bearer " + "a" * 100_000},
        {"X-API-Key": "k" * 100_000},
        {"X-Anything": "v" * 100_000},
        {f"X-H{n}": "v" for n in range(500)},
    ):
        try:
            r = await api.client.get(session.path, headers=headers)
        except httpx.LocalProtocolError:
            continue
        assert r.status_code < 500, r.text
