"""``true_false``: a statement, right when the answer equals ``correct``."""

from __future__ import annotations

from typing import Any

from quizsession.domain.events import AnswerValue
from quizsession.domain.kinds.base import AutoKind, ResponseOption
from quizsession.domain.quiz import Question
from quizsession.domain.quiz_fields import Fields


def _word(value: bool) -> str:
    return "true" if value else "false"


class TrueFalse(AutoKind):
    name = "true_false"
    keys = ("correct",)

    def parse(self, f: Fields, path: str) -> dict[str, Any]:
        return {"correct": f.boolean("correct", None)}

    def export(self, question: Question) -> dict[str, object]:
        return {"correct": question.correct}

    def answer_problem(self, question: Question, answer: AnswerValue) -> str | None:
        if answer is None or isinstance(answer, bool):
            return None
        return "a true/false answer must be true or false"

    def fraction(self, question: Question, answer: AnswerValue) -> float:
        return 1.0 if question.correct is not None and answer is question.correct else 0.0

    def right_answer(self, question: Question) -> str:
        return "" if question.correct is None else _word(question.correct)

    def describe(self, question: Question, answer: AnswerValue) -> str:
        return _word(answer) if isinstance(answer, bool) else ""

    def response_key(self, question: Question, answer: AnswerValue) -> list[str]:
        return [_word(answer)] if isinstance(answer, bool) else []

    def known_responses(self, question: Question) -> list[ResponseOption]:
        return [
            ResponseOption(key=_word(v), label=str(v), correct=question.correct is v)
            for v in (True, False)
        ]


SPEC = TrueFalse()
