"""Hostile Moodle files for the newer kinds: cloze texts with pathological
nesting and backslashes, long inputs, huge embedded files, matching and ordering
questions far over the limits. Each is refused whole (``ImportRefused``), or its
question skipped or noted: never a crash, in bounded time (a generous bound that
catches anything quadratic on megabytes or exponential, not a measurement), and
whatever is imported passes ``parse_quiz`` (a quiz document stays bounded).
"""

from __future__ import annotations

import base64
import contextlib
import time
from collections.abc import Callable
from typing import Any

import pytest

from quizsession.adapters.importers import import_quiz, parse_gift, parse_moodle_xml
from quizsession.adapters.importers.cloze import find_embedded
from quizsession.app.quiz_import import ImportRefused, ImportResult
from quizsession.domain.errors import InvalidDefinition
from quizsession.domain.quiz_images import MAX_IMAGE_BYTES, MAX_QUIZ_IMAGE_DATA
from quizsession.domain.quiz_validation import parse_quiz

#: Seconds: far above the cost of any of these inputs when linear.
BOUND_S = 10.0
PNG = b"\x89PNG\r\n\x1a\n"


def timed(read: Callable[[], Any]) -> Any:
    began = time.perf_counter()
    result = read()
    assert time.perf_counter() - began < BOUND_S
    return result


def xml(*questions: str) -> bytes:
    return ("<quiz>" + "".join(questions) + "</quiz>").encode()


def xml_cloze(text: str, files: str = "") -> str:
    return (
        '<question type="cloze"><name><text>C</text></name>'
        f'<questiontext format="html"><text><![CDATA[{text}]]></text>{files}</questiontext>'
        "</question>"
    )


def imported(result: ImportResult) -> ImportResult:
    """Every question imported passes ``parse_quiz``: the result can be stored."""
    if result.questions:
        parse_quiz(result.definition)
    return result


CLOZE_TEXTS: dict[str, str] = {
    "nested": "{1:SA:=" * 20_000 + "x" + "}" * 20_000,
    "nested-mc": "{1:MC:=a~{1:MC:=b~c}~d}" * 5_000,
    "backslashes": "{1:SA:=" + "\\" * 200_000 + "}",
    "escaped-braces": "{1:SA:=" + "\\}" * 100_000 + "}",
    "escaped-hashes": "{1:MC:=a#" + "\\#" * 100_000 + "~b}",
    "unclosed": "{1:SA:=x" * 50_000,
    "unknown-types": "{1:NOPE:=x}" * 50_000,
    "starts-only": "{1:" * 100_000,
    "tildes": "{1:MC:" + "~" * 200_000 + "}",
    "entities": "{1:MC:=a#" + "&amp;#" * 50_000 + "~b}",
    "many-gaps": "{1:SA:=x} " * 20_000,
    "huge-weight": "{" + "9" * 5_000 + ":SA:=x}",
    "numeric-huge": "{1:NM:=" + "9" * 5_000 + ":1}",
    "markers-in-text": "{{g1}} {{g2}} {1:SA:=x} {{{{x}}}}",
}


@pytest.mark.parametrize("name", sorted(CLOZE_TEXTS))
def test_pathological_cloze_texts_are_read_in_bounded_time(name: str) -> None:
    text = CLOZE_TEXTS[name]
    timed(lambda: find_embedded(text))
    result = timed(lambda: parse_moodle_xml(xml(xml_cloze(text)), quiz_id="x", title="x"))
    imported(result)
    assert len(result.questions) + result.skipped == 1
    # GIFT has no cloze: the same text as a GIFT question is refused or read, never a crash
    escaped = text.replace("{", "\\{").replace("}", "\\}")
    gift = f"::C:: {escaped} {{=x}}\n"
    with contextlib.suppress(ImportRefused):
        imported(timed(lambda: parse_gift(gift, quiz_id="x", title="x")))


def test_a_text_gap_marker_written_by_the_author_cannot_make_a_gap() -> None:
    """``{{g1}}`` typed in a Moodle text is not a gap: the imported question keeps
    one gap per embedded answer, and parse_quiz accepts it or the question is
    skipped (never a gap bound to another's key)."""
    result = parse_moodle_xml(xml(xml_cloze("{{g1}} and {1:SA:=x}")), quiz_id="x", title="x")
    imported(result)
    for q in result.questions:
        gaps: Any = q["gaps"]
        assert [g["id"] for g in gaps] == ["g1"]


def _file(name: str, raw: bytes) -> str:
    return f'<file name="{name}" encoding="base64">{base64.b64encode(raw).decode()}</file>'


def test_a_huge_embedded_file_is_not_kept_and_the_question_is_noted() -> None:
    big = PNG + b"\0" * (MAX_IMAGE_BYTES + 1)
    text = '<img src="@@PLUGINFILE@@/big.png" alt="big"> {1:SA:=x}'
    result = imported(
        timed(
            lambda: parse_moodle_xml(
                xml(xml_cloze(text, _file("big.png", big))), quiz_id="x", title="x"
            )
        )
    )
    [q] = result.questions
    assert "images" not in q
    assert any("too large" in p.message for p in result.problems)


def test_one_file_shown_many_times_cannot_swell_the_quiz_past_its_bound() -> None:
    """One 512 KiB image referred to many times: the file is small, the quiz it
    would make is not. A question keeps at most 20 images, and one whose images
    alone are over ``MAX_QUIZ_IMAGE_DATA`` is skipped with the reason; questions
    within it one by one but over it together make a quiz that parse_quiz
    refuses whole (the command line stores nothing)."""
    image = PNG + b"\0" * (MAX_IMAGE_BYTES - len(PNG))
    refs = '<img src="@@PLUGINFILE@@/i.png" alt="i"> '
    one = xml_cloze(f"Q {refs * 25} {{1:SA:=x}}", _file("i.png", image))
    result = timed(lambda: parse_moodle_xml(xml(one), quiz_id="x", title="x"))
    assert result.questions == []
    assert any("data: images" in p.message and p.skipped for p in result.problems)

    questions = [xml_cloze(f"Q{n} {refs * 5} {{1:SA:=x}}", _file("i.png", image)) for n in range(4)]
    result = timed(lambda: parse_moodle_xml(xml(*questions), quiz_id="x", title="x"))
    assert len(result.questions) == 4
    images: list[Any] = [i for q in result.questions for i in q.get("images", [])]
    total = sum(len(i["url"]) for i in images)
    assert total > MAX_QUIZ_IMAGE_DATA
    with pytest.raises(InvalidDefinition) as refused:
        parse_quiz(result.definition)
    assert [p.path for p in refused.value.problems] == [""]
    assert "data: images" in refused.value.problems[0].message


def test_a_matching_question_with_10000_items_is_skipped() -> None:
    rows = "".join(
        f'<subquestion format="html"><text>item {n}</text><answer><text>a{n}</text></answer>'
        "</subquestion>"
        for n in range(10_000)
    )
    data = xml(f'<question type="matching"><name><text>M</text></name>'
               f'<questiontext><text>Match</text></questiontext>{rows}</question>')  # fmt: skip
    result = imported(timed(lambda: parse_moodle_xml(data, quiz_id="x", title="x")))
    assert result.questions == []
    assert result.skipped == 1


def test_an_ordering_question_with_5000_items_is_skipped() -> None:
    answers = "".join(f'<answer fraction="0"><text>step {n}</text></answer>' for n in range(5_000))
    data = xml(f'<question type="ordering"><name><text>O</text></name>'
               f'<questiontext><text>Order</text></questiontext>{answers}</question>')  # fmt: skip
    result = imported(timed(lambda: parse_moodle_xml(data, quiz_id="x", title="x")))
    assert result.questions == []
    assert result.skipped == 1


def test_a_gift_matching_question_with_10000_pairs_is_skipped() -> None:
    pairs = " ".join(f"=item{n} -> a{n}" for n in range(10_000))
    result = imported(
        timed(lambda: parse_gift(f"::M:: Match {{ {pairs} }}\n", quiz_id="x", title="x"))
    )
    assert result.questions == []
    assert result.skipped == 1


def test_deeply_nested_xml_is_read_or_refused_in_bounded_time() -> None:
    data = b"<quiz>" + b"<a>" * 50_000 + b"</a>" * 50_000 + b"</quiz>"
    try:
        result = timed(lambda: import_quiz(data, fmt="xml", quiz_id="x", title="x"))
    except ImportRefused:
        return
    assert result.questions == []


@pytest.mark.parametrize(
    "data",
    [
        b'<!DOCTYPE quiz [<!ENTITY a "aaaaaaaaaa">]><quiz>&a;</quiz>',
        b"<quiz>" + b'<question type="cloze"/>' * 5_001 + b"</quiz>",
        b"\xff\xfe<quiz/>",
        b"x" * 10_000_001,
    ],
    ids=["entities", "too-many", "not-utf8", "too-large"],
)
def test_whole_files_that_are_refused(data: bytes) -> None:
    with pytest.raises(ImportRefused):
        timed(lambda: import_quiz(data, fmt="xml", quiz_id="x", title="x"))
