"""Moodle GIFT import: the exact mapping of every question kind, the per-question
problems of what cannot be mapped, and the limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from quizsession.adapters.importers import detect_format, import_quiz, parse_gift
from quizsession.app.quiz_import import (
    MAX_IMPORT_QUESTIONS,
    MAX_INPUT_BYTES,
    ImportProblem,
    ImportRefused,
    ImportResult,
)
from quizsession.domain.quiz import Choice, Question
from quizsession.domain.quiz_export import quiz_to_mapping
from quizsession.domain.quiz_validation import parse_quiz
from quizsession.entrypoints.cli import app

FIXTURE = Path(__file__).parent.parent / "fixtures" / "moodle_sample.gift"


def gift(text: str) -> ImportResult:
    return parse_gift(text, quiz_id="g", title="GIFT")


def only(text: str) -> dict[str, Any]:
    """The one question ``text`` imports as (without its id)."""
    result = gift(text)
    assert [p for p in result.problems if p.skipped] == []
    [question] = result.questions
    return {k: v for k, v in question.items() if k != "id"}


def skipped(text: str) -> str:
    """The message of the one question ``text`` holds, which must be skipped."""
    result = gift(text)
    assert result.questions == []
    [problem] = result.problems
    assert problem.skipped
    return problem.message


def notes(result: ImportResult) -> list[str]:
    return [p.message for p in result.problems if not p.skipped]


# ---------------------------------------------------------------- the fixture

EXPECTED_QUESTIONS: list[dict[str, Any]] = [
    {
        "id": "capital-of-australia",
        "kind": "single",
        "text": "What is the capital of Australia?",
        "points": 1.0,
        "penalty": 0.25,  # ~%-25%Melbourne
        "feedback": "Australia's capital is a planned city.",
        "choices": [
            {
                "id": "a",
                "text": "Canberra",
                "correct": True,
                "feedback": "Right: chosen as a compromise in 1908.",
            },
            {"id": "c", "text": "Sydney", "feedback": "The largest city, but not the capital."},
            {"id": "b", "text": "Melbourne", "feedback": "Capital only until 1927."},
        ],
    },
    {
        "id": "primes",
        "kind": "multiple",
        "text": "Which of these numbers are prime?",
        "points": 1.0,
        "penalty": 1.0,  # ~%-100%4
        "choices": [
            {"id": "a", "text": "2", "correct": True},
            {"id": "b", "text": "3", "correct": True},
            {"id": "c", "text": "4", "feedback": "4 = 2 \N{MULTIPLICATION SIGN} 2"},
        ],
    },
    {
        "id": "water-boils",
        "kind": "true_false",
        "text": "At sea level, pure water boils at 100 °C.",
        "points": 1.0,
        "correct": True,
    },
    {
        "id": "earth-flat",
        "kind": "true_false",
        "text": "The Earth is flat.",
        "points": 1.0,
        "correct": False,
    },
    {
        "id": "red-planet",
        "kind": "short_text",
        "text": "Which planet is known as the Red Planet?",
        "points": 1.0,
        "accepted": ["Mars", "planet Mars"],
    },
    {
        "id": "pi",
        "kind": "numeric",
        "text": "Give π to two decimal places.",
        "points": 1.0,
        "value": 3.14,
        "tolerance": 0.005,
    },
    {
        "id": "dice-range",
        "kind": "numeric",
        "text": "A fair die shows a number between...",
        "points": 1.0,
        "value": 3.5,
        "tolerance": 2.5,
    },
    {
        "id": "grant",
        "kind": "numeric",
        "text": "When was Ulysses S. Grant born?",
        "points": 1.0,
        "value": 1822.0,
    },
    {
        "id": "escapes-braces",
        "kind": "single",
        "text": "Which string literal is an empty set in Python: {} or set()?",
        "points": 1.0,
        "choices": [
            {"id": "b", "text": "set()", "correct": True, "feedback": "{} is an empty dict."},
            {"id": "c", "text": "{}"},
            {"id": "a", "text": "=="},
        ],
    },
    {
        "id": "q10",  # untitled: named by its position in the file
        "kind": "single",
        "text": "Grant is _____ in Grant's tomb.",
        "points": 1.0,
        "choices": [
            {"id": "a", "text": "buried"},
            {"id": "b", "text": "entombed", "correct": True},
            {"id": "c", "text": "living"},
        ],
    },
    {
        "id": "essay",
        "kind": "essay",
        "text": "Describe the water cycle in your own words.",
        "points": 1.0,
    },
    {
        "id": "capitals-match",
        "kind": "matching",
        "text": "Match each country with its capital.",
        "points": 1.0,
        "pairs": [
            {"id": "a", "text": "Canada", "answer": "Ottawa"},
            {"id": "b", "text": "Italy", "answer": "Rome"},
            {"id": "c", "text": "Japan", "answer": "Tokyo"},
        ],
    },
    {
        "id": "welcome",
        "kind": "description",
        "text": "This quiz has ten questions. Good luck!",
        "points": 0.0,
    },
    {
        "id": "capital-of-australia-2",  # the same title again
        "kind": "single",
        "text": "Which city hosts Australia's parliament?",
        "points": 1.0,
        "choices": [
            {"id": "a", "text": "Canberra", "correct": True},
            {"id": "b", "text": "Sydney"},
        ],
    },
    {
        "id": "half-right",
        "kind": "single",
        "text": "Which gas do plants take in?",
        "points": 1.0,
        "choices": [
            {"id": "b", "text": "carbon dioxide", "correct": True},
            {"id": "a", "text": "air"},
            {"id": "c", "text": "oxygen"},
        ],
    },
    {
        "id": "markdown",
        "kind": "true_false",
        "text": "Is **this** written in Markdown?\nAnswer true or false.",
        "points": 1.0,
        "feedback": "Markdown is kept as written.",
        "correct": True,
    },
    {
        "id": "thirds",
        "kind": "multiple",
        "text": "Which are even numbers?",
        "points": 1.0,
        "penalty": 0.5,
        "choices": [
            {"id": "a", "text": "2", "correct": True},
            {"id": "b", "text": "4", "correct": True},
            {"id": "c", "text": "6", "correct": True},
            {"id": "d", "text": "7"},
            {"id": "e", "text": "9"},
        ],
    },
]

TF_FEEDBACK = (
    "answer-specific feedback is not kept (a quizsession {} question has one feedback text)"
)

EXPECTED_PROBLEMS = [
    ImportProblem(
        index=1,
        name="Capital of Australia",
        kind="multichoice",
        message="every wrong answer now costs the same penalty 0.25 (the largest negative "
        "weight, -25%); Moodle's weights differed per answer",
        skipped=False,
        id="capital-of-australia",
        line=6,
    ),
    ImportProblem(
        index=3,
        name="Water boils",
        kind="truefalse",
        message=TF_FEEDBACK.format("true/false"),
        skipped=False,
        id="water-boils",
        line=20,
    ),
    ImportProblem(
        index=5,
        name="Red planet",
        kind="shortanswer",
        message=TF_FEEDBACK.format("short-text"),
        skipped=False,
        id="red-planet",
        line=24,
    ),
    ImportProblem(
        index=8,
        name="Grant",
        kind="numerical",
        message="partial-credit answer 1822±2 (50%) is not kept",
        skipped=False,
        id="grant",
        line=30,
    ),
    ImportProblem(
        index=8,
        name="Grant",
        kind="numerical",
        message=TF_FEEDBACK.format("numeric"),
        skipped=False,
        id="grant",
        line=30,
    ),
    ImportProblem(
        index=15,
        name="Half right",
        kind="multichoice",
        message="partial credit is not kept: 'air' (50%) now scores as wrong; a quizsession "
        "single-choice question is either right or wrong",
        skipped=False,
        id="half-right",
        line=55,
    ),
    ImportProblem(
        index=16,
        name="Two blanks",
        kind="multianswer",
        message="has 2 answer blocks; a quizsession question has one answer (embedded answers "
        "are not supported)",
        line=58,
    ),
]


@pytest.fixture(scope="module")
def fixture_result() -> ImportResult:
    return parse_gift(FIXTURE.read_text("utf-8"), quiz_id="science-101", title="Science 101")


def test_fixture_questions_map_exactly(fixture_result: ImportResult) -> None:
    assert fixture_result.questions == EXPECTED_QUESTIONS


def test_fixture_problems_are_exact_and_unsupported_kinds_are_skipped(
    fixture_result: ImportResult,
) -> None:
    assert fixture_result.problems == EXPECTED_PROBLEMS
    assert fixture_result.skipped == 1
    imported = {q["id"] for q in fixture_result.questions}
    assert all(p.id in imported for p in fixture_result.problems if not p.skipped)


def test_fixture_definition_passes_parse_quiz_in_canonical_form(
    fixture_result: ImportResult,
) -> None:
    definition = fixture_result.definition
    assert {k: v for k, v in definition.items() if k != "test"} == {
        "id": "science-101",
        "title": "Science 101",
        "duration_s": 1800.0,
    }
    quiz = parse_quiz(definition)
    assert quiz.practice is None
    assert len(quiz.test.questions) == len(EXPECTED_QUESTIONS)
    # Already in export form: exporting the parsed quiz gives the definition back.
    exported = quiz_to_mapping(quiz)
    del exported["version"]
    assert exported == definition
    assert quiz.test.question("primes") == Question(
        id="primes",
        kind="multiple",
        text="Which of these numbers are prime?",
        penalty=1.0,
        partial="per_option",
        choices=(
            Choice(id="a", text="2", correct=True),
            Choice(id="b", text="3", correct=True),
            Choice(id="c", text="4", feedback="4 = 2 \N{MULTIPLICATION SIGN} 2"),
        ),
    )


def test_describe_names_the_question_and_the_line(fixture_result: ImportResult) -> None:
    lines = [p.describe() for p in fixture_result.problems]
    assert lines[6] == (
        "question 16 'Two blanks' (line 58, multianswer): skipped: has 2 answer blocks; a "
        "quizsession question has one answer (embedded answers are not supported)"
    )
    assert lines[2].startswith("question 5 'Red planet' (line 24, shortanswer): imported as ")


# ---------------------------------------------------------------- kinds


def test_single_choice() -> None:
    assert only("Who's buried in Grant's tomb?{~Grant ~Jefferson =no one}") == {
        "kind": "single",
        "text": "Who's buried in Grant's tomb?",
        "points": 1.0,
        "choices": [
            {"id": "a", "text": "Grant"},
            {"id": "b", "text": "Jefferson"},
            {"id": "c", "text": "no one", "correct": True},
        ],
    }


def test_multiple_answers_with_weights_and_negative_marks() -> None:
    question = only("Pick two.{~%50%a ~%50%b ~%-100%c}")
    assert question["kind"] == "multiple"
    assert question["penalty"] == 1.0
    assert "partial" not in question  # per_option, the default
    assert [c.get("correct", False) for c in question["choices"]] == [True, True, False]
    quiz = parse_quiz({"id": "x", "title": "x", "duration_s": 60, "test": {"questions": [
        {"id": "q", **question}
    ]}})  # fmt: skip
    assert quiz.test.questions[0].partial == "per_option"


def test_multiple_answers_without_negative_weights_have_no_penalty() -> None:
    question = only("Pick.{~%50%a ~%50%b ~c}")
    assert question["kind"] == "multiple"
    assert "penalty" not in question


def test_the_largest_negative_weight_sets_the_penalty() -> None:
    question = only("Pick.{=right ~%-25%w1 ~%-50%w2 ~%-50%w3}")
    assert question["penalty"] == 0.5


def test_multiple_with_no_positive_weight_is_skipped() -> None:
    assert skipped("Pick.{~%-50%a ~b}") == "no answer has a positive weight, so none is correct"


def test_single_with_two_full_answers_is_skipped() -> None:
    assert skipped("Pick.{=a =b ~c}") == (
        "2 answers are worth 100%; a quizsession single-choice question has exactly one "
        "right answer"
    )


def test_choice_question_needs_two_answers() -> None:
    assert skipped("Pick.{~only}") == "has 1 answer; a choice question needs at least 2"


@pytest.mark.parametrize(
    ("block", "correct"),
    [("{T}", True), ("{TRUE}", True), ("{F}", False), ("{FALSE}", False), ("{false}", False)],
)
def test_true_false(block: str, correct: bool) -> None:
    assert only(f"The sky is green.{block}") == {
        "kind": "true_false",
        "text": "The sky is green.",
        "points": 1.0,
        "correct": correct,
    }


def test_short_answer() -> None:
    assert only("Who's buried in Grant's tomb?{=no one =nobody}") == {
        "kind": "short_text",
        "text": "Who's buried in Grant's tomb?",
        "points": 1.0,
        "accepted": ["no one", "nobody"],
    }


def test_short_answer_partial_and_wildcard_answers_are_left_out_with_notes() -> None:
    result = gift(r"Colour?{=colour =%50%color =col*r =%0%red#No. =\*star}")
    [question] = result.questions
    assert question["accepted"] == ["colour", "*star"]
    assert notes(result) == [
        "answer 'col*r' uses Moodle's '*' wildcard, which quizsession does not match: left out",
        "partial-credit answer 'color' (50%) is not accepted",
        TF_FEEDBACK.format("short-text"),
    ]


def test_short_answer_with_only_a_wildcard_is_skipped() -> None:
    assert skipped("Anything?{=*}") == (
        "right answer '*' uses Moodle's '*' wildcard, which quizsession does not match"
    )


@pytest.mark.parametrize(
    ("block", "value", "tolerance"),
    [
        ("{#3.14:0.01}", 3.14, 0.01),
        ("{#1..5}", 3.0, 2.0),
        ("{#-5..-1}", -3.0, 2.0),
        ("{#42}", 42.0, None),
        ("{#=1822:0 =%50%1822:2}", 1822.0, None),
        ("{#=%50%10:5 =12:0.5#Exactly. ~#Far off.}", 12.0, 0.5),
        ("{#\n=2.5e3:1e2\n}", 2500.0, 100.0),
    ],
)
def test_numeric(block: str, value: float, tolerance: float | None) -> None:
    question = only(f"How much?{block}")
    expected: dict[str, Any] = {"kind": "numeric", "text": "How much?", "points": 1.0}
    expected["value"] = value
    if tolerance is not None:
        expected["tolerance"] = tolerance
    assert question == expected


def test_numeric_problems() -> None:
    assert skipped("How much?{#abc}") == (
        "numeric answer 'abc' is not a number, 'value:tolerance' or 'min..max'"
    )
    assert skipped("How much?{#=%50%1 =%50%2}") == "no numeric answer is worth 100%"
    assert skipped("How much?{#=1 =2}") == (
        "2 numeric answers are worth 100%; a quizsession numeric question has one value and "
        "tolerance"
    )


# ---------------------------------------------------------------- syntax


def test_titles_become_unique_slugs() -> None:
    result = gift(
        "::Größe & Maß::Q?{T}\n\n::Größe & Maß::Q?{F}\n\n::!!!::Q?{T}\n\n"
        "::" + "very long " * 10 + "::Q?{T}\n\n::" + "very long " * 10 + "::Q?{T}"
    )
    assert [q["id"] for q in result.questions] == [
        "grosse-mass",
        "grosse-mass-2",
        "q3",
        ("very-long-" * 7)[:64].rstrip("-"),
        ("very-long-" * 7)[:62].rstrip("-") + "-2",
    ]
    assert all(len(str(q["id"])) <= 64 for q in result.questions)


def test_escapes_comments_and_categories() -> None:
    text = (
        "// a comment line\n"
        "$CATEGORY: $course$/top/Week 2\n"
        "\n"
        r"::a\:b::Is 1 \= 1 \# \~ \{ok\}\nreally?{T#wrong\#1#right}"
        "\n"
        "// trailing comment\n"
    )
    result = gift(text)
    [question] = result.questions
    assert question["id"] == "a-b"
    assert question["text"] == "Is 1 = 1 # ~ {ok}\nreally?"
    assert notes(result) == [TF_FEEDBACK.format("true/false")]


def test_a_backslash_before_other_characters_is_kept() -> None:
    assert only(r"Path C:\temp or \\share?{T}")["text"] == r"Path C:\temp or \share?"


def test_category_line_right_before_a_question_is_ignored() -> None:
    result = gift("$CATEGORY: top/x\n::t::Q?{T}")
    assert [q["id"] for q in result.questions] == ["t"]
    assert result.problems == []


def test_format_markers_and_html() -> None:
    html = only(
        "[html]<p>Is <b>this</b>&nbsp;bold?</p><script>alert(1)</script>"
        "{=[html]<em>yes</em>#[plain]<kept> ~no}"
    )
    assert html["text"] == "Is this bold?"
    assert html["choices"][0] == {"id": "b", "text": "yes", "correct": True, "feedback": "<kept>"}
    # The default format is Moodle's auto-format: tags go, line breaks stay.
    moodle = only("Line one<br>and <i>two</i>\nthree?{T}")
    assert moodle["text"] == "Line one\nand two\nthree?"
    plain = only("[plain]Is 1 <b> 2?{T}")
    assert plain["text"] == "Is 1 <b> 2?"
    markdown = only("[markdown]Is *this* <b>?{T}")
    assert markdown["text"] == "Is *this* <b>?"


def test_missing_word_and_trailing_answers() -> None:
    assert only("Grant is {~buried =entombed ~living} in Grant's tomb.")["text"] == (
        "Grant is _____ in Grant's tomb."
    )
    assert only("Grant is entombed in Grant's tomb.{T}")["text"] == (
        "Grant is entombed in Grant's tomb."
    )


def test_general_feedback() -> None:
    assert only("Q?{=a ~b####See chapter 2.}")["feedback"] == "See chapter 2."


def test_images_are_kept_from_https_and_noted_otherwise() -> None:
    # GIFT embeds no files: an @@PLUGINFILE@@ image is lost, by name.
    result = gift('[html]<p>Which shape?</p><img src="@@PLUGINFILE@@/s.png" alt="a square">{T}')
    assert result.questions[0]["text"] == "Which shape?\n\n[image: a square]"
    assert notes(result) == [
        "image 's.png' is not imported: its file is not in the export (the text keeps its "
        "description)"
    ]
    kept = gift('[html]Which shape?<img src="https://example.org/s.png" alt="a square">{T}')
    [q] = kept.questions
    assert q["text"] == "Which shape?"
    assert q["images"] == [{"url": "https://example.org/s.png", "alt": "a square"}]
    assert notes(kept) == []
    # Images of answers stay their description (a choice shows no image).
    answer = gift(r'[html]Pick.{=<img src\="https://example.org/a.png" alt\="A"> ~b}')
    first: dict[str, Any] = answer.questions[0]
    assert first["choices"][0]["text"] == "[image: A]"
    assert notes(answer) == ["1 image is not imported (only its description, if any, is kept)"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Open {=a", "malformed: the '{' and '}' around the answers do not match (escape a "
         r"literal brace as \{ or \})"),
        ("Open }=a{", "malformed: the '{' and '}' around the answers do not match (escape a "
         r"literal brace as \{ or \})"),
        ("Match.{=a -> 1 =b}", "malformed: the pair 'b' has no '->'"),
        ("Match.{=a -> 1 =b -> }", "the item 'b' has no answer"),
        ("Match.{=a -> 1 = -> 2}", "does not fit quizsession's rules: pairs: must have between 2 "
         "and 100 pairs"),
        ("Pick.{junk ~a =b}", "malformed: text before the first '~' or '=' answer"),
        ("{=a ~b}", "does not fit quizsession's rules: text: must not be empty"),
        ("Pick.{~%150%a =b}", "answer 'a' has weight 150%; Moodle allows -100% to 100%"),
    ],
)  # fmt: skip
def test_unmappable_questions_are_skipped_with_a_reason(text: str, message: str) -> None:
    assert skipped(text) == message


def test_one_skipped_question_does_not_stop_the_others() -> None:
    result = gift("A?{T}\n\nB.{~%150%a =b}\n\n\n\nC?{=c}")
    assert [q["id"] for q in result.questions] == ["q1", "q3"]
    assert [(p.index, p.line, p.kind) for p in result.problems] == [(2, 3, "multichoice")]


def test_duration_is_given_or_defaults_to_half_an_hour() -> None:
    assert gift("A?{T}").definition["duration_s"] == 1800.0
    result = parse_gift("A?{T}", quiz_id="g", title="G", duration_s=600)
    assert result.definition["duration_s"] == 600


# ---------------------------------------------------------------- limits


def test_too_large_is_refused() -> None:
    with pytest.raises(ImportRefused, match=f"at most {MAX_INPUT_BYTES} bytes"):
        gift("x" * (MAX_INPUT_BYTES + 1))


def test_too_many_questions_are_refused() -> None:
    with pytest.raises(ImportRefused, match=f"at most {MAX_IMPORT_QUESTIONS} can be imported"):
        gift("Q?{T}\n\n" * (MAX_IMPORT_QUESTIONS + 1))


def test_gift_bytes_must_be_utf8() -> None:
    with pytest.raises(ImportRefused, match="must be UTF-8 text"):
        import_quiz(b"Caf\xe9?{T}", fmt="gift", quiz_id="g", title="G")
    with_bom = import_quiz("\ufeffCafé?{T}".encode(), fmt="gift", quiz_id="g", title="G")
    assert with_bom.questions[0]["text"] == "Café?"


def test_refusal_is_a_validation_error() -> None:
    with pytest.raises(ImportRefused) as info:
        gift("x" * (MAX_INPUT_BYTES + 1))
    assert info.value.code == "validation_error"


@pytest.mark.parametrize(
    ("name", "data", "fmt"),
    [
        ("q.gift", b"<?xml", "gift"),
        ("q.txt", b"", "gift"),
        ("q.XML", b"", "xml"),
        ("q", b'\xef\xbb\xbf\n <?xml version="1.0"?><quiz/>', "xml"),
        ("q.export", b"<quiz></quiz>", "xml"),
        ("q", b"::t::Q?{T}", "gift"),
    ],
)
def test_detect_format(name: str, data: bytes, fmt: str) -> None:
    assert detect_format(name, data) == fmt


# ---------------------------------------------------------------- CLI


def test_cli_import_gift(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'q.db'}"
    runner = CliRunner()
    args = ["quiz", "import", str(FIXTURE), "--id", "sci", "--title", "Science", "--store-url"]
    first = runner.invoke(app, [*args, store, "--duration", "900"])
    assert first.exit_code == 0, first.output
    assert first.stdout == "sci version 1 (17 questions, 1 skipped)\n"
    assert first.stderr.splitlines() == [p.describe() for p in EXPECTED_PROBLEMS]
    second = runner.invoke(app, [*args, store, "--format", "gift"])
    assert second.stdout == "sci version 2 (17 questions, 1 skipped)\n"
    exported = runner.invoke(app, ["quiz", "export", "sci", "--version", "1", "--store-url", store])
    assert exported.exit_code == 0, exported.output
    mapping = yaml.safe_load(exported.stdout)
    assert mapping["duration_s"] == 900
    assert mapping["test"]["questions"] == EXPECTED_QUESTIONS


def test_cli_dry_run_prints_yaml_and_stores_nothing(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'q.db'}"
    source = tmp_path / "Week 1 quiz.gift"
    source.write_text("::t::Q?{T}\n\nBad.{~%150%a =b}\n", "utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["quiz", "import", str(source), "--dry-run", "--store-url", store])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.stdout) == {
        "id": "week-1-quiz",
        "title": "Week 1 quiz",
        "duration_s": 1800.0,
        "test": {
            "kind": "test",
            "questions": [
                {"id": "t", "kind": "true_false", "text": "Q?", "points": 1.0, "correct": True}
            ],
        },
    }
    assert result.stderr.splitlines()[-1] == (
        "dry run: week-1-quiz (1 questions, 1 skipped); nothing stored"
    )
    assert not (tmp_path / "q.db").exists()  # a dry run opens no store at all
    missing = runner.invoke(app, ["quiz", "export", "week-1-quiz", "--store-url", store])
    assert missing.exit_code == 1
    # A command that only reads says there is no store, and leaves none behind.
    assert "no store at" in missing.stderr
    assert not (tmp_path / "q.db").exists()


def test_cli_refusals(tmp_path: Path) -> None:
    runner = CliRunner()
    empty = tmp_path / "empty.gift"
    empty.write_text("Only a bad one.{~%150%a =b}\n", "utf-8")
    result = runner.invoke(app, ["quiz", "import", str(empty), "--dry-run"])
    assert result.exit_code == 1
    assert "no question could be imported (1 skipped)" in result.stderr
    bad_format = runner.invoke(app, ["quiz", "import", str(empty), "--format", "qti"])
    assert bad_format.exit_code == 2
    bad_id = runner.invoke(app, ["quiz", "import", str(FIXTURE), "--id", "no spaces", "--dry-run"])
    assert bad_id.exit_code == 1
    assert "error [quiz_invalid]" in bad_id.stderr
    assert "/id" in bad_id.stderr
    latin1 = tmp_path / "latin1.gift"
    latin1.write_bytes(b"Caf\xe9?{T}")
    refused = runner.invoke(app, ["quiz", "import", str(latin1), "--dry-run"])
    assert refused.exit_code == 1
    assert "must be UTF-8 text" in refused.stderr


# ---------------------------------------------------------------- the other kinds

KINDS_FIXTURE = Path(__file__).parent.parent / "fixtures" / "moodle" / "kinds.gift"


def test_kinds_fixture_description_essay_matching_and_image() -> None:
    result = parse_gift(KINDS_FIXTURE.read_text("utf-8"), quiz_id="rivers", title="Rivers")
    assert result.problems == []
    assert result.questions == [
        {
            "id": "about-rivers",
            "kind": "description",
            "text": "The next questions are about rivers.",
            "points": 0.0,
        },
        {
            "id": "meanders",
            "kind": "essay",
            "text": "Why do rivers meander?",
            "points": 1.0,
            "feedback": "Think of erosion.",
        },
        {
            "id": "rivers-and-seas",
            "kind": "matching",
            "text": "Which sea does each river flow into?",
            "points": 1.0,
            "pairs": [
                {"id": "a", "text": "Danube", "answer": "Black Sea"},
                {"id": "b", "text": "Rhine", "answer": "North Sea"},
                {"id": "c", "text": "Po", "answer": "Adriatic Sea"},
            ],
            "distractors": ["Baltic Sea"],
        },
        {
            "id": "picture",
            "kind": "single",
            "text": "Which river is this?",
            "points": 1.0,
            "images": [{"url": "https://example.org/nile.jpg", "alt": "A wide river"}],
            "choices": [
                {"id": "b", "text": "Nile", "correct": True},
                {"id": "a", "text": "Amazon"},
            ],
        },
    ]
    quiz = parse_quiz(result.definition)
    exported = quiz_to_mapping(quiz)
    del exported["version"]
    assert exported == result.definition


def test_a_description_alone_imports_but_is_no_test() -> None:
    result = gift("Just some words.")
    assert result.questions == [
        {"id": "q1", "kind": "description", "text": "Just some words.", "points": 0.0}
    ]


def test_matching_extra_answers_are_listed_once_and_not_when_they_are_answers() -> None:
    q = only("Match.{=a -> 1 =b -> 2 = -> 3 = -> 3 = -> 1}")
    assert q["distractors"] == ["3"]


def test_grades_moodle_refuses_are_noted() -> None:
    result = gift("Pick.{~%40%a ~%40%b ~c}")
    assert notes(result) == [  # 40% is one of Moodle's grades; their sum is not 100%
        "the positive weights add up to 80%, not 100% (Moodle refuses to save such a "
        "question); imported: each correct choice earns an equal share"
    ]
    assert notes(gift("Pick.{~%35%a ~%65%b ~c}"))[0].startswith("answer weights 35%, 65% are not")
