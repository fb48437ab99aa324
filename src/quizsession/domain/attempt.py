"""The attempt aggregate: ``decide(state, quiz, command, now) -> events`` and
``apply(state, event) -> state``.

The state is the left fold of the attempt's events (``fold``, in
``attempt_state``). ``decide`` reads the state and never changes it; it returns the
events that record what happened or raises ``DomainError`` (a refusal changes
nothing). ``apply`` mutates the fold's private accumulator and returns it:
callers apply events only after the store has made them durable. Time is an
argument; this module reads no clock.

Here: the candidate's commands (sessions, sections, questions, answers, submit).
The rules they share with the app layer are in ``attempt_rules``; what
administrators and the service itself decide is in ``attempt_admin``.
"""

from __future__ import annotations

from quizsession.domain import attempt_admin as admin
from quizsession.domain import grading
from quizsession.domain.accommodation import extra_time
from quizsession.domain.attempt_rules import (
    replayed,
    require_delivered,
    require_exists,
    require_in_time,
    require_in_window,
    require_not_voided,
    require_opened,
    require_writable,
    require_writer,
    section_def,
)
from quizsession.domain.attempt_state import (
    AttemptState,
    OpRecord,
    SectionProgress,
    apply,
    base_duration,
    deadline,
    due_at,
    fingerprint,
    fold,
    score,
)
from quizsession.domain.commands import (
    Accommodate,
    AttemptCommand,
    ChangeDuration,
    CloseSession,
    CreateAttempt,
    CreditOutage,
    DeliverNext,
    Extend,
    FinishPractice,
    FlagQuestion,
    GradeAnswer,
    OpenQuestion,
    OpenSession,
    Regrade,
    Reopen,
    SaveAnswer,
    StartSection,
    Submit,
    Unlock,
    ViewQuestion,
    Void,
)
from quizsession.domain.errors import ErrorCode, refuse
from quizsession.domain.events import (
    AnswerSaved,
    AttemptCreated,
    AttemptEvent,
    PracticeFinished,
    QuestionDelivered,
    QuestionViewed,
    SectionStarted,
    SessionClosed,
    SessionOpened,
    SessionSuperseded,
    Submitted,
    TimeAccommodated,
)
from quizsession.domain.navigation import flag_question, open_question
from quizsession.domain.quiz import Quiz
from quizsession.domain.scoring import answer_problem
from quizsession.domain.selection import needs_answer, strategy_for

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
            require_exists(state)
            if state.live_session != command.session.session_id:
                return []  # already ended: logging out twice changes nothing
            require_writer(state, command.session)
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
            require_exists(state)
            fp = fingerprint("finish_practice")
            if replayed(state, command.op_id, "finish_practice", fp):
                return []
            require_writer(state, command.session)
            require_writable(state)
            if state.current_section() != "practice":
                raise refuse(ErrorCode.SECTION_STATE, "the practice round is not running")
            return [PracticeFinished(at=now, op_id=command.op_id)]
        case DeliverNext():
            return _deliver_next(state, quiz, command, now)
        case ViewQuestion():
            require_exists(state)
            require_writer(state, command.session)
            if state.viewed == command.question_id or state.submitted is not None:
                return []
            section = state.current_section()
            progress = state.progress(section) if section else None
            if progress is None or command.question_id not in progress.delivered_set:
                return []  # a view of something not on screen is not evidence of anything
            return [QuestionViewed(at=now, question_id=command.question_id)]
        case OpenQuestion():
            return open_question(state, quiz, command, now)
        case FlagQuestion():
            return flag_question(state, quiz, command, now)
        case SaveAnswer():
            return _save_answer(state, quiz, command, now)
        case Submit():
            return _submit(state, quiz, command, now)
        case Extend():
            return admin.extend(state, command, now)
        case Accommodate():
            return admin.accommodate(state, quiz, command, now)
        case CreditOutage():
            return admin.credit_outage(state, quiz, command, now)
        case ChangeDuration():
            return admin.change_duration(state, quiz, command, now)
        case Unlock():
            return admin.unlock(state, command, now)
        case Void():
            return admin.void(state, command, now)
        case Reopen():
            return admin.reopen(state, quiz, command, now)
        case GradeAnswer():
            return grading.grade(state, quiz, command, now)
        case Regrade():
            return grading.regrade(state, quiz, command.quiz, command, now)
    raise AssertionError(f"unhandled command {command!r}")  # pragma: no cover


def _open_session(
    state: AttemptState, quiz: Quiz, command: OpenSession, now: float
) -> list[AttemptEvent]:
    require_exists(state)
    require_not_voided(state)
    if state.test is None:
        require_opened(quiz, now)
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
    require_exists(state)
    fp = fingerprint("start", command.section)
    if replayed(state, command.op_id, "start", fp):
        return []
    require_writer(state, command.session)
    require_writable(state)
    section = section_def(quiz, command.section)
    if command.section == "practice":
        if state.practice is not None:
            if not state.practice.finished and state.test is None:
                return []  # already running: starting again is a no-op
            raise refuse(ErrorCode.SECTION_STATE, "the practice round is over")
        if state.test is not None:
            raise refuse(ErrorCode.SECTION_STATE, "the test has started: practice is over")
    elif state.test is not None:
        return []  # the test runs once; starting it again changes nothing
    require_in_window(quiz, now)
    plan = strategy_for(section).plan(section, command.seed)
    events: list[AttemptEvent] = [
        SectionStarted(
            at=now, section=command.section, seed=command.seed, plan=plan, op_id=command.op_id
        )
    ]
    given = command.accommodation
    if command.section == "test" and given is not None:
        seconds = extra_time(base_duration(state, quiz), given)
        if seconds > 0:
            events.append(
                TimeAccommodated(
                    at=now,
                    seconds=seconds,
                    multiplier=given.multiplier,
                    extra_seconds=given.extra_seconds,
                    by=given.by,
                )
            )
    return events


def _deliver_next(
    state: AttemptState, quiz: Quiz, command: DeliverNext, now: float
) -> list[AttemptEvent]:
    require_exists(state)
    require_writer(state, command.session)
    require_writable(state)
    name = state.current_section()
    if name is None:
        raise refuse(ErrorCode.SECTION_NOT_STARTED, "no section is running")
    progress = state.progress(name)
    assert progress is not None
    if name == "test":
        require_in_time(state, quiz, now)
    if progress.current_question() is not None:
        return []  # the current unanswered question is shown again, never a new one
    section = section_def(quiz, name)
    nxt = strategy_for(section).next_question(
        section, progress.plan, progress.delivered, progress.answers, progress.seed
    )
    if nxt is None:
        return []
    needs = needs_answer(section, nxt)
    return [QuestionDelivered(at=now, section=name, question_id=nxt, needs_answer=needs)]


def _save_answer(
    state: AttemptState, quiz: Quiz, command: SaveAnswer, now: float
) -> list[AttemptEvent]:
    require_exists(state)
    fp = fingerprint("save", command.question_id, command.answer)
    if replayed(state, command.op_id, "save", fp):
        return []
    require_writer(state, command.session)
    require_writable(state)
    if command.expected_version is not None and command.expected_version != state.version:
        raise refuse(
            ErrorCode.VERSION_MISMATCH,
            "the attempt changed since the version you sent",
            version=state.version,
        )
    name = state.current_section()
    if name is None:
        raise refuse(ErrorCode.SECTION_NOT_STARTED, "no section is running")
    if name == "test":
        require_in_time(state, quiz, now)
    question = require_delivered(state, quiz, name, command.question_id)
    problem = answer_problem(question, command.answer)
    if problem is not None:
        raise refuse(ErrorCode.ANSWER_INVALID, problem, question_id=command.question_id)
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


def _submit(state: AttemptState, quiz: Quiz, command: Submit, now: float) -> list[AttemptEvent]:
    require_exists(state)
    fp = fingerprint("submit")
    if replayed(state, command.op_id, "submit", fp):
        return []
    if command.session is not None:
        require_writer(state, command.session)
    require_not_voided(state)
    if state.submitted is not None:
        if command.session is not None and state.submitted.reason == "deadline":
            # The server submitted at the deadline: a candidate's submit now is a
            # late write, refused as it was before the server got to it.
            require_writable(state)
        return []  # submitting twice returns the same score
    if state.test is None:
        raise refuse(ErrorCode.SECTION_NOT_STARTED, "the test has not started")
    end = deadline(state, quiz)
    assert end is not None
    late = now > end + quiz.policies.grace_s
    if command.reason == "deadline":
        if not late:
            raise refuse(ErrorCode.NOT_ALLOWED, "the deadline has not passed yet")
        finished_at = end
    elif command.reason == "candidate" and late:
        # A candidate's submit is a write: after deadline + grace it is refused,
        # and the server submits on its own (finish time = the deadline).
        raise refuse(ErrorCode.DEADLINE_PASSED, "the deadline has passed", deadline=end)
    else:
        finished_at = min(now, end)
    sheet = score(state, quiz)
    # The live session stays open for reading (the candidate sees the result);
    # every write is now refused (``attempt_rules.require_writable``).
    return [
        Submitted(
            at=now,
            reason=command.reason,
            finished_at=finished_at,
            score=sheet.score,
            max_score=sheet.max_score,
            op_id=command.op_id,
            by=command.by,
            pending=len(sheet.pending),
        )
    ]
