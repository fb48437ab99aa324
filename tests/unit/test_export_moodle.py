"""Export to Moodle XML and GIFT: a quiz with every kind goes through Moodle XML
and back unchanged; what a format cannot hold is in the notes; the kind table
covers every kind; the CLI's ``quiz export --format moodle-xml|gift``."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from quizsession.adapters.exporters import MoodleExporter
from quizsession.adapters.importers import parse_gift, parse_moodle_xml
from quizsession.adapters.importers.kinds import GIFT_KINDS, MOODLE_KINDS, xml_type
from quizsession.app.quiz_exporter import ExportNote
from quizsession.domain.kinds import QUESTION_KINDS
from quizsession.domain.quiz import Quiz
from quizsession.domain.quiz_export import quiz_to_mapping
from quizsession.domain.quiz_validation import parse_quiz
from quizsession.entrypoints.cli import app

SAMPLE = Path(__file__).parent.parent / "fixtures" / "moodle" / "every_kind.yaml"


def sample(**changes: Any) -> Quiz:
    raw = yaml.safe_load(SAMPLE.read_text("utf-8"))
    raw.update(changes)
    return parse_quiz(raw)


def questions(quiz: Quiz) -> list[dict[str, object]]:
    test = quiz_to_mapping(quiz)["test"]
    assert isinstance(test, dict)
    return list(test["questions"])


def test_every_kind_has_a_moodle_type() -> None:
    assert set(MOODLE_KINDS) == set(QUESTION_KINDS)
    assert xml_type("cloze") == "cloze"  # Moodle's XML name for its multianswer type
    assert set(QUESTION_KINDS) >= GIFT_KINDS


def test_sample_has_every_kind() -> None:
    assert {q.kind for q in sample().test.questions} == set(QUESTION_KINDS)


def test_moodle_xml_round_trip_keeps_every_question() -> None:
    quiz = sample()
    exported = MoodleExporter().export_quiz(quiz, "moodle-xml")
    assert exported.notes == []
    back = parse_moodle_xml(exported.data, quiz_id=quiz.id, title=quiz.title)
    assert back.problems == []
    assert back.questions == questions(quiz)
    assert parse_quiz(back.definition).test == quiz.test


def test_moodle_xml_holds_the_moodle_structures() -> None:
    text = html.unescape(MoodleExporter().export_quiz(sample(), "moodle-xml").data.decode())
    assert '<question type="cloze">' in text
    assert "{2:MULTICHOICE:=Jupiter#Right.~Saturn}" in text
    assert "{1:SHORTANSWER:=star}" in text
    assert "{1:NUMERICAL:=1}" in text
    assert "<gradingtype>RELATIVE_NEXT_EXCLUDE_LAST</gradingtype>" in text
    assert '<answer fraction="-25" format="plain_text"><text>Toronto</text>' in text
    assert '<img src="https://example.org/maps/canada.png" alt="A map of Canada">' in text
    assert "<maxwordlimit>300</maxwordlimit>" in text


def test_what_moodle_cannot_hold_is_noted() -> None:
    raw = yaml.safe_load(SAMPLE.read_text("utf-8"))
    tf = raw["test"]["questions"][3]
    tf["penalty"] = 0.5
    tf["difficulty"] = 3
    raw["test"]["questions"][1]["penalty"] = 0.7  # 35% of 2 points: not a Moodle grade
    raw["test"]["questions"][8]["items"][0]["id"] = "x"
    exported = MoodleExporter().export_quiz(parse_quiz(raw), "moodle-xml")
    assert [n.describe() for n in exported.notes] == [
        "question capital: note: the penalty 0.7 is -35% of the points, not a Moodle grade: "
        "written as -33.33333%",
        "question earth-round: note: the difficulty 3 has no Moodle equivalent: not written",
        "question earth-round: note: the penalty 0.5 (negative marking) cannot be written for a "
        "true_false question in Moodle",
        "question planets: note: item ids come back as c, d, a, b on import",
    ]


def test_data_url_images_become_embedded_files() -> None:
    pixel = (
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9aw"
        "AAAABJRU5ErkJggg=="
    )
    raw = yaml.safe_load(SAMPLE.read_text("utf-8"))
    raw["test"]["questions"][9]["images"] = [
        {"url": f"data:image/png;base64,{pixel}", "alt": "The Sun"}
    ]
    quiz = parse_quiz(raw)
    exported = MoodleExporter().export_quiz(quiz, "moodle-xml")
    text = exported.data.decode()
    assert '<img src="@@PLUGINFILE@@/image-1.png" alt="The Sun">' in html.unescape(text)
    assert f'<file name="image-1.png" path="/" encoding="base64">{pixel}</file>' in text
    back = parse_moodle_xml(exported.data, quiz_id=quiz.id, title=quiz.title)
    assert back.questions == questions(quiz)


def test_gift_round_trip_keeps_what_the_notes_do_not_name() -> None:
    quiz = sample()
    exported = MoodleExporter().export_quiz(quiz, "gift")
    assert [n.describe() for n in exported.notes] == [
        "question capital: note: 1 image(s) cannot be written in GIFT: left out",
        "question capital: note: GIFT has no points: the question is worth 1 on import",
        "question symbol-gold: note: GIFT short answers are case-insensitive: case_sensitive "
        "is lost",
        "question water-cycle: note: GIFT has no points: the question is worth 1 on import",
        "question water-cycle: note: GIFT has no word limit, response template or grader "
        "information: left out",
        "question capitals: note: GIFT has no points: the question is worth 1 on import",
        "question planets: left out: ordering questions cannot be written in GIFT",
        "question solar: left out: cloze questions cannot be written in GIFT",
    ]
    back = parse_gift(exported.data.decode(), quiz_id=quiz.id, title=quiz.title)
    assert back.problems == []
    original = {str(q["id"]): q for q in questions(quiz)}
    noted = {n.question_id for n in exported.notes}
    imported = {str(q["id"]): q for q in back.questions}
    assert set(imported) == set(original) - {"planets", "solar"}
    for qid, q in imported.items():
        if qid not in noted:
            assert q == original[qid]
    assert imported["capital"]["choices"] == original["capital"]["choices"]
    assert imported["water-cycle"]["kind"] == "essay"


def test_export_note_describes_itself() -> None:
    assert ExportNote(question_id="", message="m").describe() == "quiz: note: m"


@pytest.mark.parametrize("fmt", ["moodle-xml", "gift"])
def test_cli_export_for_moodle(tmp_path: Path, fmt: str) -> None:
    store = f"sqlite:///{tmp_path / 'q.db'}"
    runner = CliRunner()
    loaded = runner.invoke(app, ["quiz", "load", str(SAMPLE), "--store-url", store])
    assert loaded.exit_code == 0, loaded.output
    result = runner.invoke(
        app, ["quiz", "export", "every-kind", "--format", fmt, "--store-url", store]
    )
    assert result.exit_code == 0, result.output
    if fmt == "moodle-xml":
        assert result.stdout.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<quiz>')
        assert result.stderr == ""
        back = parse_moodle_xml(result.stdout.encode(), quiz_id="every-kind", title="Every kind")
        assert back.questions == questions(sample())
    else:
        assert "::capital::[plain]Which city is the capital of Canada?{" in result.stdout
        assert "question solar: left out" in result.stderr
    bad = runner.invoke(app, ["quiz", "export", "every-kind", "--format", "qti"])
    assert bad.exit_code == 2
