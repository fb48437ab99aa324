"""The quiz's overall feedback (``domain.overall_feedback``): which band a
percentage selects, how the definition's ``overall_feedback`` is read (every bad
entry refused at its path) and exported (round trip)."""

from __future__ import annotations

from typing import Any

import pytest

from quizsession.domain.errors import InvalidDefinition
from quizsession.domain.overall_feedback import (
    MAX_BANDS,
    MAX_FEEDBACK,
    feedback_for_score,
    percentage,
)
from quizsession.domain.quiz import FeedbackBand
from quizsession.domain.quiz_export import quiz_to_mapping
from quizsession.domain.quiz_validation import parse_quiz
from tests.unit.kind_definitions import problems, quiz_of
from testsupport.sample_kinds import sample_question

BANDS = (
    FeedbackBand(from_percent=0, text="Keep practising."),
    FeedbackBand(from_percent=50, text="A pass."),
    FeedbackBand(from_percent=85, text="Excellent!\nWell done."),
)

# ------------------------------------------------------------------ selection


@pytest.mark.parametrize(
    ("score", "max_score", "expected"),
    [
        (10, 10, "Excellent!\nWell done."),
        (9, 10, "Excellent!\nWell done."),
        (8.5, 10, "Excellent!\nWell done."),  # exactly on a boundary: that band
        (8.49, 10, "A pass."),
        (5, 10, "A pass."),
        (4.99, 10, "Keep practising."),
        (0, 10, "Keep practising."),
        (-2, 10, "Keep practising."),  # negative marks count as 0 %
    ],
)
def test_the_band_with_the_largest_boundary_reached(
    score: float, max_score: float, expected: str
) -> None:
    assert feedback_for_score(BANDS, score, max_score) == expected


def test_a_percentage_below_every_boundary_gets_none() -> None:
    bands = (FeedbackBand(from_percent=40, text="Pass"), FeedbackBand(from_percent=80, text="Top"))
    assert feedback_for_score(bands, 3.99, 10) is None
    assert feedback_for_score(bands, 0, 10) is None
    assert feedback_for_score(bands, -1, 10) is None
    assert feedback_for_score(bands, 4, 10) == "Pass"
    assert feedback_for_score((), 10, 10) is None


def test_a_test_worth_no_marks_gets_none() -> None:
    assert percentage(0, 0) is None
    assert feedback_for_score(BANDS, 0, 0) is None


def test_the_order_of_the_bands_does_not_matter() -> None:
    reversed_bands = tuple(reversed(BANDS))
    for score in (0, 4.9, 5, 8.4, 8.5, 10):
        assert feedback_for_score(reversed_bands, score, 10) == feedback_for_score(BANDS, score, 10)


def test_an_exact_boundary_survives_floating_point() -> None:
    # 0.57 x 100 is 56.99999999999999 in binary floating point.
    assert percentage(0.57, 1) == 57.0
    assert percentage(1, 3) == pytest.approx(33.333333333)
    bands = (FeedbackBand(from_percent=57, text="57 and up"),)
    assert feedback_for_score(bands, 0.57, 1) == "57 and up"
    assert feedback_for_score(bands, 5.7, 10) == "57 and up"
    assert feedback_for_score((FeedbackBand(from_percent=70, text="70"),), 2.1, 3) == "70"


# --------------------------------------------------------------------- reading


def with_feedback(value: Any) -> dict[str, Any]:
    return quiz_of(sample_question("single"), overall_feedback=value)


def test_bands_are_read_sorted_and_exported() -> None:
    raw = with_feedback(
        [
            {"from_percent": 85, "text": "Excellent!\nWell done."},
            {"from_percent": 0, "text": "Keep practising."},
            {"from_percent": 50.5, "text": "A pass."},
        ]
    )
    quiz = parse_quiz(raw)
    assert [(b.from_percent, b.text) for b in quiz.overall_feedback] == [
        (0, "Keep practising."),
        (50.5, "A pass."),
        (85, "Excellent!\nWell done."),
    ]
    exported = quiz_to_mapping(quiz)
    assert exported["overall_feedback"] == [
        {"from_percent": 0, "text": "Keep practising."},
        {"from_percent": 50.5, "text": "A pass."},
        {"from_percent": 85, "text": "Excellent!\nWell done."},
    ]
    assert parse_quiz(exported) == quiz


def test_no_overall_feedback_by_default_and_with_null_or_an_empty_list() -> None:
    for raw in (quiz_of(sample_question("single")), with_feedback(None), with_feedback([])):
        quiz = parse_quiz(raw)
        assert quiz.overall_feedback == ()
        assert "overall_feedback" not in quiz_to_mapping(quiz)


def test_bands_at_their_limits_are_accepted() -> None:
    bands = [{"from_percent": n * 5, "text": "x"} for n in range(MAX_BANDS)]
    bands[-1]["from_percent"] = 100
    bands[0]["text"] = "y" * MAX_FEEDBACK
    quiz = parse_quiz(with_feedback(bands))
    assert len(quiz.overall_feedback) == MAX_BANDS
    assert quiz.overall_feedback[-1].from_percent == 100


B = "/overall_feedback"


@pytest.mark.parametrize(
    ("value", "path", "message"),
    [
        ("Well done", B, "must be a list of {from_percent, text} mappings"),
        ({"from_percent": 0, "text": "x"}, B, "must be a list of {from_percent, text} mappings"),
        (
            [{"from_percent": n, "text": "x"} for n in range(MAX_BANDS + 1)],
            B,
            f"must have at most {MAX_BANDS} grade bands",
        ),
        (["Well done"], f"{B}/0", "must be a mapping"),
        ([{"text": "x"}], f"{B}/0/from_percent", "is required"),
        ([{"from_percent": 10}], f"{B}/0/text", "is required"),
        ([{"from_percent": -1, "text": "x"}], f"{B}/0/from_percent", "must be between 0 and 100"),
        (
            [{"from_percent": 100.5, "text": "x"}],
            f"{B}/0/from_percent",
            "must be between 0 and 100",
        ),
        ([{"from_percent": "50", "text": "x"}], f"{B}/0/from_percent", "must be a number"),
        ([{"from_percent": True, "text": "x"}], f"{B}/0/from_percent", "must be a number"),
        ([{"from_percent": None, "text": "x"}], f"{B}/0/from_percent", "must be a number"),
        ([{"from_percent": 10, "text": ""}], f"{B}/0/text", "must not be empty"),
        ([{"from_percent": 10, "text": " \n "}], f"{B}/0/text", "must not be empty"),
        ([{"from_percent": 10, "text": 3}], f"{B}/0/text", "must be a string"),
        (
            [{"from_percent": 10, "text": "x" * (MAX_FEEDBACK + 1)}],
            f"{B}/0/text",
            f"must be at most {MAX_FEEDBACK} characters",
        ),
        (
            [{"from_percent": 10, "text": "x", "grade": 20}],
            f"{B}/0/grade",
            "unknown key (allowed: from_percent, text)",
        ),
        (
            [{"from_percent": 10, "text": "x"}, {"from_percent": 10.0, "text": "y"}],
            f"{B}/1/from_percent",
            f"duplicate boundary 10 % (first at {B}/0/from_percent)",
        ),
    ],
)
def test_bad_overall_feedback_is_refused(value: Any, path: str, message: str) -> None:
    found = problems(sample_question("single"), overall_feedback=value)
    assert found == {path: message}


def test_every_bad_band_is_reported_at_once() -> None:
    value = [{"from_percent": 150, "text": "x"}, {"from_percent": 20}, 7]
    with pytest.raises(InvalidDefinition) as caught:
        parse_quiz(with_feedback(value))
    assert [p.path for p in caught.value.problems] == [
        f"{B}/0/from_percent",
        f"{B}/1/text",
        f"{B}/2",
    ]
    assert caught.value.code == "quiz_invalid"


def test_a_misspelt_key_gets_a_did_you_mean() -> None:
    found = problems(sample_question("single"), overall_feedbak=[])
    assert found == {"/overall_feedbak": "unknown key: did you mean 'overall_feedback'?"}
