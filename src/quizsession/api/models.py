"""The wire models: every request body and response body of the HTTP API.

The routes decode and encode these very structs (the app layer builds the
responses), the typed client decodes into them, and the OpenAPI document is
generated from them. Request bodies refuse unknown fields and bound every size,
so a hostile body is refused before it reaches a rule; they leave out defaults
when encoded, so a client sends only what it means.

Only the event log's entries are typed differently on the two sides: the server
fills ``EventView.data`` with the domain's event structs (``app.admin`` narrows
``EventView`` and ``AttemptDetail`` to them), a client without the server
installed reads each event as a mapping (``EventView[dict[str, Any]]``, its
``type`` naming the event).
"""

from __future__ import annotations

from typing import Annotated, Generic, Literal, TypeVar

import msgspec

from quizsession.api.questions import AnswerValue as AnswerValue
from quizsession.api.questions import ChoiceView as ChoiceView
from quizsession.api.questions import FlagResult as FlagResult
from quizsession.api.questions import GapView as GapView
from quizsession.api.questions import ImageView as ImageView
from quizsession.api.questions import ItemView as ItemView
from quizsession.api.questions import NavigationView as NavigationView
from quizsession.api.questions import NavItem as NavItem
from quizsession.api.questions import QuestionView as QuestionView
from quizsession.api.questions import Section as Section

AttemptStatus = Literal["open", "submitted", "voided"]
EventData = TypeVar("EventData")
Entry = TypeVar("Entry")

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@-]+$")]
OpId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Text = Annotated[str, msgspec.Meta(max_length=1000)]
Token = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]
WEEK_S = 7 * 24 * 3600


# ---------------------------------------------------------------------- request bodies


class OpenSessionBody(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """``POST /sessions``: a candidate sends ``invite_token``; a backend (with its
    API key) sends ``user_id`` and ``quiz_id``. ``takeover`` asks to end a live
    session where the quiz allows it."""

    invite_token: Token | None = None
    user_id: Id | None = None
    quiz_id: Id | None = None
    name: Annotated[str, msgspec.Meta(max_length=200)] = ""
    takeover: bool = False


class StartBody(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    section: Section = "test"
    op_id: OpId | None = None


class ProgressBody(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    question_id: Id
    answer: AnswerValue
    op_id: OpId
    expected_version: Annotated[int, msgspec.Meta(ge=0)] | None = None


class HeartbeatBody(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    question_id: Id | None = None


class FlagBody(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """``PUT /sessions/{id}/flags/{question_id}``: flag the question for review
    (``flagged`` false takes the flag off). Idempotent by ``op_id``."""

    flagged: bool
    op_id: OpId


class CompleteBody(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    op_id: OpId | None = None


class ExtendBody(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    seconds: Annotated[float, msgspec.Meta(gt=0, le=WEEK_S)]
    reason: Text = ""


class ReasonBody(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    reason: Text = ""


class ReopenBody(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    reason: Text = ""
    extra_seconds: Annotated[float, msgspec.Meta(ge=0, le=WEEK_S)] = 0.0


class RosterLine(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """One candidate to invite. ``valid_until``: ``YYYY-MM-DD`` (through the end
    of that UTC day) or an ISO-8601 date-time with an offset."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
    valid_until: Annotated[str, msgspec.Meta(min_length=10, max_length=40)]
    candidate_id: Id | None = None


class InvitesBody(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """Either structured ``roster`` lines or ``roster_text`` in the line format
    ``name email valid-until token``."""

    roster: Annotated[list[RosterLine], msgspec.Meta(max_length=10_000)] = []
    roster_text: Annotated[str, msgspec.Meta(max_length=2_000_000)] | None = None


# ------------------------------------------------------------- the candidate's views


class ResultView(msgspec.Struct, frozen=True, kw_only=True):
    """The test's result. While answers graded by hand wait for a grader,
    ``pending`` is true, ``pending_questions`` counts them and ``score`` is the
    automatic part so far (the final score comes once they are graded). A
    candidate sees ``score`` and ``max_score`` only when the quiz's review policy
    shows the score at that time: otherwise both are null and ``score_hidden`` is
    true (administrators always see them)."""

    score: float | None
    max_score: float | None
    finished_at: float
    reason: str
    pending: bool = False
    pending_questions: int = 0
    score_hidden: bool = False


class AttemptView(msgspec.Struct, frozen=True, kw_only=True):
    """The attempt as its candidate sees it, with the server's time."""

    attempt_id: str
    quiz_id: str
    quiz_version: int
    quiz_title: str
    candidate_id: str
    status: str  # open | submitted | voided
    state: str  # practice_not_started ... test_finished
    section: str | None
    version: int
    epoch: int
    server_time: float
    deadline: float | None
    time_remaining_s: float | None
    grace_s: float
    heartbeat_s: float
    duration_s: float
    answers: dict[str, AnswerValue]
    current_question_id: str | None
    delivered: int
    total: int
    instructions: str = ""  # the quiz's, then the running section's
    result: ResultView | None = None
    #: The test's duration with the candidate's accommodation applied (before
    #: the test starts: the accommodation set now; once started: what the log
    #: recorded), and the accommodation's share of it.
    test_duration_s: float = 0.0
    extra_time_s: float = 0.0
    #: The quiz window's close (None: no close). Before the test starts,
    #: ``cut_by_close`` is true when the close comes before the test's time is
    #: up if started now, and ``effective_time_s`` is the time the candidate
    #: would have (the close caps every deadline); once started, ``cut_by_close``
    #: tells whether the close capped the deadline and ``effective_time_s`` is
    #: the test's whole time, start to deadline.
    closes_at: float | None = None
    cut_by_close: bool = False
    effective_time_s: float | None = None
    #: The warning about negative marks that goes with ``instructions`` when a
    #: question of the test has a penalty ("" otherwise, and in the practice
    #: round, which is not scored).
    penalty_warning: str = ""
    #: How the candidate moves between questions: ``sequential`` (one at a time,
    #: no going back to one not yet delivered) or ``free`` (any question of the
    #: running section, a navigation panel and a summary before submitting).
    navigation: Literal["sequential", "free"] = "sequential"
    #: The running section's questions flagged for review.
    flagged: list[str] = []


# -------------------------------------------------------------------- session replies


class OpenedSession(msgspec.Struct, frozen=True, kw_only=True):
    session_id: str
    session_token: str
    expires_at: float
    attempt: AttemptView


class SaveResult(msgspec.Struct, frozen=True, kw_only=True):
    saved: bool
    question_id: str
    version: int
    replayed: bool
    server_time: float
    deadline: float | None
    time_remaining_s: float | None


class HeartbeatResult(msgspec.Struct, frozen=True, kw_only=True):
    session_token: str  # "" when the caller asked for no new token
    expires_at: float
    lease_ttl_s: float
    attempt: AttemptView


class NextQuestion(msgspec.Struct, frozen=True, kw_only=True):
    question: QuestionView | None
    remaining: int  # questions not yet delivered in this section
    server_time: float
    time_remaining_s: float | None


class CompleteResult(msgspec.Struct, frozen=True, kw_only=True):
    attempt: AttemptView
    score: float | None
    max_score: float | None


# ------------------------------------------------------------------ administration


class QuizSummary(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    version: int
    title: str


class QuizStored(msgspec.Struct, frozen=True, kw_only=True):
    """``PUT /admin/quizzes/{id}``: the version the definition was stored as."""

    id: str
    version: int
    title: str


class QuizList(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /admin/quizzes``: the latest version of every quiz."""

    quizzes: list[QuizSummary]


class LiveAttempt(msgspec.Struct, frozen=True, kw_only=True):
    attempt_id: str
    candidate_id: str
    candidate_name: str
    status: str
    state: str
    time_remaining_s: float | None
    deadline: float | None
    connected: bool
    last_seen: float | None
    answered: int
    total: int
    score: float | None = None
    max_score: float | None = None
    #: Answers graded by hand wait for a grader: the score is pending.
    pending: bool = False


class LiveList(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /admin/quizzes/{id}/live``: a page of a quiz's attempts with their
    clock and presence."""

    quiz_id: str
    server_time: float
    attempts: list[LiveAttempt]
    #: Pass back as ``cursor`` for the next page (None: this was the last).
    next_cursor: str | None = None


class TimingResult(msgspec.Struct, frozen=True, kw_only=True):
    quiz_id: str
    quiz_version: int
    duration_s: float
    attempts_changed: int


class IssuedInvite(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    email: str
    candidate_id: str
    valid_until: float
    token: str
    link: str


class InviteList(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /admin/quizzes/{id}/invites``: the issued tokens (shown only once)."""

    quiz_id: str
    invites: list[IssuedInvite]


class AttemptIndexRow(msgspec.Struct, frozen=True, kw_only=True):
    """The queryable projection of one attempt, written in the same transaction as
    its events (so it can never disagree with the log)."""

    attempt_id: str
    quiz_id: str
    candidate_id: str
    status: AttemptStatus
    #: The candidate-visible section state, e.g. "test_started"; or
    #: "grading_pending": submitted, answers graded by hand wait for a grader.
    state: str
    version: int
    updated_at: float
    deadline: float | None = None
    due_at: float | None = None  # deadline + grace while the test runs, else None


class AttemptList(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /admin/attempts``: one page of the attempt index."""

    attempts: list[AttemptIndexRow]
    limit: int
    offset: int
    #: Pass back as ``cursor`` for the next page (None: this was the last).
    next_cursor: str | None = None


class EventView(msgspec.Struct, Generic[EventData], frozen=True, kw_only=True):
    """One entry of an attempt's log: ``data`` is the event (the server's event
    structs; a mapping with its ``type`` on a client)."""

    seq: int
    type: str
    at: float
    data: EventData


class AttemptDetail(msgspec.Struct, Generic[Entry], frozen=True, kw_only=True):
    """One attempt: its view, the candidate's name, its live session and (where
    asked) its log, each entry an ``EventView``."""

    attempt: AttemptView
    candidate_name: str
    live_session: str | None
    events: list[Entry] | None = None


class Readiness(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /readyz``: 200 ``ready``, or 503 ``unavailable`` when the store or the
    live state does not answer. ``live`` is ``degraded`` when the live state's
    breaker is open (store-only mode: still serving)."""

    status: Literal["ready", "unavailable"]
    store: bool
    live: bool | Literal["degraded"]
