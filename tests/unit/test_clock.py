"""``SystemClock`` is step-proof: it counts by a steady clock from the wall time it
read at start; steps of the system clock are ignored, slow drift is followed at
most 50 ms per second. The time sources are injected (no sleeping, no faketime)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import pytest

from quizsession.app.clock import MAX_SLEW, STEP_S, SystemClock
from quizsession.bootstrap import Container, build
from quizsession.domain.attempt import deadline
from quizsession.domain.events import Submitted
from quizsession.settings import load_settings
from tests.unit.test_app_sessions import (
    API_KEYS,
    SECRET,
    Env,
    demo_raw,
    start_test_and_answer,
)

WALL0 = 1_800_000_000.0


class Sources:
    """A system clock and a steady clock that tests move by hand."""

    def __init__(self) -> None:
        self.system = WALL0
        self.steady = 500.0

    def wall(self) -> float:
        return self.system

    def mono(self) -> float:
        return self.steady

    def run(self, seconds: float) -> None:
        """Real time passes: both clocks advance alike."""
        self.system += seconds
        self.steady += seconds

    def step(self, seconds: float) -> None:
        """The system clock is set (date -s, an NTP step): steady time is unaffected."""
        self.system += seconds


def stepped(clock: SystemClock) -> bool:
    return clock.stepped  # (a call: mypy would narrow the property between asserts)


@pytest.fixture
def src() -> Sources:
    return Sources()


@pytest.fixture
def clock(src: Sources) -> SystemClock:
    return SystemClock(wall=src.wall, monotonic=src.mono)


def test_it_starts_at_the_system_time_and_counts_steadily(src: Sources, clock: SystemClock) -> None:
    assert clock.now() == WALL0
    src.run(12.5)
    assert clock.now() == WALL0 + 12.5
    assert clock.monotonic() == src.steady  # the injected steady clock, unadjusted


@pytest.mark.parametrize("jump", [3600.0, -3600.0, 2.0, -1.5, 86_400.0 * 365])
def test_a_step_of_the_system_clock_is_ignored(
    src: Sources, clock: SystemClock, jump: float, caplog: pytest.LogCaptureFixture
) -> None:
    src.run(10)
    assert clock.now() == WALL0 + 10
    src.step(jump)
    with caplog.at_level(logging.WARNING, logger="quizsession.clock"):
        assert clock.now() == WALL0 + 10
        assert stepped(clock)
        for _ in range(100):  # an hour later, still counting steadily
            src.run(36)
            clock.now()
    assert clock.now() == WALL0 + 10 + 3600
    assert [r.message for r in caplog.records if "stepped" in r.message] == [
        f"system clock stepped by {jump:+.3f} s: ignored, the service clock keeps counting "
        "steadily (restart the service to adopt a lasting change)"
    ]


def test_after_a_step_is_undone_the_system_clock_is_followed_again(
    src: Sources, clock: SystemClock
) -> None:
    src.step(3600)
    src.run(5)
    assert clock.now() == WALL0 + 5
    assert stepped(clock)
    src.step(-3600 + 0.4)  # set back, 0.4 s ahead of this clock
    src.run(1)
    assert clock.now() == pytest.approx(WALL0 + 6 + MAX_SLEW * 1, abs=1e-9)
    assert not stepped(clock)
    for _ in range(20):
        src.run(1)
        clock.now()
    assert clock.now() == pytest.approx(src.system, abs=1e-9)


@pytest.mark.parametrize("offset", [0.9, -0.9, 0.3, -0.05])
def test_a_small_difference_is_caught_up_gradually_never_jumping(
    src: Sources, clock: SystemClock, offset: float
) -> None:
    clock.now()
    src.step(offset)  # within STEP_S: not a step, followed at <= 50 ms/s
    assert abs(offset) <= STEP_S
    previous = clock.now()
    for _ in range(400):
        src.run(0.1)
        now = clock.now()
        assert now > previous  # never backwards, never stopped
        gained = now - previous
        # (1e-6: the resolution of a float near 1.8e9 is 2.4e-7)
        assert 0.1 * (1 - MAX_SLEW) - 1e-6 <= gained <= 0.1 * (1 + MAX_SLEW) + 1e-6
        previous = now
    assert clock.now() == pytest.approx(src.system, abs=1e-6)  # caught up within 40 s


def test_slow_drift_is_followed(src: Sources, clock: SystemClock) -> None:
    # The system clock gains 20 ms per second on the steady clock (a bad
    # oscillator corrected by NTP): followed closely, sampled every second.
    for _ in range(600):
        src.steady += 1.0
        src.system += 1.02
        clock.now()
    assert clock.now() == pytest.approx(src.system, abs=0.05)
    assert not stepped(clock)


def test_drift_faster_than_the_slew_limit_is_followed_at_the_limit(
    src: Sources, clock: SystemClock
) -> None:
    # The system clock runs 10 % fast: followed at 5 % ...
    for _ in range(10):
        src.steady += 1.0
        src.system += 1.1
        clock.now()
    assert clock.now() == pytest.approx(WALL0 + 10 * (1 + MAX_SLEW), abs=1e-6)
    assert not stepped(clock)
    # ... until it is more than STEP_S away: from then on a step, ignored.
    for _ in range(20):
        src.steady += 1.0
        src.system += 1.1
        clock.now()
    assert stepped(clock)
    assert src.system - clock.now() > STEP_S


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="step_s"):
        SystemClock(step_s=0)
    with pytest.raises(ValueError, match="max_slew"):
        SystemClock(max_slew=1.0)


def test_the_real_clock_is_close_to_the_system_clock() -> None:
    clock = SystemClock()
    assert abs(clock.now() - time.time()) < 0.5
    first = clock.monotonic()
    assert clock.monotonic() >= first


# -- through the reaper: a +1 h jump does not make a deadline due early ---------------------


@pytest.fixture
async def system_env(src: Sources, clock: SystemClock) -> AsyncIterator[Env]:
    settings = load_settings({}, store_url="memory://", api_keys=API_KEYS, secret_key=SECRET)
    container: Container = build(settings, clock=clock)
    await container.start(reaper=False)
    try:
        quiz = await container.catalog.put_quiz(demo_raw())
        yield Env(c=container, clock=clock, quiz=quiz)  # type: ignore[arg-type]
    finally:
        await container.stop()


async def test_a_forward_jump_does_not_cut_a_deadline_short(src: Sources, system_env: Env) -> None:
    env = system_env
    token = await env.invite()
    opened, claims, end = await start_test_and_answer(env, token)
    attempt_id = opened.attempt.attempt_id
    assert end == src.system + env.quiz.duration_s
    grace = env.quiz.policies.grace_s

    src.run(60)
    src.step(3600)  # the system clock jumps an hour ahead: past deadline + grace
    assert src.system > end + grace
    assert await env.c.reaper.run_once() == 0
    assert (await env.state(attempt_id)).status == "open"
    # Writes still count: the candidate keeps the rest of the time.
    await env.sessions.save(claims, "capital-au", "sydney", "o2")
    view = await env.sessions.view(claims)
    assert view.time_remaining_s == pytest.approx(env.quiz.duration_s - 60, abs=1e-6)

    src.run(end + grace - (WALL0 + 60) - 1)  # steady time: 1 s before deadline + grace
    assert await env.c.reaper.run_once() == 0
    src.run(1.5)
    assert await env.c.reaper.run_once() == 1
    state = await env.state(attempt_id)
    assert state.submitted is not None
    assert state.submitted.finished_at == end
    [submitted] = [e for e in await env.events(attempt_id) if isinstance(e, Submitted)]
    assert submitted.at == pytest.approx(end + grace + 0.5, abs=1e-6)
    assert deadline(state, env.quiz) == end


async def test_a_backward_jump_does_not_stretch_a_deadline(src: Sources, system_env: Env) -> None:
    env = system_env
    token = await env.invite()
    opened, _claims, end = await start_test_and_answer(env, token)
    grace = env.quiz.policies.grace_s
    src.step(-3600)
    src.run(env.quiz.duration_s + grace + 0.5)
    assert await env.c.reaper.run_once() == 1
    state = await env.state(opened.attempt.attempt_id)
    assert state.submitted is not None
    assert state.submitted.finished_at == end
