"""The app layer's session rules, through the composition root with the memory store,
the memory live state and a fake clock (time moves only when a test says so)."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import quizsession
from quizsession.adapters.tokens_jwt import JwtTokens
from quizsession.api.models import OpenedSession
from quizsession.app.accommodations import Accommodations
from quizsession.app.attempts import AttemptExecutor, QuizCache
from quizsession.app.catalog import RosterEntry
from quizsession.app.clock import FakeClock
from quizsession.app.ports import SessionClaims
from quizsession.app.reaper import Reaper
from quizsession.app.sessions.activity import WRITE_EVERY_S
from quizsession.app.sessions.service import SessionService
from quizsession.bootstrap import Container, build
from quizsession.domain.attempt import AttemptState, deadline, fold
from quizsession.domain.errors import DomainError, ErrorCode
from quizsession.domain.events import (
    AnswerValue,
    AttemptEvent,
    QuestionDelivered,
    SessionClosed,
    SessionOpened,
    SessionSuperseded,
    Submitted,
)
from quizsession.domain.quiz import Quiz
from quizsession.domain.scoring import score_section
from quizsession.settings import load_settings

DEMO_PATH = Path(quizsession.__file__).parent / "examples" / "demo.yaml"
API_KEYS = "admin=" + "k" * 24
SECRET = "s" * 48


def demo_raw(**policies: Any) -> dict[str, Any]:
    raw = yaml.safe_load(DEMO_PATH.read_text(encoding="utf-8"))
    assert isinstance(raw, dict)
    raw["policies"] = {**raw.get("policies", {}), **policies}
    return raw


@dataclass
class Env:
    c: Container
    clock: FakeClock
    quiz: Quiz

    @property
    def sessions(self) -> SessionService:
        return self.c.sessions

    async def invite(self, *, valid_for: float = 86_400.0, email: str = "ada@example.org") -> str:
        until = dt.datetime.fromtimestamp(self.clock.now() + valid_for, dt.UTC).isoformat()
        issued = await self.c.catalog.invite(
            self.quiz.id, [RosterEntry(name="Ada", email=email, valid_until=until)]
        )
        return issued[0].token

    async def login(
        self, token: str, *, takeover: bool = False
    ) -> tuple[OpenedSession, SessionClaims]:
        opened = await self.sessions.open_with_invite(token, takeover=takeover)
        claims = await self.sessions.authenticate(opened.session_token, opened.session_id)
        return opened, claims

    async def events(self, attempt_id: str) -> list[AttemptEvent]:
        return [r.event for r in await self.c.store.read(attempt_id)]

    async def state(self, attempt_id: str) -> AttemptState:
        """The attempt as the log says, checked against the app's cached fold."""
        events = await self.events(attempt_id)
        state = fold(events)
        loaded = await self.c.executor.load(attempt_id)
        assert loaded is not None
        assert loaded.state == state
        return state

    def advance_to(self, moment: float) -> None:
        self.clock.advance(moment - self.clock.now())
        assert self.clock.now() == moment


@asynccontextmanager
async def environment(raw: dict[str, Any] | None = None, **overrides: Any) -> AsyncIterator[Env]:
    clock = FakeClock()
    settings = load_settings(
        {}, store_url="memory://", api_keys=API_KEYS, secret_key=SECRET, **overrides
    )
    container = build(settings, clock=clock)
    await container.start(reaper=False)
    try:
        quiz = await container.catalog.put_quiz(raw if raw is not None else demo_raw())
        yield Env(c=container, clock=clock, quiz=quiz)
    finally:
        await container.stop()


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async with environment() as e:
        yield e


async def refused(code: str, call: Awaitable[object]) -> DomainError:
    with pytest.raises(DomainError) as info:
        await call
    assert info.value.code == code, info.value.detail
    return info.value


def yielding(
    monkeypatch: pytest.MonkeyPatch,
    env: Env,
    jitter: random.Random | None = None,
    *,
    store: bool = True,
) -> None:
    """Make every store and live-state call give the event loop a turn before and
    after it, as a networked backend would: concurrent requests then interleave.
    With ``jitter``, each call takes a (seeded) random number of turns, as real
    round trips do, so requests also overtake one another."""

    async def turns() -> None:
        for _ in range(jitter.randint(0, 4) if jitter is not None else 1):
            await asyncio.sleep(0)

    def wrap(original: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            await turns()
            result = await original(*args, **kwargs)
            await turns()
            return result

        return wrapper

    store_calls = (
        "read",
        "read_many",
        "append",
        "get_quiz",
        "find_invite",
        "due_attempts",
        "get_index",
    )
    live_calls = ("acquire_lease", "release_lease", "hit", "touch_session", "session_seen")
    for name in store_calls if store else ():
        monkeypatch.setattr(env.c.store, name, wrap(getattr(env.c.store, name)))
    for name in live_calls:
        monkeypatch.setattr(env.c.live, name, wrap(getattr(env.c.live, name)))


def instance(env: Env) -> tuple[SessionService, AttemptExecutor]:
    """Another stateless instance on the same store and live state, with its own
    cache, as with a shared store (PostgreSQL): its cache is not authoritative."""
    quizzes = QuizCache(env.c.store)
    executor = AttemptExecutor(env.c.store, quizzes, env.clock, authoritative_cache=False)
    tokens = JwtTokens(SECRET, env.clock)
    accommodations = Accommodations(env.c.store, executor, env.c.live, env.clock)
    service = SessionService(
        env.c.store,
        env.c.live,
        tokens,
        executor,
        quizzes,
        env.clock,
        accommodations=accommodations,
    )
    return service, executor


# -------------------------------------------------------------------------- invites


async def test_open_with_an_invite_creates_the_attempt(env: Env) -> None:
    token = await env.invite()
    opened, claims = await env.login(token)
    view = opened.attempt
    assert view.state == "practice_not_started"
    assert view.status == "open"
    assert view.epoch == 1
    assert view.server_time == env.clock.now()
    assert claims.epoch == 1
    assert claims.attempt_id == view.attempt_id
    assert claims.session_id == opened.session_id
    state = await env.state(view.attempt_id)
    assert state.live_session == opened.session_id
    assert [type(e).__name__ for e in await env.events(view.attempt_id)] == [
        "AttemptCreated",
        "SessionOpened",
    ]


async def test_an_unknown_invite_is_refused_and_changes_nothing(env: Env) -> None:
    await env.invite()
    await refused(
        ErrorCode.INVITE_INVALID, env.sessions.open_with_invite("not-a-real-token-at-all")
    )
    await refused(ErrorCode.INVITE_INVALID, env.sessions.open_with_invite(""))
    assert await env.c.store.list_attempts() == []


async def test_an_expired_invite_is_refused(env: Env) -> None:
    token = await env.invite(valid_for=60)
    env.clock.advance(61)
    await refused(ErrorCode.INVITE_EXPIRED, env.sessions.open_with_invite(token))
    assert await env.c.store.list_attempts() == []


# ---------------------------------------------------------------------- one writer


async def test_a_second_login_is_refused_while_the_lease_is_held(env: Env) -> None:
    token = await env.invite()
    first, _ = await env.login(token)
    attempt_id = first.attempt.attempt_id
    before = await env.events(attempt_id)

    err = await refused(ErrorCode.SESSION_ACTIVE, env.sessions.open_with_invite(token))
    assert err.extra["retry_after"] == 15  # the lease TTL
    assert err.extra["takeover_allowed"] is True  # the demo quiz allows an explicit takeover
    env.clock.advance(5)
    err = await refused(ErrorCode.SESSION_ACTIVE, env.sessions.open_with_invite(token))
    assert err.extra["retry_after"] == 10
    assert await env.events(attempt_id) == before
    assert (await env.state(attempt_id)).live_session == first.session_id


async def test_heartbeats_keep_the_lease(env: Env) -> None:
    token = await env.invite()
    first, claims = await env.login(token)
    for _ in range(12):  # a minute of heartbeats every 5 s
        env.clock.advance(5)
        beat = await env.sessions.heartbeat(claims)
        assert beat.attempt.server_time == env.clock.now()
    await refused(ErrorCode.SESSION_ACTIVE, env.sessions.open_with_invite(token))
    assert (await env.state(first.attempt.attempt_id)).live_session == first.session_id


async def test_a_login_after_the_lease_lapsed_supersedes_the_old_session(env: Env) -> None:
    token = await env.invite()
    first, old = await env.login(token)
    await env.sessions.start(old, "test", op_id="start")
    question = await env.sessions.next_question(old)
    assert question.question is not None
    qid = question.question.id

    env.clock.advance(16)  # three missed heartbeats and a bit: the lease lapsed
    second, new = await env.login(token)
    assert second.attempt.attempt_id == first.attempt.attempt_id
    assert new.epoch == old.epoch + 1
    attempt_id = first.attempt.attempt_id
    events = await env.events(attempt_id)
    assert events[-2:] == [
        SessionSuperseded(
            at=env.clock.now(), session_id=first.session_id, by_session_id=second.session_id
        ),
        SessionOpened(at=env.clock.now(), session_id=second.session_id, epoch=new.epoch),
    ]

    # The old tab is told plainly, and writes nothing.
    await refused(ErrorCode.SESSION_SUPERSEDED, env.sessions.save(old, qid, "canberra", "o1"))
    await refused(ErrorCode.SESSION_SUPERSEDED, env.sessions.view(old))
    await refused(ErrorCode.SESSION_SUPERSEDED, env.sessions.heartbeat(old))
    await refused(ErrorCode.SESSION_SUPERSEDED, env.sessions.next_question(old))
    await refused(ErrorCode.SESSION_SUPERSEDED, env.sessions.complete(old, op_id="c1"))
    assert await env.events(attempt_id) == events
    # The new one carries on with the same question.
    saved = await env.sessions.save(new, qid, "canberra", "o1")
    assert saved.saved
    assert not saved.replayed


async def test_takeover_where_the_quiz_allows_it(env: Env) -> None:
    token = await env.invite()
    first, old = await env.login(token)
    attempt_id = first.attempt.attempt_id
    subscription = await env.c.live.subscribe(attempt_id)
    try:
        second, new = await env.login(token, takeover=True)  # the lease is still held
        notice = await asyncio.wait_for(anext(aiter(subscription)), timeout=5)
    finally:
        await subscription.close()
    assert notice.kind == "takeover"
    assert notice.data == {"session_id": first.session_id, "by_session_id": second.session_id}
    state = await env.state(attempt_id)
    assert state.live_session == second.session_id
    assert state.ended_sessions[first.session_id] == "superseded"
    opened = [e for e in await env.events(attempt_id) if isinstance(e, SessionOpened)]
    assert opened[-1].takeover is True

    await env.sessions.start(new, "test", op_id="st")
    await refused(ErrorCode.SESSION_SUPERSEDED, env.sessions.start(old, "practice", op_id="p"))
    await refused(ErrorCode.SESSION_SUPERSEDED, env.sessions.heartbeat(old))
    # The new session holds the lease: its heartbeats succeed.
    env.clock.advance(5)
    await env.sessions.heartbeat(new)


async def test_takeover_is_refused_where_the_quiz_refuses_second_logins() -> None:
    async with environment(demo_raw(second_login="refuse")) as env:
        token = await env.invite()
        first, _ = await env.login(token)
        attempt_id = first.attempt.attempt_id
        before = await env.events(attempt_id)
        err = await refused(
            ErrorCode.SESSION_ACTIVE, env.sessions.open_with_invite(token, takeover=True)
        )
        assert err.extra["takeover_allowed"] is False
        assert err.extra["retry_after"] == 15
        assert await env.events(attempt_id) == before
        # Once the lease lapses, a new login (not a takeover) is let in.
        env.clock.advance(16)
        second, _ = await env.login(token)
        assert (await env.state(attempt_id)).live_session == second.session_id


@pytest.mark.parametrize("existing", [False, True], ids=["first-login", "resume"])
@pytest.mark.parametrize("interleaved", [False, True], ids=["atomic-backend", "yielding-backend"])
async def test_fifty_simultaneous_logins_leave_exactly_one_live_session(
    monkeypatch: pytest.MonkeyPatch, existing: bool, interleaved: bool
) -> None:
    async with environment(login_limit_per_minute=1000) as env:
        token = await env.invite()
        if existing:  # an attempt with history, nobody logged in
            _, claims = await env.login(token)
            await env.sessions.logout(claims)
        if interleaved:
            yielding(monkeypatch, env)
        results = await asyncio.gather(
            *(env.sessions.open_with_invite(token) for _ in range(50)), return_exceptions=True
        )
        winners = [r for r in results if isinstance(r, OpenedSession)]
        losers = [r for r in results if not isinstance(r, OpenedSession)]
        assert len(winners) == 1
        assert len(losers) == 49
        for loser in losers:
            assert isinstance(loser, DomainError), repr(loser)
            assert loser.code == ErrorCode.SESSION_ACTIVE
        winner = winners[0]
        attempt_id = winner.attempt.attempt_id
        state = await env.state(attempt_id)
        assert state.live_session == winner.session_id
        opened = [e for e in await env.events(attempt_id) if isinstance(e, SessionOpened)]
        assert len(opened) == (2 if existing else 1)
        assert (await env.c.live.lease_holder(attempt_id)).holder == winner.session_id
        claims = await env.sessions.authenticate(winner.session_token, winner.session_id)
        await env.sessions.heartbeat(claims)


@pytest.mark.parametrize("interleaved", [False, True], ids=["atomic-backend", "yielding-backend"])
async def test_fifty_simultaneous_takeovers_leave_exactly_one_writer(
    monkeypatch: pytest.MonkeyPatch, interleaved: bool
) -> None:
    async with environment(login_limit_per_minute=1000) as env:
        token = await env.invite()
        first, _ = await env.login(token)
        attempt_id = first.attempt.attempt_id
        if interleaved:
            yielding(monkeypatch, env)
        results = await asyncio.gather(
            *(env.sessions.open_with_invite(token, takeover=True) for _ in range(50)),
            return_exceptions=True,
        )
        opened = [r for r in results if isinstance(r, OpenedSession)]
        assert opened, results
        assert all(isinstance(r, OpenedSession | DomainError) for r in results), results
        state = await env.state(attempt_id)
        assert state.live_session is not None
        live = [o for o in opened if o.session_id == state.live_session]
        assert len(live) == 1
        # Exactly one of the sessions can write; every other one is told why.
        await env.sessions.start(
            await env.sessions.authenticate(live[0].session_token, live[0].session_id),
            "test",
            op_id="st",
        )
        for other in opened:
            if other is live[0]:
                continue
            claims = await env.sessions.authenticate(other.session_token, other.session_id)
            await refused(ErrorCode.SESSION_SUPERSEDED, env.sessions.next_question(claims))


async def test_after_concurrent_takeovers_the_live_session_holds_the_lease(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with environment(login_limit_per_minute=1000) as env:
        token = await env.invite()
        first, _ = await env.login(token)
        attempt_id = first.attempt.attempt_id
        # Only the live state's round trips vary (the store stays atomic).
        yielding(monkeypatch, env, jitter=random.Random(1), store=False)
        results = await asyncio.gather(
            *(env.sessions.open_with_invite(token, takeover=True) for _ in range(10))
        )
        state = await env.state(attempt_id)
        live = next(o for o in results if o.session_id == state.live_session)
        claims = await env.sessions.authenticate(live.session_token, live.session_id)
        await env.sessions.heartbeat(claims)  # the live session is not told it was superseded
        assert (await env.c.live.lease_holder(attempt_id)).holder == state.live_session


async def test_a_second_login_during_a_save_leaves_the_attempt_writable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with environment() as env:
        token = await env.invite()
        opened, claims = await env.login(token)
        attempt_id = opened.attempt.attempt_id
        await env.sessions.start(claims, "test", op_id="start")
        await env.sessions.next_question(claims)

        # The save's append is durable, but its acknowledgement is slow to come back
        # (a networked store, an fsync): another request for the attempt runs meanwhile.
        appended, release = asyncio.Event(), asyncio.Event()
        original = env.c.store.append

        async def slow_ack(*args: Any, **kwargs: Any) -> int:
            version = await original(*args, **kwargs)
            appended.set()
            await release.wait()
            return version

        monkeypatch.setattr(env.c.store, "append", slow_ack)

        async def second_tab() -> DomainError:
            await appended.wait()
            login = asyncio.create_task(env.sessions.open_with_invite(token))
            for _ in range(10):  # the login runs up to the attempt's lock and waits
                await asyncio.sleep(0)
            assert not login.done()
            release.set()
            with pytest.raises(DomainError) as info:
                await login
            return info.value

        saved, refusal = await asyncio.gather(
            env.sessions.save(claims, "capital-au", "canberra", "o1"), second_tab()
        )
        monkeypatch.setattr(env.c.store, "append", original)
        assert saved.saved
        assert refusal.code == ErrorCode.SESSION_ACTIVE
        # The attempt still takes writes, and the app's fold is the fold of the log.
        nxt = await env.sessions.next_question(claims)
        assert nxt.question is not None
        assert nxt.question.id == "primes"
        state = await env.state(attempt_id)
        assert state.test is not None
        assert state.test.answers == {"capital-au": "canberra"}


STALE_CACHE_BUG = (
    "BUG: app/attempts.py AttemptExecutor._execute_locked decides on the cached state "
    "without catching up first, also when the cache is not authoritative (shared store), "
    "and a refusal is never re-checked against the log, so an instance refuses what the "
    "log allows"
)


async def test_requests_of_one_session_may_alternate_between_instances(env: Env) -> None:
    (a, _), (b, _) = instance(env), instance(env)
    token = await env.invite()
    opened = await a.open_with_invite(token)
    claims = await b.authenticate(opened.session_token, opened.session_id)
    await a.start(claims, "test", op_id="st")
    answers: dict[str, AnswerValue] = {
        "capital-au": "canberra",
        "primes": ["n2", "n11"],
        "noble-gases": ["he"],
    }
    for i, (qid, answer) in enumerate(answers.items()):
        first, second = (a, b) if i % 2 == 0 else (b, a)
        shown = await first.next_question(claims)
        assert shown.question is not None
        assert shown.question.id == qid
        await second.save(claims, qid, answer, f"o{i}")
        await first.save(claims, qid, answer, f"o{i}")  # a retry on the other instance
    state = await env.state(opened.attempt.attempt_id)
    assert state.test is not None
    assert state.test.answers == answers
    assert state.test.delivered == list(answers)


async def test_any_instance_serves_a_new_session_of_an_attempt_it_has_cached(env: Env) -> None:
    (a, _), (b, _) = instance(env), instance(env)
    token = await env.invite()
    opened = await a.open_with_invite(token)
    claims = await a.authenticate(opened.session_token, opened.session_id)
    await a.start(claims, "test", op_id="st")
    await b.next_question(claims)  # instance B now has the attempt cached
    await a.logout(claims)
    again = await a.open_with_invite(token)  # a new session, opened on instance A
    fresh = await b.authenticate(again.session_token, again.session_id)
    saved = await b.save(fresh, "capital-au", "canberra", "o1")
    assert saved.saved


# ---------------------------------------------------------------- idle and tokens


async def test_an_idle_session_is_closed() -> None:
    # A lease longer than the idle timeout shows that the idle close frees it.
    async with environment(demo_raw(idle_timeout_s=60, lease_ttl_s=120)) as env:
        token = await env.invite()
        first, claims = await env.login(token)
        attempt_id = first.attempt.attempt_id
        # Activity keeps it alive.
        env.clock.advance(50)
        await env.sessions.view(claims)
        env.clock.advance(50)
        await env.sessions.authenticate(first.session_token, first.session_id)
        assert (await env.state(attempt_id)).live_session == first.session_id

        # 61 s without an answered request (an authentication alone is not one):
        # idle, and closed at the latest one activity write interval later.
        env.clock.advance(11)
        env.clock.advance(WRITE_EVERY_S)
        await refused(
            ErrorCode.SESSION_IDLE, env.sessions.authenticate(first.session_token, first.session_id)
        )
        events = await env.events(attempt_id)
        # Closed by the service's idle timeout, not by the candidate.
        assert events[-1] == SessionClosed(
            at=env.clock.now(), session_id=first.session_id, reason="idle", by="system"
        )
        assert (await env.state(attempt_id)).live_session is None
        # Asking again records nothing more.
        await refused(
            ErrorCode.SESSION_IDLE, env.sessions.authenticate(first.session_token, first.session_id)
        )
        assert await env.events(attempt_id) == events
        # The lease was released with it: a new login needs no takeover and no wait.
        await refused(ErrorCode.SESSION_CLOSED, env.sessions.view(claims))
        second, _ = await env.login(token)
        assert (await env.state(attempt_id)).live_session == second.session_id


async def test_an_expired_token_is_refused(env: Env) -> None:
    token = await env.invite()
    opened, _ = await env.login(token)
    env.clock.advance(env.c.settings.token_ttl_s + 1)
    await refused(
        ErrorCode.TOKEN_EXPIRED, env.sessions.authenticate(opened.session_token, opened.session_id)
    )


async def test_a_heartbeat_renews_the_token(env: Env) -> None:
    token = await env.invite()
    opened, claims = await env.login(token)
    env.clock.advance(env.c.settings.token_ttl_s - 10)
    beat = await env.sessions.heartbeat(claims)
    env.clock.advance(20)
    await refused(
        ErrorCode.TOKEN_EXPIRED, env.sessions.authenticate(opened.session_token, opened.session_id)
    )
    renewed = await env.sessions.authenticate(beat.session_token, opened.session_id)
    assert renewed.epoch == claims.epoch


async def test_a_token_for_another_session_or_a_forged_one_is_refused(env: Env) -> None:
    token = await env.invite()
    opened, _ = await env.login(token)
    other = await env.invite(email="bob@example.org")
    bob, _ = await env.login(other)
    await refused(
        ErrorCode.TOKEN_INVALID, env.sessions.authenticate(opened.session_token, bob.session_id)
    )
    await refused(ErrorCode.TOKEN_INVALID, env.sessions.authenticate(None, opened.session_id))
    await refused(ErrorCode.TOKEN_INVALID, env.sessions.authenticate("garbage", opened.session_id))
    forged = JwtTokens("x" * 48, env.clock).issue(
        SessionClaims(
            session_id=opened.session_id,
            attempt_id=opened.attempt.attempt_id,
            epoch=99,
            issued_at=env.clock.now(),
            expires_at=env.clock.now() + 600,
        )
    )
    await refused(ErrorCode.TOKEN_INVALID, env.sessions.authenticate(forged, opened.session_id))


# --------------------------------------------------------------------------- reaper


async def start_test_and_answer(env: Env, token: str) -> tuple[OpenedSession, SessionClaims, float]:
    opened, claims = await env.login(token)
    await env.sessions.start(claims, "test", op_id="start")
    question = await env.sessions.next_question(claims)
    assert question.question is not None
    assert question.question.id == "capital-au"
    await env.sessions.save(claims, "capital-au", "canberra", "o1")
    state = await env.state(opened.attempt.attempt_id)
    end = deadline(state, env.quiz)
    assert end == env.clock.now() + env.quiz.duration_s
    return opened, claims, end


async def test_the_reaper_submits_at_deadline_plus_grace_with_nobody_connected(env: Env) -> None:
    token = await env.invite()
    opened, claims, end = await start_test_and_answer(env, token)
    attempt_id = opened.attempt.attempt_id
    await env.sessions.logout(claims)
    grace = env.quiz.policies.grace_s

    env.advance_to(end + grace - 0.5)
    assert await env.c.reaper.run_once() == 0
    assert (await env.state(attempt_id)).status == "open"

    env.advance_to(end + grace)  # a write at this moment still counts: not yet
    assert await env.c.reaper.run_once() == 0
    assert (await env.state(attempt_id)).status == "open"

    env.advance_to(end + grace + 0.001)
    done = await asyncio.gather(env.c.reaper.run_once(), env.c.reaper.run_once())
    assert sorted(done) == [0, 1]
    submitted = [e for e in await env.events(attempt_id) if isinstance(e, Submitted)]
    assert len(submitted) == 1
    event = submitted[0]
    assert event.reason == "deadline"
    assert event.finished_at == end
    ids = [q.id for q in env.quiz.test.questions]
    sheet = score_section(env.quiz.test, ids, {"capital-au": "canberra"})
    assert (event.score, event.max_score) == (sheet.score, sheet.max_score) == (1.0, 13.0)
    row = await env.c.store.get_index(attempt_id)
    assert row is not None
    assert row.status == "submitted"
    assert row.due_at is None
    env.clock.advance(60)
    assert await env.c.reaper.run_once() == 0
    assert [e for e in await env.events(attempt_id) if isinstance(e, Submitted)] == submitted

    # Logging in afterwards shows the result, finished at the deadline.
    again, _ = await env.login(token)
    assert again.attempt.result is not None
    assert again.attempt.result.finished_at == end
    assert again.attempt.result.score == 1.0


async def test_the_reaper_submits_a_connected_attempt_and_ends_its_writes(env: Env) -> None:
    token = await env.invite()
    opened, claims, end = await start_test_and_answer(env, token)
    attempt_id = opened.attempt.attempt_id
    env.advance_to(end + env.quiz.policies.grace_s + 30)
    assert await env.c.reaper.run_once() == 1
    submitted = [e for e in await env.events(attempt_id) if isinstance(e, Submitted)]
    assert len(submitted) == 1
    assert submitted[0].finished_at == end
    assert submitted[0].reason == "deadline"
    # A write after deadline + grace is late, whether or not the reaper got to it.
    await refused(ErrorCode.DEADLINE_PASSED, env.sessions.save(claims, "capital-au", "perth", "o2"))
    view = await env.sessions.view(claims)  # the candidate sees the result
    assert view.result is not None
    assert view.result.finished_at == end
    assert view.time_remaining_s == 0.0
    state = await env.state(attempt_id)
    assert state.test is not None
    assert state.test.answers == {"capital-au": "canberra"}


@pytest.mark.parametrize("interleaved", [False, True], ids=["atomic-backend", "yielding-backend"])
async def test_two_instances_reaping_at_once_submit_exactly_once(
    monkeypatch: pytest.MonkeyPatch, interleaved: bool
) -> None:
    async with environment() as env:
        token = await env.invite()
        opened, claims, end = await start_test_and_answer(env, token)
        attempt_id = opened.attempt.attempt_id
        await env.sessions.logout(claims)
        # A second instance on the same store: its own cache, service and reaper.
        sessions, executor = instance(env)
        other = Reaper(env.c.store, sessions, env.clock)
        await executor.load(attempt_id)  # its cache is warm (and about to go stale)
        if interleaved:
            yielding(monkeypatch, env)
        env.advance_to(end + env.quiz.policies.grace_s + 0.001)
        done = await asyncio.gather(
            env.c.reaper.run_once(), other.run_once(), env.c.reaper.run_once(), other.run_once()
        )
        assert sum(done) == 1
        submitted = [e for e in await env.events(attempt_id) if isinstance(e, Submitted)]
        assert len(submitted) == 1
        assert submitted[0].finished_at == end
        assert (await env.state(attempt_id)).status == "submitted"


# ---------------------------------------------------------------------------- resume


async def test_logout_and_login_resume_the_same_question(env: Env) -> None:
    token = await env.invite()
    first, claims = await env.login(token)
    attempt_id = first.attempt.attempt_id
    await env.sessions.start(claims, "test", op_id="start")
    q1 = await env.sessions.next_question(claims)
    assert q1.question is not None
    await env.sessions.save(claims, q1.question.id, "canberra", "o1")
    q2 = await env.sessions.next_question(claims)
    assert q2.question is not None
    assert q2.question.id != q1.question.id
    await env.sessions.logout(claims)
    await refused(ErrorCode.SESSION_CLOSED, env.sessions.next_question(claims))

    second, again = await env.login(token)  # no wait: logout released the lease
    assert second.attempt.attempt_id == attempt_id
    assert second.attempt.current_question_id == q2.question.id
    assert second.attempt.answers == {q1.question.id: "canberra"}
    shown = await env.sessions.next_question(again)
    assert shown.question is not None
    assert shown.question.id == q2.question.id
    assert shown.question.number == 2
    delivered = [e for e in await env.events(attempt_id) if isinstance(e, QuestionDelivered)]
    assert [e.question_id for e in delivered] == [q1.question.id, q2.question.id]


async def test_a_save_retry_after_a_relogin_gets_the_first_result(env: Env) -> None:
    token = await env.invite()
    first, claims = await env.login(token)
    await env.sessions.start(claims, "test", op_id="start")
    await env.sessions.next_question(claims)
    saved = await env.sessions.save(claims, "capital-au", "canberra", "o1")
    await env.sessions.logout(claims)
    _, again = await env.login(token)
    retry = await env.sessions.save(again, "capital-au", "canberra", "o1")
    assert retry.replayed
    assert retry.version == saved.version
    await refused(ErrorCode.OP_ID_CONFLICT, env.sessions.save(again, "capital-au", "perth", "o1"))
    state = await env.state(first.attempt.attempt_id)
    assert state.test is not None
    assert state.test.answers == {"capital-au": "canberra"}
