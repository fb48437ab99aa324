"""What the Moodle XML and GIFT writers share: the notes, Moodle's answer grades,
and the checks that say when an imported copy would come back different."""

from __future__ import annotations

from dataclasses import dataclass, field

from quizsession.adapters.importers.answers import MOODLE_GRADES, choice_id, item_ids
from quizsession.app.quiz_exporter import ExportNote
from quizsession.app.quiz_import import slugify
from quizsession.domain.quiz import Question, Quiz


@dataclass
class Notes:
    notes: list[ExportNote] = field(default_factory=list)

    def add(self, qid: str, message: str, *, skipped: bool = False) -> None:
        self.notes.append(ExportNote(question_id=qid, message=message, skipped=skipped))


def questions(quiz: Quiz, notes: Notes) -> list[tuple[str, Question]]:
    """(section kind, question) for the practice round's and the test's questions."""
    out = [("test", q) for q in quiz.test.questions]
    if quiz.practice is not None:
        notes.add(
            "",
            "the practice round's questions are written too, in their own category; an import "
            "puts every question in the test",
        )
        out = [("practice", q) for q in quiz.practice.questions] + out
    return out


def nearest_grade(fraction: float) -> float:
    """The Moodle grade (``MOODLE_GRADES`` or its negative) nearest ``fraction``."""
    sign = -1.0 if fraction < 0 else 1.0
    return sign * min(MOODLE_GRADES, key=lambda g: abs(g - abs(fraction)))


def is_exact_grade(fraction: float) -> bool:
    return abs(nearest_grade(fraction) - fraction) < 1e-5


def percent(fraction: float) -> str:
    """Moodle's way of writing a grade: ``100``, ``-25``, ``33.33333``."""
    return f"{round(fraction * 100, 5):.12g}"


def penalty_fraction(q: Question, qid: str, notes: Notes) -> float:
    """The (negative) grade of a wrong choice that carries ``q.penalty``."""
    if not q.penalty:
        return 0.0
    if q.points <= 0:
        notes.add(qid, f"the penalty {q.penalty:g} cannot be written for a question worth 0")
        return 0.0
    fraction = -q.penalty / q.points
    if fraction < -1:
        notes.add(qid, f"the penalty {q.penalty:g} exceeds the points: written as -100%")
        return -1.0
    if not is_exact_grade(fraction):
        near = nearest_grade(fraction)
        notes.add(
            qid,
            f"the penalty {q.penalty:g} is {percent(fraction)}% of the points, not a Moodle "
            f"grade: written as {percent(near)}%",
        )
        return near
    return fraction


def id_notes(q: Question, qid: str, notes: Notes, *, exact_ids: bool) -> None:
    """Notes for the ids an import would give differently."""
    if not exact_ids and slugify(q.id) != q.id:
        notes.add(qid, f"the question id comes back as {slugify(q.id) or 'q<N>'!r} on import")
    inner: list[tuple[str, list[str], list[str]]] = []
    if q.choices:
        inner.append(("choice", [c.id for c in q.choices], item_ids([c.text for c in q.choices])))
    if q.pairs:
        inner.append(("item", [p.id for p in q.pairs], [choice_id(i) for i in range(len(q.pairs))]))
    if q.items:
        inner.append(("item", [i.id for i in q.items], item_ids([i.text for i in q.items])))
    if q.gaps:
        inner.append(("gap", [g.id for g in q.gaps], [f"g{n}" for n in range(1, len(q.gaps) + 1)]))
        for g in q.gaps:
            ids = [c.id for c in g.choices]
            inner.append((f"gap {g.id} choice", ids, item_ids([c.text for c in g.choices])))
    for what, have, imported in inner:
        if have != imported:
            notes.add(qid, f"{what} ids come back as {', '.join(imported)} on import")


def common_notes(q: Question, qid: str, notes: Notes, *, penalty: bool) -> None:
    """Difficulty (no Moodle equivalent) and, unless written, the penalty."""
    if q.difficulty != 2:
        notes.add(qid, f"the difficulty {q.difficulty} has no Moodle equivalent: not written")
    if q.penalty and not penalty:
        notes.add(
            qid,
            f"the penalty {q.penalty:g} (negative marking) cannot be written for a "
            f"{q.kind} question in Moodle",
        )
