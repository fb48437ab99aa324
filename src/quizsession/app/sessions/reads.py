"""What a live session reads: the attempt view and the clock (the live channel's
ticks); questions are opened through ``navigation``. Reads never write the
attempt's log; an ended session is refused its reads like its writes (the
domain's fencing rule, ``attempt_rules.require_live_session``).

Also the small helpers the other session modules share: loading the attempt of
a session, and the session's reference for commands."""

from __future__ import annotations

import msgspec

from quizsession.app.accommodations import AccommodationLookup
from quizsession.app.attempts import AttemptExecutor, Loaded
from quizsession.app.ports import Clock, SessionClaims
from quizsession.app.sessions.activity import SessionActivity
from quizsession.app.views import (
    AttemptView,
    time_remaining,
)
from quizsession.domain.attempt import deadline
from quizsession.domain.attempt_rules import require_live_session
from quizsession.domain.commands import SessionRef
from quizsession.domain.errors import ErrorCode, refuse


class Tick(msgspec.Struct, frozen=True, kw_only=True):
    type: str = "tick"
    server_time: float
    deadline: float | None
    time_remaining_s: float | None
    status: str
    state: str
    version: int


def session_ref(claims: SessionClaims) -> SessionRef:
    return SessionRef(session_id=claims.session_id, epoch=claims.epoch)


async def load_for(
    executor: AttemptExecutor, claims: SessionClaims, *, fresh: bool | None = None
) -> Loaded:
    """The session's attempt (``fresh`` as ``AttemptExecutor.load`` has it:
    False lets a live socket whose notices are flowing use the cached state)."""
    loaded = await executor.load(claims.attempt_id, fresh=fresh)
    if loaded is None:
        raise refuse(ErrorCode.NOT_FOUND, "no such attempt")
    return loaded


def check_reader(claims: SessionClaims, loaded: Loaded) -> None:
    """The session of ``claims`` is the attempt's live session."""
    require_live_session(loaded.state, claims.session_id, claims.epoch)


class SessionReads:
    def __init__(
        self,
        executor: AttemptExecutor,
        clock: Clock,
        activity: SessionActivity,
        accommodations: AccommodationLookup,
    ) -> None:
        self._exec = executor
        self._clock = clock
        self._activity = activity
        self._accommodations = accommodations

    async def view(self, claims: SessionClaims) -> AttemptView:
        loaded = await load_for(self._exec, claims)
        check_reader(claims, loaded)
        await self._activity.record(claims.session_id, loaded.quiz.policies.idle_timeout_s)
        return await self._accommodations.view(loaded.state, loaded.quiz, self._clock.now())

    async def tick(self, claims: SessionClaims, *, fresh: bool | None = None) -> Tick:
        """The clock as the server sees it, for the live channel's ticks (cheap: no
        answers; not the candidate's activity). ``fresh=False``: from the cached
        attempt, with no store read (``app.live.LiveReads`` says when)."""
        loaded = await load_for(self._exec, claims, fresh=fresh)
        check_reader(claims, loaded)
        now = self._clock.now()
        state, quiz = loaded.state, loaded.quiz
        return Tick(
            server_time=now,
            deadline=deadline(state, quiz),
            time_remaining_s=time_remaining(state, quiz, now),
            status=state.status,
            state=state.section_state(quiz),
            version=state.version,
        )
