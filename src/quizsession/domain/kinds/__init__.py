"""The question kinds: one module each, and the registry that maps a kind's name
to its ``QuestionKindSpec`` (``base``). Everything that differs between kinds
(definition keys, answer shapes, scoring, the candidate's view, report texts)
goes through ``kind_of(question)``; nothing else branches on a kind's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from quizsession.domain.kinds import (
    cloze,
    description,
    essay,
    matching,
    multiple,
    numeric,
    ordering,
    short_text,
    single,
    true_false,
)
from quizsession.domain.kinds.base import QuestionKindSpec, ResponseOption
from quizsession.domain.quiz import Question

__all__ = ["KINDS", "QUESTION_KINDS", "QuestionKindSpec", "ResponseOption", "kind_of"]

_SPECS: tuple[QuestionKindSpec, ...] = (
    single.SPEC,
    multiple.SPEC,
    true_false.SPEC,
    short_text.SPEC,
    numeric.SPEC,
    essay.SPEC,
    matching.SPEC,
    ordering.SPEC,
    cloze.SPEC,
    description.SPEC,
)

KINDS: Mapping[str, QuestionKindSpec] = MappingProxyType({s.name: s for s in _SPECS})
"""Every question kind by name, in the order the quiz format documents them."""

QUESTION_KINDS: tuple[str, ...] = tuple(KINDS)


def kind_of(question: Question) -> QuestionKindSpec:
    """The spec of ``question``'s kind (``parse_quiz`` accepts no other kind)."""
    return KINDS[question.kind]
