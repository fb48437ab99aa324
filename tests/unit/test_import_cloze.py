"""Moodle's embedded answers (Cloze) to cloze questions: every sub-question type
and its short names, weights, fractions, feedback, escapes, and what cannot be
mapped."""

from __future__ import annotations

from typing import Any

import pytest

from quizsession.adapters.importers import parse_moodle_xml
from quizsession.adapters.importers.cloze import find_embedded
from quizsession.app.quiz_import import ImportResult


def cloze(text: str, kind: str = "cloze") -> ImportResult:
    data = (
        f'<quiz><question type="{kind}"><name><text>C</text></name>'
        f'<questiontext format="html"><text><![CDATA[{text}]]></text></questiontext>'
        "</question></quiz>"
    ).encode()
    return parse_moodle_xml(data, quiz_id="x", title="x")


def only(text: str) -> dict[str, Any]:
    result = cloze(text)
    assert [p.message for p in result.problems if p.skipped] == []
    [q] = result.questions
    return q


def notes(result: ImportResult) -> list[str]:
    return [p.message for p in result.problems if not p.skipped]


def skipped(text: str) -> str:
    result = cloze(text)
    assert result.questions == []
    [problem] = result.problems
    return problem.message


@pytest.mark.parametrize("name", ["MULTICHOICE", "MC", "MCV", "MULTICHOICE_H", "MCHS", "MCS"])
def test_choice_gaps_with_every_layout_name(name: str) -> None:
    q = only(f"Pick {{1:{name}:=right#Yes~wrong#No}}.")
    assert q["text"] == "Pick {{g1}}."
    assert q["gaps"] == [
        {
            "id": "g1",
            "kind": "choice",
            "choices": [
                {"id": "a", "text": "right", "correct": True, "feedback": "Yes"},
                {"id": "b", "text": "wrong", "feedback": "No"},
            ],
        }
    ]


@pytest.mark.parametrize(
    ("name", "case_sensitive"),
    [("SHORTANSWER", False), ("SA", False), ("MW", False), ("SHORTANSWER_C", True),
     ("SAC", True), ("MWC", True)],
)  # fmt: skip
def test_short_answer_gaps(name: str, case_sensitive: bool) -> None:
    [gap] = only(f"{{:{name}:=Paris~%100%paris~*#Wrong}}")["gaps"]
    assert gap["kind"] == "short_text"
    assert gap["accepted"] == ["Paris", "paris"]
    assert gap.get("case_sensitive", False) is case_sensitive


@pytest.mark.parametrize("name", ["NUMERICAL", "NM"])
def test_numeric_gaps(name: str) -> None:
    [gap] = only(f"Pi is {{2:{name}:=3.14:0.01#Good~%50%3:0.5~*#No}}.")["gaps"]
    assert gap == {"id": "g1", "kind": "numeric", "weight": 2.0, "value": 3.14, "tolerance": 0.01}
    [exact] = only("{1:NM:=2,5}")["gaps"]  # a decimal comma, as Moodle allows
    assert (exact["value"], "tolerance" in exact) == (2.5, False)


def test_weights_make_the_points_and_default_to_one() -> None:
    q = only("{3:SA:=a} {:SA:=b} {1:SA:=c}")
    assert [g.get("weight", 1.0) for g in q["gaps"]] == [3.0, 1.0, 1.0]
    assert q["points"] == 5.0
    assert q["text"] == "{{g1}} {{g2}} {{g3}}"


def test_partial_fractions_are_noted() -> None:
    result = cloze("{1:MC:%100%a~%50%b~c} {1:SA:=x~%25%y}")
    q: dict[str, Any] = result.questions[0]
    assert [c.get("correct", False) for c in q["gaps"][0]["choices"]] == [True, False, False]
    assert notes(result) == [
        "gap 1: partial credit is not kept ('b' now scores as wrong; a gap is right or wrong)",
        "gap 2: partial-credit answer 'y' (25%) is not accepted",
    ]


def test_escapes_and_html_in_answers() -> None:
    [gap] = only(r"{1:MC:=a \} b \# c \~ d#fine~&lt;tag&gt; &amp; more}")["gaps"]
    assert [c["text"] for c in gap["choices"]] == ["a } b # c ~ d", "<tag> & more"]
    [short] = only("{1:SA:=caf&eacute;}")["gaps"]
    assert short["accepted"] == ["café"]


def test_text_and_images_around_the_gaps_are_converted() -> None:
    q = only("<p>One {1:SA:=a}</p><p>Two <b>{1:SA:=b}</b></p>")
    assert q["text"] == "One {{g1}}\n\nTwo {{g2}}"


def test_the_database_name_multianswer_is_read_too() -> None:
    result = cloze("X {1:SA:=y}", kind="multianswer")
    assert result.questions[0]["kind"] == "cloze"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("No gaps here.", "its text holds no embedded answers ({1:MULTICHOICE:...} and the like)"),
        ("{1:MULTIRESPONSE:=a~=b~c}", "gap 1 is a MULTIRESPONSE gap (several right choices); a "
         "quizsession gap takes one answer"),
        ("{1:MC:=only}", "gap 1: a choice gap needs at least 2 choices"),
        ("{1:MC:a~b}", "gap 1: no choice is worth 100%"),
        ("{1:SA:%50%a}", "gap 1: no answer is worth 100%"),
        ("{1:NM:=abc}", "gap 1: numeric answer 'abc' is not a number or 'value:tolerance'"),
        ("{0:SA:=a}", "gap 1 has weight 0; every gap must be worth something"),
    ],
)  # fmt: skip
def test_what_cannot_be_mapped_skips_the_question(text: str, message: str) -> None:
    assert skipped(text) == message


def test_unknown_types_and_unclosed_answers_are_text() -> None:
    assert find_embedded("{1:FOO:=a} {1:SA:=b") == []
    assert skipped("{1:mc:=a~b}").startswith("its text holds no embedded answers")


def test_the_scanner_is_linear_on_hostile_input() -> None:
    hostile = "{1:SA:" + "a~" * 200_000  # never closed
    assert find_embedded(hostile) == []
    many = "".join("{1:SA:=a}" for _ in range(101))
    assert skipped(many) == "has 101 embedded answers; a cloze question holds at most 100"
