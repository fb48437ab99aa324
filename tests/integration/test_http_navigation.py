"""Navigation over HTTP: the section's map (``GET /sessions/{id}/questions``),
opening a question (``GET /sessions/{id}/questions/{question_id}``) and flags
(``PUT /sessions/{id}/flags/{question_id}``), with free and sequential
navigation. Every bad input gets its problem code and changes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.conftest import (
    DEMO_RIGHT,
    DEMO_TEST_ORDER,
    Api,
    Session,
    assert_problem,
)
from testsupport.sample_kinds import sample_quiz

FREE = "demo-free"


@pytest.fixture
async def free(api: Api) -> dict[str, Any]:
    return await api.load_demo(FREE, navigation="free")


async def in_test(api: Api, quiz_id: str = FREE) -> Session:
    session = await api.open_session(quiz_id)
    await api.start(session, "test")
    return session


def nav(api: Api, session: Session) -> Any:
    return api.client.get(f"{session.path}/questions", headers=session.headers)


def open_q(api: Api, session: Session, qid: str) -> Any:
    return api.client.get(f"{session.path}/questions/{qid}", headers=session.headers)


def flag(api: Api, session: Session, qid: str, body: Any) -> Any:
    if isinstance(body, bytes):
        return api.client.put(
            f"{session.path}/flags/{qid}",
            content=body,
            headers={**session.headers, "Content-Type": "application/json"},
        )
    return api.client.put(f"{session.path}/flags/{qid}", json=body, headers=session.headers)


async def ok(request: Any) -> dict[str, Any]:
    response: httpx.Response = await request
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def delivered(api: Api, session: Session) -> list[str]:
    return [
        e["data"]["question_id"]
        for e in await api.events(session.attempt_id)
        if e["type"] == "question_delivered"
    ]


async def test_free_navigation_opens_any_question_and_flags_it(
    api: Api, free: dict[str, Any]
) -> None:
    session = await in_test(api)
    first = await ok(nav(api, session))
    assert (first["section"], first["navigation"]) == ("test", "free")
    assert [(q["id"], q["number"], q["state"]) for q in first["questions"]] == [
        (qid, n, "not_seen") for n, qid in enumerate(DEMO_TEST_ORDER, start=1)
    ]
    assert (first["answered"], first["unanswered"], first["flagged"]) == (0, 10, 0)

    # Jump to the seventh question: delivered on its first opening, numbered by the plan.
    q7 = await ok(open_q(api, session, "hamlet-author"))
    assert (q7["id"], q7["number"], q7["total"], q7["flagged"]) == ("hamlet-author", 7, 10, False)
    assert await delivered(api, session) == ["hamlet-author"]
    await ok(open_q(api, session, "hamlet-author"))  # again: shown, not delivered again
    assert await delivered(api, session) == ["hamlet-author"]

    saved = await api.save(session, "hamlet-author", DEMO_RIGHT["hamlet-author"], "s1")
    assert saved.status_code == 200, saved.text
    await ok(open_q(api, session, "primes"))

    flagged = await ok(flag(api, session, "primes", {"flagged": True, "op_id": "f1"}))
    assert (flagged["question_id"], flagged["flagged"], flagged["replayed"]) == (
        "primes",
        True,
        False,
    )
    again = await ok(flag(api, session, "primes", {"flagged": True, "op_id": "f1"}))
    assert again["replayed"] is True
    assert again["version"] == flagged["version"]

    mapped = await ok(nav(api, session))
    states = {q["id"]: (q["state"], q["flagged"]) for q in mapped["questions"]}
    assert states["hamlet-author"] == ("answered", False)
    assert states["primes"] == ("not_answered", True)
    assert states["capital-au"] == ("not_seen", False)
    assert (mapped["answered"], mapped["unanswered"], mapped["flagged"]) == (1, 9, 1)

    view = await ok(api.client.get(session.path, headers=session.headers))
    assert (view["navigation"], view["flagged"]) == ("free", ["primes"])
    assert (await ok(open_q(api, session, "primes")))["flagged"] is True

    await ok(flag(api, session, "primes", {"flagged": False, "op_id": "f2"}))
    assert (await ok(nav(api, session)))["flagged"] == 0


async def test_free_navigation_keeps_the_next_question_route_working(
    api: Api, free: dict[str, Any]
) -> None:
    session = await in_test(api)
    await ok(open_q(api, session, "primes"))
    await api.save(session, "primes", DEMO_RIGHT["primes"], "s1")
    # The next question of the plan not yet delivered, then the next after it.
    assert (await api.question(session))["question"]["id"] == "capital-au"
    await api.save(session, "capital-au", "canberra", "s2")
    assert (await api.question(session))["question"]["id"] == "noble-gases"


async def test_sequential_navigation_opens_only_delivered_questions(
    api: Api, demo: dict[str, Any]
) -> None:
    session = await in_test(api, "demo")
    current = (await api.question(session))["question"]
    mapped = await ok(nav(api, session))
    assert mapped["navigation"] == "sequential"
    assert [(q["id"], q["state"]) for q in mapped["questions"]] == [(current["id"], "not_answered")]
    assert (mapped["answered"], mapped["unanswered"]) == (0, 10)
    assert (await ok(open_q(api, session, current["id"])))["number"] == 1
    await api.refused(open_q(api, session, "primes"), 409, "question_not_delivered")
    # Flags work in sequential navigation too (on delivered questions).
    await ok(flag(api, session, current["id"], {"flagged": True, "op_id": "f1"}))
    await api.refused(
        flag(api, session, "primes", {"flagged": True, "op_id": "f2"}),
        409,
        "question_not_delivered",
    )


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 422, "validation_error"),
        ({"flagged": True}, 422, "validation_error"),
        ({"op_id": "x"}, 422, "validation_error"),
        ({"flagged": "yes", "op_id": "x"}, 422, "validation_error"),
        ({"flagged": True, "op_id": ""}, 422, "validation_error"),
        ({"flagged": True, "op_id": "x" * 129}, 422, "validation_error"),
        ({"flagged": True, "op_id": "x", "extra": 1}, 422, "validation_error"),
        ([True], 422, "validation_error"),
        (b"{not json", 400, "malformed_json"),
    ],
)
async def test_a_bad_flag_body_is_refused(
    api: Api, free: dict[str, Any], body: Any, status: int, code: str
) -> None:
    session = await in_test(api)
    await ok(open_q(api, session, "primes"))
    await api.refused(flag(api, session, "primes", body), status, code)


async def test_bad_question_ids_are_refused(api: Api, free: dict[str, Any]) -> None:
    session = await in_test(api)
    for qid in ("nope", "p-colour", "x" * 300):
        await api.refused(open_q(api, session, qid), 422, "question_unknown")
        await api.refused(
            flag(api, session, qid, {"flagged": True, "op_id": "f"}), 422, "question_unknown"
        )
    await api.refused(
        flag(api, session, "primes", {"flagged": True, "op_id": "f"}),
        409,
        "question_not_delivered",
    )


async def test_a_reused_flag_op_id_is_a_conflict(api: Api, free: dict[str, Any]) -> None:
    session = await in_test(api)
    await ok(open_q(api, session, "primes"))
    await ok(flag(api, session, "primes", {"flagged": True, "op_id": "f1"}))
    await api.refused(
        flag(api, session, "primes", {"flagged": False, "op_id": "f1"}), 409, "op_id_conflict"
    )


async def test_nothing_before_a_section_runs(api: Api, free: dict[str, Any]) -> None:
    session = await api.open_session(FREE)
    await api.refused(nav(api, session), 409, "section_not_started")
    await api.refused(open_q(api, session, "primes"), 409, "section_not_started")
    await api.refused(
        flag(api, session, "primes", {"flagged": True, "op_id": "f"}), 409, "section_not_started"
    )


async def test_a_stale_or_missing_token_is_refused(api: Api, free: dict[str, Any]) -> None:
    invite = await api.invite(FREE)
    first = await api.login(invite["token"])
    await api.start(first, "test")
    await ok(open_q(api, first, "primes"))
    await api.login(invite["token"], takeover=True)
    await api.refused(open_q(api, first, "capital-au"), 409, "session_superseded")
    await api.refused(
        flag(api, first, "primes", {"flagged": True, "op_id": "f"}), 409, "session_superseded"
    )
    await api.refused(nav(api, first), 409, "session_superseded")
    anonymous = Session(first.session_id, "", first.attempt_id, first.opened)
    await api.refused(nav(api, anonymous), 401, "token_invalid")


async def test_after_submit_nothing_opens_or_flags(api: Api, free: dict[str, Any]) -> None:
    session = await in_test(api)
    await ok(open_q(api, session, "primes"))
    done = await api.client.post(f"{session.path}/complete", json={}, headers=session.headers)
    assert done.status_code == 200, done.text
    await api.refused(open_q(api, session, "capital-au"), 409, "attempt_closed")
    await api.refused(
        flag(api, session, "primes", {"flagged": True, "op_id": "f"}), 409, "attempt_closed"
    )


async def test_after_deadline_and_grace_nothing_new_opens_or_flags(
    api: Api, free: dict[str, Any]
) -> None:
    session = await in_test(api)
    await ok(open_q(api, session, "primes"))
    api.clock.advance(600 + 5 + 1)
    assert_problem(await open_q(api, session, "capital-au"), 409, "deadline_passed")
    assert_problem(
        await flag(api, session, "primes", {"flagged": True, "op_id": "f"}), 409, "deadline_passed"
    )
    # The refused writes left no trace; the server submitted at the deadline.
    types = [e["type"] for e in await api.events(session.attempt_id)]
    assert "question_flagged" not in types
    assert await delivered(api, session) == ["primes"]
    assert types[-1] == "submitted"


async def test_sequential_navigation_shows_a_description_once_then_goes_on(api: Api) -> None:
    """A description takes no answer: ``GET /question`` shows it once (not
    numbered), and the next call delivers the question after it."""
    quiz = sample_quiz()
    quiz["id"] = "kinds-sequential"
    quiz["navigation"] = "sequential"
    await api.put_quiz(quiz)
    session = await in_test(api, "kinds-sequential")
    first = await api.question(session)
    assert first["question"]["kind"] == "description"
    assert first["question"]["number"] == 0
    second = await api.question(session)
    assert second["question"]["kind"] != "description"
    assert second["question"]["number"] == 1
    # Asking again shows the same unanswered question, never a new one.
    again = await api.question(session)
    assert again["question"]["id"] == second["question"]["id"]
    assert await delivered(api, session) == [first["question"]["id"], second["question"]["id"]]
