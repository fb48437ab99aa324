"""The wire models of what a candidate is shown of questions: a question's view
(every kind's candidate-facing fields, never its key), the section's navigation
map and a flag's result. Re-exported by ``api.models``."""

from __future__ import annotations

from typing import Literal

import msgspec

#: An answer as it travels: a choice id or text, true/false, a number, a list of
#: choice ids or ordered items, a mapping (matching pairs, cloze gaps), or None
#: (blank). The same union as ``domain.events.AnswerValue`` (a test keeps them
#: equal).
AnswerValue = str | bool | float | list[str] | dict[str, str | float] | None
Section = Literal["practice", "test"]


class ChoiceView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    text: str


class ImageView(msgspec.Struct, frozen=True, kw_only=True):
    """An image shown with a question: its URL and its text alternative."""

    url: str
    alt: str = ""


class ItemView(msgspec.Struct, frozen=True, kw_only=True):
    """A matching question's item or an ordering question's item."""

    id: str
    text: str


class GapView(msgspec.Struct, frozen=True, kw_only=True):
    """A cloze question's gap: its kind, and its choices for a choice gap."""

    id: str
    kind: str
    choices: list[ChoiceView] | None = None


class QuestionView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    section: str
    kind: str
    text: str
    points: float
    penalty: float
    # 1-based position among the questions delivered in this section that take an
    # answer; 0 for a description (shown as "Information", not numbered)
    number: int
    total: int  # how many questions this section asks
    choices: list[ChoiceView] | None = None
    answer: AnswerValue = None  # the answer saved so far, if any
    flagged: bool = False  # flagged for review by the candidate
    images: list[ImageView] | None = None
    # matching: its items; ordering: its items in this attempt's starting order
    items: list[ItemView] | None = None
    options: list[str] | None = None  # matching: the options, in this attempt's order
    gaps: list[GapView] | None = None  # cloze: its gaps, in the text's order
    word_limit: int | None = None  # essay: advice (a longer answer is still saved)
    response_template: str | None = None  # essay: the text the answer box starts with
    grading: str = "auto"  # how the question is scored: "auto", "manual" or "none"


class NavItem(msgspec.Struct, frozen=True, kw_only=True):
    """One question of the running section in the navigation panel. ``number``:
    1-based among the questions that take an answer (0 for an information item).
    ``state``: ``not_seen`` (never opened), ``not_answered`` (opened, blank),
    ``answered``, or ``information`` (a description: nothing to answer)."""

    id: str
    number: int
    kind: str
    state: Literal["not_seen", "not_answered", "answered", "information"]
    flagged: bool


class NavigationView(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /sessions/{id}/questions``: the running section's questions with
    their state, and the counts a summary before submitting shows. Free
    navigation lists every question of the section; sequential navigation the
    ones delivered so far (``unanswered`` also counts those still ahead)."""

    section: Section
    navigation: Literal["sequential", "free"]
    questions: list[NavItem]
    answered: int
    unanswered: int
    flagged: int


class FlagResult(msgspec.Struct, frozen=True, kw_only=True):
    """A flag stored (or a replay of one: ``replayed``), with the server's time."""

    question_id: str
    flagged: bool
    version: int
    replayed: bool
    server_time: float
    deadline: float | None
    time_remaining_s: float | None
