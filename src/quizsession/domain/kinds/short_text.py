"""``short_text``: a few words, right when one of the ``accepted`` answers once
both are normalized (surrounding and repeated white space ignored; case-folded
unless ``case_sensitive``)."""

from __future__ import annotations

from typing import Any

from quizsession.domain.events import AnswerValue
from quizsession.domain.kinds.base import (
    MAX_TEXT_ANSWER,
    AutoKind,
    normalize_text,
    parse_accepted,
    text_matches,
)
from quizsession.domain.quiz import Question
from quizsession.domain.quiz_fields import Fields


class ShortText(AutoKind):
    name = "short_text"
    keys = ("accepted", "case_sensitive")

    def parse(self, f: Fields, path: str) -> dict[str, Any]:
        return {
            "accepted": parse_accepted(f, path),
            "case_sensitive": f.boolean("case_sensitive", False),
        }

    def export(self, question: Question) -> dict[str, object]:
        out: dict[str, object] = {"accepted": list(question.accepted)}
        if question.case_sensitive:
            out["case_sensitive"] = True
        return out

    def answer_problem(self, question: Question, answer: AnswerValue) -> str | None:
        if answer is None:
            return None
        if not isinstance(answer, str):
            return "a short-text answer must be a string"
        if len(answer) > MAX_TEXT_ANSWER:
            return f"a short-text answer must be at most {MAX_TEXT_ANSWER} characters"
        return None

    def fraction(self, question: Question, answer: AnswerValue) -> float:
        assert isinstance(answer, str)
        return 1.0 if text_matches(answer, question.accepted, question.case_sensitive) else 0.0

    def right_answer(self, question: Question) -> str:
        return next((a for a in question.accepted if a.strip()), "")

    def describe(self, question: Question, answer: AnswerValue) -> str:
        return answer if isinstance(answer, str) else ""

    def response_key(self, question: Question, answer: AnswerValue) -> list[str]:
        if not isinstance(answer, str) or self.is_blank(answer):
            return []
        return [normalize_text(answer, case_sensitive=question.case_sensitive)]


SPEC = ShortText()
