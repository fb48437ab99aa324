"""Moodle XML (a question-bank export) to a quizsession definition.

Parsed with defusedxml only, with DTDs forbidden: a document type declaration,
entity declarations (billion laughs) and external entities are refused before
anything is read. Moodle's exports never contain any of them.
The kinds with several parts (essay, matching, ordering, cloze, description) are
read in ``xml_kinds.py``. See docs/importing.md for the mapping."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
from defusedxml.ElementTree import (  # type: ignore[import-untyped]
    ParseError,
    fromstring,
)

from quizsession.adapters.importers.answers import (
    ANSWER_FEEDBACK_NOTE,
    Answer,
    NumericAnswer,
    Skip,
    choice_fields,
    images_note,
    number,
    numeric_fields,
    short_text_fields,
)
from quizsession.adapters.importers.collect import (
    Collector,
    Source,
    check_count,
    check_size,
    refuse,
    unsupported_message,
)
from quizsession.adapters.importers.html_text import html_to_text
from quizsession.adapters.importers.kinds import XML_TYPES
from quizsession.adapters.importers.xml_kinds import (
    XmlQuestion,
    child_text,
    cloze,
    description,
    essay,
    matching,
    ordering,
)
from quizsession.app.quiz_import import DEFAULT_DURATION_S, ImportResult
from quizsession.domain.quiz_fields import ID_PATTERN

if TYPE_CHECKING:  # the type only: parsing goes through defusedxml
    from xml.etree.ElementTree import Element

DTD_REFUSED = (
    "the XML declares a document type (<!DOCTYPE ...>) or entities; these are refused "
    "because they enable entity-expansion (billion laughs) and external-entity attacks. "
    "Moodle's exports never contain one: export the questions again from Moodle"
)


def parse_moodle_xml(
    data: bytes, *, quiz_id: str, title: str, duration_s: float = DEFAULT_DURATION_S
) -> ImportResult:
    """Read a Moodle XML export; every question goes into the test section.
    Questions that cannot be mapped are skipped with a problem each. Raises
    ``ImportRefused`` when the file is too large, not well-formed, declares a DTD
    or entities, is not a Moodle ``<quiz>`` or holds too many questions."""
    check_size(len(data))
    root = _parse(data)
    elements = [q for q in root if q.tag == "question" and q.get("type") != "category"]
    check_count(len(elements))
    collector = Collector(quiz_id=quiz_id, title=title, duration_s=duration_s)
    for index, element in enumerate(elements, start=1):
        _question(collector, index, element)
    return collector.result()


def _parse(data: bytes) -> Element:
    try:
        root = cast("Element", fromstring(data, forbid_dtd=True))
    except DefusedXmlException as exc:
        raise refuse(DTD_REFUSED) from exc
    except ParseError as exc:
        raise refuse(f"not well-formed XML: {exc}") from exc
    except LookupError as exc:  # <?xml encoding="..."?> that Python does not know
        raise refuse(f"the XML declares an unsupported encoding ({exc})") from exc
    if root.tag != "quiz":
        raise refuse(f"not a Moodle XML export: the root element is <{root.tag}>, expected <quiz>")
    return root


def _fraction(answer: Element) -> float:
    try:
        return number(answer.get("fraction", "0")) / 100.0
    except ValueError:
        raise Skip(f"answer weight {answer.get('fraction')!r} is not a number") from None


def _name(q: Element) -> str:
    """The question's name as plain text (Moodle allows HTML in names)."""
    return " ".join(html_to_text(child_text(q, "name")).text.split())


def _question(c: Collector, index: int, q: Element) -> None:
    kind = q.get("type", "")
    name = _name(q)
    idnumber = child_text(q, "idnumber").strip()
    # A quizsession export writes the id as both: then the id is kept as it is.
    exact = idnumber == name and ID_PATTERN.fullmatch(idnumber) is not None
    src = Source(
        index=index, name=name, kind=kind, id_hint=idnumber if exact else name, exact=exact
    )
    qtype = XML_TYPES.get(kind)
    if qtype is None:
        c.skip(src, unsupported_message(kind))
        return
    if child_text(q, "hidden").strip() == "1":
        c.skip(src, "hidden in Moodle (removed from the question bank)")
        return
    x = XmlQuestion(q)
    try:
        question = XML_READERS[qtype](x)
    except Skip as exc:
        c.skip(src, exc.message)
        return
    if feedback := x.rich(q.find("generalfeedback")):
        question["feedback"] = feedback
    x.finish(question)
    c.add(src, _ordered(question), x.notes + x.media.notes + _lost(x))


FieldReader = Callable[[XmlQuestion, float], dict[str, Any]]
"""(the question being read, its points) -> the type's own fields (``kind`` first)."""
Reader = Callable[[XmlQuestion], dict[str, Any]]
"""The question being read -> the question (kind, text, points, own fields)."""


def _graded(read: FieldReader) -> Reader:
    """A type worth its ``<defaultgrade>``, its text the question text."""

    def reader(x: XmlQuestion) -> dict[str, Any]:
        question: dict[str, Any] = {"kind": "", "text": x.rich(x.q.find("questiontext"), keep=True)}
        question["points"] = _points(x.q)
        return question | read(x, question["points"])

    return reader


def _worth_nothing(x: XmlQuestion) -> dict[str, Any]:
    """A description: worth 0 whatever its ``<defaultgrade>``."""
    question: dict[str, Any] = {"kind": "", "text": x.rich(x.q.find("questiontext"), keep=True)}
    question["points"] = 0.0
    return question | description(x)


def _multichoice(x: XmlQuestion, points: float) -> dict[str, Any]:
    choices = [_answer(x, a) for a in x.q.findall("answer")]
    single = child_text(x.q, "single").strip().lower() not in ("false", "0")
    return choice_fields(choices, single=single, points=points, notes=x.notes)


_ORDER = ("kind", "text", "points", "penalty", "feedback", "images")


def _ordered(question: dict[str, Any]) -> dict[str, Any]:
    """The common keys first, in the order the export form writes them."""
    head = {k: question[k] for k in _ORDER if k in question}
    return head | {k: v for k, v in question.items() if k not in head}


def _lost(x: XmlQuestion) -> list[str]:
    return [images_note(x.media.lost)] if x.media.lost else []


def _points(q: Element) -> float:
    raw = child_text(q, "defaultgrade").strip()
    if not raw:
        return 1.0
    try:
        points = number(raw)
    except ValueError:
        raise Skip(f"defaultgrade {raw!r} is not a number") from None
    if points < 0:
        raise Skip(f"defaultgrade {raw!r} is negative")
    return points + 0.0


def _answer(x: XmlQuestion, a: Element) -> Answer:
    return Answer(text=x.rich(a), fraction=_fraction(a), feedback=x.rich(a.find("feedback")))


def _has_feedback(x: XmlQuestion, answers: list[Element]) -> bool:
    return any(x.rich(a.find("feedback")) for a in answers)


def _true_false(x: XmlQuestion, points: float) -> dict[str, Any]:
    answers = x.q.findall("answer")
    by_text = {child_text(a, "text").strip().lower(): _fraction(a) for a in answers}
    if set(by_text) != {"true", "false"}:
        raise Skip("a true/false question needs the answers 'true' and 'false'")
    right = [value for value, fraction in by_text.items() if fraction > 0.999999]
    if len(right) != 1:
        raise Skip("exactly one of 'true' and 'false' must be worth 100%")
    if _has_feedback(x, answers):
        x.notes.append(ANSWER_FEEDBACK_NOTE.format(kind="true/false"))
    return {"kind": "true_false", "correct": right[0] == "true"}


def _short_text(x: XmlQuestion, points: float) -> dict[str, Any]:
    answers = x.q.findall("answer")
    items = [Answer(child_text(a, "text").strip(), _fraction(a)) for a in answers]
    case_sensitive = child_text(x.q, "usecase").strip() == "1"
    fields = short_text_fields(items, case_sensitive=case_sensitive, notes=x.notes)
    if _has_feedback(x, answers):
        x.notes.append(ANSWER_FEEDBACK_NOTE.format(kind="short-text"))
    return fields


def _numeric(x: XmlQuestion, points: float) -> dict[str, Any]:
    answers = x.q.findall("answer")
    items: list[NumericAnswer] = []
    for a in answers:
        raw = child_text(a, "text").strip()
        if raw == "*":
            continue  # Moodle's catch-all for "any other answer": feedback only
        tolerance_raw = (a.findtext("tolerance") or "0").strip() or "0"
        try:
            value, tolerance = number(raw), abs(number(tolerance_raw))
        except ValueError:
            raise Skip(
                f"numeric answer {raw!r} (tolerance {tolerance_raw!r}) is not a number"
            ) from None
        items.append(NumericAnswer(value, tolerance, _fraction(a)))
    fields = numeric_fields(items, x.notes)
    units = [u.findtext("unit_name") or "" for u in x.q.iterfind("units/unit")]
    if any(u.strip() for u in units):
        x.notes.append(
            f"units ({', '.join(u.strip() for u in units if u.strip())}) are not imported: "
            "candidates answer with the number only"
        )
    if _has_feedback(x, answers):
        x.notes.append(ANSWER_FEEDBACK_NOTE.format(kind="numeric"))
    return fields


def _own(read: Callable[[XmlQuestion], dict[str, Any]]) -> FieldReader:
    """A type whose fields do not depend on the points."""
    return lambda x, _points: read(x)


XML_READERS: Mapping[str, Reader] = MappingProxyType(
    {
        "multichoice": _graded(_multichoice),
        "truefalse": _graded(_true_false),
        "shortanswer": _graded(_short_text),
        "numerical": _graded(_numeric),
        "essay": _graded(_own(essay)),
        "matching": _graded(_own(matching)),
        "ordering": _graded(_own(ordering)),
        "multianswer": cloze,
        "description": _worth_nothing,
    }
)
"""Moodle qtype (``kinds.XML_TYPES`` of the ``type`` attribute) -> its reader.
Embedded answers (``multianswer``) read their own text and points: the sum of
the gaps' weights."""
