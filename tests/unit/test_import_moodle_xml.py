"""Moodle XML import: the exact mapping of every question kind, the per-question
problems of what cannot be mapped, HTML to plain text, hostile XML refused, and the
CLI's import and export round trip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from quizsession.adapters.importers import parse_moodle_xml
from quizsession.adapters.importers.html_text import html_to_text
from quizsession.app.quiz_import import (
    MAX_IMPORT_QUESTIONS,
    MAX_INPUT_BYTES,
    ImportProblem,
    ImportRefused,
    ImportResult,
    slugify,
)
from quizsession.domain.quiz_export import quiz_to_mapping
from quizsession.domain.quiz_validation import parse_quiz
from quizsession.entrypoints.cli import app

FIXTURE = Path(__file__).parent.parent / "fixtures" / "moodle_sample.xml"


def xml(questions: str) -> ImportResult:
    data = f'<?xml version="1.0" encoding="UTF-8"?>\n<quiz>{questions}</quiz>'.encode()
    return parse_moodle_xml(data, quiz_id="x", title="XML")


def question(kind: str, body: str, name: str = "Q", text: str = "Question?") -> str:
    return (
        f'<question type="{kind}"><name><text>{name}</text></name>'
        f'<questiontext format="html"><text>{text}</text></questiontext>{body}</question>'
    )


def answer(fraction: float, text: str, feedback: str = "", extra: str = "") -> str:
    return (
        f'<answer fraction="{fraction}" format="html"><text>{text}</text>'
        f"<feedback><text>{feedback}</text></feedback>{extra}</answer>"
    )


def only(kind: str, body: str) -> dict[str, Any]:
    result = xml(question(kind, body))
    assert [p for p in result.problems if p.skipped] == []
    [q] = result.questions
    return {k: v for k, v in q.items() if k != "id"}


def skipped(kind: str, body: str) -> str:
    result = xml(question(kind, body))
    assert result.questions == []
    [problem] = result.problems
    assert problem.skipped
    return problem.message


# ---------------------------------------------------------------- the fixture

EXPECTED_QUESTIONS: list[dict[str, Any]] = [
    {
        "id": "capital-of-australia",
        "kind": "single",
        "text": "What is the capital of Australia?",
        "points": 2.0,  # defaultgrade
        "penalty": 0.5,  # -25% of 2 points
        "feedback": "Canberra was chosen as a compromise between Sydney & Melbourne.",
        "choices": [
            {"id": "c", "text": "Sydney", "feedback": "The largest city, not the capital."},
            {"id": "a", "text": "Canberra", "correct": True, "feedback": "Right."},
            {"id": "b", "text": "Melbourne"},
        ],
    },
    {
        "id": "prime-numbers",
        "kind": "multiple",
        "text": "Which of these numbers are prime?\n\n- Pick all that apply.",
        "points": 1.0,
        "penalty": 1.0,  # the largest negative weight, -100%
        "choices": [
            {"id": "a", "text": "2", "correct": True},
            {"id": "b", "text": "3", "correct": True},
            {"id": "c", "text": "4", "feedback": "4 = 2 \N{MULTIPLICATION SIGN} 2"},
            {"id": "d", "text": "9"},
        ],
    },
    {
        "id": "water-boils",
        "kind": "true_false",
        "text": "At sea level, pure water boils at 100 °C.\n(Ignore dissolved salts.)",
        "points": 1.0,  # Moodle's <penalty> (a retry penalty) is not negative marking
        "feedback": "At lower pressure it boils at a lower temperature.",
        "correct": True,
    },
    {
        "id": "chemical-symbol-for-gold",
        "kind": "short_text",
        "text": "What is the chemical symbol for gold? (Mind the case.)",
        "points": 1.0,
        "accepted": ["Au"],
        "case_sensitive": True,
    },
    {
        "id": "speed-of-light",
        "kind": "numeric",
        "text": "The speed of light in vacuum, in thousands of km/s?",
        "points": 2.0,
        # The embedded file, a PNG, becomes a data: URL with the <img>'s alt text.
        "images": [{"url": "data:image/png;base64,iVBORw0KGgo=", "alt": "A beam of light"}],
        "value": 300.0,
        "tolerance": 1.0,
    },
    {
        "id": "instructions",
        "kind": "description",
        "text": "The next questions are about chemistry.",
        "points": 0.0,
    },
    {"id": "water-cycle", "kind": "essay", "text": "Describe the water cycle.", "points": 5.0},
    {
        "id": "capitals",
        "kind": "matching",
        "text": "Match each country with its capital.",
        "points": 3.0,
        "pairs": [
            {"id": "a", "text": "Canada", "answer": "Ottawa"},
            {"id": "b", "text": "Italy", "answer": "Rome"},
        ],
    },
    {
        "id": "cloze-the-planets",
        "kind": "cloze",
        "text": "The largest planet is {{g1}}.",
        "points": 1.0,
        "gaps": [
            {
                "id": "g1",
                "kind": "choice",
                "choices": [
                    {"id": "a", "text": "Jupiter", "correct": True},
                    {"id": "b", "text": "Saturn"},
                ],
            }
        ],
    },
    {
        "id": "capital-of-australia-2",
        "kind": "single",
        "text": "Which city hosts Australia's parliament? (Answer: a <city>.)",
        "points": 1.0,
        "penalty": 0.25,
        "choices": [
            {"id": "a", "text": "Canberra", "correct": True},
            {"id": "c", "text": "Sydney"},
            {"id": "b", "text": "Perth"},
        ],
    },
]

FEEDBACK_NOTE = (
    "answer-specific feedback is not kept (a quizsession {} question has one feedback text)"
)


def note(index: int, name: str, kind: str, qid: str, message: str) -> ImportProblem:
    return ImportProblem(index=index, name=name, kind=kind, message=message, skipped=False, id=qid)


def skip(index: int, name: str, kind: str, message: str) -> ImportProblem:
    return ImportProblem(index=index, name=name, kind=kind, message=message)


EXPECTED_PROBLEMS = [
    note(
        1,
        "Capital of Australia",
        "multichoice",
        "capital-of-australia",
        "every wrong answer now costs the same penalty 0.5 (the largest negative weight, -25%); "
        "Moodle's weights differed per answer",
    ),
    note(
        4,
        "Chemical symbol for gold",
        "shortanswer",
        "chemical-symbol-for-gold",
        "answer 'Au*' uses Moodle's '*' wildcard, which quizsession does not match: left out",
    ),
    note(
        4,
        "Chemical symbol for gold",
        "shortanswer",
        "chemical-symbol-for-gold",
        "partial-credit answer 'Ag' (50%) is not accepted",
    ),
    note(
        4,
        "Chemical symbol for gold",
        "shortanswer",
        "chemical-symbol-for-gold",
        FEEDBACK_NOTE.format("short-text"),
    ),
    note(
        5,
        "Speed of light",
        "numerical",
        "speed-of-light",
        "units (km/s) are not imported: candidates answer with the number only",
    ),
    note(5, "Speed of light", "numerical", "speed-of-light", FEEDBACK_NOTE.format("numeric")),
    note(
        7,
        "Water cycle",
        "essay",
        "water-cycle",
        "Moodle's response format was an HTML editor; the answer is plain text with line breaks",
    ),
    skip(
        10,
        "Area of a rectangle",
        "calculated",
        "not supported: calculated questions draw new values for each attempt; quizsession "
        "questions are fixed",
    ),
    skip(
        11,
        "Drag the gases",
        "ddwtos",
        "not supported: drag-and-drop questions need a layout quizsession does not have",
    ),
    skip(12, "Old question", "truefalse", "hidden in Moodle (removed from the question bank)"),
    note(
        13,
        "Capital of Australia",
        "multichoice",
        "capital-of-australia-2",
        "partial credit is not kept: 'Sydney' (50%) now scores as wrong; a quizsession "
        "single-choice question is either right or wrong",
    ),
    note(
        13,
        "Capital of Australia",
        "multichoice",
        "capital-of-australia-2",
        "every wrong answer now costs the same penalty 0.25 (the largest negative weight, "
        "-25%); Moodle's weights differed per answer",
    ),
    skip(
        14,
        "Two right answers",
        "multichoice",
        "2 answers are worth 100%; a quizsession single-choice question has exactly one "
        "right answer",
    ),
]


@pytest.fixture(scope="module")
def fixture_result() -> ImportResult:
    return parse_moodle_xml(FIXTURE.read_bytes(), quiz_id="science-101", title="Science 101")


def test_fixture_questions_map_exactly(fixture_result: ImportResult) -> None:
    assert fixture_result.questions == EXPECTED_QUESTIONS


def test_fixture_problems_are_exact_and_unsupported_kinds_are_skipped(
    fixture_result: ImportResult,
) -> None:
    assert fixture_result.problems == EXPECTED_PROBLEMS
    assert fixture_result.skipped == 4


def test_fixture_definition_passes_parse_quiz(fixture_result: ImportResult) -> None:
    quiz = parse_quiz(fixture_result.definition)
    assert (quiz.id, quiz.title, quiz.duration_s) == ("science-101", "Science 101", 1800.0)
    assert [q.id for q in quiz.test.questions] == [q["id"] for q in EXPECTED_QUESTIONS]
    exported = quiz_to_mapping(quiz)
    del exported["version"]
    assert exported == fixture_result.definition
    # Categories stay out of the definition.
    assert "Week 1" not in repr(fixture_result.definition)


# ---------------------------------------------------------------- kinds


def test_multichoice_single_and_multiple() -> None:
    body = "<defaultgrade>4</defaultgrade><single>{}</single>" + (
        answer(100, "a") + answer(0, "b") + answer(-50, "c")
    )
    single = only("multichoice", body.format("true"))
    assert single["kind"] == "single"
    assert single["points"] == 4.0
    assert single["penalty"] == 2.0
    assert only("multichoice", body.format("1"))["kind"] == "single"
    assert only("multichoice", body.replace("<single>{}</single>", ""))["kind"] == "single"
    multiple = only("multichoice", body.format("false"))
    assert multiple["kind"] == "multiple"
    assert [c.get("correct", False) for c in multiple["choices"]] == [True, False, False]
    assert only("multichoice", body.format("0"))["kind"] == "multiple"


def test_moodle_retry_penalty_is_not_negative_marking() -> None:
    body = "<penalty>0.3333333</penalty><single>true</single>" + answer(100, "a") + answer(0, "b")
    assert "penalty" not in only("multichoice", body)


def test_truefalse() -> None:
    body = answer(0, "true", "No.") + answer(100, "false")
    result = xml(question("truefalse", "<defaultgrade>2</defaultgrade>" + body))
    assert result.questions == [
        {"id": "q", "kind": "true_false", "text": "Question?", "points": 2.0, "correct": False}
    ]
    assert [p.message for p in result.problems] == [FEEDBACK_NOTE.format("true/false")]


def test_truefalse_problems() -> None:
    assert skipped("truefalse", answer(100, "yes") + answer(0, "no")) == (
        "a true/false question needs the answers 'true' and 'false'"
    )
    assert skipped("truefalse", answer(100, "true") + answer(100, "false")) == (
        "exactly one of 'true' and 'false' must be worth 100%"
    )


def test_shortanswer() -> None:
    body = "<usecase>0</usecase>" + answer(100, " Mars ") + answer(100, r"M\*rs")
    assert only("shortanswer", body) == {
        "kind": "short_text",
        "text": "Question?",
        "points": 1.0,
        "accepted": ["Mars", "M*rs"],
    }
    assert only("shortanswer", body.replace("<usecase>0", "<usecase>1"))["case_sensitive"] is True


def test_numerical() -> None:
    body = (
        answer(100, "9.81", extra="<tolerance>0.05</tolerance>")
        + answer(50, "10", extra="<tolerance>0</tolerance>")
        + answer(0, "*", "Look it up.")
    )
    result = xml(question("numerical", body))
    assert result.questions == [
        {
            "id": "q",
            "kind": "numeric",
            "text": "Question?",
            "points": 1.0,
            "value": 9.81,
            "tolerance": 0.05,
        }
    ]
    assert [p.message for p in result.problems] == [
        "partial-credit answer 10±0 (50%) is not kept",
        FEEDBACK_NOTE.format("numeric"),
    ]
    assert skipped("numerical", answer(100, "ten")) == (
        "numeric answer 'ten' (tolerance '0') is not a number"
    )
    assert skipped("numerical", answer(100, "1") + answer(100, "2")) == (
        "2 numeric answers are worth 100%; a quizsession numeric question has one value and "
        "tolerance"
    )


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("calculatedsimple", "not supported: calculated questions draw new values for each "
         "attempt; quizsession questions are fixed"),
        ("calculatedmulti", "not supported: calculated questions draw new values for each "
         "attempt; quizsession questions are fixed"),
        ("ddimageortext", "not supported: drag-and-drop questions need a layout quizsession "
         "does not have"),
        ("ddmarker", "not supported: drag-and-drop questions need a layout quizsession does "
         "not have"),
        ("gapselect", "not supported: select-missing-words questions hold several gaps; a "
         "quizsession question has one answer"),
        ("random", "not supported: a random question is drawn from a Moodle category at attempt "
         "time; import the category's questions and use pool selection instead"),
        ("coderunner", "the question type 'coderunner' is not supported"),
    ],
)  # fmt: skip
def test_unsupported_kinds(kind: str, message: str) -> None:
    assert skipped(kind, "") == message


def test_bad_numbers_and_rule_violations_skip_the_question() -> None:
    assert skipped("multichoice", "<defaultgrade>lots</defaultgrade>" + answer(100, "a")) == (
        "defaultgrade 'lots' is not a number"
    )
    assert skipped("multichoice", '<answer fraction="x"><text>a</text></answer>') == (
        "answer weight 'x' is not a number"
    )
    # An answer with no text: quizsession's own rules refuse it.
    assert skipped("multichoice", answer(100, "a") + answer(0, "")) == (
        "does not fit quizsession's rules: choices/1/text: must not be empty"
    )


def test_image_only_texts_skip_the_question() -> None:
    image = '&lt;img src="@@PLUGINFILE@@/b.png"&gt;'
    assert skipped("multichoice", answer(100, "a") + answer(0, image)) == (
        "answer 2 is only an image, which cannot be imported"
    )
    result = xml(question("truefalse", answer(100, "true") + answer(0, "false"), text=image))
    assert [p.message for p in result.problems] == [
        "its text is only an image, which cannot be imported"
    ]
    described = xml(
        question(
            "truefalse",
            answer(100, "true") + answer(0, "false"),
            text='&lt;img src="x.png" alt="A red square"&gt;',
        )
    )
    assert described.questions[0]["text"] == "[image: A red square]"


def test_names_become_unique_slugs_and_empty_names_use_the_position() -> None:
    body = answer(100, "true") + answer(0, "false")
    result = xml(
        question("truefalse", body, name="Week 1: Q.1")
        + question("truefalse", body, name="Week 1 \N{EN DASH} Q 1")
        + question("truefalse", body, name="")
    )
    assert [q["id"] for q in result.questions] == ["week-1-q-1", "week-1-q-1-2", "q3"]


def test_root_and_other_elements() -> None:
    with pytest.raises(ImportRefused, match="the root element is <questions>, expected <quiz>"):
        parse_moodle_xml(b"<questions/>", quiz_id="x", title="x")
    with pytest.raises(ImportRefused, match="not well-formed XML"):
        parse_moodle_xml(b"<quiz><question></quiz>", quiz_id="x", title="x")
    with pytest.raises(ImportRefused, match="not well-formed XML"):
        parse_moodle_xml(b"", quiz_id="x", title="x")
    with pytest.raises(ImportRefused, match=r"unsupported encoding \(unknown encoding: bogus\)"):
        parse_moodle_xml(b'<?xml version="1.0" encoding="bogus"?><quiz/>', quiz_id="x", title="x")
    latin1 = parse_moodle_xml(
        b'<?xml version="1.0" encoding="ISO-8859-1"?><quiz><question type="essay">'
        b"<name><text>Caf\xe9</text></name></question></quiz>",
        quiz_id="x",
        title="x",
    )
    assert latin1.problems[0].name == "Caf\N{LATIN SMALL LETTER E WITH ACUTE}"
    empty = parse_moodle_xml(b"<quiz><!-- nothing --></quiz>", quiz_id="x", title="x")
    assert (empty.questions, empty.problems) == ([], [])


# ---------------------------------------------------------------- hostile XML

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<quiz><question type="truefalse"><name><text>&lol9;</text></name></question></quiz>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE quiz [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<quiz><question type="truefalse"><name><text>&xxe;</text></name></question></quiz>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE quiz SYSTEM "http://example.invalid/quiz.dtd">
<quiz/>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE quiz [<!ENTITY % remote SYSTEM "http://example.invalid/x.dtd"> %remote;]>
<quiz/>"""


@pytest.mark.parametrize(
    "data",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, PARAMETER_ENTITY],
    ids=["billion-laughs", "external-entity", "external-dtd", "parameter-entity"],
)
def test_dtds_and_entities_are_refused(data: bytes) -> None:
    with pytest.raises(ImportRefused) as info:
        parse_moodle_xml(data, quiz_id="x", title="x")
    assert info.value.detail.startswith(
        "the XML declares a document type (<!DOCTYPE ...>) or entities; these are refused "
        "because they enable entity-expansion (billion laughs) and external-entity attacks"
    )
    assert info.value.code == "validation_error"


def test_too_large_is_refused_before_parsing() -> None:
    data = b"<quiz>" + b" " * MAX_INPUT_BYTES + b"</quiz>"
    with pytest.raises(ImportRefused, match=f"at most {MAX_INPUT_BYTES} bytes"):
        parse_moodle_xml(data, quiz_id="x", title="x")


def test_too_many_questions_are_refused() -> None:
    one = question("truefalse", answer(100, "true") + answer(0, "false"))
    with pytest.raises(ImportRefused, match=f"at most {MAX_IMPORT_QUESTIONS} can be imported"):
        xml(one * (MAX_IMPORT_QUESTIONS + 1))


# ---------------------------------------------------------------- HTML to text


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ("<p>One</p><p>Two<br/>lines</p>", "One\n\nTwo\nlines"),
        ("a &amp; b &lt;c&gt; &#215; &nbsp;d", "a & b <c> \N{MULTIPLICATION SIGN} d"),
        ("3 < 5 and 5 <= 6", "3 < 5 and 5 <= 6"),
        ("<ul><li>x</li><li>y</li></ul>", "- x\n- y"),
        ("<script>alert('<p>')</script>ok<style>p{}</style>", "ok"),
        ("x<!-- hidden <b> -->y", "xy"),
        ('<img src="a.png" alt="A &quot;cat&quot;">', '[image: A "cat"]'),
        ("<img src='a.png'>", "[image]"),
        ('<a title="1 > 0" href="#">link</a>', "link"),
        ("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"),
        ("kept <b", "kept"),  # an unterminated tag ends the text
        ("kept <!-- open", "kept"),
        ("  spaced \n\t out  ", "spaced out"),
    ],
)
def test_html_to_text(source: str, text: str) -> None:
    assert html_to_text(source).text == text


def test_html_to_text_counts_images_and_stays_linear_on_hostile_input() -> None:
    assert html_to_text('<img alt="a"><p><img></p>').images == 2
    # Many unterminated constructs: each is scanned once (no quadratic re-scan).
    assert html_to_text("<a " * 200_000).text == ""
    assert html_to_text("<a title='" * 200_000).text == ""
    assert html_to_text("&" * 200_000 + "<" * 200_000).text == "&" * 200_000 + "<" * 200_000


def test_slugify() -> None:
    assert slugify("Q1 - Capital of Australia") == "q1-capital-of-australia"
    assert slugify("Ærø Straße") == "aero-strasse"
    assert slugify("日本") == ""
    assert len(slugify("x" * 100)) == 64


# ---------------------------------------------------------------- CLI


def test_cli_import_xml_then_export_round_trip(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'quizzes.db'}"
    runner = CliRunner()
    imported = runner.invoke(
        app, ["quiz", "import", str(FIXTURE), "--title", "Science 101", "--store-url", store]
    )
    assert imported.exit_code == 0, imported.output
    assert imported.stdout == "moodle-sample version 1 (10 questions, 4 skipped)\n"
    assert imported.stderr.splitlines() == [p.describe() for p in EXPECTED_PROBLEMS]

    imported_quiz = parse_quiz(
        parse_moodle_xml(
            FIXTURE.read_bytes(), quiz_id="moodle-sample", title="Science 101"
        ).definition
    )
    for fmt in ("yaml", "json"):
        exported = runner.invoke(
            app, ["quiz", "export", "moodle-sample", "--format", fmt, "--store-url", store]
        )
        assert exported.exit_code == 0, exported.output
        mapping = yaml.safe_load(exported.stdout)  # JSON is YAML too
        assert mapping["version"] == 1
        assert mapping["test"]["questions"] == EXPECTED_QUESTIONS
        assert parse_quiz(mapping) == imported_quiz
        path = tmp_path / f"export.{fmt}"
        path.write_text(exported.stdout, "utf-8")
        loaded = runner.invoke(app, ["quiz", "load", str(path), "--store-url", store])
        assert loaded.exit_code == 0, loaded.output
        # The store keeps one version per distinct definition: an equal quiz is the
        # same version, so loading the export adds nothing.
        assert loaded.stdout == "moodle-sample version 1\n"

    changed = yaml.safe_load((tmp_path / "export.yaml").read_text("utf-8"))
    changed["duration_s"] = 900
    (tmp_path / "changed.yaml").write_text(yaml.safe_dump(changed), "utf-8")
    loaded = runner.invoke(
        app, ["quiz", "load", str(tmp_path / "changed.yaml"), "--store-url", store]
    )
    assert loaded.stdout == "moodle-sample version 2\n"
    latest = runner.invoke(app, ["quiz", "export", "moodle-sample", "--store-url", store])
    again = yaml.safe_load(latest.stdout)
    assert again.pop("version") == 2
    del changed["version"]
    assert again == changed


def test_cli_auto_detects_xml_by_content_and_refuses_hostile_xml(tmp_path: Path) -> None:
    runner = CliRunner()
    source = tmp_path / "export"
    source.write_bytes(FIXTURE.read_bytes())
    result = runner.invoke(app, ["quiz", "import", str(source), "--id", "auto", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.stdout)["test"]["questions"] == EXPECTED_QUESTIONS
    bomb = tmp_path / "bomb.xml"
    bomb.write_bytes(BILLION_LAUGHS)
    refused = runner.invoke(app, ["quiz", "import", str(bomb), "--dry-run"])
    assert refused.exit_code == 1
    assert refused.stderr.startswith(f"error: {bomb}: the XML declares a document type")
    forced = runner.invoke(app, ["quiz", "import", str(FIXTURE), "--format", "gift", "--dry-run"])
    assert forced.exit_code == 1  # read as GIFT, the XML holds no question


# ---------------------------------------------------------------- the other kinds

KINDS_FIXTURE = Path(__file__).parent.parent / "fixtures" / "moodle" / "kinds.xml"
PIXEL = (  # a 1x1 PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9aw"
    "AAAABJRU5ErkJggg=="
)


@pytest.fixture(scope="module")
def kinds_result() -> ImportResult:
    return parse_moodle_xml(KINDS_FIXTURE.read_bytes(), quiz_id="rivers", title="Rivers")


def by_id(result: ImportResult, qid: str) -> dict[str, Any]:
    [q] = [q for q in result.questions if q["id"] == qid]
    return q


def notes_of(result: ImportResult, qid: str) -> list[str]:
    return [p.message for p in result.problems if p.id == qid]


def test_kinds_fixture_imports_every_question_and_passes_parse_quiz(
    kinds_result: ImportResult,
) -> None:
    assert [q["id"] for q in kinds_result.questions] == [
        "about-this-part",
        "rivers",  # the <idnumber> differs from the name: ignored
        "rivers-and-seas",
        "longest-rivers",
        "rivers-cloze",
        "old-flag-question",
        "rivers-of-europe-pick-1",  # HTML in the name is stripped
    ]
    assert kinds_result.skipped == 0
    quiz = parse_quiz(kinds_result.definition)
    exported = quiz_to_mapping(quiz)
    del exported["version"]
    assert exported == kinds_result.definition


def test_description(kinds_result: ImportResult) -> None:
    assert by_id(kinds_result, "about-this-part") == {
        "id": "about-this-part",
        "kind": "description",
        "text": "The next questions are about geography.",
        "points": 0.0,
    }


def test_essay_with_limits_template_and_grader_information(kinds_result: ImportResult) -> None:
    assert by_id(kinds_result, "rivers") == {
        "id": "rivers",
        "kind": "essay",
        "text": "Why do rivers meander?",
        "points": 10.0,
        "feedback": "Think of erosion.",
        "word_limit": 400,
        "response_template": "Cause:\n\nEffect:",
        "grader_info": "Full marks: erosion and deposition.",
    }
    assert notes_of(kinds_result, "rivers") == [
        "Moodle's response format was an HTML editor; the answer is plain text with line breaks",
        "file attachments are not supported: the candidate types the answer only",
        "the minimum of 50 words is not kept (only a maximum is)",
    ]


def test_essay_in_plain_text_has_no_note() -> None:
    result = xml(question("essay", "<responseformat>plain</responseformat><maxwordlimit/>"))
    assert result.questions[0]["kind"] == "essay"
    assert "word_limit" not in result.questions[0]
    assert result.problems == []


def test_matching_with_an_extra_answer(kinds_result: ImportResult) -> None:
    q = by_id(kinds_result, "rivers-and-seas")
    assert q["pairs"] == [
        {"id": "a", "text": "Danube", "answer": "Black Sea"},
        {"id": "b", "text": "Rhine", "answer": "North Sea"},
        {"id": "c", "text": "Po", "answer": "Adriatic Sea"},
    ]
    assert q["distractors"] == ["Baltic Sea"]  # the subquestion without text
    assert (q["points"], notes_of(kinds_result, "rivers-and-seas")) == (3.0, [])


def test_ordering_items_in_file_order_with_ids_that_hide_it(kinds_result: ImportResult) -> None:
    q = by_id(kinds_result, "longest-rivers")
    assert q["items"] == [
        {"id": "c", "text": "Nile"},
        {"id": "a", "text": "Amazon"},
        {"id": "d", "text": "Yangtze"},
        {"id": "b", "text": "Danube"},
    ]
    assert q["ordering_rule"] == "longest_contiguous"


ORDERING_ITEMS = "".join(
    f'<answer fraction="{n}"><text>{t}</text></answer>' for n, t in enumerate("WXYZ", start=1)
)


@pytest.mark.parametrize(
    ("grading", "rule", "noted"),
    [
        ("ALL_OR_NOTHING", "all_or_nothing", False),
        ("ABSOLUTE_POSITION", "absolute_position", False),
        ("RELATIVE_NEXT_EXCLUDE_LAST", "relative_next", False),
        ("", "relative_next", False),  # Moodle's default
        ("LONGEST_ORDERED_SUBSET", "longest_subset", False),
        ("RELATIVE_ALL_PREVIOUS_AND_NEXT", "relative_next", True),
        ("RELATIVE_TO_CORRECT", "relative_next", True),
    ],
)
def test_ordering_grading_types(grading: str, rule: str, noted: bool) -> None:
    body = f"<selecttype>ALL</selecttype><gradingtype>{grading}</gradingtype>{ORDERING_ITEMS}"
    result = xml(question("ordering", body))
    [q] = result.questions
    assert q.get("ordering_rule", "absolute_position") == rule
    messages = [p.message for p in result.problems]
    assert messages == (
        [
            f"the grading type {grading!r} has no quizsession equivalent: graded by "
            "'relative_next' (each item followed by its right successor), Moodle's default"
        ]
        if noted
        else []
    )


def test_ordering_that_showed_a_subset_is_noted() -> None:
    body = f"<selecttype>RANDOM</selecttype><selectcount>3</selectcount>{ORDERING_ITEMS}"
    result = xml(question("ordering", body))
    assert [p.message for p in result.problems] == [
        "Moodle showed 3 of the 4 items; every item is shown here"
    ]


def test_cloze_from_moodles_export_type(kinds_result: ImportResult) -> None:
    q = by_id(kinds_result, "rivers-cloze")
    assert q["text"] == (
        "The Nile flows into the {{g1}}.\n\nIts delta is in {{g2}}, it is about {{g3}} km long."
    )
    assert q["points"] == 4.0  # the sum of the weights, as in Moodle
    assert q["images"] == [{"url": f"data:image/png;base64,{PIXEL}", "alt": "The Nile delta"}]
    assert q["gaps"] == [
        {
            "id": "g1",
            "kind": "choice",
            "choices": [
                {"id": "a", "text": "Mediterranean", "correct": True, "feedback": "Yes"},
                {"id": "b", "text": "Red Sea", "feedback": "No"},
            ],
        },
        {"id": "g2", "kind": "short_text", "weight": 2.0, "accepted": ["Egypt"]},
        {"id": "g3", "kind": "numeric", "value": 6650.0, "tolerance": 50.0},
    ]
    assert notes_of(kinds_result, "rivers-cloze") == [
        "gap 2: partial-credit answer 'Sudan' (50%) is not accepted",
        "the answer feedback of gap 2 is not kept (a short-text or numeric gap has no "
        "per-answer feedback)",
    ]


# ---------------------------------------------------------------- import defects


def test_moodle_19_image_fields_are_kept(kinds_result: ImportResult) -> None:
    q = by_id(kinds_result, "old-flag-question")
    assert q["images"] == [{"url": f"data:image/png;base64,{PIXEL}", "alt": ""}]
    assert notes_of(kinds_result, "old-flag-question") == [
        "the image 'flag.png' (Moodle 1.9 <image>) has no description: add its 'alt' text, or "
        "leave it empty if the image is decorative"
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ("<image>https://example.org/flag.png</image>", None),
        ("<image>http://example.org/flag.png</image>",
         "the image 'http://example.org/flag.png' (Moodle 1.9 <image>) is not imported: only "
         "https:// addresses are kept"),
        ("<image>flag.png</image>",
         "the image 'flag.png' (Moodle 1.9 <image>) is not imported: its data is not in the "
         "export"),
        ("<image>notes.txt</image><image_base64>aGVsbG8=</image_base64>",
         "the image 'notes.txt' (Moodle 1.9 <image>) is not imported: it is not a PNG, JPEG, "
         "GIF or WebP image"),
        (f"<image>big.png</image><image_base64>{'A' * 800_000}</image_base64>",
         "the image 'big.png' (Moodle 1.9 <image>) is not imported: it is too large (585 KiB; "
         "images up to 512 KiB are kept)"),
    ],
)  # fmt: skip
def test_moodle_19_images_that_cannot_be_kept_are_noted(fields: str, message: str | None) -> None:
    result = xml(question("truefalse", fields + answer(100, "true") + answer(0, "false")))
    [q] = result.questions
    messages = [p.message for p in result.problems]
    if message is None:
        assert q["images"] == [{"url": "https://example.org/flag.png", "alt": ""}]
        assert len(messages) == 1  # the missing description
    else:
        assert "images" not in q
        assert messages == [message]


def test_html_images_are_kept_from_https_and_embedded_files() -> None:
    text = (
        '&lt;p&gt;Which?&lt;/p&gt;&lt;img src="https://example.org/a.png" alt="A"&gt;'
        '&lt;img src="@@PLUGINFILE@@/b%20c.png" alt="B"&gt;'
    )
    body = (
        f'<file name="b c.png" path="/" encoding="base64">{PIXEL}</file>'
        + answer(100, "true")
        + answer(0, "false")
    )
    data = (
        '<question type="truefalse"><name><text>Q</text></name>'
        f'<questiontext format="html"><text>{text}</text>{body.split("</file>")[0]}</file>'
        f"</questiontext>{body.split('</file>')[1]}</question>"
    )
    result = xml(data)
    [q] = result.questions
    assert q["text"] == "Which?"
    assert q["images"] == [
        {"url": "https://example.org/a.png", "alt": "A"},
        {"url": f"data:image/png;base64,{PIXEL}", "alt": "B"},
    ]
    assert result.problems == []


@pytest.mark.parametrize(
    ("src", "file", "message"),
    [
        ("http://example.org/a.png", "",
         "image 'http://example.org/a.png' is not imported: only https:// addresses are kept "
         "(the text keeps its description)"),
        ("a.png", "",
         "image 'a.png' is not imported: it is neither embedded in the export nor at an "
         "https:// address (the text keeps its description)"),
        ("@@PLUGINFILE@@/a.png", "",
         "image 'a.png' is not imported: its file is not in the export (the text keeps its "
         "description)"),
        ("@@PLUGINFILE@@/a.png", f'<file name="a.png" encoding="base64">{"A" * 800_000}</file>',
         "image 'a.png' is not imported: it is too large (585 KiB; images up to 512 KiB are "
         "kept) (the text keeps its description)"),
    ],
)  # fmt: skip
def test_html_images_that_cannot_be_kept_are_noted_by_name(
    src: str, file: str, message: str
) -> None:
    data = (
        '<question type="truefalse"><name><text>Q</text></name><questiontext format="html">'
        f'<text>Which? &lt;img src="{src}" alt="A"&gt;</text>{file}</questiontext>'
        + answer(100, "true")
        + answer(0, "false")
        + "</question>"
    )
    result = xml(data)
    assert result.questions[0]["text"] == "Which? [image: A]"
    assert [p.message for p in result.problems] == [message]


def test_linked_and_embedded_files_that_are_not_images_are_noted(
    kinds_result: ImportResult,
) -> None:
    assert "the linked file 'map.pdf' is not imported (the link's text is kept)" in notes_of(
        kinds_result, "rivers-of-europe-pick-1"
    )
    data = (
        '<question type="truefalse"><name><text>Q</text></name><questiontext format="html">'
        '<text>Listen: &lt;audio src="@@PLUGINFILE@@/talk.mp3"&gt;&lt;/audio&gt;</text>'
        '<file name="talk.mp3" encoding="base64">SUQz</file>'
        '<file name="extra.docx" encoding="base64">UEsDBA==</file></questiontext>'
        + answer(100, "true")
        + answer(0, "false")
        + "</question>"
    )
    assert [p.message for p in xml(data).problems] == [
        "the embedded audio 'talk.mp3' is not imported",
        "the embedded file 'extra.docx' is not imported (no text shows it)",
    ]


def test_white_space_inside_pre_is_kept(kinds_result: ImportResult) -> None:
    assert by_id(kinds_result, "rivers-of-europe-pick-1")["text"] == (
        "Which rivers flow through Germany?\n\n  Rhine\n    Elbe\n\nSee the map."
    )
    assert html_to_text("<pre>a  b\n\tc</pre> d  e").text == "a  b\n\tc\n\nd e"


def test_grades_moodle_refuses_are_imported_with_a_note(kinds_result: ImportResult) -> None:
    q = by_id(kinds_result, "rivers-of-europe-pick-1")
    assert [c.get("correct", False) for c in q["choices"]] == [True, True, False]
    assert notes_of(kinds_result, "rivers-of-europe-pick-1")[:2] == [
        "answer weight 33% is not among Moodle's grades (Moodle refuses to import such a "
        "question); imported as written: check the scoring",
        "the positive weights add up to 66%, not 100% (Moodle refuses to save such a "
        "question); imported: each correct choice earns an equal share",
    ]
    # Moodle's own grades (a third written to 7 digits) are fine.
    body = "<single>false</single>" + "".join(
        answer(f, t) for f, t in ((33.33333, "a"), (33.33333, "b"), (33.33334, "c"), (0, "d"))
    )
    assert xml(question("multichoice", body)).problems == []


def test_html_in_names_is_stripped_from_the_id_and_the_name(kinds_result: ImportResult) -> None:
    [problem] = [p for p in kinds_result.problems if p.index == 7][:1]
    assert problem.name == "Rivers of Europe : pick > 1"
    assert problem.id == "rivers-of-europe-pick-1"


def test_an_id_written_as_name_and_idnumber_is_kept_as_it_is() -> None:
    body = answer(100, "true") + answer(0, "false")
    result = xml(
        question("truefalse", body + "<idnumber>Q_1.a</idnumber>", name="Q_1.a")
        + question("truefalse", body + "<idnumber>GEO-2</idnumber>", name="Second")
        + question("truefalse", body + "<idnumber>Q_1.a</idnumber>", name="Q_1.a")
    )
    # Quizsession's export writes the id as both; any other idnumber is ignored.
    assert [q["id"] for q in result.questions] == ["Q_1.a", "second", "Q_1.a-2"]


@pytest.mark.parametrize(
    ("qid", "kind"),
    [
        ("about-this-part", "description"),
        ("rivers", "essay"),
        ("rivers-and-seas", "matching"),
        ("longest-rivers", "ordering"),
        ("rivers-cloze", "cloze"),
    ],
)
def test_cli_imports_and_stores_each_new_kind(tmp_path: Path, qid: str, kind: str) -> None:
    store = f"sqlite:///{tmp_path / 'q.db'}"
    runner = CliRunner()
    result = runner.invoke(
        app, ["quiz", "import", str(KINDS_FIXTURE), "--id", "rivers", "--store-url", store]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "rivers version 1 (7 questions, 0 skipped)\n"
    exported = runner.invoke(app, ["quiz", "export", "rivers", "--store-url", store])
    stored = {q["id"]: q for q in yaml.safe_load(exported.stdout)["test"]["questions"]}
    expected = parse_moodle_xml(KINDS_FIXTURE.read_bytes(), quiz_id="rivers", title="r")
    assert stored[qid]["kind"] == kind
    assert stored[qid] == by_id(expected, qid)
