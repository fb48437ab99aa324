"""A quiz as a Moodle XML question-bank file (Question bank > Import > Moodle XML).

Every kind has a Moodle type (``importers.kinds.MOODLE_KINDS``) and a writer
(``xml_writers.XML_WRITERS``). Texts are written as ``plain_text``
(quizsession's texts are plain), or as HTML when the question has images
(``<img>``: an https address as it is, a ``data:`` URL as an embedded
``<file>``). The question id is both the ``<name>`` and the ``<idnumber>``,
which the importer reads back as the id. What Moodle cannot hold is listed in
the notes.
"""

from __future__ import annotations

import re
from html import escape

from quizsession.adapters.exporters.common import Notes, common_notes, id_notes, questions
from quizsession.adapters.exporters.xml_writers import (
    XML_WRITERS,
    Segments,
    number,
    text_element,
    x,
)
from quizsession.adapters.importers.kinds import xml_type
from quizsession.domain.quiz import Question, Quiz

_DATA = re.compile(r"data:image/(png|jpeg|gif|webp);base64,(.*)", re.DOTALL)


def write_moodle_xml(quiz: Quiz) -> tuple[bytes, Notes]:
    notes = Notes()
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>"]
    current = ""
    for section, q in questions(quiz, notes):
        if section != current:
            current = section
            path = f"$course$/top/{quiz.title}/{section}"
            out.append(
                f'  <question type="category"><category><text>{x(path)}</text></category>'
                "</question>"
            )
        out.append("  " + _question(q, notes))
    out.append("</quiz>")
    return ("\n".join(out) + "\n").encode("utf-8"), notes


def _question(q: Question, notes: Notes) -> str:
    qid = q.id
    id_notes(q, qid, notes, exact_ids=True)
    body = XML_WRITERS[q.kind](q, notes)
    common_notes(q, qid, notes, penalty=body.penalty)
    segments = body.text(q, notes)
    head = [
        f"<name><text>{x(q.id)}</text></name>",
        _question_text(q, segments),
        text_element("generalfeedback", q.feedback or ""),
        f"<defaultgrade>{number(q.points)}</defaultgrade>",
        "<penalty>0</penalty>",
        "<hidden>0</hidden>",
        f"<idnumber>{x(q.id)}</idnumber>",
    ]
    return f'<question type="{xml_type(q.kind)}">' + "".join(head + body.elements) + "</question>"


def _question_text(q: Question, segments: Segments) -> str:
    """Plain text, or HTML with the images; ``segments`` marked True are written
    as they are (embedded answers, escaped already)."""
    if not q.images:
        return text_element("questiontext", "".join(text for text, _ in segments))
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
    return text_element("questiontext", html, "html", "".join(files))
