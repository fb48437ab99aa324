"""The outage credit's rules in the pure domain (``CreditOutage``): who gets the
downtime, that it is recorded as an event naming its window, and that an
overlapping window is refused (an outage is credited once)."""

from __future__ import annotations

import math

import msgspec
import pytest

from quizsession.domain.attempt import AttemptState, deadline, decide, due_at
from quizsession.domain.commands import (
    CreditOutage,
    Extend,
    Reopen,
    Submit,
    Void,
)
from quizsession.domain.errors import DomainError, ErrorCode
from quizsession.domain.events import (
    TimeExtended,
    outage_credit_reason,
    outage_window,
)
from quizsession.domain.quiz import Quiz
from tests.unit.test_attempt import DEMO, DURATION, GRACE, T0, Run, in_test, with_window

DOWN = T0 + 100.0  # the last liveness mark: the service went down
UP = T0 + 160.0  # the first instance back


def credit(start: float = DOWN, end: float = UP) -> CreditOutage:
    return CreditOutage(start=start, end=end)


def test_a_running_test_gets_the_downtime_as_an_event() -> None:
    run, _ref = in_test(T0)
    before = deadline(run.state, DEMO)
    assert before == T0 + DURATION
    events = run.do(credit(), UP)
    assert events == [
        TimeExtended(at=UP, seconds=60.0, by="system", reason=outage_credit_reason(DOWN, UP))
    ]
    assert deadline(run.state, DEMO) == before + 60.0
    assert due_at(run.state, DEMO) == before + 60.0 + GRACE
    assert run.state.outage_windows == [(DOWN, UP)]


def test_the_window_is_read_back_exactly_from_the_event() -> None:
    start, end = 1_800_000_123.456789, 1_800_000_187.000001
    event = TimeExtended(
        at=end, seconds=end - start, by="system", reason=outage_credit_reason(start, end)
    )
    assert event.reason.startswith("outage credit")
    assert outage_window(event) == (start, end)
    # Not an outage credit: an administrator's extension (whatever its reason
    # says), or a system extension with another reason.
    forged = msgspec.structs.replace(event, by="admin:ops")
    assert outage_window(forged) is None
    assert outage_window(msgspec.structs.replace(event, reason="outage credit")) is None
    assert outage_window(msgspec.structs.replace(event, reason=event.reason + " x")) is None


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (DOWN, UP),
        (DOWN - 10, DOWN + 1),
        (UP - 1, UP + 30),
        (DOWN + 10, UP - 10),
        (DOWN - 1e3, UP + 1e3),
    ],
    ids=["same", "overlaps-start", "overlaps-end", "inside", "around"],
)
def test_a_second_credit_for_an_overlapping_window_is_refused(start: float, end: float) -> None:
    run, _ref = in_test(T0)
    run.do(credit(), UP)
    err = run.refuse(credit(start, end), UP + 1, ErrorCode.NOT_ALLOWED)
    assert err.extra["credited"] == [DOWN, UP]
    assert deadline(run.state, DEMO) == T0 + DURATION + 60


def test_a_later_outage_is_credited_too() -> None:
    run, _ref = in_test(T0)
    run.do(credit(), UP)
    # Down again from UP + 40 (the window touches nothing credited) for 30 s.
    assert len(run.do(credit(UP + 40, UP + 70), UP + 70)) == 1
    # Adjacent windows do not overlap.
    assert len(run.do(credit(UP + 70, UP + 75), UP + 75)) == 1
    assert deadline(run.state, DEMO) == T0 + DURATION + 60 + 30 + 5
    assert run.state.outage_windows == [(DOWN, UP), (UP + 40, UP + 70), (UP + 70, UP + 75)]


def test_no_credit_where_the_quiz_policy_is_off() -> None:
    quiz = msgspec.structs.replace(
        DEMO, policies=msgspec.structs.replace(DEMO.policies, outage_credit=False)
    )
    run = Run(quiz)
    ref = run.open("s1", T0)
    run.start(ref, "test", T0)
    run.noop(credit(), UP)
    assert deadline(run.state, quiz) == T0 + DURATION


def test_no_credit_before_the_test_started() -> None:
    run = Run()
    run.noop(credit(), UP)  # created, not even a session
    ref = run.open("s1", T0)
    run.noop(credit(), UP)
    run.start(ref, "practice", T0)
    run.noop(credit(), UP)  # the practice round is not timed


def test_the_credit_runs_from_the_attempts_last_event_after_the_last_mark() -> None:
    # The service was alive at the attempt's last event, after the last mark:
    # the time lost runs from there (the candidate gets back what they had left).
    run, ref = in_test(DOWN + 2)
    run.save(ref, run.deliver(ref, DOWN + 3), "canberra", DOWN + 4)
    [event] = run.do(credit(), UP)
    assert isinstance(event, TimeExtended)
    assert event.seconds == UP - (DOWN + 4)
    assert outage_window(event) == (DOWN, UP)  # the service's window, for the overlap check
    left_then = DOWN + 2 + DURATION - (DOWN + 4)
    assert deadline(run.state, DEMO) == UP + left_then
    # Started at the very moment of the mark: the whole window.
    run2, _ = in_test(DOWN)
    [event2] = run2.do(credit(), UP)
    assert isinstance(event2, TimeExtended)
    assert event2.seconds == UP - DOWN


def test_no_credit_when_the_attempt_was_seen_after_the_end() -> None:
    run, _ref = in_test(UP + 1)  # clocks of instances differ
    run.noop(credit(), UP + 2)


def test_no_credit_when_the_time_was_up_before_the_outage() -> None:
    run, _ref = in_test(T0)
    end = T0 + DURATION
    # The deadline passed 1 s before the last mark (still within grace: not yet
    # submitted by the reaper): nothing was lost to the outage.
    run.noop(credit(end + 1, end + 61), end + 61)
    run.noop(credit(end, end + 60), end + 60)  # deadline == the mark: not running
    # The deadline after the mark, but a save shows the service alive past it.
    run3, ref3 = in_test(T0)
    run3.save(ref3, run3.deliver(ref3, T0 + 1), "canberra", end + 2)  # within grace
    run3.noop(credit(end - 1, end + 59), end + 59)
    # The deadline 1 s after the mark: one second was lost, the whole outage is
    # credited.
    run2, _ = in_test(T0)
    assert len(run2.do(credit(end - 1, end + 59), end + 59)) == 1
    assert deadline(run2.state, DEMO) == end + 60


def test_no_credit_for_a_submitted_or_voided_attempt() -> None:
    run, ref = in_test(T0)
    run.do(Submit(reason="candidate", session=ref), T0 + 50)
    run.noop(credit(), UP)
    run2, _ = in_test(T0)
    run2.do(Void(by="admin:ops", reason="cheating"), T0 + 50)
    run2.noop(credit(), UP)


def test_the_credit_cannot_pass_the_quiz_windows_close() -> None:
    closes = T0 + DURATION + 30  # 30 s of slack before the window closes
    quiz: Quiz = with_window(None, closes)
    run = Run(quiz)
    ref = run.open("s1", T0)
    run.start(ref, "test", T0)
    events = run.do(credit(), UP)
    assert len(events) == 1
    assert isinstance(events[0], TimeExtended)
    assert events[0].seconds == 60.0  # the event records the whole downtime ...
    assert deadline(run.state, quiz) == closes  # ... the deadline is capped


def test_a_credit_counts_after_an_admin_reopen_and_is_not_repeated() -> None:
    run, ref = in_test(T0)
    run.do(credit(), UP)
    run.do(Submit(reason="candidate", session=ref), UP + 10)
    run.do(Reopen(by="admin:ops", reason="appeal", extra_seconds=300), UP + 20)
    assert deadline(run.state, DEMO) == UP + 20 + 300
    run.refuse(credit(), UP + 30, ErrorCode.NOT_ALLOWED)  # the same outage, once
    assert len(run.do(credit(UP + 100, UP + 130), UP + 130)) == 1
    assert deadline(run.state, DEMO) == UP + 20 + 300 + 30


def test_an_admin_extension_is_not_an_outage_window() -> None:
    run, _ref = in_test(T0)
    forged = outage_credit_reason(DOWN, UP)
    run.do(Extend(seconds=60, by="admin:ops", reason=forged), DOWN - 10)
    assert run.state.outage_windows == []
    assert len(run.do(credit(), UP)) == 1  # still credited by the system


@pytest.mark.parametrize(
    ("start", "end"),
    [(UP, DOWN), (DOWN, DOWN), (math.nan, UP), (DOWN, math.inf), (0.0, 8 * 24 * 3600.0)],
)
def test_a_malformed_window_is_refused(start: float, end: float) -> None:
    run, _ref = in_test(T0)
    run.refuse(credit(start, end), UP, ErrorCode.VALIDATION)


def test_an_unknown_attempt_is_refused() -> None:
    with pytest.raises(DomainError) as info:
        decide(AttemptState(), DEMO, credit(), UP)
    assert info.value.code == "not_found"
