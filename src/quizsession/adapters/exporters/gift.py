"""A quiz as a Moodle GIFT file (plain text, one question a paragraph).

GIFT has no points, no images, no embedded answers (cloze) and no ordering: those
questions are left out, and what else it cannot hold is listed in the notes.
Texts are written as ``[plain]`` with GIFT's escapes; a new line is ``\\n``.
"""

from __future__ import annotations

from quizsession.adapters.exporters.common import (
    Notes,
    common_notes,
    id_notes,
    penalty_fraction,
    percent,
    questions,
)
from quizsession.adapters.importers.kinds import GIFT_KINDS
from quizsession.domain.quiz import Question, Quiz

_ESCAPE = str.maketrans(
    {"\\": "\\\\", "~": "\\~", "=": "\\=", "#": "\\#", "{": "\\{", "}": "\\}", ":": "\\:",
     "\n": "\\n", "\r": ""}
)  # fmt: skip


def _e(text: str) -> str:
    return text.translate(_ESCAPE)


def _number(value: float) -> str:
    return f"{value:.15g}"


def write_gift(quiz: Quiz) -> tuple[bytes, Notes]:
    notes = Notes()
    blocks = [f"// {_e(quiz.title)}: exported from quizsession"]
    current = ""
    for section, q in questions(quiz, notes):
        if q.kind not in GIFT_KINDS:
            notes.add(q.id, f"{q.kind} questions cannot be written in GIFT", skipped=True)
            continue
        if section != current:
            current = section
            blocks.append(f"$CATEGORY: $course$/top/{quiz.title}/{section}")
        blocks.append(_question(q, notes))
    return ("\n\n".join(blocks) + "\n").encode("utf-8"), notes


def _question(q: Question, notes: Notes) -> str:
    qid = q.id
    id_notes(q, qid, notes, exact_ids=False)
    if q.images:
        notes.add(qid, f"{len(q.images)} image(s) cannot be written in GIFT: left out")
    default_points = 0.0 if q.kind == "description" else 1.0
    if q.points != default_points:
        notes.add(qid, f"GIFT has no points: the question is worth {default_points:g} on import")
    head = f"::{_e(q.id)}::[plain]{_e(q.text)}"
    if q.kind == "description":
        if q.feedback:
            notes.add(qid, "a description's feedback cannot be written in GIFT")
        common_notes(q, qid, notes, penalty=False)
        return head
    answers, penalty = _answers(q, notes)
    common_notes(q, qid, notes, penalty=penalty)
    general = f"####[plain]{_e(q.feedback)}" if q.feedback else ""
    return f"{head}{{{answers}{general}}}"


def _answers(q: Question, notes: Notes) -> tuple[str, bool]:
    if q.kind in ("single", "multiple"):
        wrong = penalty_fraction(q, q.id, notes)
        parts: list[str] = []
        right_share = 1.0 / max(1, sum(c.correct for c in q.choices))
        if q.kind == "multiple" and q.partial != "per_option":
            notes.add(q.id, "all-or-nothing scoring has no Moodle equivalent: not written")
        for c in q.choices:
            if q.kind == "single":
                mark = "=" if c.correct else ("~" + (f"%{percent(wrong)}%" if wrong else ""))
            else:
                fraction = right_share if c.correct else wrong
                mark = f"~%{percent(fraction)}%" if fraction else "~"
            feedback = f"#[plain]{_e(c.feedback)}" if c.feedback else ""
            parts.append(f"\n\t{mark}[plain]{_e(c.text)}{feedback}")
        return "".join(parts) + "\n", True
    if q.kind == "true_false":
        return ("TRUE" if q.correct else "FALSE"), False
    if q.kind == "short_text":
        if q.case_sensitive:
            notes.add(q.id, "GIFT short answers are case-insensitive: case_sensitive is lost")
        return " ".join("=" + _e(a).replace("*", "\\*") for a in q.accepted), False
    if q.kind == "numeric":
        tolerance = f":{_number(q.tolerance)}" if q.tolerance else ""
        return f"#{_number(q.value or 0.0)}{tolerance}", False
    if q.kind == "essay":
        if q.word_limit or q.response_template or q.grader_info:
            notes.add(
                q.id, "GIFT has no word limit, response template or grader information: left out"
            )
        return "", False
    # matching
    rows = [f"\n\t={_e(p.text)} -> {_e(p.answer)}" for p in q.pairs]
    rows += [f"\n\t= -> {_e(d)}" for d in q.distractors]
    return "".join(rows) + "\n", False
