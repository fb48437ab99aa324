"""A quiz as a Moodle XML question-bank file (Question bank > Import > Moodle XML).

Every kind has a Moodle type (``importers.kinds.MOODLE_KINDS``). Texts are
written as ``plain_text`` (quizsession's texts are plain), or as HTML when the
question has images (``<img>``: an https address as it is, a ``data:`` URL as an
embedded ``<file>``). The question id is both the ``<name>`` and the
``<idnumber>``, which the importer reads back as the id. What Moodle cannot hold
is listed in the notes.
"""

from __future__ import annotations

import re
from html import escape

from quizsession.adapters.exporters.common import (
    Notes,
    common_notes,
    id_notes,
    penalty_fraction,
    percent,
    questions,
)
from quizsession.adapters.importers.kinds import xml_type
from quizsession.domain.quiz import Gap, Question, Quiz

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MARKER = re.compile(r"\{\{([A-Za-z0-9_.-]+)\}\}")
_DATA = re.compile(r"data:image/(png|jpeg|gif|webp);base64,(.*)", re.DOTALL)
_GRADING = {
    "all_or_nothing": "ALL_OR_NOTHING",
    "absolute_position": "ABSOLUTE_POSITION",
    "relative_next": "RELATIVE_NEXT_EXCLUDE_LAST",
    "longest_subset": "LONGEST_ORDERED_SUBSET",
    "longest_contiguous": "LONGEST_CONTIGUOUS_SUBSET",
}


def _x(text: str) -> str:
    return escape(_CONTROL.sub("", text), quote=True)


def _text(tag: str, text: str, fmt: str = "plain_text", extra: str = "") -> str:
    return f'<{tag} format="{fmt}"><text>{_x(text)}</text>{extra}</{tag}>'


def _number(value: float) -> str:
    return f"{value:.15g}"


def write_moodle_xml(quiz: Quiz) -> tuple[bytes, Notes]:
    notes = Notes()
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>"]
    current = ""
    for section, q in questions(quiz, notes):
        if section != current:
            current = section
            path = f"$course$/top/{quiz.title}/{section}"
            out.append(
                f'  <question type="category"><category><text>{_x(path)}</text></category>'
                "</question>"
            )
        out.append("  " + _question(q, notes))
    out.append("</quiz>")
    return ("\n".join(out) + "\n").encode("utf-8"), notes


def _question(q: Question, notes: Notes) -> str:
    qid = q.id
    id_notes(q, qid, notes, exact_ids=True)
    body, penalty_written = _body(q, notes)
    common_notes(q, qid, notes, penalty=penalty_written)
    segments = _cloze_text(q, notes) if q.kind == "cloze" else [(q.text, False)]
    head = [
        f"<name><text>{_x(q.id)}</text></name>",
        _question_text(q, segments),
        _text("generalfeedback", q.feedback or ""),
        f"<defaultgrade>{_number(q.points)}</defaultgrade>",
        "<penalty>0</penalty>",
        "<hidden>0</hidden>",
        f"<idnumber>{_x(q.id)}</idnumber>",
    ]
    return f'<question type="{xml_type(q.kind)}">' + "".join(head + body) + "</question>"


def _question_text(q: Question, segments: list[tuple[str, bool]]) -> str:
    """Plain text, or HTML with the images; ``segments`` marked True are written
    as they are (embedded answers, escaped already)."""
    if not q.images:
        return _text("questiontext", "".join(text for text, _ in segments))
    html = "".join(
        text if raw else escape(text, quote=False).replace("\n", "<br>") for text, raw in segments
    )
    files: list[str] = []
    for n, image in enumerate(q.images, start=1):
        src = image.url
        if m := _DATA.fullmatch(image.url):
            ext = {"jpeg": "jpg"}.get(m.group(1), m.group(1))
            name = f"image-{n}.{ext}"
            src = f"@@PLUGINFILE@@/{name}"
            files.append(f'<file name="{name}" path="/" encoding="base64">{m.group(2)}</file>')
        html += f'<p><img src="{escape(src)}" alt="{escape(image.alt)}"></p>'
    return _text("questiontext", html, "html", "".join(files))


def _answer(fraction: float, text: str, feedback: str | None = None, extra: str = "") -> str:
    fb = _text("feedback", feedback) if feedback else ""
    return (
        f'<answer fraction="{percent(fraction)}" format="plain_text">'
        f"<text>{_x(text)}</text>{fb}{extra}</answer>"
    )


def _body(q: Question, notes: Notes) -> tuple[list[str], bool]:
    """The type's own elements, and whether the penalty is written."""
    qid = q.id
    if q.kind in ("single", "multiple"):
        wrong = penalty_fraction(q, qid, notes)
        single = q.kind == "single"
        right = 1.0 if single else 1.0 / max(1, sum(c.correct for c in q.choices))
        if not single:
            if q.partial != "per_option":
                notes.add(qid, "all-or-nothing scoring has no Moodle equivalent: not written")
            if sum(c.correct for c in q.choices) > 10:
                notes.add(qid, "Moodle cannot split 100% evenly over more than 10 right choices")
        out = [
            f"<single>{'true' if single else 'false'}</single>",
            "<shuffleanswers>true</shuffleanswers>",
            "<answernumbering>abc</answernumbering>",
        ]
        out += [_answer(right if c.correct else wrong, c.text, c.feedback) for c in q.choices]
        return out, True
    if q.kind == "true_false":
        return [
            _answer(1.0 if q.correct else 0.0, "true"),
            _answer(0.0 if q.correct else 1.0, "false"),
        ], False
    if q.kind == "short_text":
        out = [f"<usecase>{1 if q.case_sensitive else 0}</usecase>"]
        out += [_answer(1.0, a.replace("*", "\\*")) for a in q.accepted]
        return out, False
    if q.kind == "numeric":
        tolerance = f"<tolerance>{_number(q.tolerance)}</tolerance>"
        return [_answer(1.0, _number(q.value or 0.0), extra=tolerance)], False
    if q.kind == "essay":
        return [
            "<responseformat>plain</responseformat><responserequired>1</responserequired>",
            "<responsefieldlines>15</responsefieldlines><attachments>0</attachments>",
            "<attachmentsrequired>0</attachmentsrequired><minwordlimit></minwordlimit>",
            f"<maxwordlimit>{q.word_limit or ''}</maxwordlimit>",
            _text("graderinfo", q.grader_info),
            _text("responsetemplate", q.response_template),
        ], False
    if q.kind == "matching":
        out = ["<shuffleanswers>true</shuffleanswers>"]
        rows = [(p.text, p.answer) for p in q.pairs] + [("", d) for d in q.distractors]
        out += [
            _text("subquestion", text, extra=f"<answer><text>{_x(answer)}</text></answer>")
            for text, answer in rows
        ]
        return out, False
    if q.kind == "ordering":
        out = [
            "<layouttype>VERTICAL</layouttype><selecttype>ALL</selecttype>",
            f"<selectcount>{len(q.items)}</selectcount>",
            f"<gradingtype>{_GRADING[q.ordering_rule]}</gradingtype>",
            "<showgrading>SHOW</showgrading>",
        ]
        out += [
            f'<answer fraction="{n}" format="plain_text"><text>{_x(i.text)}</text></answer>'
            for n, i in enumerate(q.items, start=1)
        ]
        return out, False
    return [], False  # cloze (in its text), description


def _escape_part(text: str) -> str:
    """A text inside an embedded answer: HTML-escaped (Moodle decodes it) and
    Moodle's separators escaped."""
    return escape(text, quote=False).replace("}", "\\}").replace("#", "\\#").replace("~", "\\~")


def _cloze_text(q: Question, notes: Notes) -> list[tuple[str, bool]]:
    gaps = {g.id: g for g in q.gaps}
    total = sum(g.weight for g in q.gaps)
    if abs(total - q.points) > 1e-9:
        notes.add(
            q.id,
            f"Moodle's points for embedded answers are the sum of the gaps' weights: the "
            f"question is worth {total:g} there, not {q.points:g}",
        )

    segments: list[tuple[str, bool]] = []
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
    value = _number(g.value or 0.0)
    tolerance = f":{_number(g.tolerance)}" if g.tolerance else ""
    return f"{{{weight}:NUMERICAL:={value}{tolerance}}}"
