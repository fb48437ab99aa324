"""Time in the session use cases, with a fake clock: the code a write gets after
the deadline (the same whether or not the server has submitted yet), and the
idle timeout (never early, at most one activity write interval late, on one
instance or several)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from quizsession.adapters.live.memory import MemoryLiveState
from quizsession.app.clock import FakeClock
from quizsession.app.ports import SessionClaims
from quizsession.app.sessions.activity import WRITE_EVERY_S, SessionActivity
from quizsession.domain.errors import ErrorCode
from quizsession.domain.events import SessionClosed, Submitted
from tests.unit.test_app_sessions import (
    Env,
    demo_raw,
    environment,
    instance,
    refused,
    start_test_and_answer,
)


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async with environment() as e:
        yield e


# ------------------------------------------------------------------------- the deadline


async def late_writes_are_refused_as(env: Env, claims: SessionClaims, code: ErrorCode) -> None:
    """Every write route of the candidate refuses with ``code`` and changes nothing."""
    attempt_id = claims.attempt_id
    before = await env.events(attempt_id)
    await refused(code, env.sessions.save(claims, "capital-au", "perth", "late-save"))
    await refused(code, env.sessions.next_question(claims))
    await refused(code, env.sessions.start(claims, "test", op_id="late-start"))
    await refused(code, env.sessions.complete(claims, op_id="late-complete"))
    # Nothing new but the server's own submit (if it was not done yet).
    after = [e for e in await env.events(attempt_id) if e not in before]
    assert all(isinstance(e, Submitted) and e.reason == "deadline" for e in after)


@pytest.mark.parametrize("reaped", [False, True], ids=["before-the-reaper", "after-the-reaper"])
async def test_a_write_after_deadline_plus_grace_is_late_whether_or_not_the_server_submitted(
    env: Env, reaped: bool
) -> None:
    token = await env.invite()
    opened, claims, end = await start_test_and_answer(env, token)
    env.advance_to(end + env.quiz.policies.grace_s + 0.5)
    if reaped:
        assert await env.c.reaper.run_once() == 1
    await late_writes_are_refused_as(env, claims, ErrorCode.DEADLINE_PASSED)
    state = await env.state(opened.attempt.attempt_id)
    assert state.submitted is not None
    assert state.submitted.reason == "deadline"
    assert state.submitted.finished_at == end
    assert state.test is not None
    assert state.test.answers == {"capital-au": "canberra"}
    # The refusal says when the deadline was.
    error = await refused(
        ErrorCode.DEADLINE_PASSED, env.sessions.save(claims, "capital-au", "x", "x")
    )
    assert error.extra["deadline"] == end


async def test_a_write_within_the_grace_still_counts(env: Env) -> None:
    token = await env.invite()
    _, claims, end = await start_test_and_answer(env, token)
    env.advance_to(end + env.quiz.policies.grace_s)
    result = await env.sessions.save(claims, "capital-au", "sydney", "in-grace")
    assert result.saved
    assert not result.replayed


async def test_after_the_candidates_own_submit_writes_are_refused_as_closed(env: Env) -> None:
    token = await env.invite()
    _, claims, end = await start_test_and_answer(env, token)
    done = await env.sessions.complete(claims, op_id="done")
    for at in (end - 1, end + env.quiz.policies.grace_s + 0.5):
        env.advance_to(at)
        await refused(
            ErrorCode.ATTEMPT_CLOSED, env.sessions.save(claims, "capital-au", "x", f"s{at}")
        )
        await refused(ErrorCode.ATTEMPT_CLOSED, env.sessions.next_question(claims))
        # Submitting twice returns the same score.
        again = await env.sessions.complete(claims, op_id=f"again{at}")
        assert (again.score, again.max_score) == (done.score, done.max_score)
    assert await env.c.reaper.run_once() == 0


async def test_after_a_void_writes_are_refused_as_voided(env: Env) -> None:
    token = await env.invite()
    opened, claims, end = await start_test_and_answer(env, token)
    await env.c.admin.void(opened.attempt.attempt_id, by="admin:ops", reason="r")
    for at in (end - 1, end + env.quiz.policies.grace_s + 0.5):
        env.advance_to(at)
        await refused(
            ErrorCode.ATTEMPT_VOIDED, env.sessions.save(claims, "capital-au", "x", f"s{at}")
        )
        await refused(ErrorCode.ATTEMPT_VOIDED, env.sessions.complete(claims, op_id=f"c{at}"))


# ---------------------------------------------------------------------- the idle timeout


async def test_the_idle_timeout_counts_from_the_last_answered_request() -> None:
    """Logged in at t0, requests at t0+1 and t0+14, a 60 s timeout: a request at
    t0+64 is not idle (50 s after the last one); the session is idle 60 s after
    its last request, closed at the latest one write interval later."""
    async with environment(demo_raw(idle_timeout_s=60, lease_ttl_s=120)) as env:
        opened, claims = await env.login(await env.invite())
        token, sid = opened.session_token, opened.session_id
        t0 = env.clock.now()
        env.advance_to(t0 + 1)
        await env.sessions.view(claims)
        env.advance_to(t0 + 14)
        await env.sessions.view(claims)
        env.advance_to(t0 + 64)
        await env.sessions.authenticate(token, sid)
        await env.sessions.view(claims)
        # Never early: up to 60 s after the last request, however often asked.
        for at in (t0 + 100, t0 + 120, t0 + 123.999):
            env.advance_to(at)
            await env.sessions.authenticate(token, sid)
        # At most one write interval late.
        env.advance_to(t0 + 64 + 60 + WRITE_EVERY_S + 0.001)
        await refused(ErrorCode.SESSION_IDLE, env.sessions.authenticate(token, sid))
        events = await env.events(claims.attempt_id)
        assert events[-1] == SessionClosed(
            at=env.clock.now(), session_id=sid, reason="idle", by="system"
        )


async def test_activity_seen_by_another_instance_keeps_the_session() -> None:
    """A request answered by instance A but not yet written to the shared live
    state does not let instance B close the session early."""
    async with environment(demo_raw(idle_timeout_s=60, lease_ttl_s=120)) as env:
        opened, claims = await env.login(await env.invite())  # A = env.sessions
        token, sid = opened.session_token, opened.session_id
        other, _ = instance(env)
        t0 = env.clock.now()
        env.advance_to(t0 + 1)
        await env.sessions.view(claims)
        env.advance_to(t0 + 14)
        await env.sessions.view(claims)  # within A's write interval: not written
        for at in (t0 + 64, t0 + 73.999):  # < 60 s after t0 + 14
            env.advance_to(at)
            await other.authenticate(token, sid)
        env.advance_to(t0 + 14 + 60 + WRITE_EVERY_S + 0.001)
        await refused(ErrorCode.SESSION_IDLE, other.authenticate(token, sid))


REQUESTS = [0.0, 0.5, 3.5, 14.9, 15.0, 15.1, 44.0, 103.9, 104.0, 121.0, 128.0]


@pytest.mark.parametrize("n", range(1, len(REQUESTS) + 1))
async def test_the_activity_record_lapses_late_never_early(n: int) -> None:
    """Requests at ``REQUESTS[:n]`` (seconds) answered by one instance: neither it
    nor another instance finds the session idle before 60 s after the last one;
    both do by one write interval later."""
    clock = FakeClock()
    live = MemoryLiveState(clock)
    writer, reader = SessionActivity(live, clock), SessionActivity(live, clock)
    start = clock.monotonic()
    for at in REQUESTS[:n]:
        clock.advance(start + at - clock.monotonic())
        await writer.record("s", 60.0)
    clock.advance(60.0 - 0.001)
    assert not await writer.idle("s")
    assert not await reader.idle("s")
    clock.advance(0.001 + WRITE_EVERY_S + 0.001)
    assert await writer.idle("s")
    assert await reader.idle("s")


async def test_an_unknown_session_is_not_idle() -> None:
    clock = FakeClock()
    activity = SessionActivity(MemoryLiveState(clock), clock)
    assert not await activity.idle("never-seen")
