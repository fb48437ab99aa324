"""The events of an attempt's append-only log.

Every change to an attempt is one of these; the attempt's state is their fold
(``attempt.apply``). Events are tagged msgspec structs so the stores encode and
decode them without a hand-written mapping. Times are UTC seconds since the epoch,
as decided by the app layer's clock; the domain never reads a clock itself.
"""

from __future__ import annotations

import re
from typing import Literal

import msgspec

AnswerValue = str | bool | float | list[str] | dict[str, str | float] | None
Actor = str  # "candidate", "deadline", "system" or "admin:<key name>"
SessionEndReason = Literal["logout", "idle", "unlock", "expired", "voided", "submitted"]
SubmitReason = Literal["candidate", "deadline", "admin"]


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    at: float


class AttemptCreated(Event, tag="attempt_created", frozen=True, kw_only=True):
    attempt_id: str
    quiz_id: str
    quiz_version: int
    candidate_id: str
    candidate_name: str = ""


class SessionOpened(Event, tag="session_opened", frozen=True, kw_only=True):
    session_id: str
    epoch: int
    takeover: bool = False


class SessionSuperseded(Event, tag="session_superseded", frozen=True, kw_only=True):
    session_id: str
    by_session_id: str


class SessionClosed(Event, tag="session_closed", frozen=True, kw_only=True):
    session_id: str
    reason: SessionEndReason
    by: Actor = "candidate"


class SectionStarted(Event, tag="section_started", frozen=True, kw_only=True):
    section: Literal["practice", "test"]
    seed: int
    plan: list[str]  # question ids in order; empty for adaptive selection
    op_id: str | None = None


class PracticeFinished(Event, tag="practice_finished", frozen=True, kw_only=True):
    op_id: str | None = None


class QuestionDelivered(Event, tag="question_delivered", frozen=True, kw_only=True):
    section: Literal["practice", "test"]
    question_id: str
    # False for a question that takes no answer (a description): it never
    # becomes the current question.
    needs_answer: bool = True


class QuestionViewed(Event, tag="question_viewed", frozen=True, kw_only=True):
    question_id: str


class AnswerSaved(Event, tag="answer_saved", frozen=True, kw_only=True):
    section: Literal["practice", "test"]
    question_id: str
    answer: AnswerValue
    op_id: str
    session_id: str


class QuestionFlagged(Event, tag="question_flagged", frozen=True, kw_only=True):
    """The candidate flagged a question for review (or took the flag off)."""

    question_id: str
    flagged: bool
    op_id: str | None = None


class AnswerGraded(Event, tag="answer_graded", frozen=True, kw_only=True):
    """A grader's points and comment for a question graded by hand (after submit)."""

    question_id: str
    points: float
    comment: str = ""
    by: Actor
    # What the attempt scores after this grade, and how many answers still wait
    # for a grader (0: fully graded): recorded like ``Submitted.score`` so the
    # outbound delivery, a pure mapping of each event, can tell the last grade.
    score: float | None = None
    max_score: float | None = None
    pending: int = 0


class Regraded(Event, tag="regraded", frozen=True, kw_only=True):
    """The finished attempt scored again with ``quiz_version`` of its quiz (an
    author fixed an answer key): the scores before and after, and each question
    whose score changed (question id -> [old, new])."""

    quiz_version: int
    old_score: float
    new_score: float
    changes: dict[str, list[float]]
    by: Actor
    # The maximum with the new version and the answers still waiting for a grader.
    max_score: float | None = None
    pending: int = 0


class TimeExtended(Event, tag="time_extended", frozen=True, kw_only=True):
    """More time: an administrator's extension, or the system's outage credit
    (``by="system"`` and a ``reason`` made by ``outage_credit_reason``, which
    records the outage window so that it is never credited twice)."""

    seconds: float
    by: Actor
    reason: str = ""


class TimeAccommodated(Event, tag="time_accommodated", frozen=True, kw_only=True):
    """The candidate's accommodation (``domain.accommodation``) applied to the
    test: ``seconds`` more on its deadline. Written when the test starts (the
    accommodation's share), and for the difference when an administrator raises
    the accommodation while the test runs or the test's duration grows.
    ``multiplier`` and ``extra_seconds`` are the accommodation applied; ``by``
    who set it."""

    seconds: float
    multiplier: float
    extra_seconds: float
    by: Actor


class DurationChanged(Event, tag="duration_changed", frozen=True, kw_only=True):
    """An admin applied a quiz timing change to this attempt in progress."""

    duration_s: float
    quiz_version: int
    by: Actor


class Submitted(Event, tag="submitted", frozen=True, kw_only=True):
    """The test is closed. ``finished_at`` is the deadline for a deadline submit."""

    reason: SubmitReason
    finished_at: float
    score: float
    max_score: float
    op_id: str | None = None
    by: Actor = "candidate"
    # Answers graded by hand that wait for a grader: ``score`` is then the
    # automatic part, pending until they are graded.
    pending: int = 0


class Voided(Event, tag="voided", frozen=True, kw_only=True):
    by: Actor
    reason: str = ""


class Reopened(Event, tag="reopened", frozen=True, kw_only=True):
    by: Actor
    reason: str = ""
    extra_seconds: float = 0.0


AttemptEvent = (
    AttemptCreated
    | SessionOpened
    | SessionSuperseded
    | SessionClosed
    | SectionStarted
    | PracticeFinished
    | QuestionDelivered
    | QuestionViewed
    | QuestionFlagged
    | AnswerSaved
    | TimeExtended
    | TimeAccommodated
    | DurationChanged
    | Submitted
    | Voided
    | Reopened
    | AnswerGraded
    | Regraded
)

# The outage credit's reason names its window: "outage credit: the service was
# down from <start> to <end>" (seconds since the epoch, Python float repr, which
# round-trips exactly). Only an event with ``by="system"`` counts as a credit.
OUTAGE_CREDIT_BY: Actor = "system"
_OUTAGE_PREFIX = "outage credit: the service was down from "
_OUTAGE_REASON = re.compile(r"outage credit: the service was down from (\S+) to (\S+)")


def outage_credit_reason(start: float, end: float) -> str:
    return f"{_OUTAGE_PREFIX}{start!r} to {end!r}"


def outage_window(event: TimeExtended) -> tuple[float, float] | None:
    """The outage window an outage credit event covers; None for any other
    extension (an administrator's, whatever its reason says)."""
    if event.by != OUTAGE_CREDIT_BY or not event.reason.startswith(_OUTAGE_PREFIX):
        return None
    match = _OUTAGE_REASON.fullmatch(event.reason)
    if match is None:
        return None
    try:
        start, end = float(match.group(1)), float(match.group(2))
    except ValueError:
        return None
    return (start, end)


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(AttemptEvent)


def encode_event(event: AttemptEvent) -> bytes:
    return _ENCODER.encode(event)


def decode_event(data: bytes | str) -> AttemptEvent:
    event: AttemptEvent = _DECODER.decode(data)
    return event


def event_type(event: AttemptEvent) -> str:
    tag = type(event).__struct_config__.tag
    assert isinstance(tag, str)
    return tag
