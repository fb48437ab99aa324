"""The mapping of Moodle's weighted answers onto quizsession's question kinds
(single and multiple choice, short text, numeric), with a note for each thing that
does not carry over and ``Skip`` for a question that cannot be mapped.

Fractions here are Moodle's answer weights as fractions of the question's mark
(``1.0`` = 100 %, ``-0.5`` = -50 %)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass


def choice_id(position: int) -> str:
    """``a`` .. ``z``, then ``aa``, ``ab`` ...: the id of the choice at ``position``."""
    letters = ""
    n = position + 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


def item_ids(texts: list[str]) -> list[str]:
    """The ids of choices or ordering items: letters by their texts' alphabetical
    order, so that an id says nothing a candidate cannot see (letters in the
    file's order would: authors mostly write the right answer first, and the
    ids are in the page a candidate can inspect)."""
    ranked = sorted(range(len(texts)), key=lambda i: (texts[i].casefold(), texts[i], i))
    ids = [""] * len(texts)
    for rank, index in enumerate(ranked):
        ids[index] = choice_id(rank)
    return ids


@dataclass
class Answer:
    """One Moodle answer: its text, weight (fraction of the mark) and feedback."""

    text: str
    fraction: float
    feedback: str = ""
    images: int = 0


class Skip(Exception):
    """The question cannot be mapped; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def plural(n: int, word: str, *, count: bool = True) -> str:
    """``1 answer``, ``2 answers`` (``answer``/``answers`` without ``count``)."""
    noun = word if n == 1 else word + "s"
    return f"{n} {noun}" if count else noun


def images_note(images: int) -> str:
    if images == 1:
        return "1 image is not imported (only its description, if any, is kept)"
    return f"{images} images are not imported (only their descriptions, if any, are kept)"


def _the_answers(word: str, listed: list[str], verb: str = "") -> str:
    """``answer 'a' uses`` / ``answers 'a', 'b' use``: ``listed`` are formatted already."""
    if verb and len(listed) > 1:
        verb = verb.removesuffix("s")
    return " ".join(
        x for x in (plural(len(listed), word, count=False), ", ".join(listed), verb) if x
    )


def _percent(fraction: float) -> str:
    return f"{fraction * 100:g}%"


def _is_full(fraction: float) -> bool:
    return abs(fraction - 1.0) < 1e-6


def _round(x: float) -> float:
    return round(x, 6) + 0.0


def check_fractions(answers: list[Answer]) -> None:
    for a in answers:
        if not math.isfinite(a.fraction) or not -1.0 - 1e-9 <= a.fraction <= 1.0 + 1e-9:
            raise Skip(
                f"answer {a.text!r} has weight {_percent(a.fraction)}; Moodle allows -100% to 100%"
            )


MOODLE_GRADES: tuple[float, ...] = (
    1.0, 0.9, 0.8333333, 0.8, 0.75, 0.7, 0.6666667, 0.6, 0.5, 0.4, 0.3333333, 0.3, 0.25,
    0.2, 0.1666667, 0.1428571, 0.125, 0.1111111, 0.1, 0.05, 0.0,
)  # fmt: skip
"""The answer grades Moodle accepts, and their negatives (its question bank's
``fraction_options_full``); an import that holds any other grade is refused."""


def is_moodle_grade(fraction: float) -> bool:
    """Whether Moodle accepts ``fraction`` as an answer grade (as its import does:
    within 0.00001 of one of ``MOODLE_GRADES`` or its negative)."""
    return any(abs(abs(fraction) - grade) < 1e-5 for grade in MOODLE_GRADES)


def grade_notes(fractions: list[float], notes: list[str]) -> None:
    """A note for the weights Moodle itself refuses (the question is imported as
    written: Moodle would refuse the whole file)."""
    odd = sorted({_percent(f) for f in fractions if math.isfinite(f) and not is_moodle_grade(f)})
    if odd:
        listed = ", ".join(odd)
        word = "weight" if len(odd) == 1 else "weights"
        notes.append(
            f"answer {word} {listed} {'is' if len(odd) == 1 else 'are'} not among Moodle's "
            "grades (Moodle refuses to import such a question); imported as written: check "
            "the scoring"
        )


def choice_fields(
    answers: list[Answer], *, single: bool, points: float, notes: list[str]
) -> dict[str, object]:
    """``single`` (one answer worth 100 %) or ``multiple`` (every answer with a
    positive weight is correct, scored ``per_option``). The largest negative weight
    times the points becomes the ``penalty``."""
    check_fractions(answers)
    if len(answers) < 2:
        raise Skip(f"has {plural(len(answers), 'answer')}; a choice question needs at least 2")
    grade_notes([a.fraction for a in answers], notes)
    negative = [-a.fraction for a in answers if a.fraction < 0]
    penalty = _round(max(negative, default=0.0) * points)
    if single:
        full = [a for a in answers if _is_full(a.fraction)]
        if not full:
            raise Skip(
                "no answer is worth 100%; a quizsession single-choice question has one right answer"
            )
        if len(full) > 1:
            raise Skip(
                f"{len(full)} answers are worth 100%; a quizsession single-choice question has "
                "exactly one right answer"
            )
        partial = [a for a in answers if 0 < a.fraction < 1 and not _is_full(a.fraction)]
        if partial:
            listed = ", ".join(f"{a.text!r} ({_percent(a.fraction)})" for a in partial)
            verb = "scores" if len(partial) == 1 else "score"
            notes.append(
                f"partial credit is not kept: {listed} now {verb} as wrong; a quizsession "
                "single-choice question is either right or wrong"
            )
        wrong = [a.fraction for a in answers if not _is_full(a.fraction)]
        if negative and len({_round(f) for f in wrong}) > 1:
            notes.append(
                f"every wrong answer now costs the same penalty {penalty:g} (the largest negative "
                f"weight, {_percent(-max(negative))}); Moodle's weights differed per answer"
            )
        correct = [_is_full(a.fraction) for a in answers]
    else:
        correct = [a.fraction > 0 for a in answers]
        if not any(correct):
            raise Skip("no answer has a positive weight, so none is correct")
        total = round(sum(a.fraction for a in answers if a.fraction > 0), 2)
        if total != 1.0:
            notes.append(
                f"the positive weights add up to {_percent(total)}, not 100% (Moodle refuses to "
                "save such a question); imported: each correct choice earns an equal share"
            )
    choices: list[dict[str, object]] = []
    ids = item_ids([a.text for a in answers])
    for choice_key, a, right in zip(ids, answers, correct, strict=True):
        choice: dict[str, object] = {"id": choice_key, "text": a.text}
        if right:
            choice["correct"] = True
        if a.feedback:
            choice["feedback"] = a.feedback
        choices.append(choice)
    out: dict[str, object] = {"kind": "single" if single else "multiple"}
    if penalty:
        out["penalty"] = penalty
    out["choices"] = choices
    return out


_WILDCARD = re.compile(r"(?<!\\)\*")


def short_text_fields(
    answers: list[Answer], *, case_sensitive: bool, notes: list[str]
) -> dict[str, object]:
    """``short_text``: the answers worth 100 % are accepted. Others (partial credit,
    0 % answers that only carry feedback) are not; Moodle's ``*`` wildcard cannot be
    matched, so answers using it are left out."""
    check_fractions(answers)
    grade_notes([a.fraction for a in answers], notes)
    accepted: list[str] = []
    wildcard: list[str] = []
    partial: list[str] = []
    for a in answers:
        if _is_full(a.fraction):
            if _WILDCARD.search(a.text):
                wildcard.append(repr(a.text))
            else:
                accepted.append(a.text.replace("\\*", "*"))
        elif a.fraction > 0:
            partial.append(f"{a.text!r} ({_percent(a.fraction)})")
    if not accepted:
        if wildcard:
            uses = _the_answers("right answer", wildcard, "uses")
            raise Skip(f"{uses} Moodle's '*' wildcard, which quizsession does not match")
        raise Skip("no answer is worth 100%")
    if wildcard:
        uses = _the_answers("answer", wildcard, "uses")
        notes.append(f"{uses} Moodle's '*' wildcard, which quizsession does not match: left out")
    if partial:
        verb = "is" if len(partial) == 1 else "are"
        notes.append(f"{_the_answers('partial-credit answer', partial)} {verb} not accepted")
    out: dict[str, object] = {"kind": "short_text", "accepted": accepted}
    if case_sensitive:
        out["case_sensitive"] = True
    return out


@dataclass
class NumericAnswer:
    value: float
    tolerance: float
    fraction: float
    feedback: str = ""


def numeric_fields(answers: list[NumericAnswer], notes: list[str]) -> dict[str, object]:
    """``numeric`` from the answer worth 100 % (value and absolute tolerance)."""
    grade_notes([a.fraction for a in answers], notes)
    full = [a for a in answers if _is_full(a.fraction)]
    if not full:
        raise Skip("no numeric answer is worth 100%")
    if len(full) > 1:
        raise Skip(
            f"{len(full)} numeric answers are worth 100%; a quizsession numeric question has "
            "one value and tolerance"
        )
    partial = [a for a in answers if 0 < a.fraction < 1 and not _is_full(a.fraction)]
    if partial:
        listed = ", ".join(f"{a.value:g}±{a.tolerance:g} ({_percent(a.fraction)})" for a in partial)
        verb = "is" if len(partial) == 1 else "are"
        notes.append(
            f"partial-credit {plural(len(partial), 'answer', count=False)} {listed} {verb} not kept"
        )
    [right] = full
    out: dict[str, object] = {"kind": "numeric", "value": right.value}
    if right.tolerance:
        out["tolerance"] = right.tolerance
    return out


def number(text: str) -> float:
    """A finite float from ``text`` (``ValueError`` otherwise)."""
    value = float(text.strip())
    if not math.isfinite(value):
        raise ValueError(text)
    return value


ANSWER_FEEDBACK_NOTE = (
    "answer-specific feedback is not kept (a quizsession {kind} question has one feedback text)"
)
