"""``multiple``: any number of choices, at least one of them right.

``all_or_nothing``: exactly the right set earns the points, anything else costs
the penalty. ``per_option``: ``points * right/n_right - points * wrong/n_wrong``,
a negative result floored at ``-penalty`` (so with no penalty at 0). The empty
list (a cleared answer) earns 0.
"""

from __future__ import annotations

from typing import Any

from quizsession.domain.events import AnswerValue
from quizsession.domain.kinds.base import (
    AutoKind,
    ResponseOption,
    choice_mapping,
    choice_views,
    clamp_score,
    parse_choices,
)
from quizsession.domain.quiz import Question
from quizsession.domain.quiz_fields import Fields


class MultipleChoice(AutoKind):
    name = "multiple"
    keys = ("choices", "partial")

    def parse(self, f: Fields, path: str) -> dict[str, Any]:
        return {
            "choices": parse_choices(f, path),
            "partial": f.literal("partial", ("per_option", "all_or_nothing"), "per_option"),
        }

    def export(self, question: Question) -> dict[str, object]:
        out: dict[str, object] = {"choices": [choice_mapping(c) for c in question.choices]}
        if question.partial != "per_option":
            out["partial"] = question.partial
        return out

    def answer_problem(self, question: Question, answer: AnswerValue) -> str | None:
        if answer is None:
            return None
        if not isinstance(answer, list) or not all(isinstance(a, str) for a in answer):
            return "a multiple-choice answer must be a list of choice ids (strings)"
        if len(set(answer)) != len(answer):
            return "a multiple-choice answer must not repeat a choice id"
        ids = {c.id for c in question.choices}
        unknown = [a for a in answer if a not in ids]
        if unknown:
            return f"{unknown[0]!r} is not a choice of question {question.id!r}"
        return None

    def fraction(self, question: Question, answer: AnswerValue) -> float:
        assert isinstance(answer, list)
        right = {c.id for c in question.choices if c.correct}
        return 1.0 if right and set(answer) == right else 0.0

    def score(self, question: Question, answer: AnswerValue) -> float:
        if not self._counts(question, answer):
            return 0.0
        if question.partial == "all_or_nothing":
            return super().score(question, answer)
        assert isinstance(answer, list)
        right_ids = {c.id for c in question.choices if c.correct}
        n_right = len(right_ids)
        n_wrong = len(question.choices) - n_right
        right = sum(1 for a in answer if a in right_ids)
        wrong = len(answer) - right
        points = question.points
        raw = (points * right / n_right if n_right else 0.0) - (
            points * wrong / n_wrong if n_wrong else 0.0
        )
        return clamp_score(question, max(raw, -question.penalty))

    def view(self, question: Question, seed: int) -> dict[str, object]:
        return {"choices": choice_views(question.choices)}

    def right_answer(self, question: Question) -> str:
        return "; ".join(c.text for c in question.choices if c.correct)

    def describe(self, question: Question, answer: AnswerValue) -> str:
        if not isinstance(answer, list):
            return ""
        texts = {c.id: c.text for c in question.choices}
        return "; ".join(texts.get(a, a) for a in answer if isinstance(a, str))

    def response_key(self, question: Question, answer: AnswerValue) -> list[str]:
        if not isinstance(answer, list):
            return []
        return [a for a in answer if isinstance(a, str)]

    def known_responses(self, question: Question) -> list[ResponseOption]:
        return [ResponseOption(key=c.id, label=c.text, correct=c.correct) for c in question.choices]


SPEC = MultipleChoice()
