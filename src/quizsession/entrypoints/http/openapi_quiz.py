"""The quiz definition as the OpenAPI document describes it: the body of
``PUT /admin/quizzes/{id}`` (the routes take it as raw JSON and validate it with
``domain.quiz_validation``; these structs only describe it, with the same
bounds)."""

from __future__ import annotations

from dataclasses import dataclass
from inspect import cleandoc
from typing import Annotated, Literal

import msgspec

from quizsession.domain import overall_feedback as OF
from quizsession.domain import quiz_images as QI
from quizsession.domain import quiz_validation as QV
from quizsession.domain.kinds import cloze, essay, matching, ordering
from quizsession.domain.scoring import MAX_ESSAY_ANSWER, MAX_TEXT_ANSWER
from quizsession.entrypoints.http.openapi_docs import ApiOperation, optional, ref


def _text(low: int, high: int) -> msgspec.Meta:
    return msgspec.Meta(min_length=low, max_length=high)


Ident = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
Title = Annotated[str, _text(1, QV.MAX_TITLE)]
Instructions = Annotated[str, msgspec.Meta(max_length=QV.MAX_INSTRUCTIONS)]
Feedback = Annotated[str, msgspec.Meta(max_length=QV.MAX_FEEDBACK)]
NonNegative = Annotated[float, msgspec.Meta(ge=0)]
#: ISO-8601 date-time with an offset (exported as UTC ``...Z``), or epoch seconds;
#: between 1970 and 2200.
Moment = str | Annotated[float, msgspec.Meta(ge=0, lt=QV.TIME_MAX)]


class DefinitionChoice(msgspec.Struct, frozen=True, kw_only=True):
    id: Ident
    text: Annotated[str, _text(1, QV.MAX_CHOICE_TEXT)]
    correct: bool = optional()
    feedback: Feedback | None = optional()


class DefinitionImage(msgspec.Struct, frozen=True, kw_only=True):
    """An image shown with the question: an ``https://`` URL, or a base64
    ``data:image/(png|jpeg|gif|webp)`` URL of at most 512 KiB; ``alt`` is its text
    alternative ("" only for a decorative image)."""

    url: Annotated[str, msgspec.Meta(min_length=1)]
    alt: Annotated[str, msgspec.Meta(max_length=QI.MAX_ALT)] = optional()


class DefinitionMatchPair(msgspec.Struct, frozen=True, kw_only=True):
    """A matching question's item (``text``) and the option it goes with."""

    id: Ident
    text: Annotated[str, _text(1, QV.MAX_CHOICE_TEXT)]
    answer: Annotated[str, _text(1, QV.MAX_CHOICE_TEXT)]


class DefinitionOrderItem(msgspec.Struct, frozen=True, kw_only=True):
    """An ordering question's item (the question lists them in the right order)."""

    id: Ident
    text: Annotated[str, _text(1, QV.MAX_CHOICE_TEXT)]


class DefinitionGap(msgspec.Struct, frozen=True, kw_only=True):
    """A cloze gap, marked ``{{id}}`` in the question's text: ``choice`` (``choices``,
    at least one correct), ``short_text`` (``accepted``, ``case_sensitive``) or
    ``numeric`` (``value``, ``tolerance``); worth ``weight`` shares of the points."""

    id: Ident
    kind: Literal["choice", "short_text", "numeric"]
    weight: Annotated[float, msgspec.Meta(gt=0)] = optional()
    feedback: Feedback | None = optional()
    choices: Annotated[
        list[DefinitionChoice], msgspec.Meta(min_length=2, max_length=QV.MAX_CHOICES)
    ] = optional()
    accepted: Annotated[
        list[Annotated[str, _text(1, MAX_TEXT_ANSWER)]],
        msgspec.Meta(min_length=1, max_length=QV.MAX_ACCEPTED),
    ] = optional()
    case_sensitive: bool = optional()
    value: float = optional()
    tolerance: NonNegative = optional()


class DefinitionQuestion(msgspec.Struct, frozen=True, kw_only=True):
    """One question. Besides the common fields (``images`` among them), only those
    of its ``kind`` are allowed, and required: ``choices`` (single: exactly one
    correct; multiple: at least one, and ``partial``), ``correct`` (true_false),
    ``accepted`` and ``case_sensitive`` (short_text), ``value`` and ``tolerance``
    (numeric), ``word_limit``, ``response_template`` and ``grader_info`` (essay:
    graded by hand; ``penalty`` must be 0), ``pairs`` and ``distractors``
    (matching), ``items`` in the right order and ``ordering_rule`` (ordering),
    ``gaps`` (cloze: each marked ``{{gap id}}`` exactly once in ``text``). A
    ``description`` has only the common fields: it takes no answer, its
    ``points`` (default 0) and ``penalty`` must be 0."""

    id: Ident
    kind: Literal[
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
    text: Annotated[str, _text(1, QV.MAX_QUESTION_TEXT)]
    points: NonNegative = optional()
    penalty: NonNegative = optional()
    difficulty: Annotated[int, msgspec.Meta(ge=QV.DIFFICULTY_MIN, le=QV.DIFFICULTY_MAX)] = (
        optional()
    )
    feedback: Feedback | None = optional()
    images: Annotated[list[DefinitionImage], msgspec.Meta(max_length=QI.MAX_IMAGES)] = optional()
    choices: Annotated[
        list[DefinitionChoice], msgspec.Meta(min_length=2, max_length=QV.MAX_CHOICES)
    ] = optional()
    partial: Literal["per_option", "all_or_nothing"] = optional()
    correct: bool = optional()
    accepted: Annotated[
        list[Annotated[str, _text(1, MAX_TEXT_ANSWER)]],
        msgspec.Meta(min_length=1, max_length=QV.MAX_ACCEPTED),
    ] = optional()
    case_sensitive: bool = optional()
    value: float = optional()
    tolerance: NonNegative = optional()
    word_limit: Annotated[int, msgspec.Meta(ge=1, le=essay.MAX_WORD_LIMIT)] | None = optional()
    response_template: Annotated[str, msgspec.Meta(max_length=MAX_ESSAY_ANSWER)] = optional()
    grader_info: Feedback = optional()
    pairs: Annotated[
        list[DefinitionMatchPair],
        msgspec.Meta(min_length=matching.MIN_PAIRS, max_length=matching.MAX_PAIRS),
    ] = optional()
    distractors: Annotated[
        list[Annotated[str, _text(1, QV.MAX_CHOICE_TEXT)]],
        msgspec.Meta(max_length=matching.MAX_DISTRACTORS),
    ] = optional()
    items: Annotated[
        list[DefinitionOrderItem],
        msgspec.Meta(min_length=ordering.MIN_ITEMS, max_length=ordering.MAX_ITEMS),
    ] = optional()
    ordering_rule: Literal[
        "all_or_nothing",
        "absolute_position",
        "relative_next",
        "longest_subset",
        "longest_contiguous",
    ] = optional()
    gaps: Annotated[
        list[DefinitionGap], msgspec.Meta(min_length=cloze.MIN_GAPS, max_length=cloze.MAX_GAPS)
    ] = optional()


class DefinitionSelection(msgspec.Struct, frozen=True, kw_only=True):
    """``count`` is required for ``pool`` and ``adaptive`` (at most the number of
    questions that take an answer); otherwise it is left out or equals that
    number. Descriptions are not counted, and ``pool`` and ``adaptive`` never
    draw them."""

    mode: Literal["fixed", "shuffled", "pool", "adaptive"] = optional()
    count: Annotated[int, msgspec.Meta(ge=1, le=QV.MAX_QUESTIONS)] | None = optional()


class DefinitionSection(msgspec.Struct, frozen=True, kw_only=True):
    """``kind`` may be left out (it follows from the position). Question ids are
    unique across the quiz."""

    questions: Annotated[
        list[DefinitionQuestion], msgspec.Meta(min_length=1, max_length=QV.MAX_QUESTIONS)
    ]
    kind: Literal["practice", "test"] = optional()
    instructions: Instructions | None = optional()
    selection: DefinitionSelection | None = optional()


class DefinitionPolicies(msgspec.Struct, frozen=True, kw_only=True):
    """``lease_ttl_s`` is at least twice ``heartbeat_s``."""

    second_login: Literal["refuse", "takeover"] = optional()
    grace_s: Annotated[float, msgspec.Meta(ge=0, le=300)] = optional()
    heartbeat_s: Annotated[float, msgspec.Meta(ge=1, le=60)] = optional()
    lease_ttl_s: Annotated[float, msgspec.Meta(gt=0)] = optional()
    idle_timeout_s: Annotated[float, msgspec.Meta(ge=60)] = optional()
    outage_credit: bool = optional()


ReviewItem = Literal[
    "score", "answers", "right_answers", "feedback", "general_feedback", "overall_feedback"
]


class DefinitionReview(msgspec.Struct, frozen=True, kw_only=True):
    """What a candidate sees of the finished test: right after submitting
    (default: ``score``) and once the quiz has closed (default: all six; never
    without ``closes_at``). Each item at most once. ``overall_feedback`` is
    shown only with ``score`` (the grade band would tell a hidden score's
    range), and only once the score is final (not while answers graded by hand
    wait for a grader)."""

    after_submit: list[ReviewItem] = optional()
    after_close: list[ReviewItem] = optional()


class DefinitionFeedbackBand(msgspec.Struct, frozen=True, kw_only=True):
    """One band of the overall feedback: ``text`` (plain text, line breaks kept)
    is shown to a candidate whose percentage (score / max score x 100) is at
    least ``from_percent`` and below the next band's boundary."""

    from_percent: Annotated[float, msgspec.Meta(ge=0, le=100)]
    text: Annotated[str, _text(1, QV.MAX_FEEDBACK)]


class QuizDefinition(msgspec.Struct, frozen=True, kw_only=True):
    """A quiz definition (the YAML/JSON import format). The shape and the simple
    bounds only: the other rules (kinds, ids, selection counts, ``closes_at``
    after ``opens_at``, ...) are checked on ``PUT`` and every problem is answered
    at once as 422 ``quiz_invalid``, located by path. Unknown keys are refused at
    every level. Times (``opens_at``, ``closes_at``) are ISO-8601 date-times with
    an offset, or epoch seconds, between 1970 and 2200. ``GET`` returns the export
    form: defaults left out, times as ISO-8601 UTC, with ``id`` and the stored
    ``version`` (which ``PUT`` ignores; the ``id``, if sent, must be the path's).

    ``overall_feedback`` is text for the candidate chosen by their grade: at most
    20 ``{from_percent, text}`` bands in any order (``GET`` returns them sorted),
    with distinct boundaries from 0 to 100 and plain text (line breaks kept).
    The candidate's percentage (score / max score x 100) selects the band with
    the largest ``from_percent`` at most that percentage; below every boundary,
    or for a test worth no marks, there is none; a negative score counts as
    0 %. The review shows it with the ``overall_feedback`` review item, only
    together with ``score`` (the band would tell a hidden score's range) and
    only once the score is final (not while answers wait for a grader)."""

    title: Title
    duration_s: Annotated[float, msgspec.Meta(gt=0)]
    test: DefinitionSection
    id: Ident = optional()
    version: int = optional()
    instructions: Instructions | None = optional()
    opens_at: Moment | None = optional()
    closes_at: Moment | None = optional()
    policies: DefinitionPolicies | None = optional()
    #: ``sequential`` (default: one question at a time) or ``free`` (any question
    #: of the running section, in any order; not with adaptive selection).
    navigation: Literal["sequential", "free"] = optional()
    review: DefinitionReview | None = optional()
    #: Overall feedback by grade band (see the class's description).
    overall_feedback: (
        Annotated[list[DefinitionFeedbackBand], msgspec.Meta(max_length=OF.MAX_BANDS)] | None
    ) = optional()
    practice: DefinitionSection | None = optional()


@dataclass
class QuizDefinitionBodyOperation(ApiOperation):
    """``PUT /admin/quizzes/{id}``: the handler takes a free mapping (``parse_quiz``
    checks it and reports every problem); the document shows its shape."""

    body_schema = ref("QuizDefinition")
    body_description = cleandoc(QuizDefinition.__doc__ or "")
