"""``essay``: free text graded by hand.

The answer is plain text with line breaks, at most ``MAX_ESSAY_ANSWER``
characters. ``word_limit`` is advice, never a refusal: a save over the limit is
accepted (work is never lost); the page counts words and warns, the grader sees the
count. A grader gives points within [0, points] once the test is submitted; until
then an answered essay is *pending*. A blank essay (nothing or only white space)
needs no grader: it scores 0.
"""

from __future__ import annotations

import re
from typing import Any

from quizsession.domain.events import AnswerValue
from quizsession.domain.kinds.base import (
    MAX_ESSAY_ANSWER,
    MAX_FEEDBACK,
    Grading,
    ResponseOption,
    blank,
)
from quizsession.domain.quiz import Question
from quizsession.domain.quiz_fields import Fields

MAX_WORD_LIMIT = 100_000
_WORD = re.compile(r"\S+")


def word_count(text: str) -> int:
    """Words as the page counts them: runs of non-space characters."""
    return len(_WORD.findall(text))


class Essay:
    name = "essay"
    grading: Grading = "manual"
    keys = ("word_limit", "response_template", "grader_info")

    def parse(self, f: Fields, path: str) -> dict[str, Any]:
        return {
            "word_limit": f.integer("word_limit", None, 1, MAX_WORD_LIMIT),
            "response_template": f.text("response_template", MAX_ESSAY_ANSWER),
            "grader_info": f.text("grader_info", MAX_FEEDBACK),
        }

    def export(self, question: Question) -> dict[str, object]:
        out: dict[str, object] = {}
        if question.word_limit is not None:
            out["word_limit"] = question.word_limit
        if question.response_template:
            out["response_template"] = question.response_template
        if question.grader_info:
            out["grader_info"] = question.grader_info
        return out

    def answer_problem(self, question: Question, answer: AnswerValue) -> str | None:
        if answer is None:
            return None
        if not isinstance(answer, str):
            return "an essay answer must be a string"
        if len(answer) > MAX_ESSAY_ANSWER:
            return f"an essay answer must be at most {MAX_ESSAY_ANSWER} characters"
        return None

    def is_blank(self, answer: AnswerValue) -> bool:
        return blank(answer)

    def score(self, question: Question, answer: AnswerValue) -> float:
        """0: an essay earns what its grader gives (``scoring.score_section``)."""
        return 0.0

    def is_correct(self, question: Question, answer: AnswerValue) -> bool:
        return False

    def view(self, question: Question, seed: int) -> dict[str, object]:
        return {"word_limit": question.word_limit, "response_template": question.response_template}

    def right_answer(self, question: Question) -> str:
        return ""

    def describe(self, question: Question, answer: AnswerValue) -> str:
        return answer if isinstance(answer, str) else ""

    def response_key(self, question: Question, answer: AnswerValue) -> list[str]:
        return [] if self.is_blank(answer) else ["answered"]

    def known_responses(self, question: Question) -> list[ResponseOption]:
        return []


SPEC = Essay()
