"""The reaper's timing and paging, through the composition root with the memory
store and a fake clock: it wakes at the earliest due time (not a tick later), it
reads the next page while the previous one is being submitted, and every attempt
is still submitted exactly once, by one reaper or by several at once."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Sequence
from typing import Any, cast

import pytest

from quizsession.adapters.tokens_jwt import JwtTokens
from quizsession.app.accommodations import Accommodations
from quizsession.app.attempts import AttemptExecutor, Outcome, QuizCache
from quizsession.app.ports import AttemptIndexRow, RecordedEvent, Store, StoreUnavailable
from quizsession.app.reaper import AFTER_DUE_S, Reaper
from quizsession.app.sessions.service import SessionService
from quizsession.domain.events import Submitted
from tests.unit.test_app_sessions import (
    SECRET,
    Env,
    environment,
    start_test_and_answer,
    yielding,
)


class Stop(Exception):
    """Ends ``run_forever`` from the fake sleep."""


class FakeSleep:
    """``asyncio.sleep`` for the reaper: moves the fake clock instead of waiting,
    and stops the reaper after ``limit`` sleeps."""

    def __init__(self, env: Env, limit: int) -> None:
        self.env = env
        self.limit = limit
        self.slept: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        if len(self.slept) >= self.limit:
            raise Stop
        self.env.clock.advance(seconds)
        await asyncio.sleep(0)


async def started_attempts(env: Env, n: int) -> tuple[list[str], float]:
    """``n`` attempts whose tests started at the same moment: one deadline."""
    ids: list[str] = []
    for k in range(n):
        token = await env.invite(email=f"c{k}@example.org")
        opened, claims = await env.login(token)
        await env.sessions.start(claims, "test", op_id="start")
        ids.append(opened.attempt.attempt_id)
    state = await env.state(ids[0])
    assert state.test is not None
    return ids, state.test.started_at + env.quiz.duration_s


async def submitted_events(env: Env, attempt_id: str) -> list[Submitted]:
    return [e for e in await env.events(attempt_id) if isinstance(e, Submitted)]


def counting_submits(
    monkeypatch: pytest.MonkeyPatch, service: SessionService
) -> tuple[Counter[str], list[int]]:
    """Count ``submit_due`` calls per attempt; the second list holds how many are
    running at this moment (one element, updated in place)."""
    calls: Counter[str] = Counter()
    active = [0]
    original = service.submit_due

    async def submit_due(attempt_id: str) -> Outcome | None:
        calls[attempt_id] += 1
        active[0] += 1
        try:
            return await original(attempt_id)
        finally:
            active[0] -= 1

    monkeypatch.setattr(service, "submit_due", submit_due)
    return calls, active


def service_on(env: Env, store: Store) -> tuple[SessionService, AttemptExecutor]:
    """Another instance's service on ``store``, with a cold cache of its own."""
    quizzes = QuizCache(store)
    executor = AttemptExecutor(store, quizzes, env.clock)
    tokens = JwtTokens(SECRET, env.clock)
    accommodations = Accommodations(store, executor, env.c.live, env.clock)
    service = SessionService(
        store, env.c.live, tokens, executor, quizzes, env.clock, accommodations=accommodations
    )
    return service, executor


# ------------------------------------------------------------------------------ waking


async def test_an_attempt_due_in_0_3_s_is_submitted_then_not_a_whole_interval_later() -> None:
    async with environment() as env:
        token = await env.invite()
        opened, _, end = await start_test_and_answer(env, token)
        attempt_id = opened.attempt.attempt_id
        due = end + env.quiz.policies.grace_s
        env.advance_to(due - 0.3)
        sleep = FakeSleep(env, limit=3)
        reaper = Reaper(env.c.store, env.sessions, env.clock, interval_s=5.0, sleep=sleep)

        with pytest.raises(Stop):
            await reaper.run_forever()

        assert sleep.slept[0] == pytest.approx(0.3 + AFTER_DUE_S)
        assert reaper.submitted == 1
        (event,) = await submitted_events(env, attempt_id)
        assert event.at == pytest.approx(due + AFTER_DUE_S)
        assert event.finished_at == end
        assert event.reason == "deadline"
        # Nothing else is due: back to the interval.
        assert sleep.slept[1] == 5.0


async def test_with_nothing_due_soon_it_sleeps_its_interval() -> None:
    async with environment() as env:
        reaper = Reaper(env.c.store, env.sessions, env.clock, interval_s=0.5)
        assert await reaper.run_once() == 0
        assert await reaper.next_wake() == 0.5
        token = await env.invite()
        _, _, end = await start_test_and_answer(env, token)
        due = end + env.quiz.policies.grace_s
        env.advance_to(due - 0.8)  # due after more than an interval: the cap
        assert await reaper.next_wake() == 0.5
        env.advance_to(due - 0.2)
        assert await reaper.next_wake() == pytest.approx(0.2 + AFTER_DUE_S)


async def test_an_attempt_it_could_not_submit_does_not_make_it_wake_at_once() -> None:
    async with environment() as env:
        token = await env.invite()
        opened, _, end = await start_test_and_answer(env, token)
        # At deadline + grace exactly the attempt is listed as due but a write
        # still counts: the submit is refused, and retried an interval later.
        env.advance_to(end + env.quiz.policies.grace_s)
        reaper = Reaper(env.c.store, env.sessions, env.clock, interval_s=0.5)
        assert await reaper.run_once() == 0
        assert await reaper.next_wake() == 0.5
        env.clock.advance(0.5)
        assert await reaper.run_once() == 1
        assert len(await submitted_events(env, opened.attempt.attempt_id)) == 1


# ------------------------------------------------------------------------------ paging


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_overlapping_pages_submit_every_attempt_exactly_once(
    monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    async with environment() as env:
        ids, end = await started_attempts(env, 23)
        calls, active = counting_submits(monkeypatch, env.sessions)
        yielding(monkeypatch, env, random.Random(seed))
        in_flight_at_reads: list[int] = []
        due_attempts = env.c.store.due_attempts

        async def watched(now: float, limit: int = 500) -> list[AttemptIndexRow]:
            in_flight_at_reads.append(active[0])
            return await due_attempts(now, limit)

        monkeypatch.setattr(env.c.store, "due_attempts", watched)
        reaper = Reaper(
            env.c.store,
            env.sessions,
            env.clock,
            batch=4,
            concurrency=2,
            prefetch=env.c.executor.prefetch,
        )
        env.advance_to(end + env.quiz.policies.grace_s + 1)

        assert await reaper.run_once() == 23

        assert calls == Counter(dict.fromkeys(ids, 1))
        assert max(in_flight_at_reads) > 0  # a page was read while others submitted
        for attempt_id in ids:
            (event,) = await submitted_events(env, attempt_id)
            assert event.finished_at == end
        assert await reaper.run_once() == 0


async def test_a_read_whose_snapshot_is_older_than_a_submit_does_not_submit_it_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with environment() as env:
        ids, end = await started_attempts(env, 12)
        calls, _ = counting_submits(monkeypatch, env.sessions)
        yielding(monkeypatch, env)  # a submit takes a few turns of the loop
        due_attempts = env.c.store.due_attempts

        async def slow(now: float, limit: int = 500) -> list[AttemptIndexRow]:
            rows = await due_attempts(now, limit)  # the snapshot...
            for _ in range(30):  # ...is old by the time it arrives
                await asyncio.sleep(0)
            return rows

        monkeypatch.setattr(env.c.store, "due_attempts", slow)
        reaper = Reaper(env.c.store, env.sessions, env.clock, batch=3, concurrency=1)
        env.advance_to(end + env.quiz.policies.grace_s + 1)

        assert await reaper.run_once() == 12
        assert calls == Counter(dict.fromkeys(ids, 1))


@pytest.mark.parametrize("seed", [1, 2])
async def test_two_instances_paging_at_once_submit_every_attempt_exactly_once(
    monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    async with environment() as env:
        ids, end = await started_attempts(env, 17)
        yielding(monkeypatch, env, random.Random(seed))
        other_service, other_executor = service_on(env, env.c.store)
        mine = Reaper(
            env.c.store, env.sessions, env.clock, batch=3, prefetch=env.c.executor.prefetch
        )
        other = Reaper(
            env.c.store, other_service, env.clock, batch=2, prefetch=other_executor.prefetch
        )
        env.advance_to(end + env.quiz.policies.grace_s + 1)

        done = await asyncio.gather(mine.run_once(), other.run_once(), mine.run_once())

        assert sum(done) == 17
        for attempt_id in ids:
            (event,) = await submitted_events(env, attempt_id)
            assert event.finished_at == end


async def test_a_failed_read_lets_the_submits_in_flight_finish(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with environment() as env:
        ids, end = await started_attempts(env, 6)
        yielding(monkeypatch, env)
        reads = 0
        down_after = 1
        due_attempts = env.c.store.due_attempts

        async def failing(now: float, limit: int = 500) -> list[AttemptIndexRow]:
            nonlocal reads
            reads += 1
            if reads > down_after:
                raise StoreUnavailable("down")
            return await due_attempts(now, limit)

        monkeypatch.setattr(env.c.store, "due_attempts", failing)
        reaper = Reaper(env.c.store, env.sessions, env.clock, batch=4, concurrency=1)
        env.advance_to(end + env.quiz.policies.grace_s + 1)

        with pytest.raises(StoreUnavailable):
            await reaper.run_once()

        # The first page was submitted in full, not cancelled half-way.
        submitted = [a for a in ids if await submitted_events(env, a)]
        assert len(submitted) == 4
        assert reaper.submitted == 4
        down_after = 1_000  # the store is back
        assert await reaper.run_once() == 2


class CountingStore:
    """A store that counts log reads (one attempt, or many at once)."""

    def __init__(self, inner: Store) -> None:
        self._inner = inner
        self.reads = 0
        self.read_manys: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def read(self, attempt_id: str, after: int = 0) -> list[RecordedEvent]:
        self.reads += 1
        return await self._inner.read(attempt_id, after)

    async def read_many(self, attempt_ids: Sequence[str]) -> dict[str, list[RecordedEvent]]:
        self.read_manys.append(len(attempt_ids))
        return await self._inner.read_many(attempt_ids)


async def test_each_page_is_read_ahead_with_one_store_call() -> None:
    async with environment() as env:
        ids, end = await started_attempts(env, 10)
        counting = CountingStore(env.c.store)
        store = cast(Store, counting)
        service, executor = service_on(env, store)  # a cold cache
        reaper = Reaper(store, service, env.clock, batch=4, prefetch=executor.prefetch)
        env.advance_to(end + env.quiz.policies.grace_s + 1)

        assert await reaper.run_once() == 10

        assert counting.read_manys == [4, 4, 2]
        assert counting.reads == 0  # no attempt was read on its own
        for attempt_id in ids:
            assert len(await submitted_events(env, attempt_id)) == 1
