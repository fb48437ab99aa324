"""One question of every kind: a quiz definition (the quiz format, as an author
writes it) that other tests parse, deliver, answer, grade, import and render.

``SAMPLE_QUIZ`` uses free navigation; ``SAMPLE_ANSWERS`` holds, per question id, a
fully right answer, a wrong one (None where the kind takes no answer) and, for the
essay, an answer that needs a grader.
"""

from __future__ import annotations

import copy
from typing import Any

from quizsession.domain.events import AnswerValue

_QUESTIONS: list[dict[str, Any]] = [
    {
        "id": "k-description",
        "kind": "description",
        "text": "Read the passage below, then answer the questions.",
        "images": [{"url": "https://example.org/passage.png", "alt": "The passage"}],
    },
    {
        "id": "k-single",
        "kind": "single",
        "text": "2 + 2 = ?",
        "choices": [
            {"id": "a", "text": "3"},
            {"id": "b", "text": "4", "correct": True, "feedback": "Right."},
            {"id": "c", "text": "5"},
        ],
        "penalty": 0.25,
    },
    {
        "id": "k-multiple",
        "kind": "multiple",
        "text": "Which are prime?",
        "choices": [
            {"id": "a", "text": "2", "correct": True},
            {"id": "b", "text": "3", "correct": True},
            {"id": "c", "text": "4"},
        ],
        "points": 2,
    },
    {"id": "k-true_false", "kind": "true_false", "text": "The sky is blue.", "correct": True},
    {
        "id": "k-short_text",
        "kind": "short_text",
        "text": "Capital of France?",
        "accepted": ["Paris"],
    },
    {
        "id": "k-numeric",
        "kind": "numeric",
        "text": "Pi to two decimals?",
        "value": 3.14,
        "tolerance": 0.005,
    },
    {
        "id": "k-essay",
        "kind": "essay",
        "text": "Explain why the sky is blue.",
        "points": 5,
        "word_limit": 200,
        "response_template": "The sky is blue because",
        "grader_info": "Mention Rayleigh scattering.",
    },
    {
        "id": "k-matching",
        "kind": "matching",
        "text": "Match each country with its capital.",
        "points": 3,
        "pairs": [
            {"id": "fr", "text": "France", "answer": "Paris"},
            {"id": "de", "text": "Germany", "answer": "Berlin"},
            {"id": "it", "text": "Italy", "answer": "Rome"},
        ],
        "distractors": ["Madrid"],
    },
    {
        "id": "k-ordering",
        "kind": "ordering",
        "text": "Put these numbers in increasing order.",
        "points": 4,
        "items": [
            {"id": "one", "text": "1"},
            {"id": "two", "text": "2"},
            {"id": "three", "text": "3"},
            {"id": "four", "text": "4"},
        ],
        "ordering_rule": "relative_next",
    },
    {
        "id": "k-cloze",
        "kind": "cloze",
        "text": "The capital of {{country}} is Paris; 6 x 7 = {{product}}; {{colour}}.",
        "points": 3,
        "gaps": [
            {
                "id": "country",
                "kind": "choice",
                "choices": [
                    {"id": "fr", "text": "France", "correct": True},
                    {"id": "es", "text": "Spain"},
                ],
            },
            {"id": "product", "kind": "numeric", "value": 42, "weight": 2},
            {"id": "colour", "kind": "short_text", "accepted": ["blue"]},
        ],
    },
]

SAMPLE_QUIZ: dict[str, Any] = {
    "id": "sample-kinds",
    "title": "One question of every kind",
    "duration_s": 1800,
    "navigation": "free",
    "test": {"questions": _QUESTIONS},
}

SAMPLE_ANSWERS: dict[str, dict[str, AnswerValue]] = {
    "k-description": {"right": None, "wrong": None},
    "k-single": {"right": "b", "wrong": "a"},
    "k-multiple": {"right": ["a", "b"], "wrong": ["c"]},
    "k-true_false": {"right": True, "wrong": False},
    "k-short_text": {"right": " paris ", "wrong": "Lyon"},
    "k-numeric": {"right": 3.141, "wrong": 3.2},
    "k-essay": {"right": None, "wrong": None, "manual": "Rayleigh scattering of sunlight."},
    "k-matching": {
        "right": {"fr": "Paris", "de": "Berlin", "it": "Rome"},
        "wrong": {"fr": "Madrid", "de": "Paris", "it": "Berlin"},
    },
    "k-ordering": {
        "right": ["one", "two", "three", "four"],
        "wrong": ["four", "three", "two", "one"],
    },
    "k-cloze": {
        "right": {"country": "fr", "product": 42, "colour": "Blue"},
        "wrong": {"country": "es", "product": 41, "colour": "red"},
    },
}


def sample_quiz() -> dict[str, Any]:
    """A fresh copy of ``SAMPLE_QUIZ`` (safe to change)."""
    return copy.deepcopy(SAMPLE_QUIZ)


def sample_question(kind: str) -> dict[str, Any]:
    """A fresh copy of the sample question of ``kind``."""
    return copy.deepcopy(next(q for q in _QUESTIONS if q["kind"] == kind))
