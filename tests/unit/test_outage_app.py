"""The outage credit in the app layer (``app/outage.py``) and its place in
``Container.start``: the memory store (shared by "instances" the way a durable
store is shared across restarts) and a fake clock."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence

import pytest

from quizsession import bootstrap
from quizsession.adapters.store.memory import MemoryStore
from quizsession.app.attempts import AttemptExecutor, QuizCache
from quizsession.app.clock import FakeClock
from quizsession.app.outage import DOWN_AFTER_S, MARK_EVERY_S, OutageCredit
from quizsession.app.ports import StoreUnavailable
from quizsession.bootstrap import Container, build
from quizsession.domain.attempt import AttemptState, deadline
from quizsession.domain.events import AttemptEvent, Submitted, TimeExtended, outage_window
from quizsession.settings import load_settings
from tests.unit.test_app_sessions import (
    API_KEYS,
    SECRET,
    Env,
    demo_raw,
    environment,
    start_test_and_answer,
    yielding,
)


def restarted(env: Env, name: str) -> OutageCredit:
    """A new instance (process) on the same store: a cold, non-authoritative cache."""
    executor = AttemptExecutor(
        env.c.store, QuizCache(env.c.store), env.clock, authoritative_cache=False
    )
    return OutageCredit(env.c.store, executor, env.clock, instance_id=name)


async def running_test(env: Env, email: str = "ada@example.org") -> tuple[str, float]:
    """A candidate in the test (nobody connected afterwards): attempt id, deadline."""
    token = await env.invite(email=email)
    opened, claims, end = await start_test_and_answer(env, token)
    await env.sessions.logout(claims)
    return opened.attempt.attempt_id, end


async def state_now(env: Env, attempt_id: str) -> AttemptState:
    """The attempt as the log says (the env's own executor stands for the process
    before the restart: its cache is dropped first)."""
    env.c.executor.forget(attempt_id)
    return await env.state(attempt_id)


def extensions(events: Sequence[AttemptEvent]) -> list[TimeExtended]:
    return [e for e in events if isinstance(e, TimeExtended)]


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async with environment() as e:
        yield e


def test_the_defaults_are_three_missed_marks() -> None:
    assert DOWN_AFTER_S == 3 * MARK_EVERY_S


def test_the_threshold_follows_the_mark_interval(env: Env) -> None:
    credit = OutageCredit(env.c.store, env.c.executor, env.clock, mark_every_s=2)
    assert (credit.mark_every_s, credit.down_after_s) == (2, 6)


async def test_an_instance_marks_at_the_deployments_heartbeat() -> None:
    async with environment(heartbeat_s=2.5) as env:
        await env.c.stop()
        await env.c.start(reaper=True)
        alive = env.c._alive
        assert alive is not None
        assert (alive.mark_every_s, alive.down_after_s) == (2.5, 7.5)


async def test_a_first_start_ever_credits_nothing(env: Env) -> None:
    attempt_id, end = await running_test(env)
    report = await restarted(env, "i1").start_up()
    assert report.last_alive is None
    assert not report.down
    assert report.credited == 0
    assert await env.c.store.last_alive() == env.clock.now()  # it marked itself alive
    assert deadline(await state_now(env, attempt_id), env.quiz) == end


async def test_a_single_instance_down_60s_credits_60s(env: Env) -> None:
    one = restarted(env, "i1")
    await one.start_up()
    attempt_id, end = await running_test(env)
    env.clock.advance(10)
    assert await one.mark()
    down_at = env.clock.now()
    env.clock.advance(60)  # i1 is killed right after its mark; 60 s later it restarts

    two = restarted(env, "i1-again")
    report = await two.start_up()
    assert report.down
    assert report.last_alive == down_at
    assert report.downtime_s == 60.0
    assert (report.credited, report.already, report.failed) == (1, 0, 0)
    events = await env.events(attempt_id)
    [credit] = extensions(events)
    assert credit.seconds == 60.0
    assert credit.by == "system"
    assert outage_window(credit) == (down_at, down_at + 60)
    state = await state_now(env, attempt_id)
    assert deadline(state, env.quiz) == end + 60
    row = await env.c.store.get_index(attempt_id)
    assert row is not None
    assert row.deadline == end + 60

    # The reaper goes by the new deadline, not the old one.
    grace = env.quiz.policies.grace_s
    env.advance_to(end + grace + 1)
    assert await env.c.reaper.run_once() == 0
    env.advance_to(end + 60 + grace + 0.001)
    assert await env.c.reaper.run_once() == 1
    [submitted] = [e for e in await env.events(attempt_id) if isinstance(e, Submitted)]
    assert submitted.finished_at == end + 60
    assert submitted.reason == "deadline"

    # A quick restart (i2 marked a moment ago) credits nothing more.
    assert await two.mark()
    env.clock.advance(3)
    report = await restarted(env, "i1-third").start_up()
    assert not report.down


async def test_a_restart_quicker_than_the_threshold_credits_nothing(env: Env) -> None:
    one = restarted(env, "i1")
    await one.start_up()
    attempt_id, end = await running_test(env)
    assert await one.mark()
    env.clock.advance(DOWN_AFTER_S)  # exactly the threshold: not an outage
    report = await restarted(env, "i2").start_up()
    assert not report.down
    assert extensions(await env.events(attempt_id)) == []
    assert deadline(await state_now(env, attempt_id), env.quiz) == end


async def test_no_credit_when_another_instance_stayed_up(env: Env) -> None:
    survivor, victim = restarted(env, "i1"), restarted(env, "i2")
    await survivor.start_up()
    await victim.start_up()
    attempt_id, end = await running_test(env)
    # i2 dies; i1 keeps marking every 5 s for a minute; then i2 comes back.
    for _ in range(12):
        env.clock.advance(MARK_EVERY_S)
        assert await survivor.mark()
    env.clock.advance(2)
    report = await restarted(env, "i2-again").start_up()
    assert not report.down
    assert report.last_alive == env.clock.now() - 2
    assert extensions(await env.events(attempt_id)) == []
    assert deadline(await state_now(env, attempt_id), env.quiz) == end


@pytest.mark.parametrize("interleaved", [False, True], ids=["atomic-backend", "yielding-backend"])
async def test_two_instances_starting_at_once_after_an_outage_credit_once(
    monkeypatch: pytest.MonkeyPatch, interleaved: bool
) -> None:
    async with environment() as env:
        one = restarted(env, "i1")
        await one.start_up()
        ids_ends = [await running_test(env, f"c{i}@example.org") for i in range(3)]
        await one.mark()
        env.clock.advance(120)  # everything down for two minutes
        a, b = restarted(env, "a"), restarted(env, "b")
        if interleaved:
            yielding(monkeypatch, env, random.Random(5))
        # Both read the last mark before either marks itself alive ...
        last_alive = env.c.store.last_alive
        readers: list[float | None] = []
        both_read = asyncio.Event()

        async def read_then_wait_for_the_other() -> float | None:
            readers.append(await last_alive())
            if len(readers) == 2:
                both_read.set()
            await both_read.wait()
            return readers[-1]

        monkeypatch.setattr(env.c.store, "last_alive", read_then_wait_for_the_other)
        found_a, found_b = await asyncio.gather(a.begin(), b.begin())
        assert found_a.down
        assert found_b.down
        # ... and credit at once: the domain refuses the second credit.
        done_a, done_b = await asyncio.gather(a.credit(found_a), b.credit(found_b))
        assert done_a.credited + done_b.credited == 3
        assert done_a.already + done_b.already == 3
        assert done_a.failed == done_b.failed == 0
        for attempt_id, end in ids_ends:
            [credit] = extensions(await env.events(attempt_id))
            assert credit.seconds == pytest.approx(120.0)
            assert deadline(await state_now(env, attempt_id), env.quiz) == pytest.approx(end + 120)


async def test_a_second_instance_starting_after_the_first_has_marked_credits_nothing(
    env: Env,
) -> None:
    one = restarted(env, "i1")
    await one.start_up()
    attempt_id, _end = await running_test(env)
    await one.mark()
    env.clock.advance(100)
    first = await restarted(env, "a").start_up()
    assert first.credited == 1
    env.clock.advance(1)
    second = await restarted(env, "b").start_up()
    assert not second.down  # "a" marked itself alive before crediting
    assert len(extensions(await env.events(attempt_id))) == 1


async def test_quizzes_with_the_policy_off_get_no_credit() -> None:
    async with environment(demo_raw(outage_credit=False)) as env:
        one = restarted(env, "i1")
        await one.start_up()
        attempt_id, end = await running_test(env)
        await one.mark()
        env.clock.advance(300)
        report = await restarted(env, "i2").start_up()
        assert report.down
        assert report.credited == 0
        assert extensions(await env.events(attempt_id)) == []
        assert deadline(await state_now(env, attempt_id), env.quiz) == end


async def test_only_tests_running_at_the_last_mark_are_credited(env: Env) -> None:
    one = restarted(env, "i1")
    await one.start_up()
    running_id, running_end = await running_test(env)
    # Logged in but the test not started: nothing to credit.
    opened, _claims = await env.login(await env.invite(email="bob@example.org"))
    waiting_id = opened.attempt.attempt_id
    # A test already submitted by its candidate.
    done_opened, done_claims, _ = await start_test_and_answer(
        env, await env.invite(email="cy@example.org")
    )
    await env.sessions.complete(done_claims, "done")
    await one.mark()
    env.clock.advance(60)
    report = await restarted(env, "i2").start_up()
    assert report.credited == 1
    assert len(extensions(await env.events(running_id))) == 1
    assert extensions(await env.events(waiting_id)) == []
    assert extensions(await env.events(done_opened.attempt.attempt_id)) == []
    assert deadline(await state_now(env, running_id), env.quiz) == running_end + 60


async def test_a_store_failure_while_crediting_is_retried(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = restarted(env, "i1")
    await one.start_up()
    attempt_id, end = await running_test(env)
    await one.mark()
    env.clock.advance(60)
    original = env.c.store.append
    failures = [2]

    async def flaky(*args: object, **kwargs: object) -> int:
        if failures[0] > 0:
            failures[0] -= 1
            raise StoreUnavailable("disk full")
        return await original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(env.c.store, "append", flaky)
    report = await restarted(env, "i2").start_up()
    assert (report.credited, report.failed) == (1, 0)
    assert deadline(await state_now(env, attempt_id), env.quiz) == end + 60


async def test_a_failing_mark_is_logged_not_raised(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = restarted(env, "i1")

    async def refuse(*_args: object) -> None:
        raise StoreUnavailable("disk full")

    monkeypatch.setattr(env.c.store, "mark_alive", refuse)
    assert await one.mark() is False


def test_marks_must_come_more_often_than_the_threshold(env: Env) -> None:
    with pytest.raises(ValueError, match="more often"):
        OutageCredit(env.c.store, env.c.executor, env.clock, mark_every_s=15, down_after_s=15)


# -- Container.start: the credit pass comes before the reaper's first pass ------------------


async def test_container_start_credits_before_the_reaper_and_keeps_marking(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shared = MemoryStore()  # the "durable" store both processes open
    monkeypatch.setattr(bootstrap, "make_store", lambda _url, **_: shared)
    clock = FakeClock()
    settings = load_settings({}, store_url="memory://", api_keys=API_KEYS, secret_key=SECRET)
    raw = demo_raw()
    raw["duration_s"] = 30.0

    first = build(settings, clock=clock)
    await first.start()
    try:
        assert first.outage is not None
        assert not first.outage.down
        env = Env(c=first, clock=clock, quiz=await first.catalog.put_quiz(raw))
        attempt_id, end = await running_test(env)
        clock.advance(20)  # 10 s left
    finally:
        await first.stop()  # stopping marks the instance alive one last time
    assert await shared.last_alive() == clock.now()
    stopped_at = clock.now()
    clock.advance(600)  # down for ten minutes: the old deadline passed long ago

    second: Container = build(settings, clock=clock)
    await second.start()
    try:
        assert second.outage is not None
        assert second.outage.down
        assert second.outage.credited == 1
        assert second.outage.downtime_s == 600.0
        env2 = Env(c=second, clock=clock, quiz=env.quiz)
        state = await state_now(env2, attempt_id)
        assert state.status == "open"  # the reaper's first pass did not submit it
        new_end = deadline(state, env.quiz)
        assert new_end == end + 600
        assert new_end - clock.now() == 10.0  # the 10 s left
        assert await shared.last_alive() == clock.now()
        assert stopped_at < clock.now()
    finally:
        await second.stop()


async def test_container_start_without_the_reaper_neither_marks_nor_credits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """CLI commands (import a quiz, issue invites) start without the reaper: they
    must not hide an outage by marking the service alive."""
    shared = MemoryStore()
    await shared.mark_alive("old", 1.0)
    monkeypatch.setattr(bootstrap, "make_store", lambda _url, **_: shared)
    settings = load_settings({}, store_url="memory://", api_keys=API_KEYS, secret_key=SECRET)
    container = build(settings, clock=FakeClock())
    await container.start(reaper=False)
    await container.stop()
    assert container.outage is None
    assert await shared.last_alive() == 1.0
