"""A live session's navigation: the map of the running section, opening a
question (free navigation delivers a planned question on its first opening) and
flagging a question for review.

Opening a question already delivered is a read (the log does not change);
opening a new one and flagging are writes, run by the executor on the same path
as saves (fencing, deadline + grace, op ids: ``domain.navigation``)."""

from __future__ import annotations

from quizsession.api.models import FlagResult, NavigationView, NavItem
from quizsession.app.attempts import AttemptExecutor
from quizsession.app.ports import Clock, SessionClaims
from quizsession.app.sessions.activity import SessionActivity
from quizsession.app.sessions.reads import check_reader, load_for, session_ref
from quizsession.app.sessions.writes import SessionWrites
from quizsession.app.views import QuestionView, question_view, time_remaining
from quizsession.domain.attempt import deadline
from quizsession.domain.attempt_rules import section_def
from quizsession.domain.commands import FlagQuestion, OpenQuestion
from quizsession.domain.errors import ErrorCode, refuse
from quizsession.domain.navigation import section_map


class SessionNavigation:
    def __init__(
        self,
        executor: AttemptExecutor,
        clock: Clock,
        activity: SessionActivity,
        writes: SessionWrites,
    ) -> None:
        self._exec = executor
        self._clock = clock
        self._activity = activity
        self._writes = writes

    async def navigation(self, claims: SessionClaims) -> NavigationView:
        """The running section's questions, their state and the counts."""
        loaded = await load_for(self._exec, claims)
        check_reader(claims, loaded)
        state, quiz = loaded.state, loaded.quiz
        name = state.current_section()
        if name is None:
            raise refuse(ErrorCode.SECTION_NOT_STARTED, "no section is running")
        found = section_map(state, quiz, name)
        await self._activity.record(claims.session_id, quiz.policies.idle_timeout_s)
        return NavigationView(
            section=found.section,
            navigation="free" if found.free else "sequential",
            questions=[
                NavItem(id=e.id, number=e.number, kind=e.kind, state=e.state, flagged=e.flagged)
                for e in found.entries
            ],
            answered=found.answered,
            unanswered=found.unanswered,
            flagged=found.flagged,
        )

    async def open_question(self, claims: SessionClaims, question_id: str) -> QuestionView:
        """A question of the running section with the answer saved so far. Free
        navigation delivers a planned question on its first opening; sequential
        navigation opens only questions already delivered."""
        loaded = await load_for(self._exec, claims)
        check_reader(claims, loaded)
        name = loaded.state.current_section()
        progress = loaded.state.progress(name) if name is not None else None
        if name is not None and progress is not None and question_id in progress.delivered_set:
            # Already delivered: a read, the log does not change.
            await self._activity.record(claims.session_id, loaded.quiz.policies.idle_timeout_s)
            state, quiz = loaded.state, loaded.quiz
        else:
            ref = session_ref(claims)
            outcome = await self._writes.run(
                claims, lambda _l: OpenQuestion(session=ref, question_id=question_id)
            )
            state, quiz = outcome.state, outcome.quiz
            name = state.current_section()
            if name is None:  # pragma: no cover - the command refuses this
                raise refuse(ErrorCode.SECTION_NOT_STARTED, "no section is running")
        question = section_def(quiz, name).question(question_id)
        if question is None:  # pragma: no cover - the command refuses this
            raise refuse(ErrorCode.QUESTION_UNKNOWN, "no such question in this section")
        return question_view(state, quiz, name, question)

    async def flag(
        self, claims: SessionClaims, question_id: str, flagged: bool, op_id: str
    ) -> FlagResult:
        """Flag a delivered question for review (or take the flag off). A retry
        with the same ``op_id`` gets the first result."""
        await self._writes.check_write_limit(claims)
        ref = session_ref(claims)
        outcome = await self._writes.run(
            claims,
            lambda _l: FlagQuestion(
                session=ref, question_id=question_id, flagged=flagged, op_id=op_id
            ),
        )
        state = outcome.state
        record = state.ops.get(op_id)
        return FlagResult(
            question_id=question_id,
            flagged=flagged,
            version=record.version if record is not None else state.version,
            replayed=not outcome.events,
            server_time=outcome.now,
            deadline=deadline(state, outcome.quiz),
            time_remaining_s=time_remaining(state, outcome.quiz, outcome.now),
        )
