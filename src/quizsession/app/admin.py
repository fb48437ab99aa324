"""Administrator use cases. Each change is an event on the attempt that records
who did it (``admin:<key name>``): the log is the audit trail."""

from __future__ import annotations

from quizsession.api import models as wire
from quizsession.api.models import LiveAttempt as LiveAttempt
from quizsession.api.models import TimingResult as TimingResult
from quizsession.app.attempts import AttemptExecutor, Outcome
from quizsession.app.ports import (
    AttemptIndexRow,
    AttemptRecords,
    AttemptStatus,
    Clock,
    LiveState,
    Notice,
)
from quizsession.app.sessions.service import SessionService
from quizsession.app.views import AttemptView, attempt_view
from quizsession.domain.commands import ChangeDuration, Extend, Reopen, Unlock, Void
from quizsession.domain.errors import ErrorCode, refuse
from quizsession.domain.events import AttemptEvent, SessionClosed, event_type


class EventView(wire.EventView[AttemptEvent], frozen=True, kw_only=True):
    """A log entry with the domain's event in ``data`` (its OpenAPI schema names
    every event)."""

    data: AttemptEvent


class AttemptDetail(wire.AttemptDetail[EventView], frozen=True, kw_only=True):
    events: list[EventView] | None = None


class AdminService:
    def __init__(
        self,
        store: AttemptRecords,
        live: LiveState,
        executor: AttemptExecutor,
        sessions: SessionService,
        clock: Clock,
    ) -> None:
        self._store = store
        self._live = live
        self._exec = executor
        self._sessions = sessions
        self._clock = clock

    async def list_attempts(
        self,
        *,
        quiz_id: str | None,
        status: AttemptStatus | None,
        limit: int,
        offset: int,
        after: str | None = None,
    ) -> list[AttemptIndexRow]:
        return await self._store.list_attempts(
            quiz_id=quiz_id, status=status, limit=limit, offset=offset, after=after
        )

    async def live_attempts(
        self, quiz_id: str, *, limit: int = 1000, after: str | None = None
    ) -> list[LiveAttempt]:
        """A proctor's view of a quiz: every attempt (a page of them, in attempt-id
        order, after ``after``) with its clock, whether a session holds the lease
        now, and when it was last seen."""
        rows = await self._store.list_attempts(quiz_id=quiz_id, limit=limit, after=after)
        now = self._clock.now()
        found: list[LiveAttempt] = []
        for row in rows:
            loaded = await self._exec.load(row.attempt_id)
            if loaded is None:
                continue
            state, quiz = loaded.state, loaded.quiz
            lease = await self._live.lease_holder(row.attempt_id)
            connected = lease.holder is not None and lease.holder == state.live_session
            last_seen = state.last_event_at
            if connected:
                last_seen = max(
                    last_seen, now - max(0.0, quiz.policies.lease_ttl_s - lease.expires_in)
                )
            view = attempt_view(state, quiz, now, full=True)
            progress = state.test or state.practice
            answered = sum(1 for v in progress.answers.values() if v is not None) if progress else 0
            found.append(
                LiveAttempt(
                    attempt_id=row.attempt_id,
                    candidate_id=state.candidate_id,
                    candidate_name=state.candidate_name,
                    status=state.status,
                    state=view.state,
                    time_remaining_s=view.time_remaining_s,
                    deadline=view.deadline,
                    connected=connected,
                    last_seen=last_seen,
                    answered=answered,
                    total=view.total,
                    score=view.result.score if view.result else None,
                    max_score=view.result.max_score if view.result else None,
                    pending=view.result.pending if view.result else False,
                )
            )
        return found

    async def events(self, attempt_id: str) -> list[EventView]:
        records = await self._store.read(attempt_id)
        if not records:
            raise refuse(ErrorCode.NOT_FOUND, "no such attempt")
        return [
            EventView(seq=r.seq, type=event_type(r.event), at=r.event.at, data=r.event)
            for r in records
        ]

    async def detail(self, attempt_id: str, *, with_events: bool = True) -> AttemptDetail:
        loaded = await self._exec.load(attempt_id, fresh=True)
        if loaded is None:
            raise refuse(ErrorCode.NOT_FOUND, "no such attempt")
        return AttemptDetail(
            attempt=attempt_view(loaded.state, loaded.quiz, self._clock.now(), full=True),
            candidate_name=loaded.state.candidate_name,
            live_session=loaded.state.live_session,
            events=await self.events(attempt_id) if with_events else None,
        )

    def _view(self, outcome: Outcome) -> AttemptView:
        return attempt_view(outcome.state, outcome.quiz, outcome.now, full=True)

    async def extend(self, attempt_id: str, seconds: float, by: str, reason: str) -> AttemptView:
        outcome = await self._exec.execute(
            attempt_id, lambda _l: Extend(seconds=seconds, by=by, reason=reason)
        )
        view = self._view(outcome)
        await self._live.publish(
            Notice(
                attempt_id=attempt_id,
                kind="extension",
                data={"seconds": seconds, "deadline": view.deadline},
            )
        )
        return view

    async def unlock(self, attempt_id: str, by: str) -> AttemptView:
        outcome = await self._exec.execute(attempt_id, lambda _l: Unlock(by=by))
        await self._release_closed(outcome)
        await self._live.publish(Notice(attempt_id=attempt_id, kind="unlock", data={}))
        return self._view(outcome)

    async def void(self, attempt_id: str, by: str, reason: str) -> AttemptView:
        outcome = await self._exec.execute(attempt_id, lambda _l: Void(by=by, reason=reason))
        await self._release_closed(outcome)
        await self._live.publish(Notice(attempt_id=attempt_id, kind="void", data={}))
        return self._view(outcome)

    async def reopen(
        self, attempt_id: str, by: str, reason: str, extra_seconds: float
    ) -> AttemptView:
        outcome = await self._exec.execute(
            attempt_id, lambda _l: Reopen(by=by, reason=reason, extra_seconds=extra_seconds)
        )
        # A live socket still open reads the attempt again (its ticks show it).
        await self._live.publish(Notice(attempt_id=attempt_id, kind="changed"))
        return self._view(outcome)

    async def apply_timing(self, quiz_id: str, by: str) -> TimingResult:
        """Apply the latest version's duration to every attempt of the quiz in
        progress (only a longer duration changes anything)."""
        quiz = await self._store.get_quiz(quiz_id)
        if quiz is None:
            raise refuse(ErrorCode.NOT_FOUND, f"quiz {quiz_id} not found")
        changed = 0
        offset = 0
        while True:
            rows = await self._store.list_attempts(
                quiz_id=quiz_id, status="open", limit=500, offset=offset
            )
            if not rows:
                break
            offset += len(rows)
            for row in rows:
                if row.state != "test_started":
                    continue
                outcome = await self._exec.execute(
                    row.attempt_id,
                    lambda _l: ChangeDuration(
                        duration_s=quiz.duration_s, quiz_version=quiz.version, by=by
                    ),
                )
                if outcome.events:
                    changed += 1
                    view = self._view(outcome)
                    await self._live.publish(
                        Notice(
                            attempt_id=row.attempt_id,
                            kind="extension",
                            data={"deadline": view.deadline},
                        )
                    )
        return TimingResult(
            quiz_id=quiz_id,
            quiz_version=quiz.version,
            duration_s=quiz.duration_s,
            attempts_changed=changed,
        )

    async def _release_closed(self, outcome: Outcome) -> None:
        for event in outcome.events:
            if isinstance(event, SessionClosed):
                await self._live.release_lease(outcome.state.attempt_id, event.session_id)
