"""Scoring: the shape an answer must have, whether it is right, and what it earns.

Pure functions of a question and an answer, each dispatching to the question's
kind (``domain/kinds``: the rules of every kind are in its module). Scores are
rounded to 6 decimals to keep float noise (``0.1 + 0.2``) out of results and
reports.

Every kind scored by its key keeps a score within ``[-penalty, points]``; a blank
answer (None, "", [], {}) earns 0, never less. Kinds with a fraction ``f`` of the
points (single, true/false, short text and numeric are 1 or 0; matching, ordering
and cloze give partial credit) earn ``points * f`` when ``f > 0``, and a non-blank
answer worth nothing costs ``penalty`` (negative marks). ``multiple`` keeps its
per-option and all-or-nothing rules. An essay earns what its grader gives (0 until
then: *pending*); a description earns nothing.

An answer of the wrong shape for its question (which the app refuses at save time
through ``answer_problem``) is treated as no answer: it earns 0 and is not correct.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import msgspec

from quizsession.domain.events import AnswerValue
from quizsession.domain.kinds import kind_of
from quizsession.domain.kinds.base import (
    MAX_ESSAY_ANSWER,
    MAX_TEXT_ANSWER,
    normalize_text,
    round_score,
)
from quizsession.domain.quiz import Question, Section

__all__ = [
    "MAX_ESSAY_ANSWER",
    "MAX_TEXT_ANSWER",
    "Grade",
    "ScoreSheet",
    "answer_problem",
    "is_correct",
    "normalize_text",
    "score_answer",
    "score_section",
]

Grade = tuple[float, str, str]
"""A grader's points, comment and name (``AttemptState.grades``' values)."""


class ScoreSheet(msgspec.Struct, frozen=True):
    """The score of a section: the total, the maximum and each question's share."""

    score: float
    max_score: float
    per_question: dict[str, float]
    # Questions graded by hand, answered and not graded yet: the score is pending.
    pending: tuple[str, ...] = ()


def answer_problem(question: Question, answer: AnswerValue) -> str | None:
    """None when ``answer`` has the right shape for ``question``, else a message.

    ``None`` (a cleared answer) is always acceptable.
    """
    if answer is None:
        return None
    return kind_of(question).answer_problem(question, answer)


def is_correct(question: Question, answer: AnswerValue) -> bool:
    """Whether ``answer`` is fully right. No answer and malformed answers are not."""
    if answer is None or answer_problem(question, answer) is not None:
        return False
    return kind_of(question).is_correct(question, answer)


def score_answer(question: Question, answer: AnswerValue) -> float:
    """What ``answer`` earns: within ``[-penalty, points]``; 0 when unanswered (and
    0 for a kind graded by hand: ``score_section`` applies its grade)."""
    if answer is None or answer_problem(question, answer) is not None:
        return 0.0
    return kind_of(question).score(question, answer)


def score_section(
    section: Section,
    question_ids: Sequence[str],
    answers: Mapping[str, AnswerValue],
    grades: Mapping[str, Grade] | None = None,
) -> ScoreSheet:
    """Score the questions ``question_ids`` (the attempt's planned questions) of
    ``section`` with ``answers`` and the ``grades`` of questions graded by hand.

    Answers to other questions are ignored, as are ids that are not questions of the
    section; a repeated id counts once; descriptions are left out (they are worth
    nothing). ``max_score`` is the sum of the points of the questions scored. The
    total is **not** floored at 0: with negative marks a candidate can end with a
    negative score (each question still earns at least ``-penalty``).

    A question graded by hand earns its grade's points (clamped to [0, points]);
    answered (not blank) and not graded, it earns 0 for now and is listed in
    ``pending``; blank, it earns 0 and needs no grader.
    """
    by_id = {q.id: q for q in section.questions}
    given = grades or {}
    per_question: dict[str, float] = {}
    points: list[float] = []
    pending: list[str] = []
    for qid in question_ids:
        question = by_id.get(qid)
        if qid in per_question or question is None:
            continue
        spec = kind_of(question)
        if spec.grading == "none":
            continue
        answer = answers.get(qid)
        if spec.grading == "manual":
            grade = given.get(qid)
            if grade is not None:
                per_question[qid] = min(question.points, max(0.0, round_score(grade[0]))) + 0.0
            else:
                per_question[qid] = 0.0
                if not spec.is_blank(answer) and answer_problem(question, answer) is None:
                    pending.append(qid)
        else:
            per_question[qid] = score_answer(question, answer)
        points.append(question.points)
    return ScoreSheet(
        score=round_score(math.fsum(per_question.values())),
        max_score=round_score(math.fsum(points)),
        per_question=per_question,
        pending=tuple(pending),
    )
