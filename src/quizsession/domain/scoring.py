"""Scoring: the shape an answer must have, whether it is right, and what it earns.

Pure functions of a question and an answer. Scores are rounded to 6 decimals to
keep float noise (``0.1 + 0.2``) out of results and reports.

Rules, per kind:

- single / true_false / short_text / numeric: right earns ``points``, wrong costs
  ``penalty`` (negative marks), no answer earns 0.
- short_text: compared after stripping and collapsing white space, and (unless the
  question is ``case_sensitive``) case-folded.
- numeric: right when ``|answer - value| <= tolerance`` (plus a tiny epsilon that
  absorbs float rounding, relative to the magnitude of ``value``).
- multiple, ``all_or_nothing``: exactly the correct set earns ``points``, anything
  else costs ``penalty``; the empty list (a cleared answer) earns 0.
- multiple, ``per_option``: ``points * right/n_correct - points * wrong/n_wrong``;
  a negative result is floored at ``-penalty`` (so with no penalty it floors at 0);
  the empty list earns 0.

An answer of the wrong shape for its question (which the app refuses at save time
through ``answer_problem``) is treated as no answer: it earns 0 and is not correct.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import msgspec

from quizsession.domain.events import AnswerValue
from quizsession.domain.quiz import Question, Section

MAX_TEXT_ANSWER = 2000
"""The longest short-text answer accepted, in characters."""

_DECIMALS = 6


class ScoreSheet(msgspec.Struct, frozen=True):
    """The score of a section: the total, the maximum and each question's share."""

    score: float
    max_score: float
    per_question: dict[str, float]
    # Questions graded by hand, answered and not graded yet: the score is pending.
    pending: tuple[str, ...] = ()


def _round(x: float) -> float:
    return round(x, _DECIMALS) + 0.0  # "+ 0.0" turns -0.0 into 0.0


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def normalize_text(text: str, *, case_sensitive: bool = False) -> str:
    """Strip, collapse runs of white space to one space and (unless
    ``case_sensitive``) casefold: the form short-text answers are compared in."""
    collapsed = " ".join(text.split())
    return collapsed if case_sensitive else collapsed.casefold()


def answer_problem(question: Question, answer: AnswerValue) -> str | None:
    """None when ``answer`` has the right shape for ``question``, else a message.

    ``None`` (a cleared answer) is always acceptable.
    """
    if answer is None:
        return None
    kind = question.kind
    if kind == "single":
        if not isinstance(answer, str):
            return "a single-choice answer must be one choice id (a string)"
        if all(c.id != answer for c in question.choices):
            return f"{answer!r} is not a choice of question {question.id!r}"
        return None
    if kind == "multiple":
        if not isinstance(answer, list) or not all(isinstance(a, str) for a in answer):
            return "a multiple-choice answer must be a list of choice ids (strings)"
        if len(set(answer)) != len(answer):
            return "a multiple-choice answer must not repeat a choice id"
        ids = {c.id for c in question.choices}
        unknown = [a for a in answer if a not in ids]
        if unknown:
            return f"{unknown[0]!r} is not a choice of question {question.id!r}"
        return None
    if kind == "true_false":
        if not isinstance(answer, bool):
            return "a true/false answer must be true or false"
        return None
    if kind == "short_text":
        if not isinstance(answer, str):
            return "a short-text answer must be a string"
        if len(answer) > MAX_TEXT_ANSWER:
            return f"a short-text answer must be at most {MAX_TEXT_ANSWER} characters"
        return None
    # numeric
    if not _is_number(answer):
        return "a numeric answer must be a number"
    assert isinstance(answer, int | float)
    if not math.isfinite(answer):
        return "a numeric answer must be a finite number"
    return None


def _numeric_match(question: Question, answer: float) -> bool:
    if question.value is None:
        return False
    epsilon = 1e-9 * max(1.0, abs(question.value))
    return abs(answer - question.value) <= question.tolerance + epsilon


def is_correct(question: Question, answer: AnswerValue) -> bool:
    """Whether ``answer`` is right. No answer and malformed answers are not."""
    if answer is None or answer_problem(question, answer) is not None:
        return False
    kind = question.kind
    if kind == "single":
        return any(c.id == answer and c.correct for c in question.choices)
    if kind == "multiple":
        assert isinstance(answer, list)
        correct = {c.id for c in question.choices if c.correct}
        return bool(correct) and set(answer) == correct
    if kind == "true_false":
        return question.correct is not None and answer == question.correct
    if kind == "short_text":
        assert isinstance(answer, str)
        cs = question.case_sensitive
        given = normalize_text(answer, case_sensitive=cs)
        return any(
            given == normalize_text(a, case_sensitive=cs) for a in question.accepted if a.strip()
        )
    assert isinstance(answer, int | float)
    return _numeric_match(question, float(answer))


def _per_option(question: Question, answer: list[str]) -> float:
    correct = {c.id for c in question.choices if c.correct}
    n_correct = len(correct)
    n_wrong = len(question.choices) - n_correct
    right = sum(1 for a in answer if a in correct)
    wrong = len(answer) - right
    points = question.points
    raw = (points * right / n_correct if n_correct else 0.0) - (
        points * wrong / n_wrong if n_wrong else 0.0
    )
    if raw < 0:
        raw = max(raw, -question.penalty)
    # Rounding may step just outside the range; the range is the promise.
    return min(question.points, max(-question.penalty, _round(raw))) + 0.0


def score_answer(question: Question, answer: AnswerValue) -> float:
    """What ``answer`` earns: within ``[-penalty, points]``; 0 when unanswered."""
    if answer is None or answer_problem(question, answer) is not None:
        return 0.0
    if question.kind == "multiple":
        assert isinstance(answer, list)
        if not answer:
            return 0.0
        if question.partial == "per_option":
            return _per_option(question, answer)
    if is_correct(question, answer):
        return float(question.points) + 0.0
    return -float(question.penalty) + 0.0


def score_section(
    section: Section,
    question_ids: Sequence[str],
    answers: Mapping[str, AnswerValue],
) -> ScoreSheet:
    """Score the questions ``question_ids`` (the attempt's planned questions) of
    ``section`` with ``answers``.

    Answers to other questions are ignored, as are ids that are not questions of the
    section; a repeated id counts once. ``max_score`` is the sum of the points of the
    questions scored. The total is **not** floored at 0: with negative marks a
    candidate can end with a negative score (each question still earns at least
    ``-penalty``).
    """
    by_id = {q.id: q for q in section.questions}
    per_question: dict[str, float] = {}
    points: list[float] = []
    for qid in question_ids:
        if qid in per_question:
            continue
        question = by_id.get(qid)
        if question is None:
            continue
        per_question[qid] = score_answer(question, answers.get(qid))
        points.append(question.points)
    return ScoreSheet(
        score=_round(math.fsum(per_question.values())),
        max_score=_round(math.fsum(points)),
        per_question=per_question,
    )
