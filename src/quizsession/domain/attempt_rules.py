"""The attempt's rules that both ``decide`` and the app layer apply: who may write
(fencing), whether the attempt still takes writes and why not, the deadline, the
quiz's availability window, and which questions a session may touch.

Each rule is one pure function of the folded state (and the quiz and the time,
passed in): it returns nothing or raises the ``DomainError`` that refuses the
request. The app layer calls the same functions for what it checks before (or
instead of) running a command, so a rule is written once.
"""

from __future__ import annotations

from quizsession.domain.attempt_state import AttemptState, deadline
from quizsession.domain.commands import SectionName, SessionRef
from quizsession.domain.errors import DomainError, ErrorCode, refuse
from quizsession.domain.quiz import Question, Quiz, Section

__all__ = [
    "replayed",
    "require_delivered",
    "require_exists",
    "require_in_time",
    "require_in_window",
    "require_live_session",
    "require_not_voided",
    "require_open",
    "require_opened",
    "require_writable",
    "require_writer",
    "section_def",
]


def require_exists(state: AttemptState) -> None:
    if not state.exists:
        raise refuse(ErrorCode.NOT_FOUND, "no such attempt")


def require_not_voided(state: AttemptState) -> None:
    if state.status == "voided":
        raise refuse(ErrorCode.ATTEMPT_VOIDED, "this attempt was voided by an administrator")


def require_live_session(state: AttemptState, session_id: str, epoch: int) -> None:
    """The fencing check: ``session_id`` at ``epoch`` is the attempt's live
    session. Otherwise it was superseded (a takeover or a later login: its epoch
    is older) or it ended (logout, idle, unlock, void). Reads by an ended session
    are refused like its writes: a stale tab is told plainly rather than shown a
    view it cannot act on."""
    if epoch == state.epoch and state.live_session == session_id:
        return
    ended = state.ended_sessions.get(session_id)
    if ended == "superseded" or epoch < state.epoch:
        raise refuse(ErrorCode.SESSION_SUPERSEDED, "another session has taken over this attempt")
    raise refuse(ErrorCode.SESSION_CLOSED, f"this session has ended ({ended or 'closed'})")


def require_writer(state: AttemptState, session: SessionRef) -> None:
    """Only the live session at the current epoch writes, and nobody writes to a
    voided attempt."""
    require_not_voided(state)
    require_live_session(state, session.session_id, session.epoch)


def require_open(state: AttemptState) -> None:
    """The attempt is neither voided nor submitted (an administrator's changes:
    extend, change the duration)."""
    require_not_voided(state)
    if state.submitted is not None:
        raise refuse(ErrorCode.ATTEMPT_CLOSED, "this attempt is closed")


def require_writable(state: AttemptState) -> None:
    """A session's write (start, deliver, save, finish the practice) finds the
    attempt open. Refused with why it is not:

    - ``attempt_voided``: an administrator voided it;
    - ``deadline_passed``: the server submitted it at its deadline (the write came
      after deadline + grace: the same answer whether or not the server had
      already submitted when the write arrived);
    - ``attempt_closed``: the candidate or an administrator submitted it."""
    require_not_voided(state)
    submitted = state.submitted
    if submitted is None:
        return
    if submitted.reason == "deadline":
        raise refuse(
            ErrorCode.DEADLINE_PASSED, "the deadline has passed", deadline=submitted.finished_at
        )
    raise refuse(ErrorCode.ATTEMPT_CLOSED, "this attempt is closed")


def require_in_time(state: AttemptState, quiz: Quiz, now: float) -> None:
    """Writes to the test are taken until deadline + grace (inclusive)."""
    end = deadline(state, quiz)
    if end is not None and now > end + quiz.policies.grace_s:
        raise refuse(ErrorCode.DEADLINE_PASSED, "the deadline has passed", deadline=end)


def require_opened(quiz: Quiz, now: float) -> None:
    """The quiz's availability window has begun (``opens_at`` is inclusive)."""
    if quiz.opens_at is not None and now < quiz.opens_at:
        raise refuse(ErrorCode.QUIZ_NOT_OPEN, "this quiz is not open yet", opens_at=quiz.opens_at)


def require_in_window(quiz: Quiz, now: float) -> None:
    """The quiz's availability window: from ``opens_at`` (inclusive) until
    ``closes_at`` (exclusive). A new attempt, and a section's start, need it."""
    require_opened(quiz, now)
    if quiz.closes_at is not None and now >= quiz.closes_at:
        raise refuse(ErrorCode.QUIZ_CLOSED, "this quiz is closed", closes_at=quiz.closes_at)


def section_def(quiz: Quiz, section: SectionName) -> Section:
    found = quiz.section(section)
    if found is None:
        raise refuse(ErrorCode.NO_SUCH_SECTION, f"this quiz has no {section} section")
    return found


def require_delivered(
    state: AttemptState, quiz: Quiz, section: SectionName, question_id: str
) -> Question:
    """The question ``question_id`` of ``section``, which must have been delivered
    to this attempt (a question is never answered, nor shown, before it is
    delivered: promise 5)."""
    definition = section_def(quiz, section)
    question = definition.question(question_id)
    progress = state.progress(section)
    delivered = progress is not None and question_id in progress.delivered_set
    if question is None and (delivered or shows_plan(quiz, definition)):
        raise refuse(ErrorCode.QUESTION_UNKNOWN, "no such question in this section")
    if question is None or not delivered:
        # In sequential navigation what lies ahead stays unknown: an id that is
        # not a question gets the same answer as one not delivered yet.
        raise refuse(
            ErrorCode.QUESTION_NOT_DELIVERED, "no question with this id has been delivered to you"
        )
    return question


def shows_plan(quiz: Quiz, section: Section) -> bool:
    """Whether the candidate may see every question of ``section`` (free
    navigation; never with adaptive selection, which has no plan upfront)."""
    return quiz.navigation == "free" and section.selection.mode != "adaptive"


def replayed(state: AttemptState, op_id: str | None, kind: str, fp: bytes) -> bool:
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
            "this op_id was already used for a different request", code=ErrorCode.OP_ID_CONFLICT
        )
    return True
