"""The attempt aggregate: ``decide(state, quiz, command, now) -> events`` and
``apply(state, event) -> state``.

The state is the left fold of the attempt's events (``fold``). ``decide`` reads the
state and never changes it; it returns the events that record what happened or
raises ``DomainError`` (a refusal changes nothing). ``apply`` mutates the fold's
private accumulator and returns it: callers apply events only after the store has
made them durable. Time is an argument; this module reads no clock.
"""

from __future__ import annotations

import math

from quizsession.domain import errors as E
from quizsession.domain.attempt_state import (
    AttemptState,
    OpRecord,
    SectionProgress,
    apply,
    deadline,
    due_at,
    fingerprint,
    fold,
    score,
)
from quizsession.domain.commands import (
    AttemptCommand,
    ChangeDuration,
    CloseSession,
    CreateAttempt,
    CreditOutage,
    DeliverNext,
    Extend,
    FinishPractice,
    OpenSession,
    Reopen,
    SaveAnswer,
    SectionName,
    SessionRef,
    StartSection,
    Submit,
    Unlock,
    ViewQuestion,
    Void,
)
from quizsession.domain.errors import DomainError
from quizsession.domain.events import (
    OUTAGE_CREDIT_BY,
    AnswerSaved,
    AttemptCreated,
    AttemptEvent,
    DurationChanged,
    PracticeFinished,
    QuestionDelivered,
    QuestionViewed,
    Reopened,
    SectionStarted,
    SessionClosed,
    SessionOpened,
    SessionSuperseded,
    Submitted,
    TimeExtended,
    Voided,
    outage_credit_reason,
)
from quizsession.domain.quiz import Quiz, Section
from quizsession.domain.scoring import answer_problem
from quizsession.domain.selection import strategy_for

MAX_EXTENSION_S = 7 * 24 * 3600.0

__all__ = [
    "AttemptState",
    "OpRecord",
    "SectionProgress",
    "apply",
    "deadline",
    "decide",
    "due_at",
    "fold",
    "score",
]

# ---------------------------------------------------------------------------- decide


def _within(value: float, low: float, high: float) -> bool:
    return math.isfinite(value) and low <= value <= high


def _replayed(state: AttemptState, op_id: str | None, kind: str, fp: bytes) -> bool:
    """True when ``op_id`` was already applied with the same payload (a retry gets
    the first result: no new events). The same op id with another payload is a
    client bug and is refused."""
    if op_id is None:
        return False
    record = state.ops.get(op_id)
    if record is None:
        return False
    if record.kind != kind or record.fingerprint != fp:
        raise DomainError(
            "this op_id was already used for a different request", code=E.OP_ID_CONFLICT
        )
    return True


def _require_exists(state: AttemptState) -> None:
    if not state.exists:
        raise DomainError("no such attempt", code="not_found")


def _require_writer(state: AttemptState, session: SessionRef) -> None:
    """The fencing check: only the live session at the current epoch writes."""
    if state.status == "voided":
        raise DomainError("this attempt was voided by an administrator", code=E.ATTEMPT_VOIDED)
    if session.epoch == state.epoch and state.live_session == session.session_id:
        return
    ended = state.ended_sessions.get(session.session_id)
    if ended == "superseded" or session.epoch < state.epoch:
        raise DomainError("another session has taken over this attempt", code=E.SESSION_SUPERSEDED)
    raise DomainError(f"this session has ended ({ended or 'closed'})", code=E.SESSION_CLOSED)


def _require_open(state: AttemptState) -> None:
    if state.status == "voided":
        raise DomainError("this attempt was voided by an administrator", code=E.ATTEMPT_VOIDED)
    if state.submitted is not None:
        raise DomainError("this attempt is closed", code=E.ATTEMPT_CLOSED)


def _require_in_time(state: AttemptState, quiz: Quiz, now: float) -> None:
    end = deadline(state, quiz)
    if end is not None and now > end + quiz.policies.grace_s:
        raise DomainError("the deadline has passed", code=E.DEADLINE_PASSED, deadline=end)


def _section_def(quiz: Quiz, section: SectionName) -> Section:
    found = quiz.section(section)
    if found is None:
        raise DomainError(f"this quiz has no {section} section", code=E.NO_SUCH_SECTION)
    return found


def decide(
    state: AttemptState, quiz: Quiz, command: AttemptCommand, now: float
) -> list[AttemptEvent]:
    """The events that carry out ``command`` at time ``now``, or a DomainError."""
    match command:
        case CreateAttempt():
            if state.exists:
                return []
            return [
                AttemptCreated(
                    at=now,
                    attempt_id=command.attempt_id,
                    quiz_id=command.quiz_id,
                    quiz_version=command.quiz_version,
                    candidate_id=command.candidate_id,
                    candidate_name=command.candidate_name,
                )
            ]
        case OpenSession():
            return _open_session(state, quiz, command, now)
        case CloseSession():
            _require_exists(state)
            if state.live_session != command.session.session_id:
                return []  # already ended: logging out twice changes nothing
            _require_writer(state, command.session)
            return [
                SessionClosed(
                    at=now,
                    session_id=command.session.session_id,
                    reason=command.reason,
                    by=command.by,
                )
            ]
        case StartSection():
            return _start_section(state, quiz, command, now)
        case FinishPractice():
            _require_exists(state)
            fp = fingerprint("finish_practice")
            if _replayed(state, command.op_id, "finish_practice", fp):
                return []
            _require_writer(state, command.session)
            _require_open(state)
            if state.current_section() != "practice":
                raise DomainError("the practice round is not running", code=E.SECTION_STATE)
            return [PracticeFinished(at=now, op_id=command.op_id)]
        case DeliverNext():
            return _deliver_next(state, quiz, command, now)
        case ViewQuestion():
            _require_exists(state)
            _require_writer(state, command.session)
            if state.viewed == command.question_id or state.submitted is not None:
                return []
            section = state.current_section()
            progress = state.progress(section) if section else None
            if progress is None or command.question_id not in progress.delivered_set:
                return []  # a view of something not on screen is not evidence of anything
            return [QuestionViewed(at=now, question_id=command.question_id)]
        case SaveAnswer():
            return _save_answer(state, quiz, command, now)
        case Submit():
            return _submit(state, quiz, command, now)
        case Extend():
            _require_exists(state)
            _require_open(state)
            if not (math.isfinite(command.seconds) and 0 < command.seconds <= MAX_EXTENSION_S):
                raise DomainError("extension must be between 0 and 7 days", code="validation_error")
            return [
                TimeExtended(at=now, seconds=command.seconds, by=command.by, reason=command.reason)
            ]
        case CreditOutage():
            return _credit_outage(state, quiz, command, now)
        case ChangeDuration():
            _require_exists(state)
            _require_open(state)
            current = state.duration_override or quiz.duration_s
            if command.duration_s <= current:
                return []  # only longer durations are applied to attempts in progress
            return [
                DurationChanged(
                    at=now,
                    duration_s=command.duration_s,
                    quiz_version=command.quiz_version,
                    by=command.by,
                )
            ]
        case Unlock():
            _require_exists(state)
            if state.live_session is None:
                return []
            return [
                SessionClosed(at=now, session_id=state.live_session, reason="unlock", by=command.by)
            ]
        case Void():
            _require_exists(state)
            if state.status == "voided":
                return []
            events: list[AttemptEvent] = []
            if state.live_session is not None:
                events.append(
                    SessionClosed(
                        at=now, session_id=state.live_session, reason="voided", by=command.by
                    )
                )
            events.append(Voided(at=now, by=command.by, reason=command.reason))
            return events
        case Reopen():
            _require_exists(state)
            if state.status == "open" and state.submitted is None:
                raise DomainError("the attempt is already open", code=E.NOT_ALLOWED)
            if state.test is None:
                raise DomainError("the test was never started", code=E.NOT_ALLOWED)
            if not (
                math.isfinite(command.extra_seconds)
                and 0 <= command.extra_seconds <= MAX_EXTENSION_S
            ):
                raise DomainError(
                    "extra_seconds must be between 0 and 7 days", code="validation_error"
                )
            end = deadline(state, quiz)
            if command.extra_seconds <= 0 and (end is None or end + quiz.policies.grace_s <= now):
                raise DomainError(
                    "the deadline has passed: reopen with extra_seconds > 0",
                    code=E.NOT_ALLOWED,
                )
            return [
                Reopened(
                    at=now,
                    by=command.by,
                    reason=command.reason,
                    extra_seconds=command.extra_seconds,
                )
            ]
    raise AssertionError(f"unhandled command {command!r}")  # pragma: no cover


def _open_session(
    state: AttemptState, quiz: Quiz, command: OpenSession, now: float
) -> list[AttemptEvent]:
    _require_exists(state)
    if state.status == "voided":
        raise DomainError("this attempt was voided by an administrator", code=E.ATTEMPT_VOIDED)
    if quiz.opens_at is not None and now < quiz.opens_at and state.test is None:
        raise DomainError("this quiz is not open yet", code=E.QUIZ_NOT_OPEN, opens_at=quiz.opens_at)
    events: list[AttemptEvent] = []
    if state.live_session is not None:
        events.append(
            SessionSuperseded(
                at=now, session_id=state.live_session, by_session_id=command.session_id
            )
        )
    events.append(
        SessionOpened(
            at=now,
            session_id=command.session_id,
            epoch=state.epoch + 1,
            takeover=command.takeover,
        )
    )
    return events


def _start_section(
    state: AttemptState, quiz: Quiz, command: StartSection, now: float
) -> list[AttemptEvent]:
    _require_exists(state)
    fp = fingerprint("start", command.section)
    if _replayed(state, command.op_id, "start", fp):
        return []
    _require_writer(state, command.session)
    _require_open(state)
    section = _section_def(quiz, command.section)
    if command.section == "practice":
        if state.practice is not None:
            if not state.practice.finished and state.test is None:
                return []  # already running: starting again is a no-op
            raise DomainError("the practice round is over", code=E.SECTION_STATE)
        if state.test is not None:
            raise DomainError("the test has started: practice is over", code=E.SECTION_STATE)
    elif state.test is not None:
        return []  # the test runs once; starting it again changes nothing
    if quiz.closes_at is not None and now >= quiz.closes_at:
        raise DomainError("this quiz is closed", code=E.QUIZ_CLOSED, closes_at=quiz.closes_at)
    if quiz.opens_at is not None and now < quiz.opens_at:
        raise DomainError("this quiz is not open yet", code=E.QUIZ_NOT_OPEN, opens_at=quiz.opens_at)
    plan = strategy_for(section).plan(section, command.seed)
    return [
        SectionStarted(
            at=now, section=command.section, seed=command.seed, plan=plan, op_id=command.op_id
        )
    ]


def _deliver_next(
    state: AttemptState, quiz: Quiz, command: DeliverNext, now: float
) -> list[AttemptEvent]:
    _require_exists(state)
    _require_writer(state, command.session)
    _require_open(state)
    name = state.current_section()
    if name is None:
        raise DomainError("no section is running", code=E.SECTION_NOT_STARTED)
    progress = state.progress(name)
    assert progress is not None
    if name == "test":
        _require_in_time(state, quiz, now)
    if progress.current_question() is not None:
        return []  # the current unanswered question is shown again, never a new one
    section = _section_def(quiz, name)
    nxt = strategy_for(section).next_question(
        section, progress.plan, progress.delivered, progress.answers, progress.seed
    )
    if nxt is None:
        return []
    return [QuestionDelivered(at=now, section=name, question_id=nxt)]


def _save_answer(
    state: AttemptState, quiz: Quiz, command: SaveAnswer, now: float
) -> list[AttemptEvent]:
    _require_exists(state)
    fp = fingerprint("save", command.question_id, command.answer)
    if _replayed(state, command.op_id, "save", fp):
        return []
    _require_writer(state, command.session)
    _require_open(state)
    if command.expected_version is not None and command.expected_version != state.version:
        raise DomainError(
            "the attempt changed since the version you sent",
            code=E.VERSION_MISMATCH,
            version=state.version,
        )
    name = state.current_section()
    if name is None:
        raise DomainError("no section is running", code=E.SECTION_NOT_STARTED)
    if name == "test":
        _require_in_time(state, quiz, now)
    section = _section_def(quiz, name)
    question = section.question(command.question_id)
    if question is None:
        raise DomainError("no such question in this section", code=E.QUESTION_UNKNOWN)
    progress = state.progress(name)
    assert progress is not None
    if command.question_id not in progress.delivered_set:
        raise DomainError(
            "this question has not been delivered to you", code=E.QUESTION_NOT_DELIVERED
        )
    problem = answer_problem(question, command.answer)
    if problem is not None:
        raise DomainError(problem, code=E.ANSWER_INVALID, question_id=command.question_id)
    return [
        AnswerSaved(
            at=now,
            section=name,
            question_id=command.question_id,
            answer=command.answer,
            op_id=command.op_id,
            session_id=command.session.session_id,
        )
    ]


def _credit_outage(
    state: AttemptState, quiz: Quiz, command: CreditOutage, now: float
) -> list[AttemptEvent]:
    """Give back the time a running test lost while the whole service was down.

    The service was last seen alive at ``start`` (the newest liveness mark) and
    is back at ``end``. For this attempt it was alive at least until the later of
    ``start`` and its own last event (``down_from``): the credit is ``end -
    down_from``, so the candidate gets back exactly the time they had left then
    (never less; at most one mark interval more). Nothing for a quiz whose policy
    is off, an attempt not in its test (not started, submitted, voided) or whose
    time was up by ``down_from``. A window overlapping one already credited is
    refused (``not_allowed``): an outage is credited once, however many
    instances start. The event records the service's window in its reason (see
    ``events.outage_window``); ``deadline`` caps the result by the quiz window's
    close, as it caps every extension."""
    _require_exists(state)
    start, end = command.start, command.end
    if not (math.isfinite(start) and math.isfinite(end) and 0 < end - start <= MAX_EXTENSION_S):
        raise DomainError(
            "an outage runs from an earlier to a later time, at most 7 days",
            code=E.VALIDATION,
        )
    for credited_start, credited_end in state.outage_windows:
        if start < credited_end and credited_start < end:
            raise DomainError(
                "this outage was already credited to the attempt",
                code=E.NOT_ALLOWED,
                credited=[credited_start, credited_end],
            )
    if not quiz.policies.outage_credit:
        return []
    test = state.test
    if state.status != "open" or state.submitted is not None or test is None or test.finished:
        return []
    down_from = max(start, state.last_event_at)
    if down_from >= end:
        return []  # seen alive "after" the end (instances' clocks differ): nothing lost
    end_before = deadline(state, quiz)
    if end_before is None or end_before <= down_from:
        return []  # the time was up before the service went down
    return [
        TimeExtended(
            at=now,
            seconds=end - down_from,
            by=OUTAGE_CREDIT_BY,
            reason=outage_credit_reason(start, end),
        )
    ]


def _submit(state: AttemptState, quiz: Quiz, command: Submit, now: float) -> list[AttemptEvent]:
    _require_exists(state)
    fp = fingerprint("submit")
    if _replayed(state, command.op_id, "submit", fp):
        return []
    if command.session is not None:
        _require_writer(state, command.session)
    if state.status == "voided":
        raise DomainError("this attempt was voided by an administrator", code=E.ATTEMPT_VOIDED)
    if state.submitted is not None:
        return []  # submitting twice returns the same score
    if state.test is None:
        raise DomainError("the test has not started", code=E.SECTION_NOT_STARTED)
    end = deadline(state, quiz)
    assert end is not None
    late = now > end + quiz.policies.grace_s
    if command.reason == "deadline":
        if not late:
            raise DomainError("the deadline has not passed yet", code=E.NOT_ALLOWED)
        finished_at = end
    elif command.reason == "candidate" and late:
        # A candidate's submit is a write: after deadline + grace it is refused,
        # and the server submits on its own (finish time = the deadline).
        raise DomainError("the deadline has passed", code=E.DEADLINE_PASSED, deadline=end)
    else:
        finished_at = min(now, end)
    sheet = score(state, quiz)
    events: list[AttemptEvent] = [
        Submitted(
            at=now,
            reason=command.reason,
            finished_at=finished_at,
            score=sheet.score,
            max_score=sheet.max_score,
            op_id=command.op_id,
            by=command.by,
        )
    ]
    # The live session stays open for reading (the candidate sees the result);
    # every write is now refused with attempt_closed.
    return events
