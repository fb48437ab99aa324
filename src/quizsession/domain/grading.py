"""Grading by hand and regrading: what a grader and an author decide about a
finished attempt.

``grade`` records a grader's points and comment for a question graded by hand
(a kind whose ``grading`` is ``"manual"``, an essay); grading again replaces the
grade (a new event: the last one counts). ``regrade`` scores a finished attempt
again with another version of its quiz (an author fixed an answer key): one
``Regraded`` event when some score changed, none otherwise; grades given by hand
are kept. Both refuse with a stable code and change nothing when refused. Pure:
time is an argument.
"""

from __future__ import annotations

import dataclasses
import math

from quizsession.domain.attempt_rules import require_exists, require_not_voided
from quizsession.domain.attempt_state import AttemptState, score
from quizsession.domain.commands import GradeAnswer, Regrade
from quizsession.domain.errors import ErrorCode, refuse
from quizsession.domain.events import AnswerGraded, AttemptEvent, Regraded
from quizsession.domain.kinds import kind_of
from quizsession.domain.quiz import Question, Quiz
from quizsession.domain.selection import planned_ids

MAX_GRADE_COMMENT = 5000
"""The longest grader's comment, in characters."""

__all__ = [
    "MAX_GRADE_COMMENT",
    "attempt_question_ids",
    "grade",
    "grading_pending",
    "regrade",
    "require_finished",
    "scoring_version",
]


def require_finished(state: AttemptState) -> None:
    """The attempt exists, is not voided and its test was submitted."""
    require_exists(state)
    require_not_voided(state)
    if state.submitted is None or state.test is None:
        raise refuse(
            ErrorCode.ATTEMPT_NOT_FINISHED,
            "the attempt is not submitted yet: it is graded once the test is over",
        )


def attempt_question_ids(state: AttemptState, quiz: Quiz) -> list[str]:
    """The test questions this attempt is scored on (its plan; for adaptive
    selection, the questions delivered)."""
    if state.test is None:
        return []
    return planned_ids(quiz.test, state.test.plan, state.test.delivered)


def _attempt_question(state: AttemptState, quiz: Quiz, question_id: str) -> Question:
    question = quiz.test.question(question_id)
    if question is None or question_id not in attempt_question_ids(state, quiz):
        raise refuse(
            ErrorCode.QUESTION_UNKNOWN,
            f"question {question_id!r} is not a question of this attempt",
            question_id=question_id,
        )
    return question


def grade(state: AttemptState, quiz: Quiz, command: GradeAnswer, now: float) -> list[AttemptEvent]:
    """An ``AnswerGraded`` event for ``command``, or a refusal. The same grade by
    the same grader again changes nothing (a retried request)."""
    require_finished(state)
    question = _attempt_question(state, quiz, command.question_id)
    if kind_of(question).grading != "manual":
        raise refuse(
            ErrorCode.NOT_MANUALLY_GRADED,
            f"question {question.id!r} is scored automatically: it takes no grade",
            question_id=question.id,
        )
    points = command.points
    if not math.isfinite(points) or points < 0 or points > question.points:
        raise refuse(
            ErrorCode.GRADE_OUT_OF_RANGE,
            f"a grade for question {question.id!r} must be between 0 and {question.points:g}",
            question_id=question.id,
            min_points=0.0,
            max_points=float(question.points),
        )
    if len(command.comment) > MAX_GRADE_COMMENT:
        raise refuse(
            ErrorCode.VALIDATION,
            f"a grader's comment must be at most {MAX_GRADE_COMMENT} characters",
            question_id=question.id,
        )
    points = float(points) + 0.0
    if state.grades.get(question.id) == (points, command.comment, command.by):
        return []
    grades = dict(state.grades)
    grades[question.id] = (points, command.comment, command.by)
    after = score(dataclasses.replace(state, grades=grades), quiz)
    return [
        AnswerGraded(
            at=now,
            question_id=question.id,
            points=points,
            comment=command.comment,
            by=command.by,
            score=after.score,
            max_score=after.max_score,
            pending=len(after.pending),
        )
    ]


def regrade(
    state: AttemptState, old_quiz: Quiz, new_quiz: Quiz, command: Regrade, now: float
) -> list[AttemptEvent]:
    """A ``Regraded`` event when scoring the finished attempt with ``new_quiz``
    changes a question's score, the total or the maximum; nothing when it changes
    nothing (or the attempt is scored with that version already). Refused when a
    question the attempt was given is not in ``new_quiz``."""
    require_finished(state)
    if new_quiz.id != state.quiz_id or new_quiz.version != command.quiz_version:
        raise refuse(
            ErrorCode.NOT_ALLOWED,
            f"version {command.quiz_version} of quiz {state.quiz_id!r} is not the quiz given",
        )
    if new_quiz.version == old_quiz.version:
        return []
    ids = attempt_question_ids(state, old_quiz)
    missing = [qid for qid in ids if new_quiz.test.question(qid) is None]
    if missing:
        raise refuse(
            ErrorCode.REGRADE_INCOMPATIBLE,
            f"version {new_quiz.version} lacks question(s) of this attempt: {', '.join(missing)}",
            missing=missing,
        )
    renamed = [
        f"{qid}: {what}"
        for qid in ids
        for what in renamed_ids(old_quiz.test.question(qid), new_quiz.test.question(qid))
    ]
    if renamed:
        raise refuse(
            ErrorCode.REGRADE_INCOMPATIBLE,
            f"version {new_quiz.version} gives ids the answers name to other texts "
            f"({'; '.join(renamed[:5])}): the answers would be scored as other choices",
            renamed=renamed,
        )
    before = score(state, old_quiz)
    after = score(state, new_quiz)
    changes = {
        qid: [before.per_question.get(qid, 0.0), after.per_question.get(qid, 0.0)]
        for qid in ids
        if before.per_question.get(qid, 0.0) != after.per_question.get(qid, 0.0)
    }
    same = (
        not changes
        and before.score == after.score
        and before.max_score == after.max_score
        and before.pending == after.pending
    )
    if same:
        return []
    return [
        Regraded(
            at=now,
            quiz_version=new_quiz.version,
            old_score=before.score,
            new_score=after.score,
            changes=changes,
            by=command.by,
            max_score=after.max_score,
            pending=len(after.pending),
        )
    ]


def scoring_version(state: AttemptState) -> int:
    """The version of its quiz an attempt is scored (and shown) with: a
    regrade's, else the one it started with."""
    return state.regraded_version if state.regraded_version is not None else state.quiz_version


def grading_pending(state: AttemptState, quiz: Quiz) -> tuple[str, ...]:
    """The questions of a submitted attempt whose answers wait for a grader
    (``quiz``: the version it is scored with); () for an attempt not submitted."""
    if state.submitted is None or state.status != "submitted":
        return ()
    return score(state, quiz).pending


def _named(question: Question) -> dict[str, dict[str, str]]:
    """The ids an answer to ``question`` names, by group, with their texts:
    choices, matching items, ordering items, each gap's choices."""
    groups = {
        "choice": {c.id: c.text for c in question.choices},
        "item": {p.id: p.text for p in question.pairs} | {i.id: i.text for i in question.items},
    }
    for gap in question.gaps:
        groups[f"gap {gap.id} choice"] = {c.id: c.text for c in gap.choices}
    return groups


def renamed_ids(old: Question | None, new: Question | None) -> list[str]:
    """Where ``new`` gives an id of ``old`` to a text that ``old`` had under
    another id (ids permuted, as a re-import that numbers choices differently
    does): the answers stored as ids would mean other choices. A text edited in
    place (a typo fixed) is not a rename."""
    if old is None or new is None:
        return []
    found: list[str] = []
    new_groups = _named(new)
    for group, old_texts in _named(old).items():
        new_texts = new_groups.get(group, {})
        id_of_text = {text: key for key, text in old_texts.items()}
        for key, text in new_texts.items():
            before = old_texts.get(key)
            if before is None or before == text:
                continue
            if id_of_text.get(text, key) != key:
                found.append(f"{group} {key} is {text!r}, was {before!r}")
    return found
