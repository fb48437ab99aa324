"""One Moodle XML writer per quizsession question kind, gathered in
``XML_WRITERS`` (kind -> writer): a writer gives the elements of the kind's
Moodle type, whether they carry the question's penalty, and how the question
text is written (as it is, or with embedded answers for cloze). A kind without
a writer fails ``tests/unit/test_kind_registry.py``."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from html import escape
from types import MappingProxyType
from typing import NamedTuple

from quizsession.adapters.exporters.common import Notes, penalty_fraction, percent
from quizsession.domain.quiz import Gap, Question

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MARKER = re.compile(r"\{\{([A-Za-z0-9_.-]+)\}\}")
_GRADING = {
    "all_or_nothing": "ALL_OR_NOTHING",
    "absolute_position": "ABSOLUTE_POSITION",
    "relative_next": "RELATIVE_NEXT_EXCLUDE_LAST",
    "longest_subset": "LONGEST_ORDERED_SUBSET",
    "longest_contiguous": "LONGEST_CONTIGUOUS_SUBSET",
}

Segments = list[tuple[str, bool]]
"""The question text in pieces; a piece marked True is written as it is (an
embedded answer, escaped already)."""

TextWriter = Callable[[Question, Notes], Segments]


def x(text: str) -> str:
    """``text`` escaped for XML (control characters XML cannot hold removed)."""
    return escape(_CONTROL.sub("", text), quote=True)


def text_element(tag: str, text: str, fmt: str = "plain_text", extra: str = "") -> str:
    return f'<{tag} format="{fmt}"><text>{x(text)}</text>{extra}</{tag}>'


def number(value: float) -> str:
    return f"{value:.15g}"


def plain_text(q: Question, notes: Notes) -> Segments:
    return [(q.text, False)]


class XmlBody(NamedTuple):
    """What a kind's writer gives: its type's own elements, whether they carry the
    penalty (else ``common_notes`` says it is lost), and the question text."""

    elements: list[str]
    penalty: bool = False
    text: TextWriter = plain_text


XmlWriter = Callable[[Question, Notes], XmlBody]


def _answer(fraction: float, text: str, feedback: str | None = None, extra: str = "") -> str:
    fb = text_element("feedback", feedback) if feedback else ""
    return (
        f'<answer fraction="{percent(fraction)}" format="plain_text">'
        f"<text>{x(text)}</text>{fb}{extra}</answer>"
    )


def _choices(q: Question, notes: Notes, *, single: bool) -> XmlBody:
    wrong = penalty_fraction(q, q.id, notes)
    right = 1.0 if single else 1.0 / max(1, sum(c.correct for c in q.choices))
    if not single:
        if q.partial != "per_option":
            notes.add(q.id, "all-or-nothing scoring has no Moodle equivalent: not written")
        if sum(c.correct for c in q.choices) > 10:
            notes.add(q.id, "Moodle cannot split 100% evenly over more than 10 right choices")
    out = [
        f"<single>{'true' if single else 'false'}</single>",
        "<shuffleanswers>true</shuffleanswers>",
        "<answernumbering>abc</answernumbering>",
    ]
    out += [_answer(right if c.correct else wrong, c.text, c.feedback) for c in q.choices]
    return XmlBody(out, penalty=True)


def _single(q: Question, notes: Notes) -> XmlBody:
    return _choices(q, notes, single=True)


def _multiple(q: Question, notes: Notes) -> XmlBody:
    return _choices(q, notes, single=False)


def _true_false(q: Question, notes: Notes) -> XmlBody:
    return XmlBody(
        [_answer(1.0 if q.correct else 0.0, "true"), _answer(0.0 if q.correct else 1.0, "false")]
    )


def _short_text(q: Question, notes: Notes) -> XmlBody:
    out = [f"<usecase>{1 if q.case_sensitive else 0}</usecase>"]
    out += [_answer(1.0, a.replace("*", "\\*")) for a in q.accepted]
    return XmlBody(out)


def _numeric(q: Question, notes: Notes) -> XmlBody:
    tolerance = f"<tolerance>{number(q.tolerance)}</tolerance>"
    return XmlBody([_answer(1.0, number(q.value or 0.0), extra=tolerance)])


def _essay(q: Question, notes: Notes) -> XmlBody:
    return XmlBody(
        [
            "<responseformat>plain</responseformat><responserequired>1</responserequired>",
            "<responsefieldlines>15</responsefieldlines><attachments>0</attachments>",
            "<attachmentsrequired>0</attachmentsrequired><minwordlimit></minwordlimit>",
            f"<maxwordlimit>{q.word_limit or ''}</maxwordlimit>",
            text_element("graderinfo", q.grader_info),
            text_element("responsetemplate", q.response_template),
        ]
    )


def _matching(q: Question, notes: Notes) -> XmlBody:
    out = ["<shuffleanswers>true</shuffleanswers>"]
    rows = [(p.text, p.answer) for p in q.pairs] + [("", d) for d in q.distractors]
    out += [
        text_element("subquestion", text, extra=f"<answer><text>{x(answer)}</text></answer>")
        for text, answer in rows
    ]
    return XmlBody(out)


def _ordering(q: Question, notes: Notes) -> XmlBody:
    out = [
        "<layouttype>VERTICAL</layouttype><selecttype>ALL</selecttype>",
        f"<selectcount>{len(q.items)}</selectcount>",
        f"<gradingtype>{_GRADING[q.ordering_rule]}</gradingtype>",
        "<showgrading>SHOW</showgrading>",
    ]
    out += [
        f'<answer fraction="{n}" format="plain_text"><text>{x(i.text)}</text></answer>'
        for n, i in enumerate(q.items, start=1)
    ]
    return XmlBody(out)


def _cloze(q: Question, notes: Notes) -> XmlBody:
    """Embedded answers: no elements of their own, the gaps are in the text."""
    return XmlBody([], text=_cloze_text)


def _description(q: Question, notes: Notes) -> XmlBody:
    return XmlBody([])


XML_WRITERS: Mapping[str, XmlWriter] = MappingProxyType(
    {
        "single": _single,
        "multiple": _multiple,
        "true_false": _true_false,
        "short_text": _short_text,
        "numeric": _numeric,
        "essay": _essay,
        "matching": _matching,
        "ordering": _ordering,
        "cloze": _cloze,
        "description": _description,
    }
)
"""quizsession kind -> its Moodle XML writer (every kind has one)."""


def _escape_part(text: str) -> str:
    """A text inside an embedded answer: HTML-escaped (Moodle decodes it) and
    Moodle's separators escaped."""
    return escape(text, quote=False).replace("}", "\\}").replace("#", "\\#").replace("~", "\\~")


def _cloze_text(q: Question, notes: Notes) -> Segments:
    gaps = {g.id: g for g in q.gaps}
    total = sum(g.weight for g in q.gaps)
    if abs(total - q.points) > 1e-9:
        notes.add(
            q.id,
            f"Moodle's points for embedded answers are the sum of the gaps' weights: the "
            f"question is worth {total:g} there, not {q.points:g}",
        )

    segments: Segments = []
    last = 0
    for m in _MARKER.finditer(q.text):
        g = gaps.get(m.group(1))
        if g is not None:
            segments += [(q.text[last : m.start()], False), (_embedded(q.id, g, notes), True)]
            last = m.end()
    segments.append((q.text[last:], False))
    return segments


def _embedded(qid: str, g: Gap, notes: Notes) -> str:
    weight = round(g.weight)
    if weight != g.weight or weight < 1:
        weight = max(1, weight)
        notes.add(qid, f"gap {g.id}: Moodle's weights are whole numbers: {g.weight:g} is {weight}")
    if g.feedback:
        notes.add(qid, f"gap {g.id}: its feedback has no place in Moodle's embedded answers")
    if g.kind == "choice":
        parts = []
        for c in g.choices:
            text = ("=" if c.correct else "") + _escape_part(c.text)
            if c.feedback:
                text += "#" + _escape_part(c.feedback)
            parts.append(text)
        return f"{{{weight}:MULTICHOICE:{'~'.join(parts)}}}"
    if g.kind == "short_text":
        kind = "SHORTANSWER_C" if g.case_sensitive else "SHORTANSWER"
        answers = "~".join("=" + _escape_part(a) for a in g.accepted)
        return f"{{{weight}:{kind}:{answers}}}"
    value = number(g.value or 0.0)
    tolerance = f":{number(g.tolerance)}" if g.tolerance else ""
    return f"{{{weight}:NUMERICAL:={value}{tolerance}}}"
