"""A live session's lease: kept by its heartbeats (which also refresh its token
and record the question on screen), taken back after concurrent takeovers
raced on it, and freed by a logout. A heartbeat is one call to the live state:
the lease renewal carries the session's activity record when one is due.

The lease only decides whether a second login is refused; the epoch in the
attempt's log decides who writes (a superseded session is told so here, by the
domain's fencing rule)."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from quizsession.api.models import HeartbeatResult
from quizsession.app.accommodations import AccommodationLookup
from quizsession.app.attempts import AttemptExecutor
from quizsession.app.metrics import HeartbeatGaps, Metrics
from quizsession.app.ports import Clock, LiveState, SessionClaims
from quizsession.app.sessions.activity import SessionActivity
from quizsession.app.sessions.reads import check_reader, load_for, session_ref
from quizsession.app.sessions.tokens import SessionTokens
from quizsession.app.views import time_remaining
from quizsession.domain.attempt import AttemptState, deadline
from quizsession.domain.attempt_rules import require_live_session
from quizsession.domain.commands import CloseSession, ViewQuestion
from quizsession.domain.quiz import Quiz


class Pong(msgspec.Struct, frozen=True, kw_only=True):
    """What a live socket's ping gets back: the clock (as a tick has it) and,
    about once a minute, a new token ("" otherwise)."""

    server_time: float
    deadline: float | None
    time_remaining_s: float | None
    session_token: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class _Beat:
    state: AttemptState
    quiz: Quiz
    now: float
    lease_ttl_s: float


class SessionLeases:
    def __init__(
        self,
        executor: AttemptExecutor,
        live: LiveState,
        clock: Clock,
        tokens: SessionTokens,
        activity: SessionActivity,
        beats: HeartbeatGaps,
        metrics: Metrics,
        accommodations: AccommodationLookup,
    ) -> None:
        self._accommodations = accommodations
        self._exec = executor
        self._live = live
        self._clock = clock
        self._tokens = tokens
        self._activity = activity
        self._beats = beats
        self._metrics = metrics

    async def heartbeat(
        self,
        claims: SessionClaims,
        question_id: str | None = None,
        *,
        refresh: bool = True,
        fresh: bool | None = None,
    ) -> HeartbeatResult:
        """Keep the lease; record the question on screen (when it changed); a new
        token unless ``refresh`` is False (the live channel asks for one by
        elapsed time, not on every ping)."""
        beat = await self._beat(claims, question_id, fresh)
        token, expires = self._token(claims, refresh)
        return HeartbeatResult(
            session_token=token,
            expires_at=expires,
            lease_ttl_s=beat.lease_ttl_s,
            attempt=await self._accommodations.view(beat.state, beat.quiz, beat.now),
        )

    async def ping(
        self,
        claims: SessionClaims,
        question_id: str | None = None,
        *,
        refresh: bool = False,
        fresh: bool | None = None,
    ) -> Pong:
        """A live socket's heartbeat: ``heartbeat`` answered with the clock only
        (no attempt view); ``fresh=False`` lets it use the cached attempt
        (``app.live.LiveReads`` says when)."""
        beat = await self._beat(claims, question_id, fresh)
        token, expires = self._token(claims, refresh)
        state, quiz, now = beat.state, beat.quiz, beat.now
        return Pong(
            server_time=now,
            deadline=deadline(state, quiz),
            time_remaining_s=time_remaining(state, quiz, now),
            session_token=token,
            expires_at=expires,
        )

    def _token(self, claims: SessionClaims, refresh: bool) -> tuple[str, float]:
        if refresh:
            return self._tokens.issue(claims.session_id, claims.attempt_id, claims.epoch)
        return "", claims.expires_at

    async def _beat(
        self, claims: SessionClaims, question_id: str | None, fresh: bool | None
    ) -> _Beat:
        """The lease kept (and the session's activity recorded with it: one call
        to the live state), the question on screen recorded when it changed."""
        loaded = await load_for(self._exec, claims, fresh=fresh)
        check_reader(claims, loaded)
        policies = loaded.quiz.policies
        ttl, idle = policies.lease_ttl_s, policies.idle_timeout_s
        at = self._clock.monotonic()
        activity_ttl = self._activity.due(claims.session_id, idle)
        grant = await self._live.acquire_lease(
            claims.attempt_id, claims.session_id, ttl, activity_ttl_s=activity_ttl
        )
        if not grant.acquired:
            # Another session holds the lease. The log decides who is live: if it
            # is still this session (concurrent takeovers raced on the lease), the
            # lease is taken back; otherwise this session was superseded.
            loaded = await self._exec.load(claims.attempt_id, fresh=True) or loaded
            check_reader(claims, loaded)
            at = self._clock.monotonic()
            await self._live.acquire_lease(
                claims.attempt_id, claims.session_id, ttl, force=True, activity_ttl_s=activity_ttl
            )
        if activity_ttl is not None:
            self._activity.written(claims.session_id, idle, at)
        state, quiz, now = loaded.state, loaded.quiz, self._clock.now()
        if question_id is not None and state.viewed != question_id:
            ref = session_ref(claims)
            outcome = await self._exec.execute(
                claims.attempt_id, lambda _l: ViewQuestion(session=ref, question_id=question_id)
            )
            state, quiz, now = outcome.state, outcome.quiz, outcome.now
        gap = self._beats.beat(claims.session_id, self._clock.monotonic())
        if gap is not None:
            self._metrics.heartbeat_gap(gap)
        return _Beat(state=state, quiz=quiz, now=now, lease_ttl_s=ttl)

    async def logout(self, claims: SessionClaims) -> None:
        ref = session_ref(claims)
        outcome = await self._exec.execute(
            claims.attempt_id, lambda _l: CloseSession(session=ref, reason="logout")
        )
        if not outcome.events:
            # Already ended (logged out, superseded, idle): refused like every
            # other request of that session (and nothing changed).
            require_live_session(outcome.state, claims.session_id, claims.epoch)
        await self._live.release_lease(claims.attempt_id, claims.session_id)
        self._activity.forget(claims.session_id)
        self._beats.forget(claims.session_id)
