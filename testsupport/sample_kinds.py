"""One question of every kind: a quiz definition (the quiz format, as an author
writes it) that other tests parse, deliver, answer, grade, import and render.

The questions are those of the test of ``examples/every_kind.yaml`` (the demo's
"A tour of every question kind", the source): ``every_kind_quiz()`` is that whole
example (practice round, instructions, review policy). ``SAMPLE_QUIZ`` holds its
test questions only, with free navigation; ``SAMPLE_ANSWERS`` holds, per question
id, a fully right answer, a wrong one (None where the kind takes no answer) and,
for the essay, an answer that needs a grader.
"""

from __future__ import annotations

import copy
from importlib import resources
from typing import Any

import yaml

from quizsession.domain.events import AnswerValue

#: Where the example lives in the package.
EVERY_KIND_EXAMPLE = "examples/every_kind.yaml"


def _load_example() -> dict[str, Any]:
    text = resources.files("quizsession").joinpath(EVERY_KIND_EXAMPLE).read_text("utf-8")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


_EXAMPLE = _load_example()
_QUESTIONS: list[dict[str, Any]] = _EXAMPLE["test"]["questions"]

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


def every_kind_quiz() -> dict[str, Any]:
    """A fresh copy of the whole example ``examples/every_kind.yaml``."""
    return copy.deepcopy(_EXAMPLE)
