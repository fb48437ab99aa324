"""Reports as CSV and JSON.

- CSV: RFC 4180 (the ``csv`` module, CRLF line ends, fields with commas, quotes or
  line breaks quoted), one row per attempt with a points and an answer column per
  question. Text cells that a spreadsheet would run as a formula (starting with
  ``= + - @``, tab or carriage return) get a leading single quote; numbers the
  report computed are written as plain numbers. A score waiting for a grader
  is written ``pending``; ``score_before_regrade`` is set once an attempt was
  regraded.
- JSON: the msgspec encoding of the report structs.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Sequence

import msgspec

from quizsession.app.reports.model import AnswerResult, CandidateResult, QuizReport
from quizsession.domain.events import AnswerValue

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FIXED_COLUMNS = [
    "attempt_id",
    "candidate_id",
    "candidate_name",
    "quiz_version",
    "status",
    "score",
    "max_score",
    "percentage",
    "started_at",
    "finished_at",
    "time_used_s",
    "submit_reason",
    "score_before_regrade",
]
#: The score cell of an attempt (or an answer) whose answers graded by hand wait
#: for a grader.
PENDING = "pending"

# ------------------------------------------------------------------------------- text


def neutralise(cell: str) -> str:
    """``cell`` with a leading ``'`` when a spreadsheet would read it as a formula."""
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def iso_time(at: float | None) -> str:
    if at is None:
        return ""
    return dt.datetime.fromtimestamp(at, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def answer_text(value: AnswerValue) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(value)
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return ";".join(f"{k}={answer_text(v)}" for k, v in value.items())
    return number(value)


def _cell(value: str | float | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    return number(value)


def _answer_cell(value: AnswerValue) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number(value)
    return neutralise(answer_text(value))


# -------------------------------------------------------------------------------- CSV


def results_csv_header(question_ids: Sequence[str]) -> list[str]:
    header = list(FIXED_COLUMNS)
    for qid in question_ids:
        header += [f"{qid} points", f"{qid} answer"]
    return [neutralise(h) for h in header]


def results_csv_row(r: CandidateResult, question_ids: Sequence[str]) -> list[str]:
    row = [
        _cell(r.attempt_id),
        _cell(r.candidate_id),
        _cell(r.candidate_name),
        number(r.quiz_version),
        _cell(r.status),
        PENDING if r.pending else _cell(r.score),
        _cell(r.max_score),
        _cell(r.percentage),
        iso_time(r.started_at),
        iso_time(r.finished_at),
        _cell(r.time_used_s),
        _cell(r.submit_reason),
        _cell(r.score_before_regrade),
    ]
    by_id: dict[str, AnswerResult] = {a.question_id: a for a in r.answers}
    for qid in question_ids:
        found = by_id.get(qid)
        if found is None:
            row += ["", ""]
        else:
            points = PENDING if found.pending else number(found.points)
            row += [points, _answer_cell(found.answer)]
    return row


def results_csv(report: QuizReport) -> str:
    """One row per attempt; per question a ``<id> points`` and ``<id> answer`` column
    (empty when the question did not count for that attempt)."""
    return "".join(results_csv_lines(report.question_ids, report.results))


def results_csv_lines(
    question_ids: Sequence[str], results: Iterable[CandidateResult]
) -> Iterator[str]:
    """``results_csv`` a few rows at a time, as ``results`` are read."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(results_csv_header(question_ids))
    for n, r in enumerate(results, 1):
        writer.writerow(results_csv_row(r, question_ids))
        if n % 200 == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


# ------------------------------------------------------------------------------- JSON


def report_json(report: QuizReport | msgspec.Struct) -> bytes:
    return msgspec.json.encode(report)
