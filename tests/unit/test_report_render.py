"""The report renderers: CSV (RFC 4180, no formula injection), JSON and HTML."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import msgspec
import pytest
from typer.testing import CliRunner

from quizsession.adapters.report_render.csv_json import (
    FIXED_COLUMNS,
    neutralise,
    report_json,
    results_csv,
)
from quizsession.adapters.report_render.html_page import report_html
from quizsession.app.reports import build_report
from quizsession.app.reports_model import QuizReport
from quizsession.domain.quiz_validation import parse_quiz
from tests.unit.test_reports import Run, S, quiz_raw

SCRIPT = "<script>alert(1)</script>"
TRICKY = 'Doe, "J"\nJr.'


def quiz_with_penalty() -> object:
    raw = quiz_raw(title="Quiz <b>bold</b> & co")
    raw["test"]["questions"][2]["penalty"] = 0.5  # q3: wrong costs 0.5
    return raw


QUIZ = parse_quiz(quiz_with_penalty())


@pytest.fixture(scope="module")
def report() -> QuizReport:
    people = [
        (SCRIPT, "=1+1", 3.0),  # q3 wrong: -0.5 points
        (TRICKY, "-2+3", 10.0),
        ("@admin", "+cmd", 10.0),
        ('=HYPERLINK("http://evil")', "Mars, of course\nI think", 9.6),
    ]
    runs = []
    for n, (name, text, number) in enumerate(people):
        run = Run(f"r{n}", name, QUIZ)
        end = run.take([("a", 10 * (n + 1)), (True, 5), (number, 5), (text, 5), (["y"], 5)])
        run.submit(end)
        runs.append(run)
    open_run = Run("r9", "Still going", QUIZ)
    open_run.take([("b", 3)], at=S)
    runs.append(open_run)
    return build_report(QUIZ, [r.records for r in runs], {1: QUIZ}, timelines=True)


# -------------------------------------------------------------------------------- CSV


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_neutralise() -> None:
    for cell in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"]:
        assert neutralise(cell) == "'" + cell
    for cell in ["", "plain", "1=1", "a-b", " =1"]:
        assert neutralise(cell) == cell


def test_csv_columns(report: QuizReport) -> None:
    text = results_csv(report)
    table = rows(text)
    header = table[0]
    assert header[: len(FIXED_COLUMNS)] == FIXED_COLUMNS
    assert header[len(FIXED_COLUMNS) :] == [
        f"q{n} {kind}" for n in range(1, 6) for kind in ("points", "answer")
    ]
    assert len(table) == 1 + 5  # one row per attempt
    assert all(len(row) == len(header) for row in table)
    first = dict(zip(header, table[1], strict=True))
    assert first["attempt_id"] == "r0"
    assert first["status"] == "submitted"
    assert (first["score"], first["max_score"], first["percentage"]) == ("1.5", "5", "30")
    assert first["started_at"] == "2027-01-15T08:00:10Z"
    assert first["time_used_s"] == "30"
    # Numbers the report computed stay numbers, even negative ones.
    assert (first["q3 points"], first["q3 answer"]) == ("-0.5", "3")
    assert (first["q2 answer"], first["q5 answer"]) == ("true", "y")
    running = dict(zip(header, table[5], strict=True))
    assert (running["status"], running["score"], running["finished_at"]) == ("open", "", "")
    assert (running["q1 points"], running["q1 answer"]) == ("0", "b")
    assert (running["q2 points"], running["q2 answer"]) == ("0", "")


def test_csv_neutralises_formulas_and_quotes_rfc4180(report: QuizReport) -> None:
    text = results_csv(report)
    assert text.endswith("\r\n")
    table = rows(text)
    header = table[0]
    cells = [dict(zip(header, row, strict=True)) for row in table[1:]]
    assert [c["candidate_name"] for c in cells] == [
        SCRIPT,  # harmless in a spreadsheet; it is the HTML renderer's job
        TRICKY,  # comma, quotes and a line break survive the round trip
        "'@admin",
        '\'=HYPERLINK("http://evil")',
        "Still going",
    ]
    assert [c["q4 answer"] for c in cells] == [
        "'=1+1",
        "'-2+3",
        "'+cmd",
        "Mars, of course\nI think",
        "",
    ]
    # RFC 4180 quoting on the wire: the field is quoted and inner quotes doubled.
    assert '"Doe, ""J""\nJr."' in text
    assert '"\'=HYPERLINK(""http://evil"")"' in text
    # No cell anywhere starts with a formula character.
    for row in table:
        for cell in row:
            assert not re.match(r"[=+@\t\r]", cell), cell
            if cell.startswith("-"):
                float(cell)  # only the report's own negative numbers


# ------------------------------------------------------------------------------- JSON


def test_json_round_trips(report: QuizReport) -> None:
    data = report_json(report)
    assert msgspec.json.decode(data, type=QuizReport) == report
    assert msgspec.json.decode(data)["results"][0]["candidate_name"] == SCRIPT


# ------------------------------------------------------------------------------- HTML

VOID = {"br", "img", "meta", "link", "hr", "input", "col", "area", "base", "source", "wbr"}


class Checker(HTMLParser):
    """Collects tags and images and checks that elements nest properly."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.images: list[dict[str, str | None]] = []
        self.text: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_is_self_contained_and_escapes_candidate_strings(report: QuizReport) -> None:
    page = report_html(report)
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>" not in page  # the quiz title is escaped too
    assert "Quiz &lt;b&gt;bold&lt;/b&gt; &amp; co" in page
    assert "http://" not in page.replace("http://evil", "")  # nothing fetched from outside

    checker = Checker()
    checker.feed(page)
    checker.close()
    assert checker.errors == []
    assert checker.stack == []
    assert checker.tags.count("table") == 4  # summary, results, items, sessions
    assert "style" in checker.tags
    text = "".join(checker.text)
    assert SCRIPT in text  # shown to the reader as text
    assert TRICKY in text

    assert len(checker.images) == 3
    for image in checker.images:
        src = image["src"]
        assert src is not None
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.removeprefix("data:image/png;base64,"), validate=True)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert image["alt"]
    assert [i["alt"] for i in checker.images] == [
        "Score distribution",
        "Time used",
        "Facility per question",
    ]


def test_html_for_a_quiz_without_attempts() -> None:
    empty = build_report(QUIZ, [], {1: QUIZ})
    checker = Checker()
    checker.feed(report_html(empty))
    checker.close()
    assert checker.errors == []
    assert len(checker.images) == 3


# -------------------------------------------------------------------------------- CLI


def test_cli_report(tmp_path: Path) -> None:
    from quizsession.adapters.store.sqlite import SqliteStore
    from quizsession.app.attempts import index_row
    from quizsession.entrypoints.cli import app

    db = tmp_path / "reports.db"

    async def fill() -> None:
        store = SqliteStore(str(db))
        await store.open()
        try:
            await store.put_quiz(QUIZ)
            run = Run("r1", "=Ann", QUIZ)
            run.submit(run.take([("a", 3), (True, 4)]))
            await store.append(
                "r1", 0, [r.event for r in run.records], index_row(run.state, QUIZ, S + 7)
            )
        finally:
            await store.close()

    asyncio.run(fill())
    url = f"sqlite:///{db}"
    runner = CliRunner()
    result = runner.invoke(app, ["report", "rq", "--format", "csv", "--store-url", url])
    assert result.exit_code == 0, result.output
    table = rows(result.stdout)
    assert [row[2] for row in table] == ["candidate_name", "'=Ann"]

    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", "rq", "-f", "html", "-o", str(out), "--store-url", url])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert out.read_text(encoding="utf-8").count("<img ") == 3

    result = runner.invoke(app, ["report", "rq", "-f", "json", "--store-url", url])
    assert result.exit_code == 0, result.output
    assert msgspec.json.decode(result.stdout, type=QuizReport).results[0].score == 2.0

    result = runner.invoke(app, ["report", "nope", "-f", "json", "--store-url", url])
    assert result.exit_code == 1
    assert "not_found" in result.stderr
    result = runner.invoke(app, ["report", "rq", "-f", "xlsx", "--store-url", url])
    assert result.exit_code == 2
