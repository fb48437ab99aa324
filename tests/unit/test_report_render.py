"""The report renderers: CSV (RFC 4180, no formula injection), JSON and HTML."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import itertools
import re
import struct
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
import pytest
from typer.testing import CliRunner

from quizsession.adapters.report_render.csv_json import (
    FIXED_COLUMNS,
    neutralise,
    report_json,
    results_csv,
)
from quizsession.adapters.report_render.html_page import (
    CORRECT_MARK,
    FACILITY_NOTE,
    report_html,
)
from quizsession.adapters.report_render.html_text import (
    NONE,
    duration,
    fmt,
    listing,
    plural,
)
from quizsession.app.reports.builder import build_report
from quizsession.app.reports.model import QuizReport
from quizsession.domain.quiz_validation import parse_quiz
from tests.unit.test_reports import Run, S, quiz_raw

if TYPE_CHECKING:
    pass

SCRIPT = "<script>alert(1)</script>"
TRICKY = 'Doe, "J"\nJr.'


def quiz_with_penalty() -> object:
    raw = quiz_raw(title="Quiz <b>bold</b> & co")
    raw["test"]["questions"][2]["penalty"] = 0.5  # q3: wrong costs 0.5
    return raw


QUIZ = parse_quiz(quiz_with_penalty())


def report_runs() -> list[Run]:
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
    return runs


@pytest.fixture(scope="module")
def report() -> QuizReport:
    return build_report(QUIZ, [r.records for r in report_runs()], {1: QUIZ}, timelines=True)


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
    # summary, score bands, time bands, results, items, sessions
    assert checker.tags.count("table") == 6
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
    alts = [i["alt"] or "" for i in checker.images]
    # Each text alternative summarises its figure (its numbers are in tables).
    assert alts[0] == (
        "Histogram of the scores of 4 scored attempts in bands of 10 percentage points: "
        "30 to 40 %: 1 attempt; 60 to 70 %: 3 attempts."
    )
    assert alts[1] == (
        "Histogram of the time used by 4 scored attempts in bands of 10 seconds: "
        "30 s to 40 s: 1 attempt; 40 s to 50 s: 1 attempt; 50 s to 1 min: 1 attempt; "
        "1 min to 1 min 10 s: 1 attempt."
    )
    assert alts[2] == (
        "Bar chart of the facility index of 5 questions, 0 to 100 %: lowest q4 at 0 %, "
        "highest q1 at 100 %. Every value is in the item analysis table."
    )


def test_html_for_a_quiz_without_attempts() -> None:
    empty = build_report(QUIZ, [], {1: QUIZ})
    checker = Checker()
    checker.feed(report_html(empty))
    checker.close()
    assert checker.errors == []
    assert len(checker.images) == 3


class Structure(HTMLParser):
    """What the accessibility and wording checks look at: headings, tables (their
    captions and header cells), images, the correct-answer marks and the text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.decls: list[str] = []
        self.starts: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[tuple[int, str]] = []
        self.captions: list[str] = []
        self.headers: list[tuple[str | None, str]] = []  # (scope, text)
        self.correct: list[str] = []
        self.text: list[str] = []
        self._open: list[tuple[str, dict[str, str | None], list[str]]] = []

    def handle_decl(self, decl: str) -> None:
        self.decls.append(decl)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.starts.append((tag, found))
        if tag in {"h1", "h2", "h3", "h4", "caption", "th", "li"}:
            self._open.append((tag, found, []))

    def handle_endtag(self, tag: str) -> None:
        if not self._open or self._open[-1][0] != tag:
            return
        _tag, attrs, parts = self._open.pop()
        text = "".join(parts).strip()
        if tag.startswith("h") and tag[1:].isdigit():
            self.headings.append((int(tag[1]), text))
        elif tag == "caption":
            self.captions.append(text)
        elif tag == "th":
            self.headers.append((attrs.get("scope"), text))
        elif tag == "li" and attrs.get("class") == "correct":
            self.correct.append(text)

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        for _tag, _attrs, parts in self._open:
            parts.append(data)

    def tags(self, name: str) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.starts if tag == name]


def structure(page: str) -> Structure:
    parsed = Structure()
    parsed.feed(page)
    parsed.close()
    return parsed


def test_html_is_one_utf8_document(report: QuizReport) -> None:
    page = report_html(report)
    parsed = structure(page)
    assert parsed.decls == ["DOCTYPE html"]
    assert page.count("<!DOCTYPE") == 1
    for tag in ("html", "head", "body", "main", "title"):
        assert len(parsed.tags(tag)) == 1, tag
    assert parsed.tags("html")[0] == {"lang": "en"}
    metas = parsed.tags("meta")
    assert metas[0] == {"charset": "utf-8"}  # the first thing in the head
    assert sum(1 for m in metas if "charset" in m) == 1
    assert [tag for tag, _attrs in parsed.starts[1:3]] == ["head", "meta"]
    page.encode("utf-8")  # nothing a UTF-8 page cannot hold


def test_html_headings_tables_and_images_are_accessible(report: QuizReport) -> None:
    parsed = structure(report_html(report))
    levels = [level for level, _text in parsed.headings]
    assert levels[0] == 1
    assert levels.count(1) == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels
    assert all(text for _level, text in parsed.headings)
    assert [t for lv, t in parsed.headings if lv == 2] == [
        "Summary",
        "Score distribution",
        "Time used",
        "Results",
        "Item analysis",
        "Sessions",
        "Timelines",
    ]
    # Every table has a caption, every header cell a scope and a text.
    assert len(parsed.captions) == len(parsed.tags("table")) == 6
    assert all(parsed.captions)
    assert parsed.headers
    for scope, text in parsed.headers:
        assert scope in ("col", "row")
        assert text, "a blank table header"
    # Wide tables scroll in a named region the keyboard can reach.
    regions = parsed.tags("div")
    assert all(d.get("tabindex") == "0" and d.get("aria-labelledby") for d in regions)
    for image in parsed.tags("img"):
        assert image["alt"]
        src = image["src"] or ""
        png = base64.b64decode(src.removeprefix("data:image/png;base64,"))
        assert (int(image["width"] or 0), int(image["height"] or 0)) == struct.unpack(
            ">II", png[16:24]
        )


def test_html_shows_candidate_names_beside_their_ids(report: QuizReport) -> None:
    page = report_html(report)
    parsed = structure(page)
    cols = [text for scope, text in parsed.headers if scope == "col"]
    assert cols.count("Candidate") == 2  # results and sessions
    assert cols.count("Candidate id") == 2
    text = "".join(parsed.text)
    assert text.count("Still going") == 3  # results, sessions, its timeline
    assert text.count("c-r9") >= 2


def test_correct_answers_are_marked_by_more_than_colour(report: QuizReport) -> None:
    parsed = structure(report_html(report))
    expected = sum(1 for i in report.items for o in i.options if o.correct)
    assert expected > 0
    assert len(parsed.correct) == expected
    for entry in parsed.correct:
        assert entry.startswith(CORRECT_MARK + "correct answer: "), entry
    text = " ".join(parsed.text)
    assert "mark a correct answer" in text  # the legend
    assert "Answers given" in [t for _s, t in parsed.headers]


def test_the_page_says_what_facility_means(report: QuizReport) -> None:
    page = report_html(report)
    text = " ".join(structure(page).text)
    assert "as Moodle computes it" in text
    assert "half the candidates right and half wrong gives 50 %" in text
    assert FACILITY_NOTE in text
    q3 = next(i for i in report.items if i.question_id == "q3")
    # q3: 3 right (1 point), 1 wrong (-0.5): 75 % facility, mean 0.625
    assert (q3.facility, q3.right, q3.right_percentage, q3.min_points) == (75.0, 3, 75.0, -0.5)


def test_wording_has_no_false_plurals(report: QuizReport) -> None:
    text = "".join(structure(report_html(report)).text)
    assert "Quiz rq: 5 attempts, on version 1. Times are in UTC." in text
    assert not re.search(r"\b1 (attempts|questions|versions|minutes|seconds)\b", text)
    assert "versions 1" not in text
    assert "Results: 5 attempts" in text
    assert "Item analysis: 5 questions, over 4 submitted attempts" in text
    empty_page = report_html(build_report(QUIZ, [], {1: QUIZ}))
    empty = "".join(structure(empty_page).text)
    assert "Quiz rq: no attempts yet." in empty
    assert "over 0 submitted attempts" in empty
    assert "empty, no attempt has been scored yet" in empty_page
    one = build_report(QUIZ, [report_runs()[0].records], {1: QUIZ})
    text = "".join(structure(report_html(one)).text)
    assert "Quiz rq: 1 attempt, on version 1." in text
    assert "over 1 submitted attempt" in text
    assert "Sessions: 1 attempt" in text
    three = msgspec.structs.replace(report, versions=[1, 2, 3])
    text = "".join(structure(report_html(three)).text)
    assert "5 attempts, on versions 1, 2 and 3." in text


def test_words_and_numbers() -> None:
    assert (plural(1, "attempt"), plural(0, "attempt"), plural(2, "attempt")) == (
        "1 attempt",
        "0 attempts",
        "2 attempts",
    )
    assert [listing(words) for words in ([], ["1"], ["1", "2"])] == ["", "1", "1 and 2"]
    assert (duration(None), duration(5), duration(125), duration(3725)) == (
        NONE,
        "5 s",
        "2 min 05 s",
        "1 h 02 min 05 s",
    )
    assert (fmt(None), fmt(2.5), fmt(2.0), fmt(-0.0001), fmt(33.333333, 1)) == (
        NONE,
        "2.5",
        "2",
        "0",
        "33.3",
    )


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
