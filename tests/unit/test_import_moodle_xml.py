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
            {"id": "a", "text": "Sydney", "feedback": "The largest city, not the capital."},
            {"id": "b", "text": "Canberra", "correct": True, "feedback": "Right."},
            {"id": "c", "text": "Melbourne"},
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
        "text": "The speed of light in vacuum, in thousands of km/s?\n\n[image: A beam of light]",
        "points": 2.0,
        "value": 300.0,
        "tolerance": 1.0,
    },
    {
        "id": "capital-of-australia-2",
        "kind": "single",
        "text": "Which city hosts Australia's parliament? (Answer: a <city>.)",
        "points": 1.0,
        "penalty": 0.25,
        "choices": [
            {"id": "a", "text": "Canberra", "correct": True},
            {"id": "b", "text": "Sydney"},
            {"id": "c", "text": "Perth"},
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
        5,
        "Speed of light",
        "numerical",
        "speed-of-light",
        "1 image is not imported (only its description, if any, is kept)",
    ),
    skip(
        6,
        "Instructions",
        "description",
        "not a question (a Moodle description: text shown without an answer)",
    ),
    skip(
        7,
        "Water cycle",
        "essay",
        "not supported: essays are marked by hand; quizsession marks every answer automatically",
    ),
    skip(
        8,
        "Capitals",
        "matching",
        "not supported: matching questions (pairs of items) have no quizsession equivalent",
    ),
    skip(
        9,
        "Cloze: the planets",
        "multianswer",
        "not supported: embedded-answers (Cloze) questions hold several sub-questions in one "
        "text; a quizsession question has one answer",
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
    assert fixture_result.skipped == 8


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
        ("ordering", "not supported: ordering questions have no quizsession equivalent"),
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
    assert imported.stdout == "moodle-sample version 1 (6 questions, 8 skipped)\n"
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
