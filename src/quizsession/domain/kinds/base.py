"""What every question kind provides: the ``QuestionKindSpec`` protocol.

Each kind is one module of this package holding everything the domain knows about
it (definition keys and checks, the answer's shape, scoring, the candidate's view,
the texts reviews and reports show). The registry (``domain.kinds``) maps a kind's
name to its spec; nothing else in the service branches on a kind's name.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol, TypeVar

import msgspec

from quizsession.domain.errors import Problem
from quizsession.domain.events import AnswerValue
from quizsession.domain.quiz import Choice, Question
from quizsession.domain.quiz_fields import ABSENT, Fields, is_list, mapping, ptr

Grading = Literal["auto", "manual", "none"]
T = TypeVar("T")

MAX_TEXT_ANSWER = 2000
"""The longest short-text answer (and cloze text gap) accepted, in characters."""
MAX_ESSAY_ANSWER = 50_000
"""The longest essay answer accepted, in characters."""
MAX_CHOICE_TEXT = 5_000
MAX_FEEDBACK = 20_000
MAX_CHOICES = 200
MAX_ACCEPTED = 200
DECIMALS = 6


class ResponseOption(msgspec.Struct, frozen=True, kw_only=True):
    """A response the item analysis lists even when nobody gave it: its
    ``response_key``, a label and whether it is right."""

    key: str
    label: str
    correct: bool


class QuestionKindSpec(Protocol):
    """One question kind. Pure functions of a question and an answer."""

    @property
    def name(self) -> str:
        """The kind's name in the quiz format (``single``, ``essay``...)."""
        ...

    @property
    def grading(self) -> Grading:
        """``auto`` (scored by its key), ``manual`` (by a grader) or ``none``."""
        ...

    @property
    def keys(self) -> tuple[str, ...]:
        """The definition keys of this kind, beyond the common ones."""
        ...

    def parse(self, f: Fields, path: str) -> dict[str, Any]:
        """Read and check this kind's keys (problems go to ``f``); the struct
        fields for ``Question``."""
        ...

    def export(self, question: Question) -> dict[str, object]:
        """This kind's keys in the quiz format (``parse`` reads them back)."""
        ...

    def answer_problem(self, question: Question, answer: AnswerValue) -> str | None:
        """None when a non-null ``answer`` has the right shape, else why not."""
        ...

    def is_blank(self, answer: AnswerValue) -> bool:
        """Whether ``answer`` says nothing (None, "", [], {} or the like)."""
        ...

    def score(self, question: Question, answer: AnswerValue) -> float:
        """What a well-formed ``answer`` earns, within ``[-penalty, points]``."""
        ...

    def is_correct(self, question: Question, answer: AnswerValue) -> bool:
        """Whether ``answer`` is fully right."""
        ...

    def view(self, question: Question, seed: int) -> dict[str, object]:
        """The candidate-facing fields beyond the common ones; never the key."""
        ...

    def right_answer(self, question: Question) -> str:
        """The right answer in words ("" when there is none to show)."""
        ...

    def describe(self, question: Question, answer: AnswerValue) -> str:
        """An answer in words, for reports, timelines and graders."""
        ...

    def response_key(self, question: Question, answer: AnswerValue) -> list[str]:
        """What the item analysis counts for ``answer`` ([] for a blank)."""
        ...

    def known_responses(self, question: Question) -> list[ResponseOption]:
        """The responses the item analysis lists before any answer is counted
        (the choices, true and false...; [] when answers are free text)."""
        ...


# ----------------------------------------------------------------------------- helpers


def round_score(x: float) -> float:
    """``x`` rounded to 6 decimals (float noise out of results); never -0.0."""
    return round(x, DECIMALS) + 0.0


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_finite_number(value: object) -> bool:
    return is_number(value) and math.isfinite(value)  # type: ignore[arg-type]


def normalize_text(text: str, *, case_sensitive: bool = False) -> str:
    """Strip, collapse runs of white space to one space and (unless
    ``case_sensitive``) casefold: the form short-text answers are compared in."""
    collapsed = " ".join(text.split())
    return collapsed if case_sensitive else collapsed.casefold()


def text_matches(given: str, accepted: Sequence[str], case_sensitive: bool) -> bool:
    """Whether ``given`` is one of ``accepted`` once both are normalized."""
    norm = normalize_text(given, case_sensitive=case_sensitive)
    return any(
        norm == normalize_text(a, case_sensitive=case_sensitive) for a in accepted if a.strip()
    )


def numeric_matches(given: float, value: float | None, tolerance: float) -> bool:
    """``|given - value| <= tolerance``, plus a tiny epsilon that absorbs float
    rounding (relative to the magnitude of ``value``)."""
    if value is None:
        return False
    epsilon = 1e-9 * max(1.0, abs(value))
    return abs(given - value) <= tolerance + epsilon


def blank(answer: AnswerValue) -> bool:
    """None, an empty (or white-space) string, an empty list or object."""
    if answer is None:
        return True
    if isinstance(answer, str):
        return not answer.strip()
    if isinstance(answer, list | dict):
        return not answer
    return False


def clamp_score(question: Question, raw: float) -> float:
    """``raw`` rounded and kept within ``[-penalty, points]`` (rounding may step
    just outside the range; the range is the promise)."""
    return min(question.points, max(-question.penalty, round_score(raw))) + 0.0


def fraction_score(question: Question, fraction: float) -> float:
    """The score of a non-blank answer worth ``fraction`` (0..1) of the points:
    ``points * fraction``, or ``-penalty`` when nothing of it is right."""
    if fraction <= 0:
        return -float(question.penalty) + 0.0
    if fraction >= 1.0:
        return float(question.points) + 0.0
    return clamp_score(question, question.points * min(1.0, fraction))


def number_text(value: float) -> str:
    return f"{value:g}"


def seeded_order(values: Sequence[T], seed: int, salt: str) -> list[T]:
    """``values`` in an order fixed by ``seed`` and ``salt`` (an attempt's
    order of one question's options)."""
    out = list(values)
    random.Random(f"{seed}:{salt}").shuffle(out)
    return out


def choice_views(choices: Sequence[Choice]) -> list[dict[str, object]]:
    """The candidate-facing form of choices: id and text, never the key."""
    return [{"id": c.id, "text": c.text} for c in choices]


def choice_mapping(c: Choice) -> dict[str, object]:
    """The quiz-format form of a choice (defaults omitted)."""
    out: dict[str, object] = {"id": c.id, "text": c.text}
    if c.correct:
        out["correct"] = True
    if c.feedback is not None:
        out["feedback"] = c.feedback
    return out


_CHOICE_KEYS = ("id", "text", "correct", "feedback")


def id_records(
    f: Fields,
    path: str,
    key: str,
    keys: tuple[str, ...],
    noun: str,
    count_problem: Callable[[int], str | None],
) -> list[tuple[Fields, str | None]] | None:
    """Read the list ``key`` of mappings (keys ``keys``, each with an ``id``
    unique in the list): each item's fields and id, in order. ``count_problem``
    says what is wrong with the list's length, if anything. None when the list is
    absent or not a list (the problem is added)."""
    raw = f.get(key, required=True)
    if raw is ABSENT:
        return None
    if not is_list(raw):
        f.add(key, "must be a list")
        return None
    wrong = count_problem(len(raw))
    if wrong is not None:
        f.add(key, wrong)
    base = ptr(path, key)
    seen: set[str] = set()
    found: list[tuple[Fields, str | None]] = []
    for i, item in enumerate(raw):
        data = mapping(f.problems, item, ptr(base, i))
        if data is None:
            continue
        record = Fields(f.problems, data, ptr(base, i), keys)
        rid = record.ident("id")
        if rid is not None and rid in seen:
            record.add("id", f"duplicate {noun} id {rid!r}")
        seen.add(rid or "")
        found.append((record, rid))
    return found


def count_between(low: int, high: int, plural: str) -> Callable[[int], str | None]:
    """A ``count_problem`` for ``id_records``: ``low`` to ``high`` items."""

    def problem(n: int) -> str | None:
        return None if low <= n <= high else f"must have between {low} and {high} {plural}"

    return problem


def _choice_count(n: int) -> str | None:
    if n < 2:
        return "needs at least 2 choices"
    if n > MAX_CHOICES:
        return f"must have at most {MAX_CHOICES} choices"
    return None


def parse_choices(
    f: Fields, path: str, key: str = "choices", *, exactly_one: bool = False
) -> tuple[Choice, ...]:
    """Read a list of choices (2..MAX_CHOICES, unique ids); ``exactly_one``: one
    of them correct, else at least one."""
    start = len(f.problems)
    records = id_records(f, path, key, _CHOICE_KEYS, "choice", _choice_count)
    if records is None:
        return ()
    choices: list[Choice] = []
    for c, cid in records:
        text = c.text("text", MAX_CHOICE_TEXT, required=True)
        correct = c.boolean("correct", False)
        feedback = c.optional_text("feedback", MAX_FEEDBACK)
        if cid and text and correct is not None:
            choices.append(Choice(id=cid, text=text, correct=correct, feedback=feedback))
    if len(f.problems) == start:
        n_correct = sum(c.correct for c in choices)
        if exactly_one and n_correct != 1:
            f.add(key, f"needs exactly one correct choice (found {n_correct})")
        elif not exactly_one and n_correct < 1:
            f.add(key, "needs at least one correct choice")
    return tuple(choices)


def parse_accepted(f: Fields, path: str, key: str = "accepted") -> tuple[str, ...]:
    """Read a list of accepted answers (1..MAX_ACCEPTED non-empty strings)."""
    raw = f.get(key, required=True)
    if raw is ABSENT:
        return ()
    if not is_list(raw):
        f.add(key, "must be a list of strings")
        return ()
    if not raw:
        f.add(key, "needs at least one accepted answer")
    elif len(raw) > MAX_ACCEPTED:
        f.add(key, f"must have at most {MAX_ACCEPTED} answers")
    base = ptr(path, key)
    for i, answer in enumerate(raw):
        if not isinstance(answer, str) or not answer.strip():
            f.problems.append(Problem(ptr(base, i), "must be a non-empty string"))
        elif len(answer) > MAX_TEXT_ANSWER:
            f.problems.append(Problem(ptr(base, i), f"must be at most {MAX_TEXT_ANSWER} chars"))
    return tuple(raw)


class AutoKind:
    """Defaults for a kind scored by its key from a fraction of the points in
    [0, 1] (``fraction``): blank scores 0; a non-blank answer worth 0 scores
    ``-penalty``; fully right is a fraction of 1."""

    name: str = ""
    grading: Grading = "auto"
    keys: tuple[str, ...] = ()

    def answer_problem(self, question: Question, answer: AnswerValue) -> str | None:
        raise NotImplementedError

    def fraction(self, question: Question, answer: AnswerValue) -> float:
        """The share of the points a well-formed, non-blank ``answer`` earns."""
        raise NotImplementedError

    def is_blank(self, answer: AnswerValue) -> bool:
        return blank(answer)

    def _counts(self, question: Question, answer: AnswerValue) -> bool:
        return not self.is_blank(answer) and self.answer_problem(question, answer) is None

    def score(self, question: Question, answer: AnswerValue) -> float:
        if not self._counts(question, answer):
            return 0.0
        return fraction_score(question, self.fraction(question, answer))

    def is_correct(self, question: Question, answer: AnswerValue) -> bool:
        if not self._counts(question, answer):
            return False
        return self.fraction(question, answer) >= 1.0 - 1e-12

    def view(self, question: Question, seed: int) -> dict[str, object]:
        return {}

    def known_responses(self, question: Question) -> list[ResponseOption]:
        return []
