"""``description``: text (and images) shown between questions. It takes no
answer, is worth no points, is not numbered, not counted among a section's
questions and never blocks sequential delivery."""

from __future__ import annotations

from typing import Any

from quizsession.domain.events import AnswerValue
from quizsession.domain.kinds.base import Grading, ResponseOption
from quizsession.domain.quiz import Question
from quizsession.domain.quiz_fields import Fields


class Description:
    name = "description"
    grading: Grading = "none"
    keys: tuple[str, ...] = ()

    def parse(self, f: Fields, path: str) -> dict[str, Any]:
        return {}

    def export(self, question: Question) -> dict[str, object]:
        return {}

    def answer_problem(self, question: Question, answer: AnswerValue) -> str | None:
        return None if answer is None else "a description takes no answer"

    def is_blank(self, answer: AnswerValue) -> bool:
        return True

    def score(self, question: Question, answer: AnswerValue) -> float:
        return 0.0

    def is_correct(self, question: Question, answer: AnswerValue) -> bool:
        return False

    def view(self, question: Question, seed: int) -> dict[str, object]:
        return {}

    def right_answer(self, question: Question) -> str:
        return ""

    def describe(self, question: Question, answer: AnswerValue) -> str:
        return ""

    def response_key(self, question: Question, answer: AnswerValue) -> list[str]:
        return []

    def known_responses(self, question: Question) -> list[ResponseOption]:
        return []


SPEC = Description()
