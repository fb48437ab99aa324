"""Logins: open a session on an attempt (creating the attempt on the first one)
with an invite token or for a backend's user, or resume it after a reconnect,
a crash or a takeover.

A new session takes the attempt's lease (refused while another live session
holds it, unless the quiz allows an explicit takeover) and a new epoch in the
attempt's log, which fences every older session off."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from quizsession.api.models import OpenedSession
from quizsession.app.accommodations import AccommodationLookup
from quizsession.app.attempts import AttemptExecutor, QuizCache
from quizsession.app.ports import Clock, InviteRepository, LiveState, Notice, QuizRepository
from quizsession.app.sessions.activity import SessionActivity
from quizsession.app.sessions.tokens import SessionTokens
from quizsession.domain.attempt_rules import require_in_window, require_not_voided
from quizsession.domain.commands import CreateAttempt, OpenSession
from quizsession.domain.errors import ErrorCode, refuse


class LoginStore(InviteRepository, QuizRepository, Protocol):
    """What a login reads from the durable store: invites and quizzes."""


@dataclass(frozen=True)
class LoginLimits:
    login_limit_per_minute: int = 30
    failed_login_limit_per_minute: int = 20


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def attempt_id_for(quiz_id: str, candidate_id: str) -> str:
    """One attempt per candidate and quiz, with an id derived from both so that
    concurrent first logins race on the store's primary key, not on a lookup."""
    digest = hashlib.sha256(f"{quiz_id}\x00{candidate_id}".encode()).hexdigest()
    return "a_" + digest[:24]


def new_session_id() -> str:
    return "s_" + secrets.token_urlsafe(16)


def _retry_after(expires_in: float) -> int:
    return max(1, int(expires_in + 0.999))


class SessionLogins:
    def __init__(
        self,
        store: LoginStore,
        live: LiveState,
        executor: AttemptExecutor,
        quizzes: QuizCache,
        clock: Clock,
        tokens: SessionTokens,
        activity: SessionActivity,
        limits: LoginLimits,
        accommodations: AccommodationLookup,
    ) -> None:
        self._accommodations = accommodations
        self._store = store
        self._live = live
        self._exec = executor
        self._quizzes = quizzes
        self._clock = clock
        self._tokens = tokens
        self._activity = activity
        self._limits = limits
        self._address_locks: dict[str, list[Any]] = {}

    async def open_with_invite(
        self, invite_token: str, *, takeover: bool = False, client: str = ""
    ) -> OpenedSession:
        key = f"login:fail:{client}"
        limit = self._limits.failed_login_limit_per_minute
        # Check, look up and count as one step per address (on this instance), so
        # a burst of concurrent guesses cannot all pass the check before any of
        # them is counted. Successful logins are never counted: an exam room
        # behind one address logs in freely.
        async with self._address_lock(client):
            if client and await self._live.exhausted(key, limit, 60):
                # An address that guessed wrong too often waits, whatever it sends.
                raise refuse(
                    ErrorCode.RATE_LIMITED, "too many failed logins; slow down", retry_after=60
                )
            invite = await self._store.find_invite(hash_token(invite_token))
            if invite is None:
                if client:
                    await self._live.hit(key, limit, 60)
                raise refuse(ErrorCode.INVITE_INVALID, "this invite is not valid")
        if self._clock.now() > invite.valid_until:
            raise refuse(ErrorCode.INVITE_EXPIRED, "this invite has expired")
        return await self._open(invite.quiz_id, invite.candidate_id, invite.name, takeover)

    @contextlib.asynccontextmanager
    async def _address_lock(self, client: str) -> AsyncIterator[None]:
        if not client:
            yield
            return
        entry = self._address_locks.get(client)
        if entry is None:
            entry = self._address_locks[client] = [asyncio.Lock(), 0]
        lock, _ = entry
        entry[1] += 1
        try:
            async with lock:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del self._address_locks[client]

    async def open_for_user(
        self, user_id: str, quiz_id: str, *, name: str = "", takeover: bool = False
    ) -> OpenedSession:
        return await self._open(quiz_id, user_id, name, takeover)

    async def _open(
        self, quiz_id: str, candidate_id: str, name: str, takeover: bool
    ) -> OpenedSession:
        if not await self._live.hit(
            f"login:cand:{quiz_id}:{candidate_id}", self._limits.login_limit_per_minute, 60
        ):
            raise refuse(ErrorCode.RATE_LIMITED, "too many logins; slow down", retry_after=60)
        attempt_id = attempt_id_for(quiz_id, candidate_id)
        loaded = await self._exec.load(attempt_id, fresh=True)
        if loaded is None:
            latest = await self._store.get_quiz(quiz_id)
            if latest is None:
                raise refuse(ErrorCode.NOT_FOUND, f"quiz {quiz_id} not found")
            # The latest version is read each time (another instance may have put a
            # newer one); its decoded definition is shared by all its attempts.
            quiz = self._quizzes.intern(latest)
            # Refuse before anything is written: a refused login creates nothing.
            require_in_window(quiz, self._clock.now())
        else:
            quiz = loaded.quiz
            require_not_voided(loaded.state)
        policies = quiz.policies
        session_id = new_session_id()
        grant = await self._live.acquire_lease(attempt_id, session_id, policies.lease_ttl_s)
        if not grant.acquired and grant.holder is None:
            # The live state cannot tell who holds the lease (it is recovering from
            # an outage): nobody gets in until it can, rather than two sessions.
            raise refuse(
                ErrorCode.LIVE_RECOVERING,
                "sessions are being re-checked after an outage; retry shortly",
                retry_after=_retry_after(grant.expires_in),
            )
        if not grant.acquired:
            allowed = policies.second_login == "takeover"
            if not (allowed and takeover):
                raise refuse(
                    ErrorCode.SESSION_ACTIVE,
                    "this quiz is open in another window or device",
                    retry_after=_retry_after(grant.expires_in),
                    takeover_allowed=allowed,
                )
            grant = await self._live.acquire_lease(
                attempt_id, session_id, policies.lease_ttl_s, force=True
            )
        previous = loaded.state.live_session if loaded is not None else None
        try:
            outcome = await self._exec.execute(
                attempt_id,
                lambda _l: OpenSession(session_id=session_id, takeover=takeover),
                create=lambda: (
                    quiz,
                    CreateAttempt(
                        attempt_id=attempt_id,
                        quiz_id=quiz.id,
                        quiz_version=quiz.version,
                        candidate_id=candidate_id,
                        candidate_name=name,
                    ),
                ),
            )
        except BaseException:
            await self._live.release_lease(attempt_id, session_id)
            raise
        if previous is not None and previous != session_id:
            await self._live.publish(
                Notice(
                    attempt_id=attempt_id,
                    kind="takeover",
                    data={"session_id": previous, "by_session_id": session_id},
                )
            )
        await self._activity.record(session_id, outcome.quiz.policies.idle_timeout_s)
        token, expires = self._tokens.issue(session_id, attempt_id, outcome.state.epoch)
        return OpenedSession(
            session_id=session_id,
            session_token=token,
            expires_at=expires,
            attempt=await self._accommodations.view(outcome.state, outcome.quiz, outcome.now),
        )
