"""Quiz definitions: sections, questions, timing and policies.

A quiz is an immutable, versioned value. Attempts keep the version they started
with. Definitions arrive as plain mappings (YAML/JSON) and are checked by
``quiz_validation.parse_quiz``, which lists every problem by path.
"""

from __future__ import annotations

from typing import Literal

import msgspec

QuestionKind = Literal["single", "multiple", "true_false", "short_text", "numeric"]
SectionKind = Literal["practice", "test"]
SelectionMode = Literal["fixed", "shuffled", "pool", "adaptive"]
PartialCredit = Literal["per_option", "all_or_nothing"]
SecondLogin = Literal["refuse", "takeover"]

QUESTION_KINDS: tuple[str, ...] = ("single", "multiple", "true_false", "short_text", "numeric")
SELECTION_MODES: tuple[str, ...] = ("fixed", "shuffled", "pool", "adaptive")


class Choice(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    text: str
    correct: bool = False
    feedback: str | None = None


class Question(msgspec.Struct, frozen=True, kw_only=True):
    """One question. Which fields matter depends on ``kind``:

    - single / multiple: ``choices`` (one / any number marked correct)
    - true_false: ``correct`` (bool)
    - short_text: ``accepted`` answers, compared case-insensitively unless
      ``case_sensitive``; surrounding and repeated white space is ignored
    - numeric: ``value`` and ``tolerance`` (absolute)
    """

    id: str
    kind: QuestionKind
    text: str
    points: float = 1.0
    penalty: float = 0.0
    partial: PartialCredit = "per_option"
    difficulty: int = 2
    choices: tuple[Choice, ...] = ()
    correct: bool | None = None
    accepted: tuple[str, ...] = ()
    case_sensitive: bool = False
    value: float | None = None
    tolerance: float = 0.0
    feedback: str | None = None


class Selection(msgspec.Struct, frozen=True, kw_only=True):
    """How questions are chosen: fixed order, shuffled, ``count`` drawn from the
    pool, or adaptive (next difficulty from the answers so far, ``count`` asked)."""

    mode: SelectionMode = "fixed"
    count: int | None = None


class Section(msgspec.Struct, frozen=True, kw_only=True):
    kind: SectionKind
    questions: tuple[Question, ...]
    selection: Selection = Selection()
    instructions: str = ""

    def question(self, question_id: str) -> Question | None:
        for q in self.questions:
            if q.id == question_id:
                return q
        return None


class Policies(msgspec.Struct, frozen=True, kw_only=True):
    second_login: SecondLogin = "refuse"
    grace_s: float = 5.0
    heartbeat_s: float = 5.0
    lease_ttl_s: float = 15.0
    idle_timeout_s: float = 1800.0
    outage_credit: bool = True


class Quiz(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    title: str
    duration_s: float
    test: Section
    practice: Section | None = None
    version: int = 1
    instructions: str = ""
    opens_at: float | None = None
    closes_at: float | None = None
    policies: Policies = Policies()

    def section(self, kind: SectionKind) -> Section | None:
        return self.test if kind == "test" else self.practice
