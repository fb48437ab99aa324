"""A live session's lease: kept by its heartbeats (which also refresh its token
and record the question on screen), taken back after concurrent takeovers
raced on it, and freed by a logout.

The lease only decides whether a second login is refused; the epoch in the
attempt's log decides who writes (a superseded session is told so here, by the
domain's fencing rule)."""

from __future__ import annotations

from quizsession.api.models import HeartbeatResult
from quizsession.app.accommodations import AccommodationLookup
from quizsession.app.attempts import AttemptExecutor
from quizsession.app.metrics import HeartbeatGaps, Metrics
from quizsession.app.ports import Clock, LiveState, SessionClaims
from quizsession.app.sessions.activity import SessionActivity
from quizsession.app.sessions.reads import check_reader, load_for, session_ref
from quizsession.app.sessions.tokens import SessionTokens
from quizsession.domain.attempt_rules import require_live_session
from quizsession.domain.commands import CloseSession, ViewQuestion


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
        self, claims: SessionClaims, question_id: str | None = None, *, refresh: bool = True
    ) -> HeartbeatResult:
        """Keep the lease; record the question on screen (when it changed); a new
        token unless ``refresh`` is False (the live channel asks for one by
        elapsed time, not on every ping)."""
        loaded = await load_for(self._exec, claims)
        check_reader(claims, loaded)
        ttl = loaded.quiz.policies.lease_ttl_s
        grant = await self._live.acquire_lease(claims.attempt_id, claims.session_id, ttl)
        if not grant.acquired:
            # Another session holds the lease. The log decides who is live: if it
            # is still this session (concurrent takeovers raced on the lease), the
            # lease is taken back; otherwise this session was superseded.
            loaded = await self._exec.load(claims.attempt_id, fresh=True) or loaded
            check_reader(claims, loaded)
            await self._live.acquire_lease(claims.attempt_id, claims.session_id, ttl, force=True)
        state, quiz, now = loaded.state, loaded.quiz, self._clock.now()
        if question_id is not None and state.viewed != question_id:
            ref = session_ref(claims)
            outcome = await self._exec.execute(
                claims.attempt_id, lambda _l: ViewQuestion(session=ref, question_id=question_id)
            )
            state, quiz, now = outcome.state, outcome.quiz, outcome.now
        await self._activity.record(claims.session_id, quiz.policies.idle_timeout_s)
        gap = self._beats.beat(claims.session_id, self._clock.monotonic())
        if gap is not None:
            self._metrics.heartbeat_gap(gap)
        if refresh:
            token, expires = self._tokens.issue(claims.session_id, claims.attempt_id, claims.epoch)
        else:
            token, expires = "", claims.expires_at
        return HeartbeatResult(
            session_token=token,
            expires_at=expires,
            lease_ttl_s=ttl,
            attempt=await self._accommodations.view(state, quiz, now),
        )

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
