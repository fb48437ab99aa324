"""One attempt in a report: its result (score, times, answers) and its session
analytics (sessions, disconnects, takeovers, the longest quiet gap), computed from
its event log. The rules are in ``app/reports/``."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from quizsession.app.ports import RecordedEvent
from quizsession.app.reports.model import AnswerResult, CandidateResult, SessionAnalytics
from quizsession.domain.attempt import AttemptState, fold, score
from quizsession.domain.events import (
    AnswerSaved,
    QuestionDelivered,
    Regraded,
    Reopened,
    SectionStarted,
    SessionClosed,
    SessionOpened,
    SessionSuperseded,
    Submitted,
    Voided,
)
from quizsession.domain.quiz import Quiz
from quizsession.domain.scoring import is_correct, score_answer
from quizsession.domain.selection import planned_ids

DISCONNECT_REASONS = frozenset({"idle", "unlock", "expired"})
_DECIMALS = 6


def rounded(value: float) -> float:
    """``value`` to the report's precision (and never ``-0.0``)."""
    return round(value, _DECIMALS) + 0.0


@dataclass
class Examined:
    """An attempt's log read once for a report."""

    records: Sequence[RecordedEvent]
    state: AttemptState
    quiz: Quiz | None
    test_started_at: float | None
    time_spent: dict[str, float]  # question id -> seconds (test section)
    per_question: dict[str, float]  # points of every question that counts
    #: Grading: the total with grades and regrades, the questions waiting for a
    #: grader, and the score before the first regrade (None: never regraded).
    total: float | None = None
    max_total: float | None = None
    pending: tuple[str, ...] = ()
    before_regrade: float | None = None

    @property
    def scored(self) -> bool:
        return self.state.status == "submitted" and self.quiz is not None


def examine(records: Sequence[RecordedEvent], quiz: Quiz | None) -> Examined:
    state = fold(r.event for r in records)
    started: float | None = None
    shown: dict[str, float] = {}
    spent: dict[str, float] = {}
    for record in records:
        event = record.event
        if isinstance(event, SectionStarted) and event.section == "test" and started is None:
            started = event.at
        elif isinstance(event, QuestionDelivered) and event.section == "test":
            shown.setdefault(event.question_id, event.at)
        elif (
            isinstance(event, AnswerSaved)
            and event.section == "test"
            and event.question_id in shown
            and event.question_id not in spent
        ):
            spent[event.question_id] = rounded(event.at - shown[event.question_id])
    sheet = score(state, quiz) if quiz is not None else None
    regrades = [r.event for r in records if isinstance(r.event, Regraded)]
    return Examined(
        records,
        state,
        quiz,
        started,
        spent,
        sheet.per_question if sheet is not None else {},
        total=sheet.score if sheet is not None else None,
        max_total=sheet.max_score if sheet is not None else None,
        pending=sheet.pending if sheet is not None else (),
        before_regrade=regrades[0].old_score if regrades else None,
    )


def candidate_result(a: Examined) -> CandidateResult:
    state, quiz = a.state, a.quiz
    answers: list[AnswerResult] = []
    if quiz is not None and state.test is not None:
        ids = planned_ids(quiz.test, state.test.plan, state.test.delivered)
        for qid in dict.fromkeys(ids):
            question = quiz.test.question(qid)
            if question is None:
                continue
            answer = state.test.answers.get(qid)
            answers.append(
                AnswerResult(
                    question_id=qid,
                    delivered=qid in state.test.delivered_set,
                    answer=answer,
                    points=a.per_question.get(qid, score_answer(question, answer)),
                    max_points=question.points,
                    correct=is_correct(question, answer),
                    pending=qid in a.pending,
                )
            )
    sub = state.submitted
    # The score with its grades and regrades (the submit's score is the
    # automatic part at submit time).
    total = maximum = None
    if sub is not None:
        total = a.total if a.total is not None else sub.score
        maximum = a.max_total if a.max_total is not None else sub.max_score
    percentage = None
    if total is not None and maximum and not a.pending:
        percentage = rounded(100.0 * total / maximum)
    used = None
    if sub is not None and a.test_started_at is not None:
        used = rounded(sub.finished_at - a.test_started_at)
    return CandidateResult(
        attempt_id=state.attempt_id,
        candidate_id=state.candidate_id,
        candidate_name=state.candidate_name,
        quiz_version=state.quiz_version,
        status=state.status,
        score=total,
        max_score=maximum,
        percentage=percentage,
        started_at=a.test_started_at,
        finished_at=sub.finished_at if sub else None,
        time_used_s=used,
        submit_reason=sub.reason if sub else None,
        answers=answers,
        pending=sub is not None and bool(a.pending),
        score_before_regrade=a.before_regrade,
        regraded_version=state.regraded_version,
    )


def session_analytics(records: Sequence[RecordedEvent]) -> SessionAnalytics:
    """Sessions, disconnects, takeovers and the longest quiet gap of one attempt."""
    events = [r.event for r in records]
    closed: Counter[str] = Counter(e.reason for e in events if isinstance(e, SessionClosed))
    opened = [e for e in events if isinstance(e, SessionOpened)]
    superseded = sum(1 for e in events if isinstance(e, SessionSuperseded))
    best: tuple[float, float, float] | None = None  # (gap, from, to)
    points: list[float] | None = None  # times within the current run of the test

    def flush() -> None:
        nonlocal best, points
        if points:
            for low, high in itertools.pairwise(points):
                if best is None or high - low > best[0]:
                    best = (high - low, low, high)
        points = None

    for event in events:
        if isinstance(event, SectionStarted | Reopened):
            if points is None and (isinstance(event, Reopened) or event.section == "test"):
                points = [event.at]
            elif points is not None:
                points.append(event.at)
        elif points is not None:
            if isinstance(event, Submitted):
                points.append(max(event.finished_at, points[-1]))
                flush()
            elif isinstance(event, Voided):
                points.append(max(event.at, points[-1]))
                flush()
            else:
                points.append(max(event.at, points[-1]))
    flush()
    state = fold(events)
    return SessionAnalytics(
        attempt_id=state.attempt_id,
        candidate_id=state.candidate_id,
        candidate_name=state.candidate_name,
        events=len(events),
        sessions=len(opened),
        disconnects=superseded + sum(closed[r] for r in DISCONNECT_REASONS),
        takeovers=sum(1 for e in opened if e.takeover),
        superseded=superseded,
        closed=dict(sorted(closed.items())),
        longest_gap_s=rounded(best[0]) if best else None,
        longest_gap_from=best[1] if best else None,
        longest_gap_to=best[2] if best else None,
    )
