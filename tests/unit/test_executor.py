"""The executor's read-ahead (``prefetch``) and its cheap preview copy: a state
read ahead is never believed before it is checked against the log, and the
preview an append builds its index row from never changes the cached state."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import pytest

from quizsession.app.attempts import AttemptExecutor, QuizCache
from quizsession.app.ports import RecordedEvent, Store, StoreUnavailable
from quizsession.app.preview import copy_preview as _copy_preview
from quizsession.domain.attempt import AttemptState, apply, fold
from quizsession.domain.commands import Submit
from quizsession.domain.events import (
    AnswerSaved,
    AttemptEvent,
    QuestionDelivered,
    SectionStarted,
    SessionOpened,
    Submitted,
)
from tests.contract.test_store import T0, every_event
from tests.unit.test_app_sessions import Env, demo_raw, environment, start_test_and_answer


def events_for_copies() -> list[AttemptEvent]:
    """Every event type, and those that change nested containers twice over
    (both sections started, questions delivered and answered in each)."""
    more: list[AttemptEvent] = [
        SectionStarted(at=T0 + 20, section="practice", seed=5, plan=["p1", "p2"], op_id="op-p2"),
        QuestionDelivered(at=T0 + 21, section="practice", question_id="p1"),
        AnswerSaved(
            at=T0 + 22,
            section="practice",
            question_id="p1",
            answer=["x"],
            op_id="o9",
            session_id="s",
        ),
        QuestionDelivered(at=T0 + 23, section="test", question_id="q3"),
        SessionOpened(at=T0 + 24, session_id="s3", epoch=5),
    ]
    return every_event() + more


def test_the_preview_copy_never_changes_the_state_it_copies() -> None:
    events = events_for_copies()
    for k in range(len(events) + 1):
        state = fold(events[:k])
        for event in events:
            before = copy.deepcopy(state)
            preview = _copy_preview(state, [event])
            assert state == before, (k, type(event).__name__)
            assert preview == apply(copy.deepcopy(state), event), (k, type(event).__name__)
            # And the other way round: changing the state leaves the preview alone.
            expected = copy.deepcopy(preview)
            apply(state, event)
            assert preview == expected, (k, type(event).__name__)
            state = before


def executor_on(env: Env) -> AttemptExecutor:
    """Another executor on the same store, with a cold cache of its own (as a
    restarted embedded instance has: authoritative)."""
    return AttemptExecutor(env.c.store, QuizCache(env.c.store), env.clock)


async def submitted_attempt(env: Env) -> tuple[str, float]:
    token = await env.invite()
    opened, _, end = await start_test_and_answer(env, token)
    env.advance_to(end + env.quiz.policies.grace_s + 1)
    assert await env.c.reaper.run_once() == 1
    return opened.attempt.attempt_id, end


async def test_prefetch_caches_states_that_load_checks_against_the_log_first() -> None:
    async with environment() as env:
        attempt_id, _ = await submitted_attempt(env)
        mine = executor_on(env)
        assert await mine.prefetch([attempt_id, "nobody", attempt_id]) == 1
        assert await mine.prefetch([attempt_id]) == 0  # already cached

        # Behind its back, another writer moves the attempt on.
        await env.c.admin.reopen(attempt_id, "admin:t", "appeal", extra_seconds=600)

        loaded = await mine.load(attempt_id)
        assert loaded is not None
        assert loaded.state.status == "open"
        assert loaded.state == fold(await env.events(attempt_id))


async def test_a_no_op_decided_on_a_prefetched_state_is_checked_against_the_log() -> None:
    async with environment() as env:
        attempt_id, end = await submitted_attempt(env)
        mine = executor_on(env)
        assert await mine.prefetch([attempt_id]) == 1  # submitted, as read ahead
        await env.c.admin.reopen(attempt_id, "admin:t", "appeal", extra_seconds=60)
        env.clock.advance(60 + env.quiz.policies.grace_s + 1)

        # On the state read ahead a deadline submit is a no-op (already
        # submitted); the log says reopened and due again: it is submitted.
        outcome = await mine.execute(attempt_id, lambda _l: Submit(reason="deadline"))
        assert [type(e) for e in outcome.events] == [Submitted]
        submitted = [e for e in await env.events(attempt_id) if isinstance(e, Submitted)]
        assert len(submitted) == 2
        assert submitted[1].finished_at > end


async def test_a_prefetched_state_that_is_current_is_written_on_without_a_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with environment() as env:
        token = await env.invite()
        opened, _, end = await start_test_and_answer(env, token)
        attempt_id = opened.attempt.attempt_id
        mine = executor_on(env)
        assert await mine.prefetch([attempt_id]) == 1
        reads: list[str] = []
        read = env.c.store.read

        async def counted(attempt_id: str, after: int = 0) -> list[RecordedEvent]:
            reads.append(attempt_id)
            return await read(attempt_id, after)

        monkeypatch.setattr(env.c.store, "read", counted)
        env.advance_to(end + env.quiz.policies.grace_s + 1)
        outcome = await mine.execute(attempt_id, lambda _l: Submit(reason="deadline"))
        assert [type(e) for e in outcome.events] == [Submitted]
        assert reads == []
        # The append proved it current: from now on the cache is believed.
        loaded = await mine.load(attempt_id)
        assert reads == []
        assert loaded is not None
        assert loaded.verified
        assert loaded.state == fold(await env.events(attempt_id))


async def test_prefetch_is_best_effort(monkeypatch: pytest.MonkeyPatch) -> None:
    async with environment() as env:
        token = await env.invite()
        opened, _, _ = await start_test_and_answer(env, token)
        attempt_id = opened.attempt.attempt_id
        mine = executor_on(env)

        async def down(attempt_ids: Sequence[str]) -> dict[str, list[RecordedEvent]]:
            raise StoreUnavailable("down")

        store: Store = env.c.store
        monkeypatch.setattr(store, "read_many", down)
        assert await mine.prefetch([attempt_id]) == 0
        monkeypatch.undo()
        loaded = await mine.load(attempt_id)  # read as without a prefetch
        assert loaded is not None
        assert loaded.state == fold(await env.events(attempt_id))
        assert isinstance(loaded.state, AttemptState)


async def test_attempts_on_one_quiz_version_share_one_decoded_definition() -> None:
    async with environment() as env:
        first, _ = await env.login(await env.invite(email="ada@example.org"))
        second, _ = await env.login(await env.invite(email="bob@example.org"))
        assert first.attempt.attempt_id != second.attempt.attempt_id
        executor = env.c.executor
        a = await executor.load(first.attempt.attempt_id)
        b = await executor.load(second.attempt.attempt_id)
        assert a is not None
        assert b is not None
        assert a.quiz is b.quiz  # one copy per version, not one per candidate
        # A new version is seen by the next new attempt (read from the store).
        await env.c.catalog.put_quiz({**demo_raw(), "title": "Renamed"})
        third, _ = await env.login(await env.invite(email="cy@example.org"))
        c = await executor.load(third.attempt.attempt_id)
        assert c is not None
        assert (c.quiz.version, c.quiz.title) == (a.quiz.version + 1, "Renamed")
