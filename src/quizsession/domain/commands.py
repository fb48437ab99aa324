"""Commands: what someone asks of an attempt. ``attempt.decide`` answers each with
events or a ``DomainError``. Session commands carry the session's id and epoch
(the fencing token) so a stale tab or device is refused by the rules, and the
store's optimistic lock refuses it again if a new session slipped in between."""

from __future__ import annotations

from typing import Literal

import msgspec

from quizsession.domain.accommodation import Accommodation
from quizsession.domain.events import Actor, AnswerValue, SessionEndReason, SubmitReason
from quizsession.domain.quiz import Quiz

SectionName = Literal["practice", "test"]


class Command(msgspec.Struct, frozen=True, kw_only=True):
    pass


class SessionRef(msgspec.Struct, frozen=True, kw_only=True):
    """The writer: a session id and the epoch its token carries."""

    session_id: str
    epoch: int


class CreateAttempt(Command, kw_only=True, frozen=True):
    attempt_id: str
    quiz_id: str
    quiz_version: int
    candidate_id: str
    candidate_name: str = ""


class OpenSession(Command, kw_only=True, frozen=True):
    session_id: str
    takeover: bool = False


class CloseSession(Command, kw_only=True, frozen=True):
    session: SessionRef
    reason: SessionEndReason
    by: Actor = "candidate"


class StartSection(Command, kw_only=True, frozen=True):
    """Start a section. ``accommodation``: the candidate's, read by the app when
    the test starts (its share is written into the log with the start)."""

    session: SessionRef
    section: SectionName
    seed: int
    op_id: str | None = None
    accommodation: Accommodation | None = None


class FinishPractice(Command, kw_only=True, frozen=True):
    session: SessionRef
    op_id: str | None = None


class DeliverNext(Command, kw_only=True, frozen=True):
    session: SessionRef


class ViewQuestion(Command, kw_only=True, frozen=True):
    session: SessionRef
    question_id: str


class OpenQuestion(Command, kw_only=True, frozen=True):
    """Open a question of the running section (free navigation delivers a planned
    question on its first opening; sequential opens only delivered ones)."""

    session: SessionRef
    question_id: str


class FlagQuestion(Command, kw_only=True, frozen=True):
    """Flag a delivered question for review (``flagged`` False takes it off)."""

    session: SessionRef
    question_id: str
    flagged: bool
    op_id: str | None = None


class SaveAnswer(Command, kw_only=True, frozen=True):
    session: SessionRef
    question_id: str
    answer: AnswerValue
    op_id: str
    expected_version: int | None = None


class Submit(Command, kw_only=True, frozen=True):
    """A candidate's complete (``session`` set), the reaper's deadline submit or an
    admin's close (``session`` None)."""

    reason: SubmitReason
    session: SessionRef | None = None
    op_id: str | None = None
    by: Actor = "candidate"


class Extend(Command, kw_only=True, frozen=True):
    seconds: float
    by: Actor
    reason: str = ""


class Accommodate(Command, kw_only=True, frozen=True):
    """Apply the candidate's accommodation, set or changed by an administrator,
    to a test already running: the difference to what the test already got, if
    it gives more (a decrease applies to future attempts only)."""

    accommodation: Accommodation
    by: Actor


class CreditOutage(Command, kw_only=True, frozen=True):
    """Add the downtime of the whole service (``start`` to ``end``, wall-clock
    seconds) to the deadline of an attempt whose test was running when the
    service went down, if its quiz's policy says so. Refused for a window that
    overlaps one already credited (so two instances starting at once after an
    outage cannot both credit it)."""

    start: float
    end: float


class ChangeDuration(Command, kw_only=True, frozen=True):
    duration_s: float
    quiz_version: int
    by: Actor


class Unlock(Command, kw_only=True, frozen=True):
    """End the live session (an admin helping a stuck candidate)."""

    by: Actor


class Void(Command, kw_only=True, frozen=True):
    by: Actor
    reason: str = ""


class Reopen(Command, kw_only=True, frozen=True):
    by: Actor
    reason: str = ""
    extra_seconds: float = 0.0


class GradeAnswer(Command, kw_only=True, frozen=True):
    """A grader's points and comment for a question graded by hand (after the
    test is submitted). Grading again replaces the grade (the last one counts)."""

    question_id: str
    points: float
    comment: str = ""
    by: Actor


class Regrade(Command, kw_only=True, frozen=True):
    """Score a finished attempt again with ``quiz`` (version ``quiz_version`` of
    its quiz, usually the latest: an author fixed an answer key). Grades of
    questions graded by hand are kept."""

    quiz_version: int
    by: Actor
    quiz: Quiz


AttemptCommand = (
    CreateAttempt
    | OpenSession
    | CloseSession
    | StartSection
    | FinishPractice
    | DeliverNext
    | ViewQuestion
    | OpenQuestion
    | FlagQuestion
    | SaveAnswer
    | Submit
    | Extend
    | Accommodate
    | CreditOutage
    | ChangeDuration
    | Unlock
    | Void
    | Reopen
    | GradeAnswer
    | Regrade
)
