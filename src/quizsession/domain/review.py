"""What a candidate is shown of a finished test, and when: the quiz's review
policy over time; and the feedback an answer earns (per choice and per gap).

Pure: the time is an argument. The policy (``Quiz.review``) has two lists:

- ``after_submit``: what is shown from the submission on, until the quiz closes;
- ``after_close``: what is shown once the quiz's window has closed
  (``closes_at``); it replaces ``after_submit`` from then on (each list is the
  whole of what its period shows). Without ``closes_at`` it never applies.

Nothing is shown before the submission. ``overall_feedback`` (the quiz's text
for the candidate's grade band) is shown only together with ``score`` (the
band would tell a hidden score's range) and only when the quiz has bands.
"""

from __future__ import annotations

from quizsession.domain.events import AnswerValue
from quizsession.domain.quiz import REVIEW_ITEMS, Question, Quiz, ReviewItem, Section

__all__ = [
    "REVIEW_ITEMS",
    "answer_feedback",
    "chosen_ids",
    "next_reveal",
    "penalty_warning",
    "visible_items",
]

#: The sentence the instructions carry when a section has negative marks.
PENALTY_WARNING = "Wrong answers cost marks: see each question."


def _ordered(quiz: Quiz, items: tuple[ReviewItem, ...]) -> tuple[ReviewItem, ...]:
    """``items`` in ``REVIEW_ITEMS`` order, once each; ``overall_feedback``
    only with ``score`` and when the quiz has feedback bands (an item with
    nothing behind it is never announced, nor promised for later)."""
    chosen = set(items)
    if "score" not in chosen or not quiz.overall_feedback:
        chosen.discard("overall_feedback")
    return tuple(item for item in REVIEW_ITEMS if item in chosen)


def _closed(quiz: Quiz, now: float) -> bool:
    return quiz.closes_at is not None and now >= quiz.closes_at


def visible_items(quiz: Quiz, submitted_at: float | None, now: float) -> tuple[ReviewItem, ...]:
    """The review items the candidate sees at ``now`` of a test submitted at
    ``submitted_at`` (None: not submitted, nothing to see), in ``REVIEW_ITEMS``
    order."""
    if submitted_at is None:
        return ()
    if _closed(quiz, now):
        return _ordered(quiz, quiz.review.after_close)
    return _ordered(quiz, quiz.review.after_submit)


def next_reveal(quiz: Quiz, submitted_at: float | None, now: float) -> float | None:
    """When the candidate will see more than now (the quiz's close, when
    ``after_close`` adds an item), else None."""
    if submitted_at is None or quiz.closes_at is None or _closed(quiz, now):
        return None
    added = set(_ordered(quiz, quiz.review.after_close)) - set(
        _ordered(quiz, quiz.review.after_submit)
    )
    return quiz.closes_at if added else None


def chosen_ids(answer: AnswerValue) -> set[str]:
    """The choice ids an answer names: one id, or a list of ids."""
    if isinstance(answer, str):
        return {answer}
    if isinstance(answer, list):
        return {a for a in answer if isinstance(a, str)}
    return set()


def answer_feedback(question: Question, answer: AnswerValue) -> list[tuple[str, str]]:
    """The feedback ``answer`` earns, as (choice or gap id, text) pairs, in the
    question's order: each chosen choice's feedback; each answered gap's
    feedback, and the feedback of the choice chosen in a choice gap. Read from
    the question's structure (choices, gaps), whatever its kind."""
    found: list[tuple[str, str]] = []
    chosen = chosen_ids(answer)
    for choice in question.choices:
        if choice.id in chosen and choice.feedback:
            found.append((choice.id, choice.feedback))
    if question.gaps and isinstance(answer, dict):
        for gap in question.gaps:
            given = answer.get(gap.id)
            if given is None or (isinstance(given, str) and not given.strip()):
                continue
            for choice in gap.choices:
                if choice.id == given and choice.feedback:
                    found.append((gap.id, choice.feedback))
            if gap.feedback:
                found.append((gap.id, gap.feedback))
    return found


def penalty_warning(section: Section | None) -> str:
    """The warning the instructions carry when any question of ``section`` has a
    penalty (negative marks), else ""."""
    if section is None or not any(q.penalty > 0 for q in section.questions):
        return ""
    return PENALTY_WARNING
