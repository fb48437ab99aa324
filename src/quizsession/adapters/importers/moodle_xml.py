"""Moodle XML (a question-bank export) to a quizsession definition.

Parsed with defusedxml only, with DTDs forbidden: a document type declaration,
entity declarations (billion laughs) and external entities are refused before
anything is read. Moodle's exports never contain any of them.
See docs/importing.md for the mapping."""

from __future__ import annotations

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
from quizsession.adapters.importers.html_text import Text, TextFormat, plain_text
from quizsession.app.quiz_import import DEFAULT_DURATION_S, ImportResult

if TYPE_CHECKING:  # the type only: parsing goes through defusedxml
    from xml.etree.ElementTree import Element

_FORMATS: dict[str, TextFormat] = {
    "html": "html",
    "moodle_auto_format": "moodle",
    "plain_text": "plain",
    "markdown": "markdown",
}
_SUPPORTED = ("multichoice", "truefalse", "shortanswer", "numerical")
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


def _child_text(element: Element, tag: str) -> str:
    """The text of ``<tag><text>...</text></tag>``, or of ``<tag>...</tag>``."""
    child = element.find(tag)
    if child is None:
        return ""
    inner = child.find("text")
    return (inner.text if inner is not None else child.text) or ""


def _rich(element: Element | None, tag: str | None = None, default: str = "html") -> Text:
    """The plain text of a formatted Moodle text (``<tag format="html"><text>``)."""
    node = element if tag is None or element is None else element.find(tag)
    if node is None:
        return Text("")
    inner = node.find("text")
    raw = (inner.text if inner is not None else None) or ""
    fmt = _FORMATS.get(node.get("format", default), "html")
    return plain_text(raw, fmt)


def _fraction(answer: Element) -> float:
    try:
        return number(answer.get("fraction", "0")) / 100.0
    except ValueError:
        raise Skip(f"answer weight {answer.get('fraction')!r} is not a number") from None


def _question(c: Collector, index: int, q: Element) -> None:
    kind = q.get("type", "")
    name = " ".join(_child_text(q, "name").split())
    src = Source(index=index, name=name, kind=kind, id_hint=name)
    if kind not in _SUPPORTED:
        c.skip(src, unsupported_message(kind))
        return
    if _child_text(q, "hidden").strip() == "1":
        c.skip(src, "hidden in Moodle (removed from the question bank)")
        return
    notes: list[str] = []
    text = _rich(q, "questiontext")
    feedback = _rich(q, "generalfeedback")
    images = text.images + feedback.images
    try:
        points = _points(q)
        answers = q.findall("answer")
        if kind == "multichoice":
            choices = [_answer(a) for a in answers]
            images += sum(a.images for a in choices)
            single = _child_text(q, "single").strip().lower() not in ("false", "0")
            fields = choice_fields(choices, single=single, points=points, notes=notes)
        elif kind == "truefalse":
            fields = _true_false(answers, notes)
        elif kind == "shortanswer":
            fields = _short_text(q, answers, notes)
        else:
            fields = _numeric(q, answers, notes)
    except Skip as exc:
        c.skip(src, exc.message)
        return
    if images:
        notes.append(images_note(images))
    question: dict[str, Any] = {"kind": fields.pop("kind"), "text": text.text, "points": points}
    if "penalty" in fields:
        question["penalty"] = fields.pop("penalty")
    if feedback.text:
        question["feedback"] = feedback.text
    question.update(fields)
    c.add(src, question, notes)


def _points(q: Element) -> float:
    raw = _child_text(q, "defaultgrade").strip()
    if not raw:
        return 1.0
    try:
        points = number(raw)
    except ValueError:
        raise Skip(f"defaultgrade {raw!r} is not a number") from None
    if points < 0:
        raise Skip(f"defaultgrade {raw!r} is negative")
    return points + 0.0


def _answer(a: Element) -> Answer:
    text = _rich(a)
    feedback = _rich(a, "feedback")
    return Answer(
        text=text.text,
        fraction=_fraction(a),
        feedback=feedback.text,
        images=text.images + feedback.images,
    )


def _has_feedback(answers: list[Element]) -> bool:
    return any(_rich(a, "feedback").text for a in answers)


def _true_false(answers: list[Element], notes: list[str]) -> dict[str, object]:
    by_text = {_child_text(a, "text").strip().lower(): _fraction(a) for a in answers}
    if set(by_text) != {"true", "false"}:
        raise Skip("a true/false question needs the answers 'true' and 'false'")
    right = [value for value, fraction in by_text.items() if fraction > 0.999999]
    if len(right) != 1:
        raise Skip("exactly one of 'true' and 'false' must be worth 100%")
    if _has_feedback(answers):
        notes.append(ANSWER_FEEDBACK_NOTE.format(kind="true/false"))
    return {"kind": "true_false", "correct": right[0] == "true"}


def _short_text(q: Element, answers: list[Element], notes: list[str]) -> dict[str, object]:
    items = [Answer(_child_text(a, "text").strip(), _fraction(a)) for a in answers]
    case_sensitive = _child_text(q, "usecase").strip() == "1"
    fields = short_text_fields(items, case_sensitive=case_sensitive, notes=notes)
    if _has_feedback(answers):
        notes.append(ANSWER_FEEDBACK_NOTE.format(kind="short-text"))
    return fields


def _numeric(q: Element, answers: list[Element], notes: list[str]) -> dict[str, object]:
    items: list[NumericAnswer] = []
    for a in answers:
        raw = _child_text(a, "text").strip()
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
    fields = numeric_fields(items, notes)
    units = [u.findtext("unit_name") or "" for u in q.iterfind("units/unit")]
    if any(u.strip() for u in units):
        notes.append(
            f"units ({', '.join(u.strip() for u in units if u.strip())}) are not imported: "
            "candidates answer with the number only"
        )
    if _has_feedback(answers):
        notes.append(ANSWER_FEEDBACK_NOTE.format(kind="numeric"))
    return fields
