"""Question selection: which questions an attempt gets, and in which order.

A strategy is chosen by ``Selection.mode``. When a section starts, the app asks the
strategy for its ``plan`` (recorded in the ``SectionStarted`` event with the seed,
so the order survives restarts); afterwards ``next_question`` names the next *new*
question to deliver. A strategy never names a question that is already in
``delivered``, so a reconnect, a takeover or a crash cannot deliver a question
twice (showing the current unanswered question again is the caller's business).

All randomness comes from ``random.Random(seed)``: equal inputs give equal outputs.

Descriptions (questions that take no answer) are shown where the author put them
in ``fixed`` and ``shuffled`` sections (shuffling moves only the questions around
them); ``pool`` and ``adaptive`` draw only questions that take an answer, so a
description in such a section is never shown. Descriptions are not numbered and
do not count among a section's questions (``answerable``).

- ``fixed``: every question, in definition order.
- ``shuffled``: every question, in a seeded random order (descriptions stay in
  their places).
- ``pool``: ``count`` questions drawn by the seeded generator, in draw order.
- ``adaptive``: ``count`` questions chosen one at a time (the plan is empty). The
  first is at the median difficulty of the pool; every delivered question then
  moves the target difficulty by +1 if it was answered correctly and by -1 if it
  was answered wrongly or left unanswered, clamped to the pool's range. The next
  question is an undelivered one of the nearest available difficulty; ties are
  broken by a seeded order of the pool.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from quizsession.domain.events import AnswerValue
from quizsession.domain.kinds import kind_of
from quizsession.domain.quiz import Question, Section
from quizsession.domain.scoring import is_correct


def takes_answer(question: Question) -> bool:
    """Whether ``question`` takes an answer (a description does not)."""
    return kind_of(question).grading != "none"


def needs_answer(section: Section, question_id: str) -> bool:
    """Whether the question ``question_id`` of ``section`` takes an answer (what
    ``QuestionDelivered.needs_answer`` records)."""
    question = section.question(question_id)
    return question is None or takes_answer(question)


def answerable(section: Section) -> list[Question]:
    """The questions of ``section`` that take an answer (pool and adaptive draw
    from these; descriptions stay out)."""
    return [q for q in section.questions if takes_answer(q)]


def asked_count(section: Section, plan: Sequence[str] | None = None) -> int:
    """How many questions the section asks (descriptions not counted): those of
    ``plan`` when given and not empty, else ``count`` or every question."""
    if plan:
        return sum(1 for qid in dict.fromkeys(plan) if needs_answer(section, qid))
    return _count(section)


class SelectionStrategy(Protocol):
    def plan(self, section: Section, seed: int) -> list[str]:
        """The upfront plan: question ids in delivery order (empty for adaptive)."""
        ...

    def next_question(
        self,
        section: Section,
        plan: Sequence[str],
        delivered: Sequence[str],
        answers: Mapping[str, AnswerValue],
        seed: int,
    ) -> str | None:
        """The next question to deliver, never one in ``delivered``; None when the
        section has no more."""
        ...


def _next_in_plan(plan: Sequence[str], delivered: Sequence[str]) -> str | None:
    seen = set(delivered)
    return next((qid for qid in plan if qid not in seen), None)


class _Planned:
    """Base of the strategies that fix the whole order upfront."""

    def plan(self, section: Section, seed: int) -> list[str]:
        raise NotImplementedError

    def next_question(
        self,
        section: Section,
        plan: Sequence[str],
        delivered: Sequence[str],
        answers: Mapping[str, AnswerValue],
        seed: int,
    ) -> str | None:
        return _next_in_plan(plan, delivered)


class FixedSelection(_Planned):
    def plan(self, section: Section, seed: int) -> list[str]:
        return [q.id for q in section.questions]


class ShuffledSelection(_Planned):
    def plan(self, section: Section, seed: int) -> list[str]:
        ids = [q.id for q in section.questions if takes_answer(q)]
        random.Random(seed).shuffle(ids)
        shuffled = iter(ids)
        return [q.id if not takes_answer(q) else next(shuffled) for q in section.questions]


class PoolSelection(_Planned):
    def plan(self, section: Section, seed: int) -> list[str]:
        ids = [q.id for q in answerable(section)]
        return random.Random(seed).sample(ids, _count(section))


def _count(section: Section) -> int:
    """How many questions the section asks (``count``, at most the number of
    questions that take an answer)."""
    n = len(answerable(section))
    count = section.selection.count
    return n if count is None else max(0, min(count, n))


class AdaptiveSelection:
    def plan(self, section: Section, seed: int) -> list[str]:
        return []

    def next_question(
        self,
        section: Section,
        plan: Sequence[str],
        delivered: Sequence[str],
        answers: Mapping[str, AnswerValue],
        seed: int,
    ) -> str | None:
        pool = answerable(section)
        by_id = {q.id: q for q in pool}
        asked = _dedupe(qid for qid in delivered if qid in by_id)
        if not by_id or len(asked) >= _count(section):
            return None
        difficulties = sorted(q.difficulty for q in pool)
        low, high = difficulties[0], difficulties[-1]
        target = difficulties[(len(difficulties) - 1) // 2]  # the lower median
        for qid in asked:
            step = 1 if is_correct(by_id[qid], answers.get(qid)) else -1
            target = min(high, max(low, target + step))
        seen = set(asked) | set(delivered)
        order = [q.id for q in pool]
        random.Random(seed).shuffle(order)
        best: str | None = None
        best_distance = math.inf
        for qid in order:  # the first of equally near questions in seeded order wins
            if qid in seen:
                continue
            distance = abs(by_id[qid].difficulty - target)
            if distance < best_distance:
                best, best_distance = qid, distance
        return best


def _dedupe(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


STRATEGIES: dict[str, SelectionStrategy] = {
    "fixed": FixedSelection(),
    "shuffled": ShuffledSelection(),
    "pool": PoolSelection(),
    "adaptive": AdaptiveSelection(),
}


def strategy_for(section: Section) -> SelectionStrategy:
    return STRATEGIES[section.selection.mode]


def planned_ids(section: Section, plan: Sequence[str], delivered: Sequence[str]) -> list[str]:
    """The question ids that count toward the section's score and max score.

    For fixed, shuffled and pool selection this is the plan: every planned question
    counts, delivered or not. For adaptive selection it is the questions delivered
    so far (in delivery order): slots not yet delivered contribute nothing, so a
    max score computed from these ids only counts what was delivered. Use
    ``adaptive_max_score`` for the max score of an adaptive section.
    """
    if section.selection.mode != "adaptive":
        return list(plan)
    ids = {q.id for q in section.questions}
    return _dedupe(qid for qid in delivered if qid in ids)


def adaptive_max_score(section: Section) -> float:
    """The best possible score of an adaptive section: the sum of the ``count``
    highest point values of its pool (whichever questions the candidate gets)."""
    points = sorted((q.points for q in answerable(section)), reverse=True)
    return round(math.fsum(points[: _count(section)]), 6) + 0.0
