"""The quiz's overall feedback over HTTP: the definition's ``overall_feedback``
(refused at its path when bad, nothing stored; exported sorted by ``GET``), and
the candidate's review (``GET /sessions/{id}/review``), which shows the text of
the grade band only when the review policy shows ``overall_feedback`` together
with the score, and only once the score is final."""

from __future__ import annotations

from typing import Any

import pytest

from quizsession.client import AsyncQuizClient
from tests.integration.conftest import DEMO_MAX_SCORE, DEMO_RIGHT, START, Api, demo_definition
from tests.integration.test_http_review import iso, review, submitted, submitted_with_an_essay

pytestmark = pytest.mark.usefixtures("demo")

TOP = "Full marks!\nWell done."
PASS = "A pass: look at the questions you missed."
LOW = "Keep practising."
BANDS = [
    {"from_percent": 50, "text": PASS},
    {"from_percent": 100, "text": TOP},
    {"from_percent": 10, "text": LOW},
]
SHOWN = {"after_submit": ["score", "overall_feedback"]}
#: 10 of 13 (76.9 %): one question blank, one wrong with its penalty.
TEN = {**DEMO_RIGHT, "great-wall": True, "capital-au": None}


async def banded(api: Api, quiz_id: str, review_policy: Any = None, **changes: Any) -> None:
    await api.load_demo(quiz_id, overall_feedback=BANDS, review=review_policy, **changes)


async def test_the_band_of_the_candidates_grade_is_shown(api: Api) -> None:
    await banded(api, "bands", SHOWN)
    full = await review(api, await submitted(api, "bands"))
    assert full["available"] == ["score", "overall_feedback"]
    assert full["score"] == DEMO_MAX_SCORE
    assert full["overall_feedback"] == TOP  # 100 %: exactly on the top boundary
    part = await review(api, await submitted(api, "bands", TEN))
    assert part["score"] == 10.0
    assert part["overall_feedback"] == PASS


async def test_below_every_boundary_no_feedback_is_shown(api: Api) -> None:
    await api.load_demo("high", overall_feedback=[{"from_percent": 90, "text": TOP}], review=SHOWN)
    found = await review(api, await submitted(api, "high", TEN))
    assert found["available"] == ["score", "overall_feedback"]
    assert found["pending"] is False
    assert "overall_feedback" not in found


async def test_not_shown_unless_the_policy_shows_it(api: Api) -> None:
    await banded(api, "default")  # after_submit: the score only
    found = await review(api, await submitted(api, "default"))
    assert found["available"] == ["score"]
    assert "overall_feedback" not in found


async def test_never_shown_when_the_policy_hides_the_score(api: Api) -> None:
    """The band would tell the hidden score's range."""
    await banded(api, "no-score", {"after_submit": ["overall_feedback", "answers"]})
    found = await review(api, await submitted(api, "no-score"))
    assert found["available"] == ["answers"]
    assert "overall_feedback" not in found
    assert "score" not in found


async def test_the_default_policy_shows_it_once_the_quiz_closes(api: Api) -> None:
    closes = START + 700
    await banded(api, "closing", closes_at=iso(closes))
    session = await submitted(api, "closing", TEN)
    before = await review(api, session)
    assert before["available"] == ["score"]
    assert before["next_at"] == closes
    assert "overall_feedback" not in before
    api.clock.advance(closes - api.clock.now())
    after = await review(api, session)
    assert after["available"][0] == "score"
    assert after["available"][-1] == "overall_feedback"
    assert after["overall_feedback"] == PASS


async def test_pending_while_an_essay_waits_then_shown_after_grading(api: Api) -> None:
    raw = demo_definition(
        "essay",
        review={"after_submit": ["score", "overall_feedback"]},
        overall_feedback=[
            {"from_percent": 0, "text": LOW},
            {"from_percent": 80, "text": TOP},
        ],
    )
    session = await submitted_with_an_essay(api, raw)

    pending = await review(api, session)
    assert pending["available"] == ["score", "overall_feedback"]
    assert pending["pending"] is True
    assert "score" not in pending
    # 1 of 5 so far would be the lowest band: nothing is said before the grade.
    assert "overall_feedback" not in pending

    path = f"/admin/attempts/{session.attempt_id}/grades/e1"
    r = await api.client.put(path, json={"points": 3.5}, headers=api.admin)
    assert r.status_code == 200, r.text
    graded = await review(api, session)
    assert graded["pending"] is False
    assert graded["score"] == 4.5
    assert graded["overall_feedback"] == TOP  # 90 %


async def test_the_administrator_sees_it_in_the_full_review(api: Api) -> None:
    await banded(api, "admin-view")
    session = await submitted(api, "admin-view")
    r = await api.client.get(f"/admin/attempts/{session.attempt_id}/review", headers=api.admin)
    assert r.status_code == 200, r.text
    assert r.json()["overall_feedback"] == TOP


async def test_the_typed_client_reads_it(api: Api) -> None:
    bands = [{"from_percent": 0, "text": LOW}, {"from_percent": 50, "text": PASS}]
    await api.load_demo("typed", overall_feedback=bands, review=SHOWN)
    transport = api.client._transport  # duck-typed: not an httpx.AsyncBaseTransport
    base = str(api.client.base_url)
    async with AsyncQuizClient(base, api_key=api.admin["X-API-Key"], transport=transport) as qc:
        session = await qc.open_session(user_id="u-bands", quiz_id="typed")
        await session.start("test")
        await session.complete()
        mine = await session.review()
        assert mine.available == ["score", "overall_feedback"]
        assert mine.score == 0.0
        assert mine.overall_feedback == LOW  # 0 %: the band from 0


# ------------------------------------------------------------------ definition


async def test_the_definition_is_exported_sorted(api: Api) -> None:
    await banded(api, "export")
    r = await api.client.get("/admin/quizzes/export", headers=api.admin)
    assert r.status_code == 200, r.text
    exported = r.json()
    assert exported["overall_feedback"] == [BANDS[2], BANDS[0], BANDS[1]]  # by from_percent
    # Putting the export back is the same definition: no new version.
    again = await api.put_quiz(exported)
    assert again["version"] == exported["version"]


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ("Well done", "/overall_feedback"),
        ([{"from_percent": n, "text": "x"} for n in range(21)], "/overall_feedback"),
        ([{"from_percent": 101, "text": "x"}], "/overall_feedback/0/from_percent"),
        ([{"from_percent": 10, "text": ""}], "/overall_feedback/0/text"),
        (
            [{"from_percent": 10, "text": "x"}, {"from_percent": 10, "text": "y"}],
            "/overall_feedback/1/from_percent",
        ),
        ([{"from_percent": 10, "text": "x", "colour": "red"}], "/overall_feedback/0/colour"),
    ],
)
async def test_a_bad_definition_is_refused_and_nothing_stored(
    api: Api, value: Any, path: str
) -> None:
    raw = demo_definition("refused", overall_feedback=value)
    body = await api.refused(
        api.client.put("/admin/quizzes/refused", json=raw, headers=api.admin),
        422,
        "quiz_invalid",
    )
    assert [p["path"] for p in body["problems"]] == [path], body["problems"]
    await api.refused(api.client.get("/admin/quizzes/refused", headers=api.admin), 404, "not_found")
