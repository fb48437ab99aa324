"""Session tokens: issuing them, and checking the one a request carries (its
signature, its expiry, the session it names, and the session's idle timeout).
Authenticating never touches the durable store, except to record the idle close
of a session found idle."""

from __future__ import annotations

import contextlib

from quizsession.app.attempts import AttemptExecutor
from quizsession.app.metrics import HeartbeatGaps
from quizsession.app.ports import Clock, LiveState, SessionClaims, TokenCodec, TokenError
from quizsession.app.sessions.activity import SessionActivity
from quizsession.domain.commands import CloseSession, SessionRef
from quizsession.domain.errors import DomainError, ErrorCode, refuse

#: Who closes an idle session: the service's idle timeout, not the candidate.
IDLE_CLOSED_BY = "system"


class SessionTokens:
    def __init__(
        self,
        codec: TokenCodec,
        clock: Clock,
        *,
        ttl_s: float,
        activity: SessionActivity,
        executor: AttemptExecutor,
        live: LiveState,
        beats: HeartbeatGaps,
    ) -> None:
        self._codec = codec
        self._clock = clock
        self._ttl_s = ttl_s
        self._activity = activity
        self._exec = executor
        self._live = live
        self._beats = beats

    def issue(self, session_id: str, attempt_id: str, epoch: int) -> tuple[str, float]:
        """A token for the session at ``epoch`` and when it expires."""
        now = self._clock.now()
        expires = now + self._ttl_s
        claims = SessionClaims(
            session_id=session_id,
            attempt_id=attempt_id,
            epoch=epoch,
            issued_at=now,
            expires_at=expires,
        )
        return self._codec.issue(claims), expires

    async def authenticate(self, token: str | None, session_id: str) -> SessionClaims:
        """The claims of a valid token for ``session_id``, with the idle timeout
        enforced: the first request after it closes the session."""
        if not token:
            raise refuse(ErrorCode.TOKEN_INVALID, "a session token is required")
        try:
            claims = self._codec.verify(token)
        except TokenError as exc:
            if exc.expired:
                raise refuse(ErrorCode.TOKEN_EXPIRED, "the session token has expired") from exc
            raise refuse(ErrorCode.TOKEN_INVALID, "the session token is not valid") from exc
        if claims.session_id != session_id:
            raise refuse(ErrorCode.TOKEN_INVALID, "this token belongs to another session")
        if await self._activity.idle(session_id):
            await self._close_idle(claims)
            raise refuse(ErrorCode.SESSION_IDLE, "the session was idle too long; log in again")
        return claims

    async def _close_idle(self, claims: SessionClaims) -> None:
        """Record the idle close (by the service's idle timeout) and free the
        lease, so that a new login needs no takeover and no wait."""
        ref = SessionRef(session_id=claims.session_id, epoch=claims.epoch)
        command = CloseSession(session=ref, reason="idle", by=IDLE_CLOSED_BY)
        with contextlib.suppress(DomainError):  # already ended: nothing to record
            await self._exec.execute(claims.attempt_id, lambda _l: command)
        await self._live.release_lease(claims.attempt_id, claims.session_id)
        self._activity.forget(claims.session_id)
        self._beats.forget(claims.session_id)
