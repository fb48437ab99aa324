"""Reports of a quiz, computed from its attempts' event logs (the log is the truth).

``quiz_report`` / ``attempt_analytics`` read through the ``AttemptRecords`` ports
(``stream``: a quiz's attempts page by page, in bounded memory);
everything else is a pure function of events and quiz definitions (``build_report``): one
attempt in ``attempt``, item analysis in ``items``, the structs in
``model``. Renderers (CSV, JSON, HTML) are behind the ``ReportRenderer``
port, implemented in ``adapters/report_render/``.

Rules (also in docs):

- **Population.** Every attempt of the quiz is listed in the results with its
  status. Statistics (summary, item analysis) use the *scored* attempts only:
  status ``submitted``. Voided attempts (even if submitted before) and attempts in
  progress are left out. Each attempt is scored with the quiz version it used
  (or, after a regrade, the version it was regraded with).
- **Results.** ``score``/``max_score``: the submitted attempt's score (None
  until submitted) with its grades given by hand; after a regrade, scored with
  the version it was regraded with (``score_before_regrade`` keeps the score
  before the first regrade). While answers graded by hand wait for a grader the
  result is ``pending``: ``score`` is the automatic part, ``percentage`` is None
  and the summary's score figures leave the attempt out (``summary.pending``
  counts them). ``percentage`` = 100 * score / max_score. ``started_at`` is the
  start of the test section, ``finished_at`` the submit's finish time (the
  deadline for a deadline submit), ``time_used_s`` = finished_at - started_at
  (excluding nothing: disconnects, reopens and extensions all count).
  ``answers`` holds every question that counts toward the attempt's score, with
  the points its final answer earns (``pending`` while it waits for a grader).
- **Item analysis.** An attempt counts for a question when the question was
  delivered to it in the test section (``delivered``). ``answered``: the final
  answer is not empty (None, ``[]`` and a blank text are empty). ``right``: the
  final answer is fully right (``is_correct``; partial credit is not right);
  ``right_percentage`` = 100 * right / delivered. ``facility`` is Moodle's
  facility index: 100 * (mean points - mean min points) / (mean max points -
  mean min points), where a question's min is ``-penalty`` and its max its
  ``points`` (those of the attempt's version). It stays within 0-100 with
  negative marks: half right (1 point) and half wrong (-1) is 50, where the
  plain mean points / max points would read 0. ``mean_points`` is the plain
  mean. ``discrimination`` (Moodle's discrimination
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

import statistics
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Protocol

import msgspec

from quizsession.app.ports import AttemptRecords, RecordedEvent
from quizsession.app.reports.attempt import (
    Examined,
    candidate_result,
    examine,
    rounded,
    session_analytics,
)
from quizsession.app.reports.items import item_analysis
from quizsession.app.reports.model import (
    AttemptAnalytics,
    AttemptTimeline,
    CandidateResult,
    QuizReport,
    Summary,
)
from quizsession.app.reports.stream import tally_report
from quizsession.app.timeline import timeline
from quizsession.domain.attempt import fold
from quizsession.domain.errors import ErrorCode, refuse
from quizsession.domain.grading import scoring_version
from quizsession.domain.quiz import Question, Quiz


class ReportRenderer(Protocol):
    """Writes a report out: results as CSV, the whole report as JSON or as one
    self-contained HTML page."""

    def results_csv(self, report: QuizReport) -> str: ...

    def report_json(self, report: QuizReport) -> bytes: ...

    def report_html(self, report: QuizReport) -> str: ...

    def results_csv_lines(
        self, question_ids: Sequence[str], results: Iterable[CandidateResult]
    ) -> Iterator[str]:
        """``results_csv`` a few rows at a time, as ``results`` are read."""
        ...

    def results_json_chunks(
        self, head: msgspec.Struct, results: Iterable[bytes]
    ) -> Iterator[bytes]:
        """``head`` (a struct whose last field, ``results``, is empty) with the
        results (each one's JSON) in that list, a chunk at a time."""
        ...


def _stat(values: Sequence[float], how: str) -> float | None:
    if not values:
        return None
    return rounded(statistics.median(values) if how == "median" else statistics.fmean(values))


def _summary(results: Sequence[CandidateResult]) -> Summary:
    scored = [r for r in results if r.status == "submitted"]
    final = [r for r in scored if not r.pending]
    scores = [r.score for r in final if r.score is not None]
    pcts = [r.percentage for r in final if r.percentage is not None]
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
        pending=len(scored) - len(final),
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
    attempts: list[Examined] = []
    for records in logs:
        if not records:
            continue
        # Scored with the version it used, or a regrade's.
        version = scoring_version(fold(r.event for r in records))
        attempts.append(examine(records, quizzes.get(version)))
    versions = sorted({a.state.quiz_version for a in attempts})
    # Question columns: the latest version's order, then questions only older
    # versions had (newest version first).
    reference: dict[str, Question] = {}
    for quiz in [latest, *(quizzes[v] for v in sorted(quizzes, reverse=True))]:
        for question in quiz.test.questions:
            reference.setdefault(question.id, question)
    results = [candidate_result(a) for a in attempts]
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
        items=[item_analysis(qid, reference[qid], scored) for qid in question_ids],
        sessions=[session_analytics(a.records) for a in attempts],
        timelines=lines,
    )


# ------------------------------------------------------------------- through the store


async def quiz_report(
    store: AttemptRecords, quiz_id: str, *, timelines: bool = False
) -> QuizReport:
    """The whole report in memory (the HTML page, the command line), read page by
    page (``stream.tally_report``); 404 problem (``not_found``) for an unknown
    quiz. The routes that can stream read ``tally_report`` themselves."""
    tally = await tally_report(store, quiz_id, sessions=True, timelines=timelines)
    return tally.report()


async def attempt_analytics(store: AttemptRecords, attempt_id: str) -> AttemptAnalytics:
    """One attempt's result, session analytics and timeline (404 when unknown)."""
    records = await store.read(attempt_id)
    if not records:
        raise refuse(ErrorCode.NOT_FOUND, "no such attempt")
    state = fold(r.event for r in records)
    quiz = await store.get_quiz(state.quiz_id, scoring_version(state))
    return AttemptAnalytics(
        attempt_id=attempt_id,
        quiz_id=state.quiz_id,
        result=candidate_result(examine(records, quiz)) if quiz is not None else None,
        sessions=session_analytics(records),
        timeline=timeline(records, quiz),
    )
