"""The wire models of what a candidate is told about answers: the review of a
submitted test (``GET /sessions/{id}/review``, ``GET /admin/attempts/{id}/review``)
and the practice round's immediate feedback
(``POST /sessions/{id}/questions/{question_id}/check``).

What the quiz's review policy hides is absent from a review (never ``null``
with a meaning): a member listed as optional below appears only when its review
item is shown now (``available``).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from quizsession.api.models import AnswerValue, ChoiceView, GapView, ImageView, ItemView

ReviewItem = Literal[
    "score", "answers", "right_answers", "feedback", "general_feedback", "overall_feedback"
]


def _unset() -> Any:
    return msgspec.UNSET


def _optional() -> Any:
    """A member that may be absent (never ``null`` unless its type says so)."""
    return msgspec.field(default_factory=_unset)


class FeedbackView(msgspec.Struct, frozen=True, kw_only=True):
    """Feedback on one part of an answer: ``ref`` is the chosen choice's id or
    the gap's id; ``text`` is for the candidate."""

    ref: str
    text: str


class ReviewQuestion(msgspec.Struct, frozen=True, kw_only=True):
    """One question of a reviewed test, as the candidate saw it (the kind's view
    fields, in the attempt's order), with what the policy shows now:

    - ``answers``: ``answer`` (the saved value, ``null`` when left blank) and
      ``answer_text`` (the answer in words);
    - ``right_answers``: ``right_answer`` (in words; absent where a kind has none
      to show, e.g. an essay);
    - ``score``: ``score`` (absent while a grader has not graded it: then
      ``pending`` is true);
    - ``feedback``: ``feedback`` (per chosen choice and per gap) and
      ``grade_comment`` (the grader's comment);
    - ``general_feedback``: the question's ``general_feedback``.

    ``number`` is 0 for a description (shown as information, never scored)."""

    id: str
    number: int
    kind: str
    text: str
    points: float
    grading: str
    images: list[ImageView] | None = None
    choices: list[ChoiceView] | None = None
    items: list[ItemView] | None = None
    options: list[str] | None = None
    gaps: list[GapView] | None = None
    word_limit: int | None = None
    response_template: str | None = None
    answer: AnswerValue = _optional()
    answer_text: str = _optional()
    right_answer: str = _optional()
    score: float = _optional()
    pending: bool = _optional()
    feedback: list[FeedbackView] = _optional()
    grade_comment: str = _optional()
    general_feedback: str = _optional()


class ReviewView(msgspec.Struct, frozen=True, kw_only=True):
    """A submitted test as its candidate may see it now.

    ``available``: the review items shown now (the quiz's review policy: after
    the submission, then after the quiz closes); ``next_at``: when more becomes
    visible (the quiz's close), or null. ``score`` and ``max_score`` appear with
    the ``score`` item; while a hand-graded answer waits for its grade,
    ``pending`` is true and ``score`` is absent. ``overall_feedback`` appears
    with the ``overall_feedback`` item (listed in ``available`` only with
    ``score``: the band would tell a hidden score's range) once the score is
    final: the quiz's text for the candidate's grade band; absent while
    ``pending`` is true, and when no band reaches the candidate's percentage.
    ``questions`` lists the test's questions when any per-question item is
    shown (answers, right answers, feedback, general feedback), else it is
    empty."""

    attempt_id: str
    quiz_id: str
    quiz_title: str
    server_time: float
    available: list[ReviewItem]
    next_at: float | None
    pending: bool
    questions: list[ReviewQuestion]
    score: float = _optional()
    max_score: float = _optional()
    overall_feedback: str = _optional()


class PracticeFeedback(msgspec.Struct, frozen=True, kw_only=True):
    """The practice round's immediate feedback on the saved answer to one
    question: whether it is right (``fraction``: the share of the marks it
    earns, 0 to 1), the right answer in words, feedback per chosen choice and
    per gap, and the question's general feedback. ``grading`` is ``manual``
    for an answer a grader would mark (never right here), ``none`` for a
    description."""

    question_id: str
    answered: bool
    grading: str
    correct: bool
    fraction: float
    answer_text: str
    right_answer: str
    feedback: list[FeedbackView]
    general_feedback: str | None = None
