"""A quiz's report read in one pass over its attempts, page by page, in bounded
memory: 100,000 attempts are as many pages of ``PAGE`` logs, never all at once.

Each attempt's log is folded into its result (``candidate_result``) and then
dropped. What the statistics need stays as numbers: per question, the points of
every counted attempt, its min and max, the rest-of-test total (for the
discrimination), the time spent (arrays of floats) and the answers' counts; the
summary keeps the scores, percentages and times. The results themselves are
encoded (JSON, one after the other) into a spool that moves to a temporary file
beyond ``SPOOL_MEMORY`` bytes, and are read back one at a time to be sent: the
routes stream the CSV or JSON out as it is read. The figures are exactly those
of ``builder.build_report`` on the same logs (same order, same sums): the rules
are in ``builder``'s docstring.
"""

from __future__ import annotations

import math
import statistics
import struct
import tempfile
from array import array
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO

import msgspec

from quizsession.app.ports import AttemptRecords, RecordedEvent
from quizsession.app.reports.attempt import (
    Examined,
    candidate_result,
    examine,
    rounded,
    session_analytics,
)
from quizsession.app.reports.items import (
    TOP_TEXT_ANSWERS,
    _answered,
    facility_index,
    pearson,
)
from quizsession.app.reports.model import (
    AttemptTimeline,
    CandidateResult,
    ItemAnalysis,
    OptionCount,
    QuizReport,
    SessionAnalytics,
    Summary,
)
from quizsession.app.timeline import timeline
from quizsession.domain.attempt import fold
from quizsession.domain.errors import ErrorCode, refuse
from quizsession.domain.events import AnswerValue
from quizsession.domain.grading import scoring_version
from quizsession.domain.kinds import kind_of
from quizsession.domain.quiz import Question, Quiz
from quizsession.domain.scoring import is_correct

#: Attempts read per store call (their logs in one ``read_many``).
PAGE = 500
#: Encoded results kept in memory before the spool moves to a temporary file.
SPOOL_MEMORY = 4 * 2**20

_LENGTH = struct.Struct("<I")
_RESULT_ENCODER = msgspec.json.Encoder()
_RESULT_DECODER = msgspec.json.Decoder(CandidateResult)


async def attempt_pages(
    records: AttemptRecords, quiz_id: str, page: int = PAGE
) -> AsyncIterator[list[tuple[str, list[RecordedEvent]]]]:
    """The quiz's attempts as pages of (attempt id, log), in attempt-id order:
    one keyset page of the index and one ``read_many`` per page."""
    after: str | None = None
    while True:
        rows = await records.list_attempts(quiz_id=quiz_id, limit=page, after=after)
        if not rows:
            return
        ids = [row.attempt_id for row in rows]
        logs = await records.read_many(ids)
        yield [(attempt_id, logs.get(attempt_id, [])) for attempt_id in ids]
        if len(rows) < page:
            return
        after = ids[-1]


@dataclass
class _ItemTally:
    """One question's item analysis, added to attempt by attempt."""

    points: array[float] = field(default_factory=lambda: array("d"))
    minima: array[float] = field(default_factory=lambda: array("d"))
    maxima: array[float] = field(default_factory=lambda: array("d"))
    rest: array[float] = field(default_factory=lambda: array("d"))
    times: array[float] = field(default_factory=lambda: array("d"))
    answered: int = 0
    right: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    key_right: dict[str, bool] = field(default_factory=dict)

    def add(self, question: Question, earned: float, total: float, answer: AnswerValue) -> None:
        self.points.append(earned)
        self.maxima.append(question.points)
        self.minima.append(-question.penalty)
        self.rest.append(total - earned)
        if is_correct(question, answer):
            self.right += 1
        if not _answered(answer):
            return
        self.answered += 1
        spec = kind_of(question)
        keys = list(dict.fromkeys(spec.response_key(question, answer)))
        self.counts.update(keys)
        if len(keys) == 1:
            self.key_right.setdefault(keys[0], spec.is_correct(question, answer))

    def result(self, qid: str, reference: Question) -> ItemAnalysis:
        n = len(self.points)
        counts = Counter(self.counts)
        found = [
            OptionCount(option=o.key, label=o.label, count=counts.pop(o.key, 0), correct=o.correct)
            for o in kind_of(reference).known_responses(reference)
        ]
        others = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_TEXT_ANSWERS]
        found += [
            OptionCount(option=k, label=k, count=v, correct=self.key_right.get(k, False))
            for k, v in others
        ]
        times = self.times
        return ItemAnalysis(
            question_id=qid,
            kind=reference.kind,
            text=reference.text,
            max_points=reference.points,
            min_points=-reference.penalty + 0.0,
            delivered=n,
            answered=self.answered,
            right=self.right,
            right_percentage=rounded(100.0 * self.right / n) if n else None,
            mean_points=rounded(math.fsum(self.points) / n) if n else None,
            facility=facility_index(self.points, self.minima, self.maxima),
            discrimination=pearson(self.points, self.rest),
            options=found,
            time_samples=len(times),
            median_time_s=rounded(statistics.median(times)) if times else None,
            mean_time_s=rounded(statistics.fmean(times)) if times else None,
        )


def _stat(values: Sequence[float], how: str) -> float | None:
    if not values:
        return None
    return rounded(statistics.median(values) if how == "median" else statistics.fmean(values))


@dataclass
class _SummaryTally:
    attempts: int = 0
    scored: int = 0
    final: int = 0
    in_progress: int = 0
    voided: int = 0
    scores: array[float] = field(default_factory=lambda: array("d"))
    percentages: array[float] = field(default_factory=lambda: array("d"))
    used: array[float] = field(default_factory=lambda: array("d"))

    def add(self, r: CandidateResult) -> None:
        self.attempts += 1
        self.in_progress += r.status == "open"
        self.voided += r.status == "voided"
        if r.status != "submitted":
            return
        self.scored += 1
        if r.time_used_s is not None:
            self.used.append(r.time_used_s)
        if r.pending:
            return
        self.final += 1
        if r.score is not None:
            self.scores.append(r.score)
        if r.percentage is not None:
            self.percentages.append(r.percentage)

    def summary(self) -> Summary:
        return Summary(
            attempts=self.attempts,
            scored=self.scored,
            in_progress=self.in_progress,
            voided=self.voided,
            mean_score=_stat(self.scores, "mean"),
            median_score=_stat(self.scores, "median"),
            mean_percentage=_stat(self.percentages, "mean"),
            median_percentage=_stat(self.percentages, "median"),
            mean_time_used_s=_stat(self.used, "mean"),
            median_time_used_s=_stat(self.used, "median"),
            pending=self.scored - self.final,
        )


class TalliedReport:
    """A report read once: its header figures, and its results to read back one
    at a time (``results()``, or already encoded: ``results_json()``). Holds a
    spool: ``close()`` it (or read it through ``results*``, which close it at the
    end)."""

    def __init__(
        self,
        latest: Quiz,
        *,
        sessions: bool = False,
        timelines: bool = False,
    ) -> None:
        self.quiz_id = latest.id
        self.title = latest.title
        self._latest = latest
        self._quizzes: dict[int, Quiz | None] = {latest.version: latest}
        self._versions: set[int] = set()
        self._used_ids: set[str] = set()
        self._items: dict[str, _ItemTally] = {}
        self._summary = _SummaryTally()
        self._spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115
        self._count = 0
        self.sessions: list[SessionAnalytics] | None = [] if sessions else None
        self.timelines: list[AttemptTimeline] | None = [] if timelines else None

    # -- adding ------------------------------------------------------------------------

    def knows(self, version: int) -> bool:
        return version in self._quizzes

    def know(self, version: int, quiz: Quiz | None) -> None:
        """The definition of a version the attempts are scored with (None: gone)."""
        self._quizzes[version] = quiz

    def add(self, records: Sequence[RecordedEvent], version: int) -> None:
        """One attempt's log, scored with ``version`` (``know`` it first)."""
        if not records:
            return
        a = examine(records, self._quizzes.get(version))
        result = candidate_result(a)
        self._versions.add(a.state.quiz_version)
        self._used_ids.update(ans.question_id for ans in result.answers)
        self._summary.add(result)
        if a.scored:
            self._add_items(a)
        if self.sessions is not None:
            self.sessions.append(session_analytics(records))
        if self.timelines is not None:
            lines = timeline(a.records, a.quiz)
            self.timelines.append(AttemptTimeline(attempt_id=a.state.attempt_id, lines=lines))
        data = _RESULT_ENCODER.encode(result)
        self._spool.write(_LENGTH.pack(len(data)))
        self._spool.write(data)
        self._count += 1

    def _add_items(self, a: Examined) -> None:
        assert a.quiz is not None
        assert a.state.test is not None
        total = math.fsum(a.per_question.values())
        answers = a.state.test.answers
        for qid in a.state.test.delivered_set:
            question = a.quiz.test.question(qid)
            if question is None:
                continue
            tally = self._items.get(qid)
            if tally is None:
                tally = self._items[qid] = _ItemTally()
            tally.add(question, a.per_question.get(qid, 0.0), total, answers.get(qid))
            if qid in a.time_spent:
                tally.times.append(a.time_spent[qid])

    # -- the figures -------------------------------------------------------------------

    def _reference(self) -> dict[str, Question]:
        known = {v: q for v, q in self._quizzes.items() if q is not None}
        reference: dict[str, Question] = {}
        for quiz in [self._latest, *(known[v] for v in sorted(known, reverse=True))]:
            for question in quiz.test.questions:
                reference.setdefault(question.id, question)
        return reference

    @property
    def versions(self) -> list[int]:
        return sorted(self._versions)

    @property
    def question_ids(self) -> list[str]:
        """Columns: the latest version's order, then questions only older versions
        had (newest version first), those the attempts used."""
        latest_ids = {q.id for q in self._latest.test.questions}
        return [q for q in self._reference() if q in latest_ids or q in self._used_ids]

    @property
    def summary(self) -> Summary:
        return self._summary.summary()

    @property
    def items(self) -> list[ItemAnalysis]:
        reference = self._reference()
        return [
            self._items.get(qid, _ItemTally()).result(qid, reference[qid])
            for qid in self.question_ids
        ]

    # -- the results, read back --------------------------------------------------------

    def results_json(self) -> Iterator[bytes]:
        """Each result's JSON, in attempt-id order; closes the spool at the end."""
        spool = self._spool
        try:
            spool.seek(0)
            for _ in range(self._count):
                (size,) = _LENGTH.unpack(spool.read(_LENGTH.size))
                yield spool.read(size)
        finally:
            self.close()

    def results(self) -> Iterator[CandidateResult]:
        for data in self.results_json():
            yield _RESULT_DECODER.decode(data)

    def close(self) -> None:
        self._spool.close()

    def report(self) -> QuizReport:
        """The whole report in memory (the HTML page, the command line)."""
        return QuizReport(
            quiz_id=self.quiz_id,
            title=self.title,
            versions=self.versions,
            question_ids=self.question_ids,
            summary=self.summary,
            results=list(self.results()),
            items=self.items,
            sessions=self.sessions or [],
            timelines=self.timelines,
        )


async def tally_report(
    records: AttemptRecords,
    quiz_id: str,
    *,
    sessions: bool = False,
    timelines: bool = False,
    page: int = PAGE,
) -> TalliedReport:
    """Read every attempt of ``quiz_id`` once, page by page; 404 problem
    (``not_found``) for an unknown quiz."""
    latest = await records.get_quiz(quiz_id)
    if latest is None:
        raise refuse(ErrorCode.NOT_FOUND, f"quiz {quiz_id} not found")
    tally = TalliedReport(latest, sessions=sessions, timelines=timelines)
    try:
        async for logs in attempt_pages(records, quiz_id, page):
            for _, log in logs:
                if not log:
                    continue
                # Scored with the version it used, or a regrade's.
                version = scoring_version(fold(r.event for r in log))
                if not tally.knows(version):
                    tally.know(version, await records.get_quiz(quiz_id, version))
                tally.add(log, version)
    except BaseException:
        tally.close()
        raise
    return tally
