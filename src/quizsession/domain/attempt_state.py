"""The attempt's state: the left fold of its events (``apply``, ``fold``) and what
follows from it (deadline, due time, score). Pure: time is an argument."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import msgspec

from quizsession.domain.commands import (
    SectionName,
)
from quizsession.domain.events import (
    AnswerGraded,
    AnswerSaved,
    AnswerValue,
    AttemptCreated,
    AttemptEvent,
    DurationChanged,
    PracticeFinished,
    QuestionDelivered,
    QuestionFlagged,
    QuestionViewed,
    Regraded,
    Reopened,
    SectionStarted,
    SessionClosed,
    SessionOpened,
    SessionSuperseded,
    Submitted,
    TimeAccommodated,
    TimeExtended,
    Voided,
    outage_window,
)
from quizsession.domain.quiz import Quiz
from quizsession.domain.scoring import ScoreSheet, score_section
from quizsession.domain.selection import adaptive_max_score, planned_ids


@dataclass
class SectionProgress:
    started_at: float
    seed: int
    plan: list[str]
    delivered: list[str] = field(default_factory=list)
    delivered_set: set[str] = field(default_factory=set)
    answers: dict[str, AnswerValue] = field(default_factory=dict)
    flagged: set[str] = field(default_factory=set)
    # Delivered questions that take no answer (descriptions).
    info: set[str] = field(default_factory=set)
    finished: bool = False

    def current_question(self) -> str | None:
        """The first delivered question with no answer saved yet (shown again on
        resume), descriptions skipped (they take no answer). Saving ``null`` leaves
        a question blank on purpose: it counts as answered (scores 0) and the next
        question can be delivered."""
        for qid in self.delivered:
            if qid not in self.answers and qid not in self.info:
                return qid
        return None


@dataclass(frozen=True)
class OpRecord:
    kind: str
    fingerprint: bytes
    version: int  # the attempt's version right after the op's events


@dataclass
class AttemptState:
    attempt_id: str = ""
    quiz_id: str = ""
    quiz_version: int = 0
    candidate_id: str = ""
    candidate_name: str = ""
    created_at: float = 0.0
    version: int = 0
    status: str = "open"  # open | submitted | voided
    epoch: int = 0
    live_session: str | None = None
    ended_sessions: dict[str, str] = field(default_factory=dict)  # id -> superseded|reason
    practice: SectionProgress | None = None
    test: SectionProgress | None = None
    duration_override: float | None = None
    extensions_s: float = 0.0
    # The candidate's accommodation: the seconds it added to the test and the
    # (multiplier, extra seconds) last applied (None: none was applied).
    accommodation_s: float = 0.0
    accommodation: tuple[float, float] | None = None
    # Outage windows (start, end) already credited to this attempt.
    outage_windows: list[tuple[float, float]] = field(default_factory=list)
    reopened_base: float | None = None  # a reopen's new base deadline
    viewed: str | None = None
    submitted: Submitted | None = None
    # Grades of questions graded by hand: question id -> (points, comment, grader).
    grades: dict[str, tuple[float, str, str]] = field(default_factory=dict)
    # The quiz version the attempt is scored with after a regrade (None: its own).
    regraded_version: int | None = None
    ops: dict[str, OpRecord] = field(default_factory=dict)
    last_event_at: float = 0.0

    @property
    def exists(self) -> bool:
        return self.version > 0

    def section_state(self, quiz: Quiz) -> str:
        if self.submitted is not None or (self.test is not None and self.test.finished):
            return "test_finished"
        if self.test is not None:
            return "test_started"
        if quiz.practice is not None and (self.practice is None or not self.practice.finished):
            return "practice_started" if self.practice is not None else "practice_not_started"
        return "test_not_started"

    def current_section(self) -> SectionName | None:
        if self.test is not None and not self.test.finished:
            return "test"
        if self.test is None and self.practice is not None and not self.practice.finished:
            return "practice"
        return None

    def progress(self, section: SectionName) -> SectionProgress | None:
        return self.test if section == "test" else self.practice


def base_duration(state: AttemptState, quiz: Quiz) -> float:
    """The test's duration before any accommodation: the quiz's, or the longer one
    an administrator applied to this attempt."""
    return state.duration_override if state.duration_override is not None else quiz.duration_s


def deadline(state: AttemptState, quiz: Quiz) -> float | None:
    """Test start + duration + the accommodation's share + extensions (an
    administrator's and outage credits), capped by the window's close. After an
    admin reopen the base is the reopen time + its extra seconds (not capped)."""
    if state.test is None:
        return None
    if state.reopened_base is not None:
        return state.reopened_base + state.extensions_s
    duration = base_duration(state, quiz) + state.accommodation_s
    end = state.test.started_at + duration + state.extensions_s
    if quiz.closes_at is not None:
        end = min(end, quiz.closes_at)
    return end


def due_at(state: AttemptState, quiz: Quiz) -> float | None:
    """When the server submits on its own: deadline + grace, while the test runs."""
    if state.status != "open" or state.submitted is not None:
        return None
    end = deadline(state, quiz)
    return None if end is None else end + quiz.policies.grace_s


def score(state: AttemptState, quiz: Quiz) -> ScoreSheet:
    """The test score recomputed from the folded answers and the grades of the
    questions graded by hand (``pending``: answered and not graded yet)."""
    progress = state.test
    if progress is None:
        return ScoreSheet(score=0.0, max_score=0.0, per_question={})
    ids = planned_ids(quiz.test, progress.plan, progress.delivered)
    sheet = score_section(quiz.test, ids, progress.answers, state.grades)
    if quiz.test.selection.mode == "adaptive":
        return ScoreSheet(
            score=sheet.score,
            max_score=adaptive_max_score(quiz.test),
            per_question=sheet.per_question,
            pending=sheet.pending,
        )
    return sheet


# ----------------------------------------------------------------------------- apply


def apply(state: AttemptState, event: AttemptEvent) -> AttemptState:
    """Fold one event into the state (in place) and return it."""
    state.version += 1
    state.last_event_at = event.at
    match event:
        case AttemptCreated():
            state.attempt_id = event.attempt_id
            state.quiz_id = event.quiz_id
            state.quiz_version = event.quiz_version
            state.candidate_id = event.candidate_id
            state.candidate_name = event.candidate_name
            state.created_at = event.at
        case SessionOpened():
            state.epoch = event.epoch
            state.live_session = event.session_id
        case SessionSuperseded():
            state.ended_sessions[event.session_id] = "superseded"
            if state.live_session == event.session_id:
                state.live_session = None
        case SessionClosed():
            state.ended_sessions[event.session_id] = event.reason
            if state.live_session == event.session_id:
                state.live_session = None
        case SectionStarted():
            progress = SectionProgress(started_at=event.at, seed=event.seed, plan=list(event.plan))
            if event.section == "test":
                state.test = progress
                if state.practice is not None:
                    state.practice.finished = True
            else:
                state.practice = progress
            _record_op(state, event.op_id, "start", fingerprint("start", event.section))
        case PracticeFinished():
            if state.practice is not None:
                state.practice.finished = True
            _record_op(state, event.op_id, "finish_practice", fingerprint("finish_practice"))
        case QuestionDelivered():
            target = state.progress(event.section)
            if target is not None:
                target.delivered.append(event.question_id)
                target.delivered_set.add(event.question_id)
                if not event.needs_answer:
                    target.info.add(event.question_id)
        case QuestionViewed():
            state.viewed = event.question_id
        case QuestionFlagged():
            current = state.current_section()
            flagged_in = state.progress(current) if current is not None else None
            if flagged_in is not None:
                if event.flagged:
                    flagged_in.flagged.add(event.question_id)
                else:
                    flagged_in.flagged.discard(event.question_id)
            _record_op(
                state,
                event.op_id,
                "flag",
                fingerprint("flag", event.question_id, event.flagged),
            )
        case AnswerSaved():
            answered = state.progress(event.section)
            if answered is not None:
                answered.answers[event.question_id] = event.answer
            _record_op(
                state,
                event.op_id,
                "save",
                fingerprint("save", event.question_id, event.answer),
            )
        case TimeExtended():
            state.extensions_s += event.seconds
            window = outage_window(event)
            if window is not None:
                state.outage_windows.append(window)
        case TimeAccommodated():
            state.accommodation_s += event.seconds
            state.accommodation = (event.multiplier, event.extra_seconds)
        case DurationChanged():
            state.duration_override = event.duration_s
        case Submitted():
            state.submitted = event
            state.status = "submitted"
            if state.test is not None:
                state.test.finished = True
            _record_op(state, event.op_id, "submit", fingerprint("submit"))
        case AnswerGraded():
            state.grades[event.question_id] = (event.points, event.comment, event.by)
        case Regraded():
            state.regraded_version = event.quiz_version
        case Voided():
            state.status = "voided"
        case Reopened():
            state.status = "open"
            state.submitted = None
            if state.test is not None:
                state.test.finished = False
            if event.extra_seconds > 0:
                state.reopened_base = event.at + event.extra_seconds
                state.extensions_s = 0.0
    return state


def fingerprint(*parts: object) -> bytes:
    """What an op id's payload looked like (to tell a retry from a reuse)."""
    return msgspec.json.encode(parts)


def _record_op(state: AttemptState, op_id: str | None, kind: str, fp: bytes) -> None:
    if op_id is not None and op_id not in state.ops:
        state.ops[op_id] = OpRecord(kind=kind, fingerprint=fp, version=state.version)


def fold(events: Iterable[AttemptEvent], state: AttemptState | None = None) -> AttemptState:
    """The state after ``events`` (continuing from ``state`` when given)."""
    current = state if state is not None else AttemptState()
    for event in events:
        apply(current, event)
    return current
