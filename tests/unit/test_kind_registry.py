"""Every question kind has every part: the registry's spec (each method gives a
sensible answer for the sample question of the kind), the export, the candidate's
view, a report summary, a renderer module on the page, a Moodle type, a writer in
each Moodle exporter's table (GIFT: a writer or a "cannot be written" entry) and
a reader for its Moodle type in each importer's table. A new kind that misses one
of them fails here."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import msgspec
import pytest

from quizsession.adapters.exporters.common import Notes
from quizsession.adapters.exporters.gift import GIFT_WRITERS, GiftBody, NotInGift, write_gift
from quizsession.adapters.exporters.moodle_xml import write_moodle_xml
from quizsession.adapters.exporters.xml_writers import XML_WRITERS, XmlBody
from quizsession.adapters.importers.gift import GIFT_READERS, parse_gift
from quizsession.adapters.importers.kinds import GIFT_KINDS, MOODLE_KINDS, XML_TYPES, xml_type
from quizsession.adapters.importers.moodle_xml import XML_READERS, parse_moodle_xml
from quizsession.app.reports.attempt import Examined
from quizsession.app.reports.items import item_analysis
from quizsession.domain.attempt_state import AttemptState, SectionProgress
from quizsession.domain.events import AnswerValue
from quizsession.domain.kinds import KINDS, QUESTION_KINDS, QuestionKindSpec, kind_of
from quizsession.domain.quiz import Question, Quiz
from quizsession.domain.quiz_export import quiz_to_mapping
from quizsession.domain.quiz_fields import Fields
from quizsession.domain.quiz_validation import parse_quiz
from testsupport.sample_kinds import SAMPLE_ANSWERS, sample_question, sample_quiz

STATIC = resources.files("quizsession.entrypoints.web") / "static" / "kinds"
KEY_NAMES = ("correct", "answer", "accepted", "value")


def sample(kind: str) -> Question:
    quiz = parse_quiz(sample_quiz())
    return next(q for q in quiz.test.questions if q.kind == kind)


def answers(kind: str) -> dict[str, AnswerValue]:
    return SAMPLE_ANSWERS[f"k-{kind}"]


def test_the_registry_lists_ten_kinds_in_order() -> None:
    assert QUESTION_KINDS == (
        "single", "multiple", "true_false", "short_text", "numeric",
        "essay", "matching", "ordering", "cloze", "description",
    )  # fmt: skip
    assert all(KINDS[name].name == name for name in QUESTION_KINDS)


def test_the_sample_quiz_has_one_question_of_every_kind() -> None:
    quiz = parse_quiz(sample_quiz())
    assert sorted(q.kind for q in quiz.test.questions) == sorted(QUESTION_KINDS)


@pytest.mark.parametrize("kind", QUESTION_KINDS)
def test_the_spec_describes_the_kind(kind: str) -> None:
    spec: QuestionKindSpec = KINDS[kind]
    q = sample(kind)
    assert kind_of(q) is spec
    assert spec.grading in ("auto", "manual", "none")
    assert isinstance(spec.keys, tuple)
    raw = sample_question(kind)
    common = {"id", "kind", "text", "points", "penalty", "images", "feedback"}
    assert set(raw) - common <= set(spec.keys)


@pytest.mark.parametrize("kind", QUESTION_KINDS)
def test_parse_and_export_agree(kind: str) -> None:
    q = sample(kind)
    exported = KINDS[kind].export(q)
    assert set(exported) <= set(KINDS[kind].keys)
    problems: list[Any] = []
    f = Fields(problems, {"text": q.text, **exported}, "/q", ("text", *KINDS[kind].keys))
    fields = KINDS[kind].parse(f, "/q")
    assert problems == []
    for name, value in fields.items():
        assert getattr(q, name) == value


@pytest.mark.parametrize("kind", QUESTION_KINDS)
def test_answers_scores_and_texts(kind: str) -> None:
    spec = KINDS[kind]
    q = sample(kind)
    given = answers(kind)
    assert spec.is_blank(None)
    for answer in given.values():
        assert spec.answer_problem(q, answer) is None
        assert -q.penalty <= spec.score(q, answer) <= q.points
        assert isinstance(spec.describe(q, answer), str)
        assert all(isinstance(k, str) for k in spec.response_key(q, answer))
    assert isinstance(spec.right_answer(q), str)
    if spec.grading == "auto":
        assert spec.is_correct(q, given["right"])
        assert spec.score(q, given["right"]) == q.points
        assert not spec.is_correct(q, given["wrong"])
        assert spec.right_answer(q)
        assert spec.describe(q, given["wrong"])
        assert spec.response_key(q, given["wrong"])
    else:
        assert spec.right_answer(q) == ""
        assert not spec.is_correct(q, given.get("manual"))
    assert all(r.key and isinstance(r.correct, bool) for r in spec.known_responses(q))


@pytest.mark.parametrize("kind", QUESTION_KINDS)
def test_the_view_never_holds_the_key(kind: str) -> None:
    q = sample(kind)
    view = KINDS[kind].view(q, 12345)
    assert isinstance(view, dict)
    text = repr(view)
    for name in KEY_NAMES:
        assert f"'{name}'" not in text


@pytest.mark.parametrize("kind", QUESTION_KINDS)
def test_the_export_round_trips(kind: str) -> None:
    quiz = parse_quiz(sample_quiz())
    assert parse_quiz(quiz_to_mapping(quiz)) == quiz
    assert any(q["kind"] == kind for q in quiz_to_mapping(quiz)["test"]["questions"])  # type: ignore[index]


def _examined(quiz: Quiz, qid: str, answer: AnswerValue) -> Examined:
    state = AttemptState()
    state.status = "submitted"
    state.test = SectionProgress(
        started_at=0.0,
        seed=1,
        plan=[qid],
        delivered=[qid],
        delivered_set={qid},
        answers={qid: answer},
    )
    q = quiz.test.question(qid)
    assert q is not None
    return Examined(
        records=[],
        state=state,
        quiz=quiz,
        test_started_at=0.0,
        time_spent={},
        per_question={qid: kind_of(q).score(q, answer)},
    )


@pytest.mark.parametrize("kind", QUESTION_KINDS)
def test_the_item_analysis_summarises_the_kind(kind: str) -> None:
    quiz = parse_quiz(sample_quiz())
    q = sample(kind)
    given = answers(kind)
    scored = [_examined(quiz, q.id, a) for a in given.values()]
    item = item_analysis(q.id, q, scored)
    assert item.kind == kind
    assert item.delivered == len(given)
    if KINDS[kind].grading == "auto":
        assert item.right == 1
        assert sum(o.count for o in item.options) >= 1
        assert any(o.correct for o in item.options)


@pytest.mark.parametrize("kind", QUESTION_KINDS)
def test_the_page_has_a_renderer_module(kind: str) -> None:
    module = STATIC / f"{kind}.js"
    assert module.is_file(), f"no renderer module kinds/{kind}.js"
    index = (STATIC / "index.js").read_text("utf-8")
    assert re.search(rf'import \* as {kind} from "\./{kind}\.js"', index)


@pytest.mark.parametrize("kind", QUESTION_KINDS)
def test_the_moodle_importer_maps_the_kind(kind: str) -> None:
    assert MOODLE_KINDS.get(kind), f"no Moodle question type for {kind}"


def test_the_moodle_writer_tables_hold_exactly_the_kinds() -> None:
    """The exporters dispatch by lookup: no kind can miss its entry (a KeyError)."""
    assert set(XML_WRITERS) == set(QUESTION_KINDS)
    assert set(GIFT_WRITERS) == set(QUESTION_KINDS)


@pytest.mark.parametrize("kind", QUESTION_KINDS)
def test_the_moodle_exporters_write_the_kind(kind: str) -> None:
    q = sample(kind)
    assert isinstance(XML_WRITERS[kind](q, Notes()), XmlBody)
    written = GIFT_WRITERS[kind](q, Notes())
    if kind in GIFT_KINDS:
        assert isinstance(written, GiftBody), f"GIFT can express {kind}: it needs a writer"
    else:
        assert written == NotInGift(f"{kind} questions cannot be written in GIFT")


@pytest.mark.parametrize("kind", QUESTION_KINDS)
def test_the_moodle_importers_read_the_kind(kind: str) -> None:
    qtype = MOODLE_KINDS[kind]
    assert XML_TYPES[xml_type(kind)] == qtype
    assert qtype in XML_READERS, f"no Moodle XML reader for {qtype} ({kind})"
    if kind in GIFT_KINDS:
        assert qtype in GIFT_READERS, f"no GIFT reader for {qtype} ({kind})"


def test_the_moodle_reader_tables_read_only_known_types() -> None:
    assert set(XML_READERS) == set(XML_TYPES.values())
    assert set(GIFT_READERS) == {MOODLE_KINDS[kind] for kind in GIFT_KINDS}


@pytest.mark.parametrize("kind", QUESTION_KINDS)
def test_the_kind_comes_back_from_moodle(kind: str) -> None:
    """Written as Moodle XML (and GIFT, when it can express the kind) and read
    back, the question keeps its kind."""
    quiz = parse_quiz(sample_quiz())
    only = msgspec.structs.replace(
        quiz, test=msgspec.structs.replace(quiz.test, questions=(sample(kind),))
    )
    data, _notes = write_moodle_xml(only)
    back = parse_moodle_xml(data, quiz_id=quiz.id, title=quiz.title)
    assert [q["kind"] for q in back.questions] == [kind]
    text, notes = write_gift(only)
    gift = parse_gift(text.decode(), quiz_id=quiz.id, title=quiz.title)
    if kind in GIFT_KINDS:
        assert [q["kind"] for q in gift.questions] == [kind]
    else:
        assert gift.questions == []
        assert [n.skipped for n in notes.notes] == [True]
