"""What the candidate is told over HTTP: the instructions' warning about negative
marks, the practice round's immediate feedback
(``POST /sessions/{id}/questions/{question_id}/check``), the review of a submitted
test as the quiz's review policy allows it over time (``GET /sessions/{id}/review``;
what the policy hides is absent), and an administrator's full review
(``GET /admin/attempts/{id}/review``). Every refusal changes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from quizsession.client import AsyncQuizClient, Conflict, PracticeFeedback, ReviewView
from tests.integration.conftest import (
    DEMO_MAX_SCORE,
    DEMO_RIGHT,
    DEMO_TEST_ORDER,
    START,
    Api,
    Session,
    demo_definition,
)

pytestmark = pytest.mark.usefixtures("demo")

ALL_ITEMS = [
    "score", "answers", "right_answers", "feedback", "general_feedback", "overall_feedback"
]  # fmt: skip
#: The items shown on their own (``overall_feedback``, shown only with the
#: score, has its own tests: test_http_overall_feedback.py).
ALONE = ALL_ITEMS[:-1]
PER_ITEM_KEYS = {
    "answers": {"answer", "answer_text"},
    "right_answers": {"right_answer"},
    "score": {"score"},
    "feedback": {"feedback"},
    "general_feedback": {"general_feedback"},
}


def iso(at: float) -> str:
    return dt.datetime.fromtimestamp(at, tz=dt.UTC).isoformat()


async def submitted(
    api: Api, quiz_id: str = "demo", answers: dict[str, Any] | None = None
) -> Session:
    """A session whose test is answered (``answers``, by default all right) and
    submitted."""
    session = await api.open_session(quiz_id)
    await api.start(session, "test")
    chosen = DEMO_RIGHT if answers is None else answers
    for n, qid in enumerate(DEMO_TEST_ORDER):
        question = (await api.question(session))["question"]
        assert question["id"] == qid
        r = await api.save(session, qid, chosen.get(qid), f"op-{n}")
        assert r.status_code == 200, r.text
    r = await api.client.post(f"{session.path}/complete", json={}, headers=session.headers)
    assert r.status_code == 200, r.text
    return session


async def review(api: Api, session: Session) -> dict[str, Any]:
    r = await api.client.get(f"{session.path}/review", headers=session.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def check(api: Api, session: Session, question_id: str) -> dict[str, Any]:
    r = await api.client.post(
        f"{session.path}/questions/{question_id}/check", headers=session.headers
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


# ----------------------------------------------------------------- instructions


async def test_instructions_carry_the_warning_about_negative_marks(api: Api) -> None:
    session = await api.open_session()
    view = session.opened["attempt"]
    assert "10 minutes" in view["instructions"]
    assert view["penalty_warning"] == "Wrong answers cost marks: see each question."
    # The practice round is not scored: no warning while it runs.
    practice = await api.start(session, "practice")
    assert "warm-up" in practice["instructions"]
    assert practice["penalty_warning"] == ""
    test = await api.start(session, "test")
    assert "Ten questions" in test["instructions"]
    assert test["penalty_warning"].startswith("Wrong answers cost marks")


async def test_no_warning_without_penalties(api: Api) -> None:
    raw = demo_definition("kind")
    for question in raw["test"]["questions"]:
        question.pop("penalty", None)
    await api.put_quiz(raw)
    session = await api.open_session("kind")
    assert session.opened["attempt"]["penalty_warning"] == ""


# -------------------------------------------------------------- practice check


async def test_practice_check_gives_immediate_feedback(api: Api) -> None:
    session = await api.open_session()
    await api.start(session, "practice")
    question = (await api.question(session))["question"]
    assert question["id"] == "p-colour"

    blank = await check(api, session, "p-colour")
    assert blank["answered"] is False
    assert blank["correct"] is False
    assert blank["right_answer"] == "Green"

    assert (await api.save(session, "p-colour", "b", "op-1")).status_code == 200
    wrong = await check(api, session, "p-colour")
    assert wrong == {
        "question_id": "p-colour",
        "answered": True,
        "grading": "auto",
        "correct": False,
        "fraction": 0.0,
        "answer_text": "Purple",
        "right_answer": "Green",
        "feedback": [],
        "general_feedback": None,
    }
    assert (await api.save(session, "p-colour", "a", "op-2")).status_code == 200
    right = await check(api, session, "p-colour")
    assert right["correct"] is True
    assert right["fraction"] == 1.0
    # A check writes nothing to the log.
    events = await api.events(session.attempt_id)
    assert [e["type"] for e in events][-1] == "answer_saved"


async def test_practice_check_is_refused_in_the_test(api: Api) -> None:
    session = await api.started()
    body = await api.refused(
        api.client.post(f"{session.path}/questions/capital-au/check", headers=session.headers),
        409,
        "practice_only",
    )
    assert "practice" in body["detail"]


async def test_practice_check_needs_a_delivered_practice_question(api: Api) -> None:
    session = await api.open_session()
    await api.refused(
        api.client.post(f"{session.path}/questions/p-colour/check", headers=session.headers),
        409,
        "practice_only",
    )
    await api.start(session, "practice")
    await api.question(session)
    await api.refused(
        api.client.post(f"{session.path}/questions/p-sky/check", headers=session.headers),
        409,
        "question_not_delivered",
    )
    # A test question is not one of the practice round's: in sequential
    # navigation that gets the answer an upcoming question gets.
    await api.refused(
        api.client.post(f"{session.path}/questions/capital-au/check", headers=session.headers),
        409,
        "question_not_delivered",
    )
    await api.refused(
        api.client.post(f"{session.path}/questions/p-colour/check"), 401, "token_invalid"
    )


# ---------------------------------------------------------------------- review


async def test_review_is_refused_before_the_submission(api: Api) -> None:
    session = await api.open_session()
    await api.refused(
        api.client.get(f"{session.path}/review", headers=session.headers),
        409,
        "review_not_available",
    )
    session = await api.started()
    await api.refused(
        api.client.get(f"{session.path}/review", headers=session.headers),
        409,
        "review_not_available",
    )
    await api.refused(api.client.get(f"{session.path}/review"), 401, "token_invalid")


async def test_default_policy_without_a_close_shows_the_score_only(api: Api) -> None:
    session = await submitted(api)
    found = await review(api, session)
    assert found["available"] == ["score"]
    assert found["next_at"] is None
    assert found["score"] == DEMO_MAX_SCORE
    assert found["max_score"] == DEMO_MAX_SCORE
    assert found["pending"] is False
    assert found["questions"] == []
    # Still nothing more, much later (no close time).
    api.clock.advance(600)
    assert (await review(api, session))["available"] == ["score"]


async def test_default_policy_shows_everything_once_the_quiz_closes(api: Api) -> None:
    closes = START + 700
    await api.load_demo("closing", closes_at=iso(closes))
    wrong = {**DEMO_RIGHT, "great-wall": True, "capital-au": None}
    session = await submitted(api, "closing", wrong)
    before = await review(api, session)
    assert before["available"] == ["score"]
    assert before["next_at"] == closes
    # capital-au blank: 1 point lost; great-wall wrong: 1 point lost and a penalty of 1.
    assert before["score"] == DEMO_MAX_SCORE - 3
    assert before["questions"] == []

    api.clock.advance(closes - api.clock.now())
    after = await review(api, session)
    # Everything the demo quiz has: it has no overall feedback bands, so that
    # item is neither listed nor promised.
    assert after["available"] == ALONE
    assert after["next_at"] is None
    by_id = {q["id"]: q for q in after["questions"]}
    assert list(by_id) == DEMO_TEST_ORDER
    assert [q["number"] for q in after["questions"]] == list(range(1, 11))
    wall = by_id["great-wall"]
    assert wall["answer"] is True
    assert wall["answer_text"]
    assert wall["right_answer"]
    assert wall["score"] == -1.0
    assert wall["general_feedback"] == "A popular myth; astronauts report it is not."
    assert wall["feedback"] == []
    blank = by_id["capital-au"]
    assert blank["answer"] is None
    assert blank["answer_text"] == ""
    assert blank["score"] == 0.0
    assert blank["choices"]
    assert {"id", "text"} <= set(blank["choices"][0])
    assert "general_feedback" not in blank  # the question has none


@pytest.mark.parametrize("item", ALONE)
async def test_what_the_policy_hides_is_absent(api: Api, item: str) -> None:
    await api.load_demo(
        "policy", review={"after_submit": [item] if item != "score" else ["score", "answers"]}
    )
    session = await submitted(api, "policy")
    found = await review(api, session)
    shown = {item} if item != "score" else {"score", "answers"}
    assert set(found["available"]) == shown
    assert ("score" in found) == ("score" in shown)
    assert ("max_score" in found) == ("score" in shown)
    assert len(found["questions"]) == len(DEMO_TEST_ORDER)
    hidden = set().union(*(keys for name, keys in PER_ITEM_KEYS.items() if name not in shown))
    for question in found["questions"]:
        assert not hidden & set(question), (item, hidden & set(question))
        assert {"id", "number", "kind", "text", "points"} <= set(question)
    answers = {q["id"]: q for q in found["questions"]}
    if "answers" in shown:
        assert answers["capital-au"]["answer"] == "canberra"
        assert answers["capital-au"]["answer_text"] == "Canberra"
    if "right_answers" in shown:
        assert answers["capital-au"]["right_answer"] == "Canberra"
    if item == "general_feedback":
        assert answers["great-wall"]["general_feedback"].startswith("A popular myth")


async def test_nothing_shown_at_all(api: Api) -> None:
    await api.load_demo("secret", review={"after_submit": [], "after_close": []})
    session = await submitted(api, "secret")
    found = await review(api, session)
    assert found["available"] == []
    assert found["questions"] == []
    assert "score" not in found
    assert "max_score" not in found


async def test_a_hidden_score_is_hidden_everywhere_the_candidate_looks(api: Api) -> None:
    """The policy hides the score: the submit's reply, the session's attempt view
    and the live end-of-test notice carry none; the administrator sees it."""
    await api.load_demo("no-score", review={"after_submit": ["answers"], "after_close": []})
    session = await api.open_session("no-score")
    await api.start(session, "test")
    for n, qid in enumerate(DEMO_TEST_ORDER):
        await api.question(session)
        r = await api.save(session, qid, DEMO_RIGHT.get(qid), f"op-{n}")
        assert r.status_code == 200, r.text
    r = await api.client.post(f"{session.path}/complete", json={}, headers=session.headers)
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["score"], done["max_score"]) == (None, None)
    assert done["attempt"]["result"]["score"] is None
    assert done["attempt"]["result"]["score_hidden"] is True
    r = await api.client.get(session.path, headers=session.headers)
    assert r.json()["result"]["score"] is None
    r = await api.client.get(f"/admin/attempts/{session.attempt_id}", headers=api.admin)
    assert r.status_code == 200, r.text
    result = r.json()["attempt"]["result"]
    assert (result["score"], result["score_hidden"]) == (DEMO_MAX_SCORE, False)


async def test_a_voided_attempt_has_no_review(api: Api) -> None:
    session = await submitted(api)
    r = await api.client.post(
        f"/admin/attempts/{session.attempt_id}/void", json={}, headers=api.admin
    )
    assert r.status_code == 200, r.text
    # The void ends the session (session_closed); a review of it is never shown.
    r = await api.client.get(f"{session.path}/review", headers=session.headers)
    assert r.status_code in {401, 409}, r.text
    assert r.json()["code"] in {"attempt_voided", "session_closed"}


# ----------------------------------------------------------------------- admin


async def test_admin_sees_everything_of_any_attempt(api: Api) -> None:
    session = await api.started()
    r = await api.client.get(f"/admin/attempts/{session.attempt_id}/review", headers=api.admin)
    assert r.status_code == 200, r.text
    running = r.json()
    assert running["available"] == ALL_ITEMS
    assert len(running["questions"]) == len(DEMO_TEST_ORDER)

    done = await submitted(api)
    r = await api.client.get(f"/admin/attempts/{done.attempt_id}/review", headers=api.admin)
    full = r.json()
    assert full["score"] == DEMO_MAX_SCORE
    assert all(q["right_answer"] for q in full["questions"])
    assert all("answer" in q for q in full["questions"])


async def test_admin_review_refusals(api: Api) -> None:
    await api.refused(
        api.client.get("/admin/attempts/nope/review", headers=api.admin), 404, "not_found"
    )
    await api.refused(api.client.get("/admin/attempts/nope/review"), 401, "api_key_required")


async def submitted_with_an_essay(api: Api, raw: dict[str, Any]) -> Session:
    """Quiz ``raw`` (a demo definition named "essay") with a test of an essay
    (4 points) and a true/false question, both answered and submitted."""
    raw.pop("practice")
    raw["test"] = {
        "questions": [
            {"id": "e1", "kind": "essay", "text": "Why?", "points": 4},
            {"id": "t1", "kind": "true_false", "text": "True?", "correct": True},
        ]
    }
    await api.put_quiz(raw)
    session = await api.open_session("essay")
    await api.start(session, "test")
    for n, (qid, answer) in enumerate([("e1", "Because."), ("t1", True)]):
        assert (await api.question(session))["question"]["id"] == qid
        assert (await api.save(session, qid, answer, f"op-{n}")).status_code == 200
    r = await api.client.post(f"{session.path}/complete", json={}, headers=session.headers)
    assert r.status_code == 200, r.text
    return session


async def test_the_score_says_pending_until_an_essay_is_graded(api: Api) -> None:
    raw = demo_definition("essay", review={"after_submit": ["score", "answers", "feedback"]})
    session = await submitted_with_an_essay(api, raw)
    found = await review(api, session)
    assert found["pending"] is True
    assert "score" not in found
    assert found["max_score"] == 5.0
    essay, tf = found["questions"]
    assert essay["pending"] is True
    assert "score" not in essay
    assert essay["answer"] == "Because."
    assert essay["grading"] == "manual"
    assert tf["score"] == 1.0


async def test_the_typed_client_reads_reviews_and_checks(api: Api) -> None:
    transport = api.client._transport  # duck-typed: not an httpx.AsyncBaseTransport
    base = str(api.client.base_url)
    async with AsyncQuizClient(base, api_key=api.admin["X-API-Key"], transport=transport) as qc:
        session = await qc.open_session(user_id="u-review", quiz_id="demo")
        await session.start("practice")
        await session.next_question()
        await session.save("p-colour", "a")
        checked = await session.check("p-colour")
        assert isinstance(checked, PracticeFeedback)
        assert checked.correct is True
        with pytest.raises(Conflict) as refused:
            await session.review()
        assert refused.value.code == "review_not_available"
        await session.start("test")
        with pytest.raises(Conflict) as refused:
            await session.check("p-colour")
        assert refused.value.code == "practice_only"
        await session.complete()
        mine = await session.review()
        assert isinstance(mine, ReviewView)
        assert mine.available == ["score"]
        assert mine.score == 0.0
        assert mine.questions == []
        assert session.attempt_id is not None
        full = await qc.attempt_review(session.attempt_id)
        assert full.available == ALL_ITEMS
        assert len(full.questions) == len(DEMO_TEST_ORDER)
        assert full.questions[0].answer is None  # left blank: shown as null
        assert full.questions[0].right_answer == "Canberra"
