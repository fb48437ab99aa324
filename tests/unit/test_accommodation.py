"""Accommodations in the pure domain: the checked value, the share written into
the log when the test starts, the cap by the quiz window's close, a change while
the test runs (more time as one event; a decrease for future attempts only), and
extensions, outage credit and a longer duration on top."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from quizsession.app.views import attempt_view
from quizsession.domain.accommodation import (
    Accommodation,
    check_accommodation,
    check_candidate_id,
    effective_duration,
    extra_time,
)
from quizsession.domain.attempt import deadline, due_at
from quizsession.domain.commands import (
    Accommodate,
    ChangeDuration,
    CreditOutage,
    Extend,
    Reopen,
    SessionRef,
    StartSection,
    Submit,
    Void,
)
from quizsession.domain.errors import DomainError, ErrorCode
from quizsession.domain.events import (
    SectionStarted,
    Submitted,
    TimeAccommodated,
    TimeExtended,
)
from quizsession.domain.quiz import Quiz
from quizsession.entrypoints.cli import app
from tests.unit.test_attempt import DEMO, DURATION, GRACE, T0, Run, with_window

ADMIN = "admin:ops"
X15 = Accommodation(multiplier=1.5, by=ADMIN)


def started(
    accommodation: Accommodation | None, at: float = T0, quiz: Quiz = DEMO
) -> tuple[Run, SessionRef, list[object]]:
    """An attempt whose test started at ``at`` with ``accommodation``."""
    run = Run(quiz, create_at=at)
    ref = run.open("s1", at)
    events = run.do(
        StartSection(session=ref, section="test", seed=7, accommodation=accommodation), at
    )
    return run, ref, list(events)


# -------------------------------------------------------------------- the value


def test_effective_duration_is_duration_times_multiplier_plus_extra_seconds() -> None:
    both = Accommodation(multiplier=1.25, extra_seconds=300)
    assert extra_time(600, both) == 450
    assert effective_duration(600, both) == 1050
    assert effective_duration(600, None) == 600
    assert effective_duration(600, Accommodation(extra_seconds=1200)) == 1800


@pytest.mark.parametrize(
    ("multiplier", "extra", "note", "field"),
    [
        (None, None, "", "multiplier"),
        (0.5, None, "", "multiplier"),
        (4.01, None, "", "multiplier"),
        (math.nan, None, "", "multiplier"),
        (math.inf, None, "", "multiplier"),
        (None, -1.0, "", "extra_seconds"),
        (None, 86_401.0, "", "extra_seconds"),
        (None, math.inf, "", "extra_seconds"),
        (1.0, 0.0, "", "multiplier"),
        (1.5, None, "x" * 501, "note"),
    ],
    ids=[
        "nothing",
        "below-1",
        "above-4",
        "nan",
        "inf",
        "negative-extra",
        "extra-over-a-day",
        "inf-extra",
        "no-time-at-all",
        "long-note",
    ],
)
def test_a_bad_accommodation_is_refused_naming_the_field(
    multiplier: float | None, extra: float | None, note: str, field: str
) -> None:
    with pytest.raises(DomainError) as info:
        check_accommodation(multiplier, extra, note)
    assert info.value.code == ErrorCode.ACCOMMODATION_INVALID
    assert info.value.extra["field"] == field


def test_the_bounds_themselves_are_accepted() -> None:
    assert check_accommodation(4.0, 86_400.0, "x" * 500) == Accommodation(
        multiplier=4.0, extra_seconds=86_400.0
    )
    assert check_accommodation(1.0, 1.0) == Accommodation(multiplier=1.0, extra_seconds=1.0)
    assert check_accommodation(2, None) == Accommodation(multiplier=2.0)


@pytest.mark.parametrize("candidate_id", ["", "a b", "x" * 129, "é", "a/b"])
def test_a_bad_candidate_id_is_refused(candidate_id: str) -> None:
    with pytest.raises(DomainError) as info:
        check_candidate_id(candidate_id)
    assert info.value.code == ErrorCode.ACCOMMODATION_INVALID


# ----------------------------------------------------------------- at the start


def test_the_share_is_written_into_the_log_when_the_test_starts() -> None:
    run, _ref, events = started(X15)
    assert [type(e) for e in events] == [SectionStarted, TimeAccommodated]
    assert events[1] == TimeAccommodated(
        at=T0, seconds=DURATION * 0.5, multiplier=1.5, extra_seconds=0.0, by=ADMIN
    )
    assert deadline(run.state, DEMO) == T0 + DURATION * 1.5
    assert due_at(run.state, DEMO) == T0 + DURATION * 1.5 + GRACE


def test_fixed_extra_seconds_and_both_together() -> None:
    run, _ref, _events = started(Accommodation(extra_seconds=1200, by=ADMIN))
    assert deadline(run.state, DEMO) == T0 + DURATION + 1200
    run2, _ref2, _events2 = started(Accommodation(multiplier=2.0, extra_seconds=60, by=ADMIN))
    assert deadline(run2.state, DEMO) == T0 + DURATION * 2 + 60


def test_without_an_accommodation_the_start_is_unchanged() -> None:
    run, _ref, events = started(None)
    assert [type(e) for e in events] == [SectionStarted]
    assert deadline(run.state, DEMO) == T0 + DURATION


def test_the_practice_round_is_not_accommodated() -> None:
    run = Run()
    ref = run.open("s1", T0)
    events = run.do(StartSection(session=ref, section="practice", seed=1, accommodation=X15), T0)
    assert [type(e) for e in events] == [SectionStarted]
    assert run.state.accommodation_s == 0.0


def test_the_window_close_caps_the_accommodated_deadline() -> None:
    quiz = with_window(None, T0 + DURATION + 100)
    run, _ref, _events = started(X15, quiz=quiz)
    assert deadline(run.state, quiz) == T0 + DURATION + 100
    # The deadline's submit records the capped deadline as the finish time.
    events = run.do(Submit(reason="deadline", by="deadline"), T0 + DURATION + 100 + GRACE + 1)
    assert isinstance(events[0], Submitted)
    assert events[0].finished_at == T0 + DURATION + 100


def test_the_server_submits_at_the_accommodated_deadline() -> None:
    run, _ref, _events = started(X15)
    end = T0 + DURATION * 1.5
    run.refuse(Submit(reason="deadline", by="deadline"), end + GRACE, ErrorCode.NOT_ALLOWED)
    events = run.do(Submit(reason="deadline", by="deadline"), end + GRACE + 1)
    assert isinstance(events[0], Submitted)
    assert events[0].finished_at == end


# -------------------------------------------------------- a change while running


def accommodate(multiplier: float = 1.0, extra: float = 0.0) -> Accommodate:
    return Accommodate(
        accommodation=Accommodation(multiplier=multiplier, extra_seconds=extra, by=ADMIN),
        by="admin:dean",
    )


def test_a_raise_while_running_gives_the_difference_as_one_event() -> None:
    run, _ref, _events = started(X15)
    events = run.do(accommodate(2.0), T0 + 60)
    assert events == [
        TimeAccommodated(
            at=T0 + 60,
            seconds=DURATION * 0.5,
            multiplier=2.0,
            extra_seconds=0.0,
            by="admin:dean",
        )
    ]
    assert deadline(run.state, DEMO) == T0 + DURATION * 2
    # Applying the same accommodation again changes nothing.
    run.noop(accommodate(2.0), T0 + 61)


def test_a_first_accommodation_while_running_gives_its_whole_share() -> None:
    run, _ref, _events = started(None)
    run.do(accommodate(extra=900), T0 + 10)
    assert deadline(run.state, DEMO) == T0 + DURATION + 900


@pytest.mark.parametrize(
    ("multiplier", "extra"), [(1.25, 0.0), (1.5, 0.0), (1.0, 1.0)], ids=["less", "same", "removed"]
)
def test_a_decrease_while_running_applies_to_future_attempts_only(
    multiplier: float, extra: float
) -> None:
    run, _ref, _events = started(X15)
    run.noop(accommodate(multiplier, extra), T0 + 60)
    assert deadline(run.state, DEMO) == T0 + DURATION * 1.5


def test_a_mixed_change_is_compared_on_the_total() -> None:
    run, _ref, _events = started(X15)  # +300 s
    # x1.25 + 200 s = +350 s on 600 s: 50 s more.
    events = run.do(accommodate(1.25, 200.0), T0 + 60)
    assert [e.seconds for e in events if isinstance(e, TimeAccommodated)] == [50.0]
    assert deadline(run.state, DEMO) == T0 + DURATION + 350


def test_no_change_where_the_test_is_not_running() -> None:
    # Not started: the start applies the accommodation then.
    before = Run()
    before.open("s1", T0)
    before.noop(accommodate(2.0), T0)
    # Submitted.
    done, _ref, _events = started(X15)
    done.do(Submit(reason="admin", by=ADMIN), T0 + 10)
    done.noop(accommodate(2.0), T0 + 20)
    # Voided.
    voided, _ref2, _events2 = started(X15)
    voided.do(Void(by=ADMIN), T0 + 10)
    voided.noop(accommodate(2.0), T0 + 20)
    # Time already up (the server is about to submit it).
    late, _ref3, _events3 = started(X15)
    late.noop(accommodate(2.0), T0 + DURATION * 1.5 + GRACE + 1)


def test_a_reopened_test_keeps_its_fixed_time() -> None:
    run, _ref, _events = started(X15)
    run.do(Submit(reason="admin", by=ADMIN), T0 + 10)
    run.do(Reopen(by=ADMIN, extra_seconds=600), T0 + 20)
    assert deadline(run.state, DEMO) == T0 + 20 + 600
    run.noop(accommodate(3.0), T0 + 30)
    assert deadline(run.state, DEMO) == T0 + 20 + 600


def test_an_unknown_attempt_is_refused() -> None:
    from quizsession.domain.attempt import AttemptState, decide

    with pytest.raises(DomainError) as info:
        decide(AttemptState(), DEMO, accommodate(2.0), T0)
    assert info.value.code == ErrorCode.NOT_FOUND


# ---------------------------------------------------------- with the other times


def test_extensions_and_outage_credit_add_on_top() -> None:
    run, _ref, _events = started(X15)
    run.do(Extend(seconds=120, by=ADMIN, reason="fire alarm"), T0 + 10)
    assert deadline(run.state, DEMO) == T0 + DURATION * 1.5 + 120
    events = run.do(CreditOutage(start=T0 + 100, end=T0 + 160), T0 + 160)
    assert [type(e) for e in events] == [TimeExtended]
    assert deadline(run.state, DEMO) == T0 + DURATION * 1.5 + 120 + 60
    # A raise after them adds its difference only.
    run.do(accommodate(2.0), T0 + 200)
    assert deadline(run.state, DEMO) == T0 + DURATION * 2 + 120 + 60


def test_the_outage_credit_counts_the_accommodated_time_left() -> None:
    # x1.5: the deadline is T0 + 900. An outage after the unaccommodated time
    # (600 s) is still credited: the accommodated test was still running.
    run, _ref, _events = started(X15)
    events = run.do(CreditOutage(start=T0 + 700, end=T0 + 760), T0 + 760)
    assert [type(e) for e in events] == [TimeExtended]
    assert deadline(run.state, DEMO) == T0 + DURATION * 1.5 + 60


def test_a_longer_duration_is_scaled_by_the_multiplier() -> None:
    run, _ref, _events = started(Accommodation(multiplier=1.5, extra_seconds=60, by=ADMIN))
    events = run.do(ChangeDuration(duration_s=900, quiz_version=2, by=ADMIN), T0 + 10)
    assert [type(e) for e in events][1:] == [TimeAccommodated]
    assert isinstance(events[1], TimeAccommodated)
    assert events[1].seconds == 150.0
    assert deadline(run.state, DEMO) == T0 + 900 * 1.5 + 60
    # A later raise is compared on the new duration.
    run.do(accommodate(2.0, 60.0), T0 + 20)
    assert deadline(run.state, DEMO) == T0 + 900 * 2 + 60


def test_a_longer_duration_before_the_start_is_accommodated_at_the_start() -> None:
    run = Run()
    ref = run.open("s1", T0)
    run.do(ChangeDuration(duration_s=900, quiz_version=2, by=ADMIN), T0)
    run.do(StartSection(session=ref, section="test", seed=1, accommodation=X15), T0 + 1)
    assert deadline(run.state, DEMO) == T0 + 1 + 900 * 1.5


# ------------------------------------------------------------- what is shown


def test_the_view_before_the_start_shows_the_accommodated_time() -> None:
    run = Run()
    run.open("s1", T0)
    view = attempt_view(run.state, DEMO, T0, Accommodation(extra_seconds=900, by=ADMIN))
    assert (view.test_duration_s, view.extra_time_s) == (DURATION + 900, 900)
    assert (view.cut_by_close, view.closes_at) == (False, None)
    assert view.effective_time_s == DURATION + 900
    assert view.duration_s == DURATION  # the quiz's own
    plain = attempt_view(run.state, DEMO, T0)
    assert (plain.test_duration_s, plain.extra_time_s) == (DURATION, 0.0)


def test_the_view_before_the_start_says_when_the_close_cuts_the_time() -> None:
    quiz = with_window(None, T0 + 1500)  # 25 minutes from now
    run = Run(quiz)
    run.open("s1", T0)
    view = attempt_view(run.state, quiz, T0, Accommodation(multiplier=3.0, by=ADMIN))
    assert view.test_duration_s == DURATION * 3.0
    assert view.cut_by_close is True
    assert view.closes_at == T0 + 1500
    assert view.effective_time_s == 1500


def test_the_view_after_the_start_shows_what_the_log_recorded() -> None:
    quiz = with_window(None, T0 + 800)
    run, _ref, _events = started(X15, quiz=quiz)
    # Whatever the accommodation is now, the log decides.
    view = attempt_view(run.state, quiz, T0 + 10, Accommodation(multiplier=4.0, by=ADMIN))
    assert (view.test_duration_s, view.extra_time_s) == (DURATION * 1.5, DURATION * 0.5)
    assert view.cut_by_close is True
    assert view.effective_time_s == 800
    assert view.deadline == T0 + 800


# ------------------------------------------------------------------- the CLI


def test_the_cli_sets_shows_and_clears(tmp_path: Path) -> None:
    store = ["--store-url", f"sqlite:///{tmp_path / 'q.db'}"]
    runner = CliRunner()
    set_ = runner.invoke(
        app, ["accommodate", "cand-1", "--multiplier", "1.5", "--note", "DO", *store]
    )
    assert set_.exit_code == 0, set_.output
    assert set_.stdout == "cand-1: x1.5 + 0 min (DO)\n"
    extra = runner.invoke(app, ["accommodate", "cand-1", "--extra-minutes", "20", *store])
    assert extra.stdout == "cand-1: x1 + 20 min\n"
    shown = runner.invoke(app, ["accommodate", "cand-1", *store])
    assert (shown.exit_code, shown.stdout) == (0, "cand-1: x1 + 20 min\n")
    bad = runner.invoke(app, ["accommodate", "cand-1", "--multiplier", "5", *store])
    assert bad.exit_code == 1
    assert "multiplier" in bad.stderr
    cleared = runner.invoke(app, ["accommodate", "cand-1", "--clear", *store])
    assert cleared.exit_code == 0, cleared.output
    gone = runner.invoke(app, ["accommodate", "cand-1", *store])
    assert gone.exit_code == 1
    assert "no accommodation" in gone.stderr
    usage = runner.invoke(app, ["accommodate", "cand-1", "--clear", "--multiplier", "2", *store])
    assert usage.exit_code == 2
