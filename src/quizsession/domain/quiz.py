"""Quiz definitions: sections, questions, timing and policies.

A quiz is an immutable, versioned value. Attempts keep the version they started
with. Definitions arrive as plain mappings (YAML/JSON) and are checked by
``quiz_validation.parse_quiz``, which lists every problem by path.
"""

from __future__ import annotations

from typing import Literal

import msgspec

QuestionKind = Literal[
    "single",
    "multiple",
    "true_false",
    "short_text",
    "numeric",
    "essay",
    "matching",
    "ordering",
    "cloze",
    "description",
]
SectionKind = Literal["practice", "test"]
SelectionMode = Literal["fixed", "shuffled", "pool", "adaptive"]
PartialCredit = Literal["per_option", "all_or_nothing"]
SecondLogin = Literal["refuse", "takeover"]
Navigation = Literal["sequential", "free"]
OrderingRule = Literal[
    "all_or_nothing", "absolute_position", "relative_next", "longest_subset", "longest_contiguous"
]
GapKind = Literal["choice", "short_text", "numeric"]
ReviewItem = Literal[
    "score", "answers", "right_answers", "feedback", "general_feedback", "overall_feedback"
]

REVIEW_ITEMS: tuple[ReviewItem, ...] = (
    "score",
    "answers",
    "right_answers",
    "feedback",
    "general_feedback",
    "overall_feedback",
)
SELECTION_MODES: tuple[str, ...] = ("fixed", "shuffled", "pool", "adaptive")


class Choice(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    text: str
    correct: bool = False
    feedback: str | None = None


class Image(msgspec.Struct, frozen=True, kw_only=True):
    """An image shown with a question: an ``https://`` URL or a ``data:image/...``
    URL, and its text alternative ("" only for a decorative image)."""

    url: str
    alt: str = ""


class MatchPair(msgspec.Struct, frozen=True, kw_only=True):
    """A matching question's item and the answer it goes with."""

    id: str
    text: str
    answer: str


class OrderItem(msgspec.Struct, frozen=True, kw_only=True):
    """An ordering question's item (the question lists them in the right order)."""

    id: str
    text: str


class Gap(msgspec.Struct, frozen=True, kw_only=True):
    """One gap of a cloze question, marked ``{{id}}`` in its text: a choice, a short
    text or a number, worth ``weight`` shares of the question's points."""

    id: str
    kind: GapKind
    weight: float = 1.0
    choices: tuple[Choice, ...] = ()
    accepted: tuple[str, ...] = ()
    case_sensitive: bool = False
    value: float | None = None
    tolerance: float = 0.0
    feedback: str | None = None


class Question(msgspec.Struct, frozen=True, kw_only=True):
    """One question. Which fields matter depends on ``kind``; each kind's module in
    ``domain/kinds/`` reads, checks, scores and shows its own fields (the kinds:
    ``domain.kinds.QUESTION_KINDS``):

    - single / multiple: ``choices`` (one / any number marked correct)
    - true_false: ``correct`` (bool)
    - short_text: ``accepted`` answers, compared case-insensitively unless
      ``case_sensitive``; surrounding and repeated white space is ignored
    - numeric: ``value`` and ``tolerance`` (absolute)
    - essay: ``word_limit``, ``response_template``, ``grader_info`` (graded by hand)
    - matching: ``pairs`` and ``distractors``
    - ordering: ``items`` in the right order and the ``ordering_rule``
    - cloze: ``gaps``, each marked ``{{gap id}}`` in ``text``
    - description: only ``text`` and ``images`` (no answer)
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
    images: tuple[Image, ...] = ()
    word_limit: int | None = None
    response_template: str = ""
    grader_info: str = ""
    pairs: tuple[MatchPair, ...] = ()
    distractors: tuple[str, ...] = ()
    items: tuple[OrderItem, ...] = ()
    ordering_rule: OrderingRule = "absolute_position"
    gaps: tuple[Gap, ...] = ()


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


class FeedbackBand(msgspec.Struct, frozen=True, kw_only=True):
    """One band of the quiz's overall feedback: ``text`` is for a candidate whose
    percentage (score / max score x 100) is at least ``from_percent`` and below
    the next band's (``domain.overall_feedback``)."""

    from_percent: float
    text: str


class ReviewPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """What a candidate sees of a finished test, and when: right after submitting,
    and after the quiz closes (never, when the quiz has no ``closes_at``)."""

    after_submit: tuple[ReviewItem, ...] = ("score",)
    after_close: tuple[ReviewItem, ...] = REVIEW_ITEMS


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
    navigation: Navigation = "sequential"
    review: ReviewPolicy = ReviewPolicy()
    #: Overall feedback by grade band, sorted by ``from_percent`` (ascending).
    overall_feedback: tuple[FeedbackBand, ...] = ()

    def section(self, kind: SectionKind) -> Section | None:
        return self.test if kind == "test" else self.practice
