"""A live session's writes (start a section, take the next question, save an
answer, complete) and their limits, and the deadline's submit.

Every write is a command run by the executor: the domain decides (fencing,
deadline + grace, idempotency), the store appends. A write refused because the
deadline + grace has passed submits the attempt at once (the reaper would a
moment later), so the candidate sees the result without waiting for it."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from quizsession.api.models import CompleteResult, NextQuestion, SaveResult
from quizsession.app.accommodations import AccommodationLookup
from quizsession.app.attempts import AttemptExecutor, Loaded, Outcome
from quizsession.app.metrics import Metrics
from quizsession.app.ports import Clock, LiveState, Notice, SessionClaims
from quizsession.app.sessions.activity import SessionActivity
from quizsession.app.sessions.reads import load_for, session_ref
from quizsession.app.views import (
    AttemptView,
    attempt_view,
    question_view,
    score_shown,
    time_remaining,
)
from quizsession.domain.attempt import deadline
from quizsession.domain.commands import (
    AttemptCommand,
    DeliverNext,
    FinishPractice,
    SaveAnswer,
    SectionName,
    StartSection,
    Submit,
)
from quizsession.domain.errors import DomainError, ErrorCode, refuse
from quizsession.domain.events import (
    AnswerValue,
    AttemptEvent,
    QuestionDelivered,
    Submitted,
)

#: What ``submit_due`` finds already settled: nothing to submit.
_NOTHING_DUE = frozenset(
    {ErrorCode.NOT_ALLOWED, ErrorCode.ATTEMPT_VOIDED, ErrorCode.SECTION_NOT_STARTED}
)


@dataclass(frozen=True)
class WriteLimits:
    write_limit_per_second: int = 20


class SessionWrites:
    def __init__(
        self,
        executor: AttemptExecutor,
        live: LiveState,
        clock: Clock,
        activity: SessionActivity,
        metrics: Metrics,
        *,
        local: LiveState,
        limits: WriteLimits,
        accommodations: AccommodationLookup,
    ) -> None:
        self._accommodations = accommodations
        self._exec = executor
        self._live = live
        self._clock = clock
        self._activity = activity
        self._metrics = metrics
        # Per-instance live state for the per-session write limit (a session's
        # requests may land on any instance; the limit is per instance then):
        # no shared-state round trip per write.
        self._local = local
        self._limits = limits

    async def check_write_limit(self, claims: SessionClaims) -> None:
        """The per-session write limit (saves, flags): refused ``rate_limited``."""
        if not await self._local.hit(
            f"write:{claims.session_id}", self._limits.write_limit_per_second, 1
        ):
            raise refuse(ErrorCode.RATE_LIMITED, "too many writes; slow down", retry_after=1)

    async def run(self, claims: SessionClaims, make: Callable[[Loaded], AttemptCommand]) -> Outcome:
        """Run a session's command through the executor, and record the
        candidate's activity (a write refused at the deadline submits at once)."""
        outcome = await self._run(claims, make)
        await self._record(claims, outcome)
        return outcome

    async def _run(
        self, claims: SessionClaims, make: Callable[[Loaded], AttemptCommand]
    ) -> Outcome:
        try:
            return await self._exec.execute(claims.attempt_id, make)
        except DomainError as exc:
            if exc.code == ErrorCode.DEADLINE_PASSED:
                await self.submit_due(claims.attempt_id)
            raise

    async def _record(self, claims: SessionClaims, outcome: Outcome) -> None:
        await self._activity.record(claims.session_id, outcome.quiz.policies.idle_timeout_s)

    async def start(
        self, claims: SessionClaims, section: SectionName, op_id: str | None
    ) -> AttemptView:
        ref = session_ref(claims)
        seed = secrets.randbits(31)
        # The test starts with the candidate's accommodation as set now; its
        # share is written into the log with the start.
        given = None
        if section == "test":
            loaded = await load_for(self._exec, claims)
            if loaded.state.test is None:
                given = await self._accommodations.current(loaded.state.candidate_id)
        outcome = await self._run(
            claims,
            lambda _l: StartSection(
                session=ref, section=section, seed=seed, op_id=op_id, accommodation=given
            ),
        )
        if outcome.events:
            await self.announce_changed(claims.attempt_id)
        if (
            section == "test"
            and outcome.events
            and await self._accommodations.settle(
                claims.attempt_id, outcome.state.candidate_id, given
            )
        ):
            loaded = await load_for(self._exec, claims)
            outcome = Outcome(
                state=loaded.state, quiz=loaded.quiz, events=outcome.events, now=outcome.now
            )
        await self._record(claims, outcome)
        return attempt_view(outcome.state, outcome.quiz, outcome.now)

    async def next_question(self, claims: SessionClaims) -> NextQuestion:
        ref = session_ref(claims)
        outcome = await self._run(claims, lambda _l: DeliverNext(session=ref))
        await self._record(claims, outcome)
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
            # A description delivered by this call is shown once: it takes no
            # answer, so it is never the current question; the candidate's next
            # call delivers the question after it.
            current = _information_delivered(outcome.events) or progress.current_question()
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

    async def save(
        self,
        claims: SessionClaims,
        question_id: str,
        answer: AnswerValue,
        op_id: str,
        expected_version: int | None = None,
    ) -> SaveResult:
        await self.check_write_limit(claims)
        ref = session_ref(claims)
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
        await self._record(claims, outcome)
        return SaveResult(
            saved=True,
            question_id=question_id,
            version=version,
            replayed=not outcome.events,
            server_time=outcome.now,
            deadline=deadline(state, outcome.quiz),
            time_remaining_s=time_remaining(state, outcome.quiz, outcome.now),
        )

    async def complete(self, claims: SessionClaims, op_id: str | None) -> CompleteResult:
        ref = session_ref(claims)
        loaded = await load_for(self._exec, claims)
        if loaded.state.current_section() == "practice":
            outcome = await self._run(claims, lambda _l: FinishPractice(session=ref, op_id=op_id))
            if outcome.events:
                await self.announce_changed(claims.attempt_id)
        else:
            outcome = await self._run(
                claims, lambda _l: Submit(reason="candidate", session=ref, op_id=op_id)
            )
            await self.announce_end(outcome)
        await self._record(claims, outcome)
        view = attempt_view(outcome.state, outcome.quiz, outcome.now)
        result = view.result
        return CompleteResult(
            attempt=view,
            score=result.score if result else None,
            max_score=result.max_score if result else None,
        )

    # -- the deadline --------------------------------------------------------------

    async def submit_due(self, attempt_id: str) -> Outcome | None:
        """Submit an attempt whose deadline + grace has passed (idempotent)."""
        try:
            outcome = await self._exec.execute(
                attempt_id, lambda _l: Submit(reason="deadline", by="deadline")
            )
        except DomainError as exc:
            if exc.code in _NOTHING_DUE:
                return None
            raise
        await self.announce_end(outcome)
        return outcome

    async def announce_changed(self, attempt_id: str) -> None:
        """Tell the instances holding the attempt's live socket to read it again
        (a section started or ended: what its ticks show changed)."""
        await self._live.publish(Notice(attempt_id=attempt_id, kind="changed"))

    async def announce_end(self, outcome: Outcome) -> None:
        """Tell the attempt's live sockets (every instance) that the test ended,
        and free the lease: nothing is left to write, and another device may log
        in to see the result."""
        submitted = [e for e in outcome.events if isinstance(e, Submitted)]
        if not submitted:
            return
        event = submitted[0]
        # The candidate's screen gets the score only when the review policy
        # shows it now (the socket is the candidate's, like ``attempt_view``).
        shown = score_shown(outcome.state, outcome.quiz, outcome.now)
        await self._live.publish(
            Notice(
                attempt_id=outcome.state.attempt_id,
                kind="end_of_test",
                data={
                    "score": event.score if shown else None,
                    "max_score": event.max_score if shown else None,
                    "finished_at": event.finished_at,
                    "reason": event.reason,
                },
            )
        )
        live = outcome.state.live_session
        if live is not None:
            await self._live.release_lease(outcome.state.attempt_id, live)


def _information_delivered(events: Sequence[AttemptEvent]) -> str | None:
    """The description (a question that takes no answer) these events delivered."""
    for event in events:
        if isinstance(event, QuestionDelivered) and not event.needs_answer:
            return event.question_id
    return None
