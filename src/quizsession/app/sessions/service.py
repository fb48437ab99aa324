"""Candidate use cases, as one service the routes, the reaper and the admin use:
open a session, take the quiz, heartbeat, complete, log out.

A session holds the attempt's lease (live state) while it heartbeats and the
attempt's current epoch (the durable store). The lease decides whether a second
login is refused; the epoch decides whether a write is accepted, and only the
epoch matters for correctness.

``SessionService`` is a facade over one module per concept:

- ``logins``: logins and resume (invites, backends' users, takeover);
- ``tokens``: tokens and the idle check on every request;
- ``activity``: the idle timeout's record of activity;
- ``reads``: the view, the ticks, a delivered question;
- ``writes``: start, next question, save, complete, and their limits;
  the deadline's submit;
- ``navigation``: the section's map, opening a question, flags;
- ``leases``: heartbeats (the lease, the token refresh), logout.
"""

from __future__ import annotations

from dataclasses import dataclass

from quizsession.api.models import (
    CompleteResult,
    FlagResult,
    HeartbeatResult,
    NavigationView,
    NextQuestion,
    OpenedSession,
    SaveResult,
)
from quizsession.app.accommodations import AccommodationLookup
from quizsession.app.attempts import AttemptExecutor, Outcome, QuizCache
from quizsession.app.metrics import NO_METRICS, HeartbeatGaps, Metrics
from quizsession.app.ports import Clock, LiveState, SessionClaims, TokenCodec
from quizsession.app.sessions.activity import WRITE_EVERY_S, SessionActivity
from quizsession.app.sessions.leases import Pong, SessionLeases
from quizsession.app.sessions.logins import LoginLimits, LoginStore, SessionLogins
from quizsession.app.sessions.navigation import SessionNavigation
from quizsession.app.sessions.reads import SessionReads, Tick
from quizsession.app.sessions.tokens import SessionTokens
from quizsession.app.sessions.writes import SessionWrites, WriteLimits
from quizsession.app.views import AttemptView, QuestionView
from quizsession.domain.commands import SectionName
from quizsession.domain.events import AnswerValue

#: The live channel refreshes a session's token at most this often by default.
TOKEN_REFRESH_S = 60.0


@dataclass(frozen=True)
class SessionSettings:
    token_ttl_s: float = 900.0
    login_limit_per_minute: int = 30
    failed_login_limit_per_minute: int = 20
    write_limit_per_second: int = 20
    #: How often the live channel gives its session a new token (by elapsed
    #: time, whatever the heartbeat).
    token_refresh_s: float = TOKEN_REFRESH_S
    #: How often, at most, an instance writes a session's activity to the shared
    #: live state: the most an idle close may come late.
    activity_write_every_s: float = WRITE_EVERY_S


class SessionService:
    def __init__(
        self,
        store: LoginStore,
        live: LiveState,
        tokens: TokenCodec,
        executor: AttemptExecutor,
        quizzes: QuizCache,
        clock: Clock,
        settings: SessionSettings | None = None,
        *,
        local: LiveState | None = None,
        metrics: Metrics = NO_METRICS,
        accommodations: AccommodationLookup,
    ) -> None:
        settings = settings or SessionSettings()
        self.settings = settings
        beats = HeartbeatGaps()
        self.activity = SessionActivity(live, clock, write_every_s=settings.activity_write_every_s)
        self.tokens = SessionTokens(
            tokens,
            clock,
            ttl_s=settings.token_ttl_s,
            activity=self.activity,
            executor=executor,
            live=live,
            beats=beats,
        )
        self.logins = SessionLogins(
            store,
            live,
            executor,
            quizzes,
            clock,
            self.tokens,
            self.activity,
            LoginLimits(
                login_limit_per_minute=settings.login_limit_per_minute,
                failed_login_limit_per_minute=settings.failed_login_limit_per_minute,
            ),
            accommodations,
        )
        self.reads = SessionReads(executor, clock, self.activity, accommodations)
        self.writes = SessionWrites(
            executor,
            live,
            clock,
            self.activity,
            metrics,
            local=local or live,
            limits=WriteLimits(write_limit_per_second=settings.write_limit_per_second),
            accommodations=accommodations,
        )
        self.navigation = SessionNavigation(executor, clock, self.activity, self.writes)
        self.leases = SessionLeases(
            executor, live, clock, self.tokens, self.activity, beats, metrics, accommodations
        )

    @property
    def token_refresh_s(self) -> float:
        return self.settings.token_refresh_s

    # -- logins and tokens -----------------------------------------------------------

    async def open_with_invite(
        self, invite_token: str, *, takeover: bool = False, client: str = ""
    ) -> OpenedSession:
        return await self.logins.open_with_invite(invite_token, takeover=takeover, client=client)

    async def open_for_user(
        self, user_id: str, quiz_id: str, *, name: str = "", takeover: bool = False
    ) -> OpenedSession:
        return await self.logins.open_for_user(user_id, quiz_id, name=name, takeover=takeover)

    async def authenticate(self, token: str | None, session_id: str) -> SessionClaims:
        return await self.tokens.authenticate(token, session_id)

    # -- reads -----------------------------------------------------------------------

    async def view(self, claims: SessionClaims) -> AttemptView:
        return await self.reads.view(claims)

    async def tick(self, claims: SessionClaims, *, fresh: bool | None = None) -> Tick:
        return await self.reads.tick(claims, fresh=fresh)

    # -- navigation ------------------------------------------------------------------

    async def questions(self, claims: SessionClaims) -> NavigationView:
        """The running section's questions with their state (answered, flagged)."""
        return await self.navigation.navigation(claims)

    async def open_question(self, claims: SessionClaims, question_id: str) -> QuestionView:
        """A question of the running section (free navigation: delivered on its
        first opening; sequential: only a delivered one)."""
        return await self.navigation.open_question(claims, question_id)

    async def flag(
        self, claims: SessionClaims, question_id: str, flagged: bool, op_id: str
    ) -> FlagResult:
        return await self.navigation.flag(claims, question_id, flagged, op_id)

    # -- writes ----------------------------------------------------------------------

    async def start(
        self, claims: SessionClaims, section: SectionName, op_id: str | None
    ) -> AttemptView:
        return await self.writes.start(claims, section, op_id)

    async def next_question(self, claims: SessionClaims) -> NextQuestion:
        return await self.writes.next_question(claims)

    async def save(
        self,
        claims: SessionClaims,
        question_id: str,
        answer: AnswerValue,
        op_id: str,
        expected_version: int | None = None,
    ) -> SaveResult:
        return await self.writes.save(claims, question_id, answer, op_id, expected_version)

    async def complete(self, claims: SessionClaims, op_id: str | None) -> CompleteResult:
        return await self.writes.complete(claims, op_id)

    async def submit_due(self, attempt_id: str) -> Outcome | None:
        """Submit an attempt whose deadline + grace has passed (idempotent)."""
        return await self.writes.submit_due(attempt_id)

    # -- lease -----------------------------------------------------------------------

    async def heartbeat(
        self, claims: SessionClaims, question_id: str | None = None, *, refresh: bool = True
    ) -> HeartbeatResult:
        return await self.leases.heartbeat(claims, question_id, refresh=refresh)

    async def ping(
        self,
        claims: SessionClaims,
        question_id: str | None = None,
        *,
        refresh: bool = False,
        fresh: bool | None = None,
    ) -> Pong:
        """A live socket's heartbeat (answered with the clock, no view)."""
        return await self.leases.ping(claims, question_id, refresh=refresh, fresh=fresh)

    async def logout(self, claims: SessionClaims) -> None:
        await self.leases.logout(claims)
