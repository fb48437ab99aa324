"""Candidate use cases: open a session, take the quiz, heartbeat, complete, log out.

A session holds the attempt's lease (live state) while it heartbeats and the
attempt's current epoch (the durable store). The lease decides whether a second
login is refused; the epoch decides whether a write is accepted, and only the
epoch matters for correctness.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from quizsession.app import errors as AE
from quizsession.app.attempts import AttemptExecutor, Loaded, Outcome, QuizCache
from quizsession.app.metrics import NO_METRICS, HeartbeatGaps, Metrics
from quizsession.app.ports import (
    Clock,
    LiveState,
    Notice,
    SessionClaims,
    Store,
    TokenCodec,
    TokenError,
)
from quizsession.app.views import (
    AttemptView,
    QuestionView,
    attempt_view,
    question_view,
    time_remaining,
)
from quizsession.domain import errors as E
from quizsession.domain.attempt import deadline
from quizsession.domain.commands import (
    AttemptCommand,
    CloseSession,
    CreateAttempt,
    DeliverNext,
    FinishPractice,
    OpenSession,
    SaveAnswer,
    SectionName,
    SessionRef,
    StartSection,
    Submit,
    ViewQuestion,
)
from quizsession.domain.errors import DomainError
from quizsession.domain.events import AnswerValue, Submitted


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def attempt_id_for(quiz_id: str, candidate_id: str) -> str:
    """One attempt per candidate and quiz, with an id derived from both so that
    concurrent first logins race on the store's primary key, not on a lookup."""
    digest = hashlib.sha256(f"{quiz_id}\x00{candidate_id}".encode()).hexdigest()
    return "a_" + digest[:24]


def new_session_id() -> str:
    return "s_" + secrets.token_urlsafe(16)


TOUCH_EVERY_S = 15.0  # idle tracking resolution (the idle timeout is minutes)


class OpenedSession(msgspec.Struct, frozen=True, kw_only=True):
    session_id: str
    session_token: str
    expires_at: float
    attempt: AttemptView


class SaveResult(msgspec.Struct, frozen=True, kw_only=True):
    saved: bool
    question_id: str
    version: int
    replayed: bool
    server_time: float
    deadline: float | None
    time_remaining_s: float | None


class HeartbeatResult(msgspec.Struct, frozen=True, kw_only=True):
    session_token: str  # "" when the caller asked for no new token
    expires_at: float
    lease_ttl_s: float
    attempt: AttemptView


class NextQuestion(msgspec.Struct, frozen=True, kw_only=True):
    question: QuestionView | None
    remaining: int  # questions not yet delivered in this section
    server_time: float
    time_remaining_s: float | None


class Tick(msgspec.Struct, frozen=True, kw_only=True):
    type: str = "tick"
    server_time: float
    deadline: float | None
    time_remaining_s: float | None
    status: str
    state: str
    version: int


class CompleteResult(msgspec.Struct, frozen=True, kw_only=True):
    attempt: AttemptView
    score: float | None
    max_score: float | None


@dataclass(frozen=True)
class SessionSettings:
    token_ttl_s: float = 900.0
    login_limit_per_minute: int = 30
    failed_login_limit_per_minute: int = 20
    write_limit_per_second: int = 20


class SessionService:
    def __init__(
        self,
        store: Store,
        live: LiveState,
        tokens: TokenCodec,
        executor: AttemptExecutor,
        quizzes: QuizCache,
        clock: Clock,
        settings: SessionSettings | None = None,
        *,
        local: LiveState | None = None,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._beats = HeartbeatGaps()
        self._live = live
        # Per-instance live state for what needs no coordination: per-session
        # write limits (a session's requests may land on any instance; the limit
        # is per instance then) — saves a shared-state round trip per write.
        self._local = local or live
        # Sessions this instance touched recently (monotonic time): an active
        # session is not idle, so neither its touch nor its idle check needs the
        # shared live state more than once per TOUCH_EVERY_S.
        self._touched: dict[str, float] = {}
        self._address_locks: dict[str, list[Any]] = {}
        self._tokens = tokens
        self._exec = executor
        self._quizzes = quizzes
        self._clock = clock
        self._settings = settings or SessionSettings()

    # -- opening ---------------------------------------------------------------

    async def open_with_invite(
        self, invite_token: str, *, takeover: bool = False, client: str = ""
    ) -> OpenedSession:
        key = f"login:fail:{client}"
        limit = self._settings.failed_login_limit_per_minute
        # Check, look up and count as one step per address (on this instance), so
        # a burst of concurrent guesses cannot all pass the check before any of
        # them is counted. Successful logins are never counted: an exam room
        # behind one address logs in freely.
        async with self._address_lock(client):
            if client and await self._live.exhausted(key, limit, 60):
                # An address that guessed wrong too often waits, whatever it sends.
                raise AE.refuse(
                    AE.RATE_LIMITED, "too many failed logins; slow down", retry_after=60
                )
            invite = await self._store.find_invite(hash_token(invite_token))
            if invite is None:
                if client:
                    await self._live.hit(key, limit, 60)
                raise AE.refuse(AE.INVITE_INVALID, "this invite is not valid")
        if self._clock.now() > invite.valid_until:
            raise AE.refuse(AE.INVITE_EXPIRED, "this invite has expired")
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
            f"login:cand:{quiz_id}:{candidate_id}", self._settings.login_limit_per_minute, 60
        ):
            raise AE.refuse(AE.RATE_LIMITED, "too many logins; slow down", retry_after=60)
        attempt_id = attempt_id_for(quiz_id, candidate_id)
        loaded = await self._exec.load(attempt_id, fresh=True)
        if loaded is None:
            latest = await self._store.get_quiz(quiz_id)
            if latest is None:
                raise AE.refuse(AE.NOT_FOUND, f"quiz {quiz_id} not found")
            # The latest version is read each time (another instance may have put a
            # newer one); its decoded definition is shared by all its attempts.
            quiz = self._quizzes.intern(latest)
            # Refuse before anything is written: a refused login creates nothing.
            now = self._clock.now()
            if quiz.opens_at is not None and now < quiz.opens_at:
                raise DomainError(
                    "this quiz is not open yet", code=E.QUIZ_NOT_OPEN, opens_at=quiz.opens_at
                )
            if quiz.closes_at is not None and now >= quiz.closes_at:
                raise DomainError(
                    "this quiz is closed", code=E.QUIZ_CLOSED, closes_at=quiz.closes_at
                )
        else:
            quiz = loaded.quiz
            if loaded.state.status == "voided":
                raise DomainError("this attempt was voided", code=E.ATTEMPT_VOIDED)
        policies = quiz.policies
        session_id = new_session_id()
        grant = await self._live.acquire_lease(attempt_id, session_id, policies.lease_ttl_s)
        if not grant.acquired and grant.holder is None:
            # The live state cannot tell who holds the lease (it is recovering from
            # an outage): nobody gets in until it can, rather than two sessions.
            raise AE.refuse(
                AE.LIVE_RECOVERING,
                "sessions are being re-checked after an outage; retry shortly",
                retry_after=max(1, int(grant.expires_in + 0.999)),
            )
        if not grant.acquired:
            allowed = policies.second_login == "takeover"
            if not (allowed and takeover):
                raise DomainError(
                    "this quiz is open in another window or device",
                    code=E.SESSION_ACTIVE,
                    retry_after=max(1, int(grant.expires_in + 0.999)),
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
        await self._live.touch_session(session_id, policies.idle_timeout_s)
        token, expires = self._issue(session_id, attempt_id, outcome.state.epoch)
        return OpenedSession(
            session_id=session_id,
            session_token=token,
            expires_at=expires,
            attempt=attempt_view(outcome.state, outcome.quiz, outcome.now),
        )

    def _issue(self, session_id: str, attempt_id: str, epoch: int) -> tuple[str, float]:
        now = self._clock.now()
        expires = now + self._settings.token_ttl_s
        claims = SessionClaims(
            session_id=session_id,
            attempt_id=attempt_id,
            epoch=epoch,
            issued_at=now,
            expires_at=expires,
        )
        return self._tokens.issue(claims), expires

    # -- authentication ----------------------------------------------------------

    async def authenticate(self, token: str | None, session_id: str) -> SessionClaims:
        """The claims of a valid token for ``session_id``, with the idle timeout
        enforced. Never touches the store."""
        if not token:
            raise AE.refuse(AE.TOKEN_INVALID, "a session token is required")
        try:
            claims = self._tokens.verify(token)
        except TokenError as exc:
            if exc.expired:
                raise AE.refuse(AE.TOKEN_EXPIRED, "the session token has expired") from exc
            raise AE.refuse(AE.TOKEN_INVALID, "the session token is not valid") from exc
        if claims.session_id != session_id:
            raise AE.refuse(AE.TOKEN_INVALID, "this token belongs to another session")
        if self._recently_touched(session_id):
            return claims
        seen = await self._live.session_seen(session_id)
        if seen is False:
            await self._close_idle(claims)
            raise AE.refuse(AE.SESSION_IDLE, "the session was idle too long; log in again")
        return claims

    async def _close_idle(self, claims: SessionClaims) -> None:
        ref = SessionRef(session_id=claims.session_id, epoch=claims.epoch)
        with contextlib.suppress(DomainError):  # already ended: nothing to record
            await self._exec.execute(
                claims.attempt_id, lambda _l: CloseSession(session=ref, reason="idle")
            )
        await self._live.release_lease(claims.attempt_id, claims.session_id)

    def _recently_touched(self, session_id: str) -> bool:
        at = self._touched.get(session_id)
        return at is not None and self._clock.monotonic() - at < TOUCH_EVERY_S

    async def _touch(self, claims: SessionClaims, loaded: Loaded) -> None:
        if self._recently_touched(claims.session_id):
            return
        await self._live.touch_session(claims.session_id, loaded.quiz.policies.idle_timeout_s)
        if len(self._touched) > 200_000:
            horizon = self._clock.monotonic() - TOUCH_EVERY_S
            self._touched = {k: v for k, v in self._touched.items() if v >= horizon}
        self._touched[claims.session_id] = self._clock.monotonic()

    async def _loaded(self, claims: SessionClaims) -> Loaded:
        loaded = await self._exec.load(claims.attempt_id)
        if loaded is None:
            raise AE.refuse(AE.NOT_FOUND, "no such attempt")
        return loaded

    def _check_reader(self, claims: SessionClaims, loaded: Loaded) -> None:
        """Reads by an ended session are refused like its writes (a stale tab is
        told plainly rather than shown a view it cannot act on)."""
        state = loaded.state
        if claims.epoch == state.epoch and state.live_session == claims.session_id:
            return
        if (
            claims.epoch < state.epoch
            or state.ended_sessions.get(claims.session_id) == "superseded"
        ):
            raise DomainError(
                "another session has taken over this attempt", code=E.SESSION_SUPERSEDED
            )
        raise DomainError("this session has ended", code=E.SESSION_CLOSED)

    async def _run(
        self, claims: SessionClaims, make: Callable[[Loaded], AttemptCommand]
    ) -> Outcome:
        try:
            return await self._exec.execute(claims.attempt_id, make)
        except DomainError as exc:
            if exc.code == E.DEADLINE_PASSED:
                await self.submit_due(claims.attempt_id)
            raise

    # -- the flow ----------------------------------------------------------------

    async def view(self, claims: SessionClaims) -> AttemptView:
        loaded = await self._loaded(claims)
        self._check_reader(claims, loaded)
        await self._touch(claims, loaded)
        return attempt_view(loaded.state, loaded.quiz, self._clock.now())

    async def tick(self, claims: SessionClaims) -> Tick:
        """The clock as the server sees it, for the live channel's ticks (cheap: no
        answers, no touch)."""
        loaded = await self._loaded(claims)
        self._check_reader(claims, loaded)
        now = self._clock.now()
        state, quiz = loaded.state, loaded.quiz
        end = deadline(state, quiz)
        remaining = time_remaining(state, quiz, now)
        return Tick(
            server_time=now,
            deadline=end,
            time_remaining_s=remaining,
            status=state.status,
            state=state.section_state(quiz),
            version=state.version,
        )

    async def start(
        self, claims: SessionClaims, section: SectionName, op_id: str | None
    ) -> AttemptView:
        ref = _ref(claims)
        seed = secrets.randbits(31)
        outcome = await self._run(
            claims, lambda _l: StartSection(session=ref, section=section, seed=seed, op_id=op_id)
        )
        await self._touch(claims, outcome_loaded(outcome))
        return attempt_view(outcome.state, outcome.quiz, outcome.now)

    async def next_question(self, claims: SessionClaims) -> NextQuestion:
        ref = _ref(claims)
        outcome = await self._run(claims, lambda _l: DeliverNext(session=ref))
        await self._touch(claims, outcome_loaded(outcome))
        state, quiz = outcome.state, outcome.quiz
        view = attempt_view(state, quiz, outcome.now)
        section = state.current_section()
        question = None
        remaining = 0
        if section is not None:
            progress = state.progress(section)
            definition = quiz.section(section)
            assert progress is not None
            assert definition is not None
            current = progress.current_question()
            if current is not None:
                found = definition.question(current)
                assert found is not None
                question = question_view(state, quiz, section, found)
            remaining = max(0, view.total - len(progress.delivered))
        return NextQuestion(
            question=question,
            remaining=remaining,
            server_time=outcome.now,
            time_remaining_s=view.time_remaining_s,
        )

    async def delivered_question(self, claims: SessionClaims, question_id: str) -> QuestionView:
        """A question already delivered in the running section, with the answer
        saved so far (to go back to it). Never delivers anything new."""
        loaded = await self._loaded(claims)
        self._check_reader(claims, loaded)
        state, quiz = loaded.state, loaded.quiz
        section = state.current_section()
        if section is None:
            raise DomainError("no section is running", code=E.SECTION_NOT_STARTED)
        progress = state.progress(section)
        definition = quiz.section(section)
        assert progress is not None
        assert definition is not None
        found = definition.question(question_id)
        if found is None:
            raise DomainError("no such question in this section", code=E.QUESTION_UNKNOWN)
        if question_id not in progress.delivered_set:
            raise DomainError(
                "this question has not been delivered to you", code=E.QUESTION_NOT_DELIVERED
            )
        await self._touch(claims, loaded)
        return question_view(state, quiz, section, found)

    async def save(
        self,
        claims: SessionClaims,
        question_id: str,
        answer: AnswerValue,
        op_id: str,
        expected_version: int | None = None,
    ) -> SaveResult:
        if not await self._local.hit(
            f"write:{claims.session_id}", self._settings.write_limit_per_second, 1
        ):
            raise AE.refuse(AE.RATE_LIMITED, "too many writes; slow down", retry_after=1)
        ref = _ref(claims)
        outcome = await self._run(
            claims,
            lambda _l: SaveAnswer(
                session=ref,
                question_id=question_id,
                answer=answer,
                op_id=op_id,
                expected_version=expected_version,
            ),
        )
        state = outcome.state
        if outcome.events:
            self._metrics.saved()
        record = state.ops.get(op_id)
        version = record.version if record is not None else state.version
        await self._touch(claims, outcome_loaded(outcome))
        end = deadline(state, outcome.quiz)
        remaining = time_remaining(state, outcome.quiz, outcome.now)
        return SaveResult(
            saved=True,
            question_id=question_id,
            version=version,
            replayed=not outcome.events,
            server_time=outcome.now,
            deadline=end,
            time_remaining_s=remaining,
        )

    async def heartbeat(
        self, claims: SessionClaims, question_id: str | None = None, *, refresh: bool = True
    ) -> HeartbeatResult:
        loaded = await self._loaded(claims)
        self._check_reader(claims, loaded)
        ttl = loaded.quiz.policies.lease_ttl_s
        grant = await self._live.acquire_lease(claims.attempt_id, claims.session_id, ttl)
        if not grant.acquired:
            # Another session holds the lease. The log decides who is live: if it
            # is still this session (concurrent takeovers raced on the lease), the
            # lease is taken back; otherwise this session was superseded.
            loaded = await self._exec.load(claims.attempt_id, fresh=True) or loaded
            self._check_reader(claims, loaded)
            await self._live.acquire_lease(claims.attempt_id, claims.session_id, ttl, force=True)
        state, quiz, now = loaded.state, loaded.quiz, self._clock.now()
        if question_id is not None and state.viewed != question_id:
            ref = _ref(claims)
            outcome = await self._run(
                claims, lambda _l: ViewQuestion(session=ref, question_id=question_id)
            )
            state, quiz, now = outcome.state, outcome.quiz, outcome.now
        await self._touch(claims, loaded)
        gap = self._beats.beat(claims.session_id, self._clock.monotonic())
        if gap is not None:
            self._metrics.heartbeat_gap(gap)
        if refresh:
            token, expires = self._issue(claims.session_id, claims.attempt_id, claims.epoch)
        else:  # the live channel refreshes the token about once a minute, not per ping
            token, expires = "", claims.expires_at
        return HeartbeatResult(
            session_token=token,
            expires_at=expires,
            lease_ttl_s=ttl,
            attempt=attempt_view(state, quiz, now),
        )

    async def complete(self, claims: SessionClaims, op_id: str | None) -> CompleteResult:
        ref = _ref(claims)
        loaded = await self._loaded(claims)
        if loaded.state.current_section() == "practice":
            outcome = await self._run(claims, lambda _l: FinishPractice(session=ref, op_id=op_id))
        else:
            outcome = await self._run(
                claims, lambda _l: Submit(reason="candidate", session=ref, op_id=op_id)
            )
            await self._announce_end(outcome)
        view = attempt_view(outcome.state, outcome.quiz, outcome.now)
        result = view.result
        return CompleteResult(
            attempt=view,
            score=result.score if result else None,
            max_score=result.max_score if result else None,
        )

    async def logout(self, claims: SessionClaims) -> None:
        ref = _ref(claims)
        await self._exec.execute(
            claims.attempt_id, lambda _l: CloseSession(session=ref, reason="logout")
        )
        await self._live.release_lease(claims.attempt_id, claims.session_id)
        self._beats.forget(claims.session_id)

    # -- deadline ------------------------------------------------------------------

    async def submit_due(self, attempt_id: str) -> Outcome | None:
        """Submit an attempt whose deadline + grace has passed (idempotent)."""
        try:
            outcome = await self._exec.execute(
                attempt_id, lambda _l: Submit(reason="deadline", by="deadline")
            )
        except DomainError as exc:
            if exc.code in (E.NOT_ALLOWED, E.ATTEMPT_VOIDED, E.SECTION_NOT_STARTED):
                return None
            raise
        await self._announce_end(outcome)
        return outcome

    async def _announce_end(self, outcome: Outcome) -> None:
        submitted = [e for e in outcome.events if isinstance(e, Submitted)]
        if not submitted:
            return
        event = submitted[0]
        await self._live.publish(
            Notice(
                attempt_id=outcome.state.attempt_id,
                kind="end_of_test",
                data={
                    "score": event.score,
                    "max_score": event.max_score,
                    "finished_at": event.finished_at,
                    "reason": event.reason,
                },
            )
        )
        live = outcome.state.live_session
        if live is not None:
            # Nothing is left to write: another device may log in to see the result.
            await self._live.release_lease(outcome.state.attempt_id, live)


def _ref(claims: SessionClaims) -> SessionRef:
    return SessionRef(session_id=claims.session_id, epoch=claims.epoch)


def outcome_loaded(outcome: Outcome) -> Loaded:
    return Loaded(state=outcome.state, quiz=outcome.quiz)
