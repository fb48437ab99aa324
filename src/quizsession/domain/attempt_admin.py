"""``decide`` for what administrators and the service itself do to an attempt:
extend, change the duration, apply an accommodation, unlock, void, reopen,
credit an outage. Each function returns the events that record the change or
raises ``DomainError``. Time is an argument; nothing here reads a clock."""

from __future__ import annotations

import math

from quizsession.domain.accommodation import Accommodation, extra_time
from quizsession.domain.attempt_rules import require_exists, require_open
from quizsession.domain.attempt_state import AttemptState, base_duration, deadline
from quizsession.domain.commands import (
    Accommodate,
    ChangeDuration,
    CreditOutage,
    Extend,
    Reopen,
    Unlock,
    Void,
)
from quizsession.domain.errors import ErrorCode, refuse
from quizsession.domain.events import (
    OUTAGE_CREDIT_BY,
    AttemptEvent,
    DurationChanged,
    Reopened,
    SessionClosed,
    TimeAccommodated,
    TimeExtended,
    Voided,
    outage_credit_reason,
)
from quizsession.domain.quiz import Quiz

MAX_EXTENSION_S = 7 * 24 * 3600.0


def extend(state: AttemptState, command: Extend, now: float) -> list[AttemptEvent]:
    require_exists(state)
    require_open(state)
    if not (math.isfinite(command.seconds) and 0 < command.seconds <= MAX_EXTENSION_S):
        raise refuse(ErrorCode.VALIDATION, "extension must be between 0 and 7 days")
    return [TimeExtended(at=now, seconds=command.seconds, by=command.by, reason=command.reason)]


def change_duration(
    state: AttemptState, quiz: Quiz, command: ChangeDuration, now: float
) -> list[AttemptEvent]:
    require_exists(state)
    require_open(state)
    current = base_duration(state, quiz)
    if command.duration_s <= current:
        return []  # only longer durations are applied to attempts in progress
    events: list[AttemptEvent] = [
        DurationChanged(
            at=now,
            duration_s=command.duration_s,
            quiz_version=command.quiz_version,
            by=command.by,
        )
    ]
    applied = state.accommodation
    if applied is not None and _accommodated_test_runs(state):
        # The accommodation's multiplier scales the longer duration too.
        multiplier, extra_seconds = applied
        seconds = (command.duration_s - current) * (multiplier - 1.0)
        if seconds > 0:
            events.append(
                TimeAccommodated(
                    at=now,
                    seconds=seconds,
                    multiplier=multiplier,
                    extra_seconds=extra_seconds,
                    by=command.by,
                )
            )
    return events


def _accommodated_test_runs(state: AttemptState) -> bool:
    """The test runs on its own clock (not reopened with a fixed time), so an
    accommodation's share still counts on its deadline."""
    test = state.test
    return (
        state.status == "open"
        and state.submitted is None
        and test is not None
        and not test.finished
        and state.reopened_base is None
    )


def accommodate(
    state: AttemptState, quiz: Quiz, command: Accommodate, now: float
) -> list[AttemptEvent]:
    """Apply an accommodation set or changed while the test runs: the running
    test gets the difference between the new accommodation's share (on its
    current duration) and what it already got, as one event by the
    administrator. Never less time than already granted: a decrease, or a
    removal, applies to future attempts only (no event). Nothing for an attempt
    whose test has not started (the start applies the accommodation then), is
    over (submitted, voided, or its deadline + grace passed) or was reopened
    with a fixed time."""
    require_exists(state)
    if not _accommodated_test_runs(state):
        return []
    end = deadline(state, quiz)
    if end is None or now > end + quiz.policies.grace_s:
        return []
    given: Accommodation = command.accommodation
    seconds = extra_time(base_duration(state, quiz), given) - state.accommodation_s
    if seconds <= 1e-9:
        return []
    return [
        TimeAccommodated(
            at=now,
            seconds=seconds,
            multiplier=given.multiplier,
            extra_seconds=given.extra_seconds,
            by=command.by,
        )
    ]


def unlock(state: AttemptState, command: Unlock, now: float) -> list[AttemptEvent]:
    require_exists(state)
    if state.live_session is None:
        return []
    return [SessionClosed(at=now, session_id=state.live_session, reason="unlock", by=command.by)]


def void(state: AttemptState, command: Void, now: float) -> list[AttemptEvent]:
    require_exists(state)
    if state.status == "voided":
        return []
    events: list[AttemptEvent] = []
    if state.live_session is not None:
        events.append(
            SessionClosed(at=now, session_id=state.live_session, reason="voided", by=command.by)
        )
    events.append(Voided(at=now, by=command.by, reason=command.reason))
    return events


def reopen(state: AttemptState, quiz: Quiz, command: Reopen, now: float) -> list[AttemptEvent]:
    require_exists(state)
    if state.status == "open" and state.submitted is None:
        raise refuse(ErrorCode.NOT_ALLOWED, "the attempt is already open")
    if state.test is None:
        raise refuse(ErrorCode.NOT_ALLOWED, "the test was never started")
    if not (math.isfinite(command.extra_seconds) and 0 <= command.extra_seconds <= MAX_EXTENSION_S):
        raise refuse(ErrorCode.VALIDATION, "extra_seconds must be between 0 and 7 days")
    end = deadline(state, quiz)
    if command.extra_seconds <= 0 and (end is None or end + quiz.policies.grace_s <= now):
        raise refuse(
            ErrorCode.NOT_ALLOWED, "the deadline has passed: reopen with extra_seconds > 0"
        )
    return [
        Reopened(
            at=now,
            by=command.by,
            reason=command.reason,
            extra_seconds=command.extra_seconds,
        )
    ]


def credit_outage(
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
    require_exists(state)
    start, end = command.start, command.end
    if not (math.isfinite(start) and math.isfinite(end) and 0 < end - start <= MAX_EXTENSION_S):
        raise refuse(
            ErrorCode.VALIDATION, "an outage runs from an earlier to a later time, at most 7 days"
        )
    for credited_start, credited_end in state.outage_windows:
        if start < credited_end and credited_start < end:
            raise refuse(
                ErrorCode.NOT_ALLOWED,
                "this outage was already credited to the attempt",
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
