"""``numeric``: a number, right when within ``tolerance`` (absolute) of ``value``
(plus a tiny epsilon that absorbs float rounding)."""

from __future__ import annotations

from typing import Any

from quizsession.domain.events import AnswerValue
from quizsession.domain.kinds.base import (
    AutoKind,
    ResponseOption,
    is_finite_number,
    is_number,
    number_text,
    numeric_matches,
)
from quizsession.domain.quiz import Question
from quizsession.domain.quiz_fields import Fields

WITHIN, OUTSIDE = "within_tolerance", "outside_tolerance"


class Numeric(AutoKind):
    name = "numeric"
    keys = ("value", "tolerance")

    def parse(self, f: Fields, path: str) -> dict[str, Any]:
        return {"value": f.number("value"), "tolerance": f.number("tolerance", 0.0, low=0)}

    def export(self, question: Question) -> dict[str, object]:
        out: dict[str, object] = {"value": question.value}
        if question.tolerance:
            out["tolerance"] = question.tolerance
        return out

    def answer_problem(self, question: Question, answer: AnswerValue) -> str | None:
        if answer is None:
            return None
        if not is_number(answer):
            return "a numeric answer must be a number"
        if not is_finite_number(answer):
            return "a numeric answer must be a finite number"
        return None

    def fraction(self, question: Question, answer: AnswerValue) -> float:
        assert isinstance(answer, int | float)
        return 1.0 if numeric_matches(float(answer), question.value, question.tolerance) else 0.0

    def right_answer(self, question: Question) -> str:
        if question.value is None:
            return ""
        text = number_text(question.value)
        return f"{text} ± {number_text(question.tolerance)}" if question.tolerance else text

    def describe(self, question: Question, answer: AnswerValue) -> str:
        return number_text(float(answer)) if is_finite_number(answer) else ""  # type: ignore[arg-type]

    def response_key(self, question: Question, answer: AnswerValue) -> list[str]:
        if self.answer_problem(question, answer) is not None or answer is None:
            return []
        return [WITHIN if self.is_correct(question, answer) else OUTSIDE]

    def known_responses(self, question: Question) -> list[ResponseOption]:
        return [
            ResponseOption(key=WITHIN, label="within tolerance", correct=True),
            ResponseOption(key=OUTSIDE, label="outside tolerance", correct=False),
        ]


SPEC = Numeric()
