"""The attempt's shared rules (``domain.attempt_rules``), each on its own: the
fencing check, the availability window, "was this question delivered", and why
a finished attempt refuses a session's write. Pure: explicit times, no clock."""

from __future__ import annotations

import msgspec
import pytest

from quizsession.domain.attempt_rules import (
    require_delivered,
    require_in_window,
    require_live_session,
    require_opened,
    require_writable,
    require_writer,
)
from quizsession.domain.attempt_state import AttemptState
from quizsession.domain.commands import CloseSession, Submit, Void
from quizsession.domain.errors import DomainError, ErrorCode
from tests.unit.test_attempt import DEMO, DURATION, GRACE, T0, TEST_IDS, Run, in_test, with_window


def code_of(call: object, *args: object) -> ErrorCode | None:
    assert callable(call)
    try:
        call(*args)
    except DomainError as exc:
        return exc.code
    return None


def error_of(call: object, *args: object) -> DomainError:
    assert callable(call)
    with pytest.raises(DomainError) as info:
        call(*args)
    return info.value


# ----------------------------------------------------------------------------- fencing


def test_only_the_live_session_at_the_current_epoch_passes_the_fencing_check() -> None:
    run = Run()
    s1 = run.open("s1", T0)
    state = run.state
    assert code_of(require_live_session, state, "s1", s1.epoch) is None
    assert code_of(require_writer, state, s1) is None
    # An older epoch is a superseded session, whatever its id.
    assert code_of(require_live_session, state, "s1", s1.epoch - 1) == (
        ErrorCode.SESSION_SUPERSEDED
    )
    # An unknown session at the current epoch never was live.
    assert code_of(require_live_session, state, "s9", s1.epoch) == ErrorCode.SESSION_CLOSED

    s2 = run.open("s2", T0 + 1, takeover=True)
    assert code_of(require_live_session, run.state, "s1", s1.epoch) == (
        ErrorCode.SESSION_SUPERSEDED
    )
    assert code_of(require_writer, run.state, s2) is None

    run.do(CloseSession(session=s2, reason="logout"), T0 + 2)
    error = error_of(require_live_session, run.state, "s2", s2.epoch)
    assert error.code == ErrorCode.SESSION_CLOSED
    assert "logout" in error.detail


def test_the_writer_check_refuses_a_voided_attempt_first() -> None:
    run = Run()
    s1 = run.open("s1", T0)
    run.do(Void(by="admin:ops", reason="cheating"), T0 + 1)
    assert code_of(require_writer, run.state, s1) == ErrorCode.ATTEMPT_VOIDED
    # A read by the same (now ended) session is refused as ended, not voided.
    assert code_of(require_live_session, run.state, "s1", s1.epoch) == ErrorCode.SESSION_CLOSED


# ------------------------------------------------------------------ availability window


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (T0 - 0.001, ErrorCode.QUIZ_NOT_OPEN),
        (T0, None),  # opens_at is inclusive
        (T0 + 99.999, None),
        (T0 + 100, ErrorCode.QUIZ_CLOSED),  # closes_at is exclusive
    ],
)
def test_the_availability_window(now: float, expected: ErrorCode | None) -> None:
    quiz = with_window(T0, T0 + 100)
    assert code_of(require_in_window, quiz, now) == expected
    assert code_of(require_opened, quiz, now) == (
        ErrorCode.QUIZ_NOT_OPEN if expected == ErrorCode.QUIZ_NOT_OPEN else None
    )


def test_a_quiz_without_a_window_is_always_open() -> None:
    assert code_of(require_in_window, DEMO, 0.0) is None
    assert code_of(require_in_window, DEMO, T0 * 10) is None


def test_the_refusal_carries_the_window() -> None:
    quiz = with_window(T0, T0 + 100)
    early = error_of(require_in_window, quiz, T0 - 1)
    late = error_of(require_in_window, quiz, T0 + 100)
    assert early.extra == {"opens_at": T0}
    assert late.extra == {"closes_at": T0 + 100}


# ------------------------------------------------------------------ delivered questions


def test_a_question_is_usable_only_once_delivered() -> None:
    """Sequential navigation keeps what lies ahead unknown: an id that is no
    question of the section gets the answer an upcoming question gets. With free
    navigation (the plan is shown) an unknown id is ``question_unknown``."""
    run, s1 = in_test()
    first = TEST_IDS[0]
    not_yet = ErrorCode.QUESTION_NOT_DELIVERED
    assert code_of(require_delivered, run.state, DEMO, "test", first) == not_yet
    assert code_of(require_delivered, run.state, DEMO, "test", "no-such") == not_yet
    free = msgspec.structs.replace(DEMO, navigation="free")
    assert code_of(require_delivered, run.state, free, "test", first) == not_yet
    assert code_of(require_delivered, run.state, free, "test", "no-such") == (
        ErrorCode.QUESTION_UNKNOWN
    )
    delivered = run.deliver(s1, T0 + 1)
    question = require_delivered(run.state, DEMO, "test", delivered)
    assert question.id == delivered
    # A practice question is not one of the test's.
    assert DEMO.practice is not None
    practice_id = DEMO.practice.questions[0].id
    assert code_of(require_delivered, run.state, DEMO, "test", practice_id) == not_yet
    assert code_of(require_delivered, run.state, free, "test", practice_id) == (
        ErrorCode.QUESTION_UNKNOWN
    )


def test_a_section_the_quiz_lacks_is_refused() -> None:
    state = AttemptState()
    no_practice = msgspec.structs.replace(DEMO, practice=None)
    assert code_of(require_delivered, state, no_practice, "practice", "x") == (
        ErrorCode.NO_SUCH_SECTION
    )


# -------------------------------------------------------- why a finished attempt refuses


def test_an_open_attempt_is_writable() -> None:
    run, _ = in_test()
    assert code_of(require_writable, run.state) is None


def test_after_the_deadline_submit_a_write_is_late() -> None:
    run, _ = in_test()
    end = T0 + DURATION
    run.do(Submit(reason="deadline", by="deadline"), end + GRACE + 0.5)
    error = error_of(require_writable, run.state)
    assert error.code == ErrorCode.DEADLINE_PASSED
    assert error.extra == {"deadline": end}


def test_after_the_candidates_submit_a_write_is_refused_as_closed() -> None:
    run, s1 = in_test()
    run.do(Submit(reason="candidate", session=s1), T0 + 10)
    assert code_of(require_writable, run.state) == ErrorCode.ATTEMPT_CLOSED


def test_after_an_admins_submit_a_write_is_refused_as_closed() -> None:
    run, _ = in_test()
    run.do(Submit(reason="admin", by="admin:ops"), T0 + 10)
    assert code_of(require_writable, run.state) == ErrorCode.ATTEMPT_CLOSED


def test_a_voided_attempt_is_voided_whenever_it_was_submitted() -> None:
    run, _ = in_test()
    run.do(Submit(reason="deadline", by="deadline"), T0 + DURATION + GRACE + 1)
    run.do(Void(by="admin:ops", reason="r"), T0 + DURATION + 100)
    assert code_of(require_writable, run.state) == ErrorCode.ATTEMPT_VOIDED


def test_a_new_session_on_a_deadline_submitted_attempt_is_refused_late_writes() -> None:
    run, _ = in_test()
    run.do(Submit(reason="deadline", by="deadline"), T0 + DURATION + GRACE + 1)
    s2 = run.open("s2", T0 + DURATION + 60)
    assert run.state.live_session == "s2"
    assert code_of(require_writer, run.state, s2) is None
    assert code_of(require_writable, run.state) == ErrorCode.DEADLINE_PASSED
    # The server's submit again changes nothing (the first score stands).
    run.noop(Submit(reason="deadline", by="deadline"), T0 + DURATION + 61)
