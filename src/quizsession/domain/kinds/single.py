"""``single``: one choice among several, exactly one of them right."""

from __future__ import annotations

from typing import Any

from quizsession.domain.events import AnswerValue
from quizsession.domain.kinds.base import (
    AutoKind,
    ResponseOption,
    choice_mapping,
    choice_views,
    parse_choices,
)
from quizsession.domain.quiz import Question
from quizsession.domain.quiz_fields import Fields


class SingleChoice(AutoKind):
    name = "single"
    keys = ("choices",)

    def parse(self, f: Fields, path: str) -> dict[str, Any]:
        return {"choices": parse_choices(f, path, exactly_one=True)}

    def export(self, question: Question) -> dict[str, object]:
        return {"choices": [choice_mapping(c) for c in question.choices]}

    def answer_problem(self, question: Question, answer: AnswerValue) -> str | None:
        if answer is None:
            return None
        if not isinstance(answer, str):
            return "a single-choice answer must be one choice id (a string)"
        if all(c.id != answer for c in question.choices):
            return f"{answer!r} is not a choice of question {question.id!r}"
        return None

    def fraction(self, question: Question, answer: AnswerValue) -> float:
        return 1.0 if any(c.id == answer and c.correct for c in question.choices) else 0.0

    def view(self, question: Question, seed: int) -> dict[str, object]:
        return {"choices": choice_views(question.choices)}

    def right_answer(self, question: Question) -> str:
        return "; ".join(c.text for c in question.choices if c.correct)

    def describe(self, question: Question, answer: AnswerValue) -> str:
        if not isinstance(answer, str):
            return ""
        return next((c.text for c in question.choices if c.id == answer), answer)

    def response_key(self, question: Question, answer: AnswerValue) -> list[str]:
        return [answer] if isinstance(answer, str) and answer else []

    def known_responses(self, question: Question) -> list[ResponseOption]:
        return [ResponseOption(key=c.id, label=c.text, correct=c.correct) for c in question.choices]


SPEC = SingleChoice()
