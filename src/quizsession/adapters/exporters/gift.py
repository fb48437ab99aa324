"""A quiz as a Moodle GIFT file (plain text, one question a paragraph).

GIFT has no points, no images, no embedded answers (cloze) and no ordering: those
questions are left out, and what else it cannot hold is listed in the notes.
Texts are written as ``[plain]`` with GIFT's escapes; a new line is ``\\n``.
Each quizsession kind has an entry in ``GIFT_WRITERS``: its writer, or, for a
kind GIFT cannot express, a function that says so (``NotInGift``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import NamedTuple

from quizsession.adapters.exporters.common import (
    Notes,
    common_notes,
    id_notes,
    penalty_fraction,
    percent,
    questions,
)
from quizsession.domain.quiz import Question, Quiz

_ESCAPE = str.maketrans(
    {"\\": "\\\\", "~": "\\~", "=": "\\=", "#": "\\#", "{": "\\{", "}": "\\}", ":": "\\:",
     "\n": "\\n", "\r": ""}
)  # fmt: skip


def _e(text: str) -> str:
    return text.translate(_ESCAPE)


def _number(value: float) -> str:
    return f"{value:.15g}"


class GiftBody(NamedTuple):
    """What a kind's writer gives: the inside of the answer block (None: no block,
    which GIFT reads as a description worth 0) and whether it carries the
    question's penalty (else ``common_notes`` says it is lost)."""

    answers: str | None
    penalty: bool = False


class NotInGift(NamedTuple):
    """A kind GIFT cannot express: the question is left out with this note."""

    note: str


GiftWriter = Callable[[Question, Notes], GiftBody | NotInGift]


def write_gift(quiz: Quiz) -> tuple[bytes, Notes]:
    notes = Notes()
    blocks = [f"// {_e(quiz.title)}: exported from quizsession"]
    current = ""
    for section, q in questions(quiz, notes):
        # The writer's notes follow the question's general ones: kept aside first.
        own = Notes()
        body = GIFT_WRITERS[q.kind](q, own)
        if isinstance(body, NotInGift):
            notes.add(q.id, body.note, skipped=True)
            continue
        if section != current:
            current = section
            blocks.append(f"$CATEGORY: $course$/top/{quiz.title}/{section}")
        blocks.append(_question(q, body, own, notes))
    return ("\n\n".join(blocks) + "\n").encode("utf-8"), notes


def _question(q: Question, body: GiftBody, own: Notes, notes: Notes) -> str:
    qid = q.id
    id_notes(q, qid, notes, exact_ids=False)
    if q.images:
        notes.add(qid, f"{len(q.images)} image(s) cannot be written in GIFT: left out")
    default_points = 0.0 if body.answers is None else 1.0
    if q.points != default_points:
        notes.add(qid, f"GIFT has no points: the question is worth {default_points:g} on import")
    notes.notes += own.notes
    common_notes(q, qid, notes, penalty=body.penalty)
    head = f"::{_e(q.id)}::[plain]{_e(q.text)}"
    if body.answers is None:
        return head
    general = f"####[plain]{_e(q.feedback)}" if q.feedback else ""
    return f"{head}{{{body.answers}{general}}}"


def _choices(q: Question, notes: Notes, *, single: bool) -> GiftBody:
    wrong = penalty_fraction(q, q.id, notes)
    parts: list[str] = []
    right_share = 1.0 / max(1, sum(c.correct for c in q.choices))
    if not single and q.partial != "per_option":
        notes.add(q.id, "all-or-nothing scoring has no Moodle equivalent: not written")
    for c in q.choices:
        if single:
            mark = "=" if c.correct else ("~" + (f"%{percent(wrong)}%" if wrong else ""))
        else:
            fraction = right_share if c.correct else wrong
            mark = f"~%{percent(fraction)}%" if fraction else "~"
        feedback = f"#[plain]{_e(c.feedback)}" if c.feedback else ""
        parts.append(f"\n\t{mark}[plain]{_e(c.text)}{feedback}")
    return GiftBody("".join(parts) + "\n", penalty=True)


def _single(q: Question, notes: Notes) -> GiftBody:
    return _choices(q, notes, single=True)


def _multiple(q: Question, notes: Notes) -> GiftBody:
    return _choices(q, notes, single=False)


def _true_false(q: Question, notes: Notes) -> GiftBody:
    return GiftBody("TRUE" if q.correct else "FALSE")


def _short_text(q: Question, notes: Notes) -> GiftBody:
    if q.case_sensitive:
        notes.add(q.id, "GIFT short answers are case-insensitive: case_sensitive is lost")
    return GiftBody(" ".join("=" + _e(a).replace("*", "\\*") for a in q.accepted))


def _numeric(q: Question, notes: Notes) -> GiftBody:
    tolerance = f":{_number(q.tolerance)}" if q.tolerance else ""
    return GiftBody(f"#{_number(q.value or 0.0)}{tolerance}")


def _essay(q: Question, notes: Notes) -> GiftBody:
    if q.word_limit or q.response_template or q.grader_info:
        notes.add(q.id, "GIFT has no word limit, response template or grader information: left out")
    return GiftBody("")


def _matching(q: Question, notes: Notes) -> GiftBody:
    rows = [f"\n\t={_e(p.text)} -> {_e(p.answer)}" for p in q.pairs]
    rows += [f"\n\t= -> {_e(d)}" for d in q.distractors]
    return GiftBody("".join(rows) + "\n")


def _description(q: Question, notes: Notes) -> GiftBody:
    if q.feedback:
        notes.add(q.id, "a description's feedback cannot be written in GIFT")
    return GiftBody(None)


def _not_in_gift(q: Question, notes: Notes) -> NotInGift:
    """Ordering and embedded answers (cloze): GIFT has neither."""
    return NotInGift(f"{q.kind} questions cannot be written in GIFT")


GIFT_WRITERS: Mapping[str, GiftWriter] = MappingProxyType(
    {
        "single": _single,
        "multiple": _multiple,
        "true_false": _true_false,
        "short_text": _short_text,
        "numeric": _numeric,
        "essay": _essay,
        "matching": _matching,
        "ordering": _not_in_gift,
        "cloze": _not_in_gift,
        "description": _description,
    }
)
"""quizsession kind -> its GIFT writer, or ``_not_in_gift`` for the kinds GIFT
cannot express (``importers.kinds.GIFT_KINDS`` lists the others)."""
