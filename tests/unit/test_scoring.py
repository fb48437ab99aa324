from __future__ import annotations

import math

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quizsession.domain.events import AnswerValue
from quizsession.domain.quiz import Choice, Question, Section
from quizsession.domain.scoring import (
    MAX_TEXT_ANSWER,
    ScoreSheet,
    answer_problem,
    is_correct,
    normalize_text,
    score_answer,
    score_section,
)


def single(points: float = 1.0, penalty: float = 0.0, qid: str = "s") -> Question:
    return Question(
        id=qid,
        kind="single",
        text="Pick one",
        points=points,
        penalty=penalty,
        choices=(Choice(id="a", text="A", correct=True), Choice(id="b", text="B")),
    )


def multiple(
    points: float = 2.0,
    penalty: float = 0.0,
    partial: str = "per_option",
    correct: str = "abc",
    wrong: str = "de",
) -> Question:
    choices = [Choice(id=c, text=c.upper(), correct=True) for c in correct]
    choices += [Choice(id=c, text=c.upper()) for c in wrong]
    return Question(
        id="m",
        kind="multiple",
        text="Pick some",
        points=points,
        penalty=penalty,
        partial="all_or_nothing" if partial == "all_or_nothing" else "per_option",
        choices=tuple(choices),
    )


def true_false(correct: bool = True, penalty: float = 0.0) -> Question:
    return Question(id="tf", kind="true_false", text="True?", correct=correct, penalty=penalty)


def short_text(*accepted: str, case_sensitive: bool = False, penalty: float = 0.0) -> Question:
    return Question(
        id="st",
        kind="short_text",
        text="Name it",
        accepted=accepted,
        case_sensitive=case_sensitive,
        penalty=penalty,
    )


def numeric(value: float, tolerance: float = 0.0, penalty: float = 0.0) -> Question:
    return Question(
        id="n", kind="numeric", text="How many?", value=value, tolerance=tolerance, penalty=penalty
    )


# ---------------------------------------------------------------- answer_problem


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        (single(), "a"),
        (single(), "b"),
        (multiple(), ["a", "d"]),
        (multiple(), []),
        (true_false(), True),
        (true_false(), False),
        (short_text("x"), ""),
        (short_text("x"), "y" * MAX_TEXT_ANSWER),
        (numeric(3), 3),
        (numeric(3), 2.5),
        (numeric(3), -1e300),
    ],
)
def test_well_shaped_answers_are_accepted(question: Question, answer: AnswerValue) -> None:
    assert answer_problem(question, answer) is None


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        (single(), "z"),
        (single(), ["a"]),
        (single(), True),
        (multiple(), "a"),
        (multiple(), ["a", "a"]),
        (multiple(), ["a", "zz"]),
        (multiple(), ["a", 1]),
        (true_false(), "true"),
        (true_false(), 1.0),
        (short_text("x"), 3.0),
        (short_text("x"), ["x"]),
        (short_text("x"), "y" * (MAX_TEXT_ANSWER + 1)),
        (numeric(3), True),
        (numeric(3), False),
        (numeric(3), "3"),
        (numeric(3), math.nan),
        (numeric(3), math.inf),
        (numeric(3), -math.inf),
    ],
)
def test_misshaped_answers_are_refused_with_a_message(question: Question, answer: object) -> None:
    message = answer_problem(question, answer)  # type: ignore[arg-type]
    assert isinstance(message, str)
    assert message


@pytest.mark.parametrize(
    "question", [single(), multiple(), true_false(), short_text("x"), numeric(1)]
)
def test_none_clears_an_answer_of_any_kind(question: Question) -> None:
    assert answer_problem(question, None) is None
    assert score_answer(question, None) == 0.0
    assert not is_correct(question, None)


# ---------------------------------------------------------------- single, true/false


def test_single_right_wrong_and_penalty() -> None:
    q = single(points=2, penalty=0.5)
    assert is_correct(q, "a")
    assert not is_correct(q, "b")
    assert score_answer(q, "a") == 2.0
    assert score_answer(q, "b") == -0.5


def test_wrong_answer_without_penalty_scores_plus_zero() -> None:
    result = score_answer(single(), "b")
    assert result == 0.0
    assert math.copysign(1.0, result) == 1.0  # not -0.0


def test_true_false() -> None:
    q = true_false(correct=False, penalty=1)
    assert score_answer(q, False) == 1.0
    assert score_answer(q, True) == -1.0


def test_misshaped_answer_scores_as_unanswered() -> None:
    assert score_answer(single(penalty=1), "nope") == 0.0
    assert not is_correct(numeric(1), True)


# ---------------------------------------------------------------- short text


def test_normalize_text() -> None:
    assert normalize_text("  The   Eiffel\tTower\n") == "the eiffel tower"
    assert normalize_text("  Straße ", case_sensitive=True) == "Straße"
    assert normalize_text("STRASSE") == normalize_text("straße")


@pytest.mark.parametrize(
    "answer", ["Mars", "mars", "  MARS  ", "the red  planet", "The\nRed Planet"]
)
def test_short_text_ignores_case_and_white_space(answer: str) -> None:
    q = short_text("Mars", "The Red Planet", penalty=0.5)
    assert is_correct(q, answer)
    assert score_answer(q, answer) == 1.0


def test_short_text_wrong_and_case_sensitive() -> None:
    assert score_answer(short_text("Mars", penalty=0.5), "Venus") == -0.5
    q = short_text("NaCl", case_sensitive=True)
    assert is_correct(q, " NaCl ")
    assert not is_correct(q, "nacl")


def test_blank_text_is_never_right() -> None:
    assert not is_correct(short_text("Mars"), "   ")


# ---------------------------------------------------------------- numeric


def test_numeric_tolerance_boundaries() -> None:
    q = numeric(3.14, tolerance=0.005, penalty=0.25)
    assert is_correct(q, 3.14)
    assert is_correct(q, 3.145)  # exactly on the edge: float rounding must not refuse it
    assert is_correct(q, 3.135)
    assert not is_correct(q, 3.1451)
    assert score_answer(q, 3.2) == -0.25


def test_numeric_exact_with_float_noise() -> None:
    assert is_correct(numeric(0.3), 0.1 + 0.2)
    assert is_correct(numeric(12), 12)
    assert not is_correct(numeric(12), 12.001)


# ---------------------------------------------------------------- multiple


def test_all_or_nothing() -> None:
    q = multiple(points=2, penalty=0.5, partial="all_or_nothing")
    assert score_answer(q, ["c", "a", "b"]) == 2.0
    assert is_correct(q, ["a", "b", "c"])
    assert score_answer(q, ["a", "b"]) == -0.5
    assert score_answer(q, ["a", "b", "c", "d"]) == -0.5
    assert score_answer(q, []) == 0.0
    assert not is_correct(q, [])


@pytest.mark.parametrize(
    ("answer", "penalty", "expected"),
    [
        (["a", "b", "c"], 0.0, 2.0),
        (["a", "b"], 0.0, 1.333333),  # 2 * 2/3, rounded to 6 decimals
        (["a"], 0.0, 0.666667),
        (["a", "b", "c", "d"], 0.0, 1.0),  # 2 * 3/3 - 2 * 1/2
        (["a", "d"], 0.0, 0.0),  # 2/3 - 1 < 0, floored at -penalty = 0
        (["a", "d"], 0.25, -0.25),
        (["d", "e"], 0.5, -0.5),  # raw -2, floored at -0.5
        (["d", "e"], 5.0, -2.0),  # raw -2 is above -penalty
        (["a", "b", "d"], 1.0, 0.333333),
        ([], 1.0, 0.0),
    ],
)
def test_per_option(answer: list[str], penalty: float, expected: float) -> None:
    assert score_answer(multiple(points=2, penalty=penalty), answer) == expected


def test_per_option_with_every_choice_correct() -> None:
    q = multiple(points=3, correct="abc", wrong="")
    assert score_answer(q, ["a"]) == 1.0
    assert score_answer(q, ["a", "b", "c"]) == 3.0


# ---------------------------------------------------------------- property: bounds

_points = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def questions(draw: st.DrawFn) -> Question:
    kind = draw(st.sampled_from(["single", "multiple", "true_false", "short_text", "numeric"]))
    points, penalty = draw(_points), draw(_points)
    n = draw(st.integers(2, 6))
    flags = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    if kind == "single":
        flags = [i == draw(st.integers(0, n - 1)) for i in range(n)]
    elif not any(flags):
        flags[0] = True
    choices = tuple(Choice(id=f"c{i}", text=f"C{i}", correct=f) for i, f in enumerate(flags))
    return Question(
        id="q",
        kind=kind,  # type: ignore[arg-type]
        text="?",
        points=points,
        penalty=penalty,
        partial=draw(st.sampled_from(["per_option", "all_or_nothing"])),
        choices=choices if kind in ("single", "multiple") else (),
        correct=draw(st.booleans()) if kind == "true_false" else None,
        accepted=("yes", "Oui") if kind == "short_text" else (),
        value=draw(st.floats(-1e6, 1e6)) if kind == "numeric" else None,
        tolerance=draw(st.floats(0, 10)) if kind == "numeric" else 0.0,
    )


answers: st.SearchStrategy[AnswerValue] = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(["c0", "c1", "c5", "yes", " OUI ", "no"]),
    st.text(max_size=20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-10, 10).map(float),
    st.lists(st.sampled_from(["c0", "c1", "c2", "c3", "c4", "c5", "zz"]), max_size=7),
)


@given(questions(), answers)
@settings(deadline=None)
def test_score_is_within_minus_penalty_and_points(question: Question, answer: AnswerValue) -> None:
    result = score_answer(question, answer)
    assert -question.penalty <= result <= question.points
    assert result == round(result, 6) or result in (question.points, -question.penalty)
    if is_correct(question, answer):
        assert result == question.points
    if answer is None or answer_problem(question, answer) is not None:
        assert result == 0.0


# ---------------------------------------------------------------- sections


def section() -> Section:
    return Section(
        kind="test",
        questions=(
            single(points=1, penalty=1, qid="q1"),
            single(points=2, penalty=1, qid="q2"),
            single(points=4, penalty=1, qid="q3"),
        ),
    )


def test_score_section_counts_only_the_planned_questions() -> None:
    sheet = score_section(section(), ["q1", "q2"], {"q1": "a", "q2": "b", "q3": "a"})
    assert sheet == ScoreSheet(score=0.0, max_score=3.0, per_question={"q1": 1.0, "q2": -1.0})


def test_score_section_total_may_be_negative() -> None:
    sheet = score_section(section(), ["q1", "q2", "q3"], {"q1": "b", "q2": "b"})
    assert sheet.score == -2.0
    assert sheet.max_score == 7.0
    assert sheet.per_question == {"q1": -1.0, "q2": -1.0, "q3": 0.0}


def test_score_section_ignores_unknown_and_repeated_ids() -> None:
    sheet = score_section(section(), ["q3", "nope", "q3"], {"q3": "a", "nope": "a"})
    assert sheet == ScoreSheet(score=4.0, max_score=4.0, per_question={"q3": 4.0})


def test_score_section_rounds_float_noise() -> None:
    qs = tuple(single(points=0.1, qid=f"q{i}") for i in range(3))
    sheet = score_section(Section(kind="test", questions=qs), ["q0", "q1", "q2"], {
        "q0": "a", "q1": "a", "q2": "a"
    })  # fmt: skip
    assert sheet.score == 0.3
    assert sheet.max_score == 0.3


@given(st.lists(st.tuples(questions(), answers), min_size=1, max_size=8))
@settings(deadline=None)
def test_section_score_is_bounded(pairs: list[tuple[Question, AnswerValue]]) -> None:
    qs = tuple(msgspec.structs.replace(q, id=f"q{i}") for i, (q, _) in enumerate(pairs))
    given_answers = {f"q{i}": a for i, (_, a) in enumerate(pairs)}
    sheet = score_section(Section(kind="test", questions=qs), [q.id for q in qs], given_answers)
    assert sheet.score <= sheet.max_score
    assert sheet.score >= -round(math.fsum(q.penalty for q in qs), 6) - 1e-6
    assert set(sheet.per_question) == {q.id for q in qs}
