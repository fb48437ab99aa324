"""Reports of a quiz, computed from its attempts' event logs (the log is the truth).

``quiz_report`` / ``attempt_analytics`` read through the ``Store`` port; everything
else is a pure function of events and quiz definitions (``build_report``). Renderers
(CSV, JSON, HTML) live in ``adapters/report_render.py``.

Rules (also in docs):

- **Population.** Every attempt of the quiz is listed in the results with its
  status. Statistics (summary, item analysis) use the *scored* attempts only:
  status ``submitted``. Voided attempts (even if submitted before) and attempts in
  progress are left out. Each attempt is scored with the quiz version it used.
- **Results.** ``score``/``max_score`` are those of the attempt's last
  ``submitted`` event (None until submitted); ``percentage`` = 100 * score /
  max_score. ``started_at`` is the start of the test section, ``finished_at`` the
  submit's finish time (the deadline for a deadline submit), ``time_used_s`` =
  finished_at - started_at (excluding nothing: disconnects, reopens and extensions
  all count). ``answers`` holds every question that counts toward the attempt's
  score, with the points its final answer earns.
- **Item analysis.** An attempt counts for a question when the question was
  delivered to it in the test section (``delivered``). ``answered``: the final
  answer is not empty (None, ``[]`` and a blank text are empty). ``facility`` =
  100 * mean points / mean max points (the max of the attempt's version; with
  negative marks it can go below 0). ``discrimination`` (Moodle's discrimination
  index, as a coefficient in [-1, 1] rather than Moodle's percentage): the Pearson
  correlation, across the counted attempts, of the question's points with the
  *rest of the test* (the attempt's total minus this question's points); None when
  fewer than 2 attempts count or either side has zero variance.
  ``options``: single / multiple: how often each choice was chosen (multiple: each
  choice of each answer); true_false: ``true`` / ``false``; short_text: the
  ``TOP_TEXT_ANSWERS`` most frequent answers, compared as the scorer compares them
  (white space collapsed, case-folded unless case-sensitive); numeric:
  ``within_tolerance`` / ``outside_tolerance``.
  **Time spent** on a question: from its first ``question_delivered`` event in the
  test section to the first ``answer_saved`` event for it after that (a later
  ``question_viewed`` or change of answer does not move either end; a question
  never answered gives no sample). Median and mean over the counted attempts.
- **Session analytics** (per attempt, every event counts, voided or not).
  ``sessions``: ``session_opened`` events; ``takeovers``: those with
  ``takeover=true``; ``disconnects``: sessions superseded plus sessions closed by
  ``idle``, ``unlock`` or ``expired`` (a lost lease is not an event: it shows up
  as the next login superseding the lapsed session). ``longest_gap_s``: the
  longest time between consecutive events while the test ran: from the test's
  ``section_started`` (or a ``reopened``) to the ``submitted`` finish time (never
  before the last event preceding it), or to ``voided``, or to the last event when
  it still runs. Heartbeats are not events, so a gap is time with no recorded
  activity, connected or not.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import msgspec

from quizsession.app import errors as AE
from quizsession.app.ports import RecordedEvent, Store
from quizsession.app.timeline import timeline
from quizsession.domain.attempt import AttemptState, fold, score
from quizsession.domain.events import (
    AnswerSaved,
    AnswerValue,
    QuestionDelivered,
    Reopened,
    SectionStarted,
    SessionClosed,
    SessionOpened,
    SessionSuperseded,
    Submitted,
    Voided,
)
from quizsession.domain.quiz import Question, Quiz
from quizsession.domain.scoring import is_correct, normalize_text, score_answer
from quizsession.domain.selection import planned_ids

TOP_TEXT_ANSWERS = 10
DISCONNECT_REASONS = frozenset({"idle", "unlock", "expired"})
PAGE = 500
_DECIMALS = 6


# ---------------------------------------------------------------------------- results


class AnswerResult(msgspec.Struct, frozen=True, kw_only=True):
    question_id: str
    delivered: bool
    answer: AnswerValue
    points: float
    max_points: float
    correct: bool


class CandidateResult(msgspec.Struct, frozen=True, kw_only=True):
    attempt_id: str
    candidate_id: str
    candidate_name: str
    quiz_version: int
    status: str  # open | submitted | voided
    score: float | None
    max_score: float | None
    percentage: float | None
    started_at: float | None
    finished_at: float | None
    time_used_s: float | None
    submit_reason: str | None
    answers: list[AnswerResult]


class OptionCount(msgspec.Struct, frozen=True, kw_only=True):
    option: str  # a choice id, "true"/"false", a normalised text, or within/outside_tolerance
    label: str
    count: int
    correct: bool


class ItemAnalysis(msgspec.Struct, frozen=True, kw_only=True):
    question_id: str
    kind: str
    text: str
    max_points: float
    delivered: int
    answered: int
    mean_points: float | None
    facility: float | None  # percent
    discrimination: float | None  # correlation with the rest of the test, [-1, 1]
    options: list[OptionCount]
    time_samples: int
    median_time_s: float | None
    mean_time_s: float | None


class SessionAnalytics(msgspec.Struct, frozen=True, kw_only=True):
    attempt_id: str
    candidate_id: str
    events: int
    sessions: int
    disconnects: int
    takeovers: int
    superseded: int
    closed: dict[str, int]  # session_closed reason -> count
    longest_gap_s: float | None
    longest_gap_from: float | None
    longest_gap_to: float | None


class Summary(msgspec.Struct, frozen=True, kw_only=True):
    attempts: int
    scored: int
    in_progress: int
    voided: int
    mean_score: float | None
    median_score: float | None
    mean_percentage: float | None
    median_percentage: float | None
    mean_time_used_s: float | None
    median_time_used_s: float | None


class AttemptTimeline(msgspec.Struct, frozen=True, kw_only=True):
    attempt_id: str
    lines: list[str]


class QuizReport(msgspec.Struct, frozen=True, kw_only=True):
    quiz_id: str
    title: str
    versions: list[int]  # the quiz versions the attempts used
    question_ids: list[str]  # column order: latest version first, then older ones
    summary: Summary
    results: list[CandidateResult]
    items: list[ItemAnalysis]
    sessions: list[SessionAnalytics]
    timelines: list[AttemptTimeline] | None = None


class AttemptAnalytics(msgspec.Struct, frozen=True, kw_only=True):
    attempt_id: str
    quiz_id: str
    result: CandidateResult | None  # None when the attempt's quiz version is missing
    sessions: SessionAnalytics
    timeline: list[str]


# ------------------------------------------------------------------------- one attempt


@dataclass
class _Attempt:
    records: Sequence[RecordedEvent]
    state: AttemptState
    quiz: Quiz | None
    test_started_at: float | None
    time_spent: dict[str, float]  # question id -> seconds (test section)
    per_question: dict[str, float]  # points of every question that counts

    @property
    def scored(self) -> bool:
        return self.state.status == "submitted" and self.quiz is not None


def _r(value: float) -> float:
    return round(value, _DECIMALS) + 0.0


def _examine(records: Sequence[RecordedEvent], quiz: Quiz | None) -> _Attempt:
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
            spent[event.question_id] = _r(event.at - shown[event.question_id])
    per_question = score(state, quiz).per_question if quiz is not None else {}
    return _Attempt(records, state, quiz, started, spent, per_question)


def _result(a: _Attempt) -> CandidateResult:
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
                    points=score_answer(question, answer),
                    max_points=question.points,
                    correct=is_correct(question, answer),
                )
            )
    sub = state.submitted
    percentage = None
    if sub is not None and sub.max_score > 0:
        percentage = _r(100.0 * sub.score / sub.max_score)
    used = None
    if sub is not None and a.test_started_at is not None:
        used = _r(sub.finished_at - a.test_started_at)
    return CandidateResult(
        attempt_id=state.attempt_id,
        candidate_id=state.candidate_id,
        candidate_name=state.candidate_name,
        quiz_version=state.quiz_version,
        status=state.status,
        score=sub.score if sub else None,
        max_score=sub.max_score if sub else None,
        percentage=percentage,
        started_at=a.test_started_at,
        finished_at=sub.finished_at if sub else None,
        time_used_s=used,
        submit_reason=sub.reason if sub else None,
        answers=answers,
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
        events=len(events),
        sessions=len(opened),
        disconnects=superseded + sum(closed[r] for r in DISCONNECT_REASONS),
        takeovers=sum(1 for e in opened if e.takeover),
        superseded=superseded,
        closed=dict(sorted(closed.items())),
        longest_gap_s=_r(best[0]) if best else None,
        longest_gap_from=best[1] if best else None,
        longest_gap_to=best[2] if best else None,
    )


# ---------------------------------------------------------------------- item analysis


def _answered(answer: AnswerValue) -> bool:
    if answer is None or answer == []:
        return False
    return not (isinstance(answer, str) and not answer.strip())


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """The correlation of ``xs`` and ``ys``; None for n < 2 or zero variance."""
    n = len(xs)
    if n < 2 or n != len(ys):
        return None
    mx, my = math.fsum(xs) / n, math.fsum(ys) / n
    sxx = math.fsum((x - mx) ** 2 for x in xs)
    syy = math.fsum((y - my) ** 2 for y in ys)
    if sxx <= 1e-12 or syy <= 1e-12:
        return None
    sxy = math.fsum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return _r(max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy))))


def _options(
    reference: Question, given: Sequence[tuple[Question, AnswerValue]]
) -> list[OptionCount]:
    kind = reference.kind
    answers = [(q, a) for q, a in given if _answered(a)]
    if kind in ("single", "multiple"):
        counts: Counter[str] = Counter()
        for _q, a in answers:
            counts.update(a if isinstance(a, list) else [str(a)])
        found = [
            OptionCount(option=c.id, label=c.text, count=counts.pop(c.id, 0), correct=c.correct)
            for c in reference.choices
        ]
        found += [OptionCount(option=k, label=k, count=v, correct=False) for k, v in counts.items()]
        return found
    if kind == "true_false":
        return [
            OptionCount(
                option=str(value).lower(),
                label=str(value),
                count=sum(1 for _q, a in answers if a is value),
                correct=reference.correct is value,
            )
            for value in (True, False)
        ]
    if kind == "short_text":
        texts: Counter[str] = Counter()
        right: dict[str, bool] = {}
        for q, a in answers:
            key = normalize_text(str(a), case_sensitive=q.case_sensitive)
            texts[key] += 1
            right.setdefault(key, is_correct(q, a))
        top = sorted(texts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_TEXT_ANSWERS]
        return [OptionCount(option=k, label=k, count=v, correct=right[k]) for k, v in top]
    within = sum(1 for q, a in answers if is_correct(q, a))
    return [
        OptionCount(
            option="within_tolerance", label="within tolerance", count=within, correct=True
        ),
        OptionCount(
            option="outside_tolerance",
            label="outside tolerance",
            count=len(answers) - within,
            correct=False,
        ),
    ]


def _item(qid: str, reference: Question, scored: Sequence[_Attempt]) -> ItemAnalysis:
    points: list[float] = []
    maxima: list[float] = []
    rest: list[float] = []
    given: list[tuple[Question, AnswerValue]] = []
    times: list[float] = []
    for a in scored:
        assert a.quiz is not None
        assert a.state.test is not None
        question = a.quiz.test.question(qid)
        if question is None or qid not in a.state.test.delivered_set:
            continue
        earned = a.per_question.get(qid, 0.0)
        points.append(earned)
        maxima.append(question.points)
        rest.append(math.fsum(a.per_question.values()) - earned)
        given.append((question, a.state.test.answers.get(qid)))
        if qid in a.time_spent:
            times.append(a.time_spent[qid])
    n = len(points)
    mean = _r(math.fsum(points) / n) if n else None
    top = math.fsum(maxima)
    return ItemAnalysis(
        question_id=qid,
        kind=reference.kind,
        text=reference.text,
        max_points=reference.points,
        delivered=n,
        answered=sum(1 for _q, ans in given if _answered(ans)),
        mean_points=mean,
        facility=_r(100.0 * math.fsum(points) / top) if n and top > 0 else None,
        discrimination=pearson(points, rest),
        options=_options(reference, given),
        time_samples=len(times),
        median_time_s=_r(statistics.median(times)) if times else None,
        mean_time_s=_r(statistics.fmean(times)) if times else None,
    )


# ----------------------------------------------------------------------------- report


def _stat(values: Sequence[float], how: str) -> float | None:
    if not values:
        return None
    return _r(statistics.median(values) if how == "median" else statistics.fmean(values))


def _summary(results: Sequence[CandidateResult]) -> Summary:
    scored = [r for r in results if r.status == "submitted"]
    scores = [r.score for r in scored if r.score is not None]
    pcts = [r.percentage for r in scored if r.percentage is not None]
    used = [r.time_used_s for r in scored if r.time_used_s is not None]
    return Summary(
        attempts=len(results),
        scored=len(scored),
        in_progress=sum(1 for r in results if r.status == "open"),
        voided=sum(1 for r in results if r.status == "voided"),
        mean_score=_stat(scores, "mean"),
        median_score=_stat(scores, "median"),
        mean_percentage=_stat(pcts, "mean"),
        median_percentage=_stat(pcts, "median"),
        mean_time_used_s=_stat(used, "mean"),
        median_time_used_s=_stat(used, "median"),
    )


def build_report(
    latest: Quiz,
    logs: Sequence[Sequence[RecordedEvent]],
    quizzes: Mapping[int, Quiz],
    *,
    timelines: bool = False,
) -> QuizReport:
    """The report of quiz ``latest.id`` from its attempts' logs; ``quizzes`` maps
    each version the attempts used to its definition."""
    attempts: list[_Attempt] = []
    for records in logs:
        if not records:
            continue
        version = fold(r.event for r in records[:1]).quiz_version
        attempts.append(_examine(records, quizzes.get(version)))
    versions = sorted({a.state.quiz_version for a in attempts})
    # Question columns: the latest version's order, then questions only older
    # versions had (newest version first).
    reference: dict[str, Question] = {}
    for quiz in [latest, *(quizzes[v] for v in sorted(quizzes, reverse=True))]:
        for question in quiz.test.questions:
            reference.setdefault(question.id, question)
    results = [_result(a) for a in attempts]
    used_ids = {ans.question_id for r in results for ans in r.answers}
    latest_ids = {q.id for q in latest.test.questions}
    question_ids = [qid for qid in reference if qid in latest_ids or qid in used_ids]
    scored = [a for a in attempts if a.scored]
    lines = None
    if timelines:
        lines = [
            AttemptTimeline(attempt_id=a.state.attempt_id, lines=timeline(a.records, a.quiz))
            for a in attempts
        ]
    return QuizReport(
        quiz_id=latest.id,
        title=latest.title,
        versions=versions,
        question_ids=question_ids,
        summary=_summary(results),
        results=results,
        items=[_item(qid, reference[qid], scored) for qid in question_ids],
        sessions=[session_analytics(a.records) for a in attempts],
        timelines=lines,
    )


# ------------------------------------------------------------------- through the store


async def quiz_report(store: Store, quiz_id: str, *, timelines: bool = False) -> QuizReport:
    """Read every attempt of ``quiz_id`` and the versions they used; 404 problem
    (``not_found``) for an unknown quiz."""
    latest = await store.get_quiz(quiz_id)
    if latest is None:
        raise AE.refuse(AE.NOT_FOUND, f"quiz {quiz_id} not found")
    logs: list[list[RecordedEvent]] = []
    offset = 0
    while True:
        rows = await store.list_attempts(quiz_id=quiz_id, limit=PAGE, offset=offset)
        for row in rows:
            logs.append(await store.read(row.attempt_id))
        if len(rows) < PAGE:
            break
        offset += len(rows)
    quizzes: dict[int, Quiz] = {latest.version: latest}
    for records in logs:
        version = fold(r.event for r in records[:1]).quiz_version
        if records and version not in quizzes:
            found = await store.get_quiz(quiz_id, version)
            if found is not None:
                quizzes[version] = found
    return build_report(latest, logs, quizzes, timelines=timelines)


async def attempt_analytics(store: Store, attempt_id: str) -> AttemptAnalytics:
    """One attempt's result, session analytics and timeline (404 when unknown)."""
    records = await store.read(attempt_id)
    if not records:
        raise AE.refuse(AE.NOT_FOUND, "no such attempt")
    state = fold(r.event for r in records)
    quiz = await store.get_quiz(state.quiz_id, state.quiz_version)
    return AttemptAnalytics(
        attempt_id=attempt_id,
        quiz_id=state.quiz_id,
        result=_result(_examine(records, quiz)) if quiz is not None else None,
        sessions=session_analytics(records),
        timeline=timeline(records, quiz),
    )
