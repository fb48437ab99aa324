"""The review policy over time (``domain.review``): nothing before the
submission, ``after_submit`` until the quiz closes, ``after_close`` from then on
(never without a close time), and when more becomes visible; the feedback an
answer earns; the instructions' warning about negative marks."""

from __future__ import annotations

import pytest

from quizsession.domain.quiz import (
    REVIEW_ITEMS,
    Choice,
    FeedbackBand,
    Gap,
    Question,
    Quiz,
    ReviewItem,
    ReviewPolicy,
    Section,
)
from quizsession.domain.review import (
    PENALTY_WARNING,
    answer_feedback,
    next_reveal,
    penalty_warning,
    visible_items,
)

SUBMITTED = 1_000.0
CLOSES = 5_000.0


def single(penalty: float = 0.0) -> Question:
    return Question(
        id="q1",
        kind="single",
        text="Pick one",
        penalty=penalty,
        choices=(
            Choice(id="a", text="A", correct=True, feedback="Yes: A."),
            Choice(id="b", text="B", feedback="B is a trap."),
            Choice(id="c", text="C"),
        ),
    )


def quiz(
    *,
    closes_at: float | None = CLOSES,
    after_submit: tuple[ReviewItem, ...] = ("score",),
    after_close: tuple[ReviewItem, ...] = REVIEW_ITEMS,
    penalty: float = 0.0,
    bands: tuple[FeedbackBand, ...] = (FeedbackBand(from_percent=0, text="Thank you."),),
) -> Quiz:
    return Quiz(
        id="q",
        title="Q",
        duration_s=600,
        test=Section(kind="test", questions=(single(penalty),)),
        closes_at=closes_at,
        review=ReviewPolicy(after_submit=after_submit, after_close=after_close),
        overall_feedback=bands,
    )


# ------------------------------------------------------------------ over time


def test_nothing_is_visible_before_the_submission() -> None:
    q = quiz()
    assert visible_items(q, None, SUBMITTED) == ()
    assert visible_items(q, None, CLOSES + 1) == ()
    assert next_reveal(q, None, SUBMITTED) is None


def test_the_default_shows_the_score_at_once_and_everything_after_the_close() -> None:
    q = quiz()
    assert visible_items(q, SUBMITTED, SUBMITTED) == ("score",)
    assert visible_items(q, SUBMITTED, CLOSES - 0.001) == ("score",)
    assert next_reveal(q, SUBMITTED, SUBMITTED) == CLOSES
    # The close is inclusive: the window is closed at closes_at.
    assert visible_items(q, SUBMITTED, CLOSES) == REVIEW_ITEMS
    assert visible_items(q, SUBMITTED, CLOSES + 3600) == REVIEW_ITEMS
    assert next_reveal(q, SUBMITTED, CLOSES) is None


def test_without_a_close_time_after_close_never_applies() -> None:
    q = quiz(closes_at=None)
    for now in (SUBMITTED, SUBMITTED + 10**9):
        assert visible_items(q, SUBMITTED, now) == ("score",)
        assert next_reveal(q, SUBMITTED, now) is None


def test_a_submission_after_the_close_sees_the_after_close_items_at_once() -> None:
    q = quiz()
    assert visible_items(q, CLOSES, CLOSES) == REVIEW_ITEMS
    assert next_reveal(q, CLOSES, CLOSES) is None


def test_overall_feedback_is_neither_shown_nor_promised_without_bands() -> None:
    """A quiz without bands: nothing to show, so the item is not announced,
    and a close that would add only it reveals nothing more."""
    q = quiz(bands=())
    assert "overall_feedback" not in visible_items(q, SUBMITTED, CLOSES)
    assert visible_items(q, SUBMITTED, CLOSES) == tuple(
        item for item in REVIEW_ITEMS if item != "overall_feedback"
    )
    five = tuple(item for item in REVIEW_ITEMS if item != "overall_feedback")
    q = quiz(bands=(), after_submit=five)
    assert next_reveal(q, SUBMITTED, SUBMITTED) is None
    # With bands, the close adds it: promised for then.
    assert next_reveal(quiz(after_submit=five), SUBMITTED, SUBMITTED) == CLOSES


#: The items shown on their own (``overall_feedback`` needs ``score``).
ALONE = tuple(item for item in REVIEW_ITEMS if item != "overall_feedback")


@pytest.mark.parametrize("item", ALONE)
def test_each_item_is_shown_only_where_its_list_names_it(item: ReviewItem) -> None:
    q = quiz(after_submit=(item,), after_close=())
    assert visible_items(q, SUBMITTED, SUBMITTED) == (item,)
    # after_close replaces after_submit once the quiz has closed.
    assert visible_items(q, SUBMITTED, CLOSES) == ()
    assert next_reveal(q, SUBMITTED, SUBMITTED) is None
    q = quiz(after_submit=(), after_close=(item,))
    assert visible_items(q, SUBMITTED, SUBMITTED) == ()
    assert next_reveal(q, SUBMITTED, SUBMITTED) == CLOSES
    assert visible_items(q, SUBMITTED, CLOSES) == (item,)


def test_overall_feedback_is_shown_only_with_the_score() -> None:
    """The grade band's text would tell a hidden score's range."""
    assert "overall_feedback" in REVIEW_ITEMS
    assert "overall_feedback" in ReviewPolicy().after_close
    assert ReviewPolicy().after_submit == ("score",)
    q = quiz(after_submit=("overall_feedback", "answers"), after_close=("overall_feedback",))
    assert visible_items(q, SUBMITTED, SUBMITTED) == ("answers",)
    assert visible_items(q, SUBMITTED, CLOSES) == ()
    # The close adds nothing that can be shown.
    assert next_reveal(q, SUBMITTED, SUBMITTED) is None
    q = quiz(after_submit=("overall_feedback", "score"), after_close=())
    assert visible_items(q, SUBMITTED, SUBMITTED) == ("score", "overall_feedback")
    q = quiz(after_submit=("score",), after_close=("score", "overall_feedback"))
    assert visible_items(q, SUBMITTED, SUBMITTED) == ("score",)
    assert next_reveal(q, SUBMITTED, SUBMITTED) == CLOSES
    assert visible_items(q, SUBMITTED, CLOSES) == ("score", "overall_feedback")


def test_items_come_in_one_order_without_repeats() -> None:
    q = quiz(after_submit=("feedback", "score", "answers", "score"))
    assert visible_items(q, SUBMITTED, SUBMITTED) == ("score", "answers", "feedback")


def test_no_next_reveal_when_the_close_adds_nothing() -> None:
    q = quiz(after_submit=REVIEW_ITEMS, after_close=("score",))
    assert next_reveal(q, SUBMITTED, SUBMITTED) is None
    q = quiz(after_submit=("score", "answers"), after_close=("answers",))
    assert next_reveal(q, SUBMITTED, SUBMITTED) is None


def test_nothing_at_all() -> None:
    q = quiz(after_submit=(), after_close=())
    assert visible_items(q, SUBMITTED, SUBMITTED) == ()
    assert visible_items(q, SUBMITTED, CLOSES) == ()
    assert next_reveal(q, SUBMITTED, SUBMITTED) is None


# ------------------------------------------------------------------- feedback


def test_feedback_of_the_chosen_choices_only() -> None:
    q = single()
    assert answer_feedback(q, "a") == [("a", "Yes: A.")]
    assert answer_feedback(q, "b") == [("b", "B is a trap.")]
    assert answer_feedback(q, "c") == []  # no feedback written for it
    assert answer_feedback(q, None) == []
    assert answer_feedback(q, ["b", "a"]) == [("a", "Yes: A."), ("b", "B is a trap.")]


def test_feedback_per_answered_gap() -> None:
    q = Question(
        id="cz",
        kind="cloze",
        text="{{g1}} and {{g2}} and {{g3}}",
        gaps=(
            Gap(
                id="g1",
                kind="choice",
                choices=(
                    Choice(id="x", text="X", correct=True, feedback="X fits."),
                    Choice(id="y", text="Y"),
                ),
                feedback="About g1.",
            ),
            Gap(id="g2", kind="short_text", accepted=("cat",), feedback="A small feline."),
            Gap(id="g3", kind="numeric", value=3.0, feedback="Three."),
        ),
    )
    assert answer_feedback(q, {"g1": "x", "g2": "dog"}) == [
        ("g1", "X fits."),
        ("g1", "About g1."),
        ("g2", "A small feline."),
    ]
    assert answer_feedback(q, {"g1": "y", "g2": "  ", "g3": 3.0}) == [
        ("g1", "About g1."),
        ("g3", "Three."),
    ]
    assert answer_feedback(q, {}) == []


# --------------------------------------------------------------- instructions


def test_the_penalty_warning_is_there_when_a_question_costs_marks() -> None:
    assert penalty_warning(quiz(penalty=0.5).test) == PENALTY_WARNING
    assert "cost marks" in PENALTY_WARNING
    assert penalty_warning(quiz().test) == ""
    assert penalty_warning(None) == ""
