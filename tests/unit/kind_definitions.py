"""Quiz definitions for the question-kind tests: one question in a quiz, the
problems ``parse_quiz`` finds, a sample question with changes."""

from __future__ import annotations

from typing import Any

import pytest

from quizsession.domain.errors import InvalidDefinition
from quizsession.domain.quiz import Question
from quizsession.domain.quiz_validation import parse_quiz
from testsupport.sample_kinds import sample_question

Raw = dict[str, Any]


def quiz_of(*questions: Raw, **top: Any) -> Raw:
    return {
        "id": "k",
        "title": "Kinds",
        "duration_s": 60,
        "test": {"questions": list(questions)},
        **top,
    }


def one(raw: Raw) -> Question:
    """``raw`` parsed as the only question of a quiz (with a true/false beside it
    when it takes no answer)."""
    extra = {"id": "tf", "kind": "true_false", "text": "?", "correct": True}
    quiz = parse_quiz(quiz_of(raw, extra))
    return quiz.test.questions[0]


def problems(raw: Raw, **top: Any) -> dict[str, str]:
    extra = {"id": "tf", "kind": "true_false", "text": "?", "correct": True}
    with pytest.raises(InvalidDefinition) as caught:
        parse_quiz(quiz_of(raw, extra, **top))
    return {p.path: p.message for p in caught.value.problems}


def changed(kind: str, **changes: Any) -> Raw:
    raw = sample_question(kind)
    for key, value in changes.items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    return raw


Q = "/test/questions/0"
