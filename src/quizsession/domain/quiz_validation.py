"""Reading quiz definitions from plain mappings (YAML/JSON), and writing them back.

``parse_quiz`` checks a whole definition and lists *every* problem it finds, each
located by a JSON-pointer path (``/test/questions/2/choices``, ``/policies/grace_s``;
the definition itself is ``""``), in one ``InvalidDefinition``. It refuses unknown
keys, and keys that do not apply to a question's kind (``choices`` on a true/false
question, say), so that a typo never silently changes a quiz.

Conventions:

- ``null`` means "absent" only for optional blocks and texts (``practice``,
  ``selection``, ``policies``, ``opens_at``, ``closes_at``, ``instructions``,
  ``feedback``, ``selection.count``); elsewhere it is a type error.
- Sections: ``kind`` may be omitted (it follows from the position); a section
  needs at least one question.
- Numbers are ints or floats (never booleans) and must be finite everywhere.
- Times (``opens_at``, ``closes_at``) are ISO-8601 date-times with an offset (or
  ``Z``) or epoch seconds, between 1970 and 2200; they become float epoch seconds,
  rounded to the microsecond so that export and import agree exactly.
- ``version`` is accepted and ignored: the quiz store assigns versions.

``quiz_to_mapping`` writes the export form: defaults are omitted, times are ISO-8601
UTC strings, the version is included for information. For any quiz ``q`` that
``parse_quiz`` can produce, ``parse_quiz(quiz_to_mapping(q)) == q`` up to
``version`` (which import ignores). Fields that do not apply to a question's kind
are not exported.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from quizsession.domain.errors import InvalidDefinition, Problem
from quizsession.domain.quiz import (
    QUESTION_KINDS,
    SELECTION_MODES,
    Choice,
    Policies,
    Question,
    Quiz,
    Section,
    Selection,
)
from quizsession.domain.scoring import MAX_TEXT_ANSWER

ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MAX_TITLE = 500
MAX_INSTRUCTIONS = 50_000
MAX_QUESTION_TEXT = 20_000
MAX_CHOICE_TEXT = 5_000
MAX_FEEDBACK = 20_000
MAX_CHOICES = 200
MAX_QUESTIONS = 5_000  # per section
MAX_ACCEPTED = 200
DIFFICULTY_MIN, DIFFICULTY_MAX = 0, 100
TIME_MAX = datetime(2200, 1, 1, tzinfo=UTC).timestamp()

_QUIZ_KEYS = (
    "id", "title", "version", "duration_s", "instructions", "opens_at", "closes_at",
    "policies", "practice", "test",
)  # fmt: skip
_SECTION_KEYS = ("kind", "questions", "selection", "instructions")
_SELECTION_KEYS = ("mode", "count")
_CHOICE_KEYS = ("id", "text", "correct", "feedback")
_POLICY_KEYS = tuple(Policies.__struct_fields__)
_COMMON_QUESTION_KEYS = ("id", "kind", "text", "points", "penalty", "difficulty", "feedback")
_KIND_KEYS: dict[str, tuple[str, ...]] = {
    "single": ("choices",),
    "multiple": ("choices", "partial"),
    "true_false": ("correct",),
    "short_text": ("accepted", "case_sensitive"),
    "numeric": ("value", "tolerance"),
}
_QUESTION_KEYS = _COMMON_QUESTION_KEYS + tuple(k for ks in _KIND_KEYS.values() for k in ks)
_ABSENT: Any = object()


def _ptr(path: str, key: str | int) -> str:
    return f"{path}/{str(key).replace('~', '~0').replace('/', '~1')}"


def _is_list(value: object) -> bool:
    return isinstance(value, list | tuple)


class _Fields:
    """Reads the fields of one mapping, reporting each problem at its path.

    Readers return the value, the default when the key is absent, or None when the
    value is invalid (a problem has been recorded) or absent and required."""

    def __init__(
        self, problems: list[Problem], raw: Mapping[Any, Any], path: str, keys: Iterable[str]
    ) -> None:
        self.problems, self.raw, self.path = problems, raw, path
        allowed = tuple(keys)
        for key in raw:
            if not isinstance(key, str) or key not in allowed:
                self.add(str(key), f"unknown key (allowed: {', '.join(allowed)})")

    def add(self, key: str, message: str) -> None:
        self.problems.append(Problem(_ptr(self.path, key), message))

    def get(self, key: str, *, required: bool = False, nullable: bool = False) -> Any:
        value = self.raw.get(key, _ABSENT)
        if nullable and value is None:
            value = _ABSENT
        if value is _ABSENT and required:
            self.add(key, "is required")
        return value

    def text(self, key: str, max_len: int, *, required: bool = False) -> str | None:
        value = self.get(key, required=required, nullable=not required)
        if value is _ABSENT:
            return None if required else ""
        if not isinstance(value, str):
            self.add(key, "must be a string")
        elif required and not value.strip():
            self.add(key, "must not be empty")
        elif len(value) > max_len:
            self.add(key, f"must be at most {max_len} characters")
        else:
            return value
        return None

    def optional_text(self, key: str, max_len: int) -> str | None:
        return None if self.get(key, nullable=True) is _ABSENT else self.text(key, max_len)

    def ident(self, key: str) -> str | None:
        value = self.get(key, required=True)
        if value is _ABSENT:
            return None
        if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
            self.add(key, "must be 1-64 characters of letters, digits, '_', '.' or '-'")
            return None
        return value

    def number(
        self,
        key: str,
        default: float | None = None,
        *,
        low: float | None = None,
        high: float | None = None,
        above: float | None = None,
    ) -> float | None:
        value = self.get(key, required=default is None)
        if value is _ABSENT:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(key, "must be a number")
            return None
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            self.add(key, "must be a finite number")
        elif above is not None and number <= above:
            self.add(key, f"must be greater than {above:g}")
        elif (low is not None and number < low) or (high is not None and number > high):
            bounds = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
            self.add(key, f"must be {bounds}")
        else:
            return number
        return None

    def integer(self, key: str, default: int | None, low: int, high: int) -> int | None:
        value = self.get(key, nullable=default is None)
        if value is _ABSENT:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(key, "must be a whole number")
        elif not low <= value <= high:
            self.add(key, f"must be between {low} and {high}")
        else:
            return value
        return None

    def boolean(self, key: str, default: bool | None) -> bool | None:
        value = self.get(key, required=default is None)
        if value is _ABSENT:
            return default
        if not isinstance(value, bool):
            self.add(key, "must be true or false")
            return None
        return value

    def literal(self, key: str, options: Iterable[str], default: str | None) -> Any:
        value = self.get(key, required=default is None)
        if value is _ABSENT:
            return default
        allowed = tuple(options)
        if not isinstance(value, str) or value not in allowed:
            self.add(key, f"must be one of {', '.join(map(repr, allowed))}")
            return None
        return value

    def time(self, key: str) -> float | None:
        value = self.get(key, nullable=True)
        if value is _ABSENT:
            return None
        epoch: float
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                self.add(key, "is not an ISO-8601 date-time")
                return None
            if moment.tzinfo is None or moment.utcoffset() is None:
                self.add(key, "needs a timezone offset (such as 'Z' or '+02:00')")
                return None
            try:
                epoch = moment.timestamp()
            except (OverflowError, ValueError, OSError):
                epoch = math.inf
        elif isinstance(value, int | float) and not isinstance(value, bool):
            try:
                epoch = float(value)
            except OverflowError:
                epoch = math.inf
        else:
            self.add(key, "must be an ISO-8601 date-time with an offset, or epoch seconds")
            return None
        if not (math.isfinite(epoch) and 0 <= epoch < TIME_MAX):
            self.add(key, "must be between 1970 and 2200")
            return None
        return datetime.fromtimestamp(epoch, UTC).timestamp()  # microsecond precision


def _mapping(problems: list[Problem], raw: object, path: str) -> Mapping[Any, Any] | None:
    if isinstance(raw, Mapping):
        return raw
    problems.append(Problem(path, "must be a mapping"))
    return None


def parse_quiz(raw: object) -> Quiz:
    """Check a quiz definition and build the ``Quiz``; raise ``InvalidDefinition``
    listing every problem found."""
    problems: list[Problem] = []
    quiz = _quiz(problems, raw)
    if problems or quiz is None:
        raise InvalidDefinition(problems or [Problem("", "invalid quiz definition")])
    return quiz


def _quiz(problems: list[Problem], raw: object) -> Quiz | None:
    data = _mapping(problems, raw, "")
    if data is None:
        return None
    f = _Fields(problems, data, "", _QUIZ_KEYS)
    quiz_id = f.ident("id")
    title = f.text("title", MAX_TITLE, required=True)
    duration = f.number("duration_s", above=0)
    instructions = f.text("instructions", MAX_INSTRUCTIONS)
    opens_at, closes_at = f.time("opens_at"), f.time("closes_at")
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        f.add("closes_at", "must be after opens_at")
    policies = _policies(problems, f.get("policies", nullable=True), "/policies")
    seen: dict[str, str] = {}
    practice = None
    if (raw_practice := f.get("practice", nullable=True)) is not _ABSENT:
        practice = _section(problems, raw_practice, "/practice", "practice", seen)
    test = None
    if (raw_test := f.get("test", required=True)) is not _ABSENT:
        test = _section(problems, raw_test, "/test", "test", seen)
    if problems:
        return None
    assert quiz_id
    assert title
    assert duration
    assert test
    assert instructions is not None
    assert policies
    return Quiz(
        id=quiz_id,
        title=title,
        duration_s=duration,
        test=test,
        practice=practice,
        instructions=instructions,
        opens_at=opens_at,
        closes_at=closes_at,
        policies=policies,
    )


def _policies(problems: list[Problem], raw: object, path: str) -> Policies | None:
    if raw is _ABSENT:
        return Policies()
    data = _mapping(problems, raw, path)
    if data is None:
        return None
    start = len(problems)
    d = Policies()
    f = _Fields(problems, data, path, _POLICY_KEYS)
    second_login = f.literal("second_login", ("refuse", "takeover"), d.second_login)
    grace = f.number("grace_s", d.grace_s, low=0, high=300)
    heartbeat = f.number("heartbeat_s", d.heartbeat_s, low=1, high=60)
    lease_ttl = f.number("lease_ttl_s", d.lease_ttl_s, above=0)
    if heartbeat is not None and lease_ttl is not None and lease_ttl < 2 * heartbeat:
        f.add("lease_ttl_s", f"must be at least twice heartbeat_s ({2 * heartbeat:g})")
    idle = f.number("idle_timeout_s", d.idle_timeout_s, low=60)
    outage_credit = f.boolean("outage_credit", d.outage_credit)
    if len(problems) > start:
        return None
    assert grace is not None
    assert heartbeat
    assert lease_ttl
    assert idle
    assert outage_credit is not None
    return Policies(
        second_login=second_login,
        grace_s=grace,
        heartbeat_s=heartbeat,
        lease_ttl_s=lease_ttl,
        idle_timeout_s=idle,
        outage_credit=outage_credit,
    )


def _section(
    problems: list[Problem], raw: object, path: str, kind: str, seen: dict[str, str]
) -> Section | None:
    data = _mapping(problems, raw, path)
    if data is None:
        return None
    start = len(problems)
    f = _Fields(problems, data, path, _SECTION_KEYS)
    if (given := f.get("kind")) is not _ABSENT and given != kind:
        f.add("kind", f"must be {kind!r} (or omitted) in the {kind} section")
    instructions = f.text("instructions", MAX_INSTRUCTIONS)
    raw_questions = f.get("questions", required=True)
    questions: list[Question | None] = []
    count: int | None = None
    if raw_questions is _ABSENT:
        pass
    elif not _is_list(raw_questions):
        f.add("questions", "must be a list")
    elif not raw_questions:
        f.add("questions", "needs at least one question")
    elif len(raw_questions) > MAX_QUESTIONS:
        f.add("questions", f"must have at most {MAX_QUESTIONS} questions")
    else:
        count = len(raw_questions)
        base = _ptr(path, "questions")
        questions = [
            _question(problems, q, _ptr(base, i), seen) for i, q in enumerate(raw_questions)
        ]
    selection = _selection(problems, f.get("selection", nullable=True), path, count)
    if len(problems) > start:
        return None
    assert instructions is not None
    assert selection is not None
    return Section(
        kind="practice" if kind == "practice" else "test",
        questions=tuple(q for q in questions if q is not None),
        selection=selection,
        instructions=instructions,
    )


def _selection(
    problems: list[Problem], raw: object, section_path: str, n: int | None
) -> Selection | None:
    if raw is _ABSENT:
        return Selection()
    path = _ptr(section_path, "selection")
    data = _mapping(problems, raw, path)
    if data is None:
        return None
    start = len(problems)
    f = _Fields(problems, data, path, _SELECTION_KEYS)
    mode = f.literal("mode", SELECTION_MODES, "fixed")
    before = len(problems)
    count = f.integer("count", None, 1, MAX_QUESTIONS)
    if mode is not None and len(problems) == before and n is not None:
        if mode in ("pool", "adaptive"):
            if count is None:
                f.add("count", f"is required for {mode} selection")
            elif count > n:
                f.add("count", f"must be at most the number of questions ({n})")
        elif count is not None and count != n:
            f.add("count", f"must be omitted or equal to the number of questions ({n})")
    if len(problems) > start:
        return None
    return Selection(mode=mode, count=count)


def _question(
    problems: list[Problem], raw: object, path: str, seen: dict[str, str]
) -> Question | None:
    data = _mapping(problems, raw, path)
    if data is None:
        return None
    start = len(problems)
    f = _Fields(problems, data, path, _QUESTION_KEYS)
    qid = f.ident("id")
    if qid is not None:
        if qid in seen:
            f.add("id", f"duplicate question id {qid!r} (first at {seen[qid]})")
        else:
            seen[qid] = _ptr(path, "id")
    kind = f.literal("kind", QUESTION_KINDS, None)
    text = f.text("text", MAX_QUESTION_TEXT, required=True)
    points = f.number("points", 1.0, low=0)
    penalty = f.number("penalty", 0.0, low=0)
    difficulty = f.integer("difficulty", 2, DIFFICULTY_MIN, DIFFICULTY_MAX)
    feedback = f.optional_text("feedback", MAX_FEEDBACK)
    extra: dict[str, Any] = {}
    if kind is not None:
        for key in data:
            if key in _QUESTION_KEYS and key not in _COMMON_QUESTION_KEYS + _KIND_KEYS[kind]:
                f.add(key, f"does not apply to a {kind} question")
        if kind in ("single", "multiple"):
            extra["choices"] = _choices(problems, f, path, kind)
            if kind == "multiple":
                extra["partial"] = f.literal(
                    "partial", ("per_option", "all_or_nothing"), "per_option"
                )
        elif kind == "true_false":
            extra["correct"] = f.boolean("correct", None)
        elif kind == "short_text":
            extra["accepted"] = _accepted(f, path)
            extra["case_sensitive"] = f.boolean("case_sensitive", False)
        else:
            extra["value"] = f.number("value")
            extra["tolerance"] = f.number("tolerance", 0.0, low=0)
    if len(problems) > start:
        return None
    assert qid
    assert kind
    assert text
    assert points is not None
    assert penalty is not None
    assert difficulty is not None
    return Question(
        id=qid,
        kind=kind,
        text=text,
        points=points,
        penalty=penalty,
        difficulty=difficulty,
        feedback=feedback,
        **extra,
    )


def _accepted(f: _Fields, path: str) -> tuple[str, ...]:
    raw = f.get("accepted", required=True)
    if raw is _ABSENT:
        return ()
    if not _is_list(raw):
        f.add("accepted", "must be a list of strings")
        return ()
    if not raw:
        f.add("accepted", "needs at least one accepted answer")
    elif len(raw) > MAX_ACCEPTED:
        f.add("accepted", f"must have at most {MAX_ACCEPTED} answers")
    base = _ptr(path, "accepted")
    for i, answer in enumerate(raw):
        if not isinstance(answer, str) or not answer.strip():
            f.problems.append(Problem(_ptr(base, i), "must be a non-empty string"))
        elif len(answer) > MAX_TEXT_ANSWER:
            f.problems.append(Problem(_ptr(base, i), f"must be at most {MAX_TEXT_ANSWER} chars"))
    return tuple(raw)


def _choices(problems: list[Problem], f: _Fields, path: str, kind: str) -> tuple[Choice, ...]:
    raw = f.get("choices", required=True)
    if raw is _ABSENT:
        return ()
    if not _is_list(raw):
        f.add("choices", "must be a list")
        return ()
    start = len(problems)
    if len(raw) < 2:
        f.add("choices", "needs at least 2 choices")
    elif len(raw) > MAX_CHOICES:
        f.add("choices", f"must have at most {MAX_CHOICES} choices")
    base = _ptr(path, "choices")
    seen: set[str] = set()
    choices: list[Choice] = []
    for i, item in enumerate(raw):
        data = _mapping(problems, item, _ptr(base, i))
        if data is None:
            continue
        c = _Fields(problems, data, _ptr(base, i), _CHOICE_KEYS)
        cid = c.ident("id")
        if cid is not None and cid in seen:
            c.add("id", f"duplicate choice id {cid!r}")
        seen.add(cid or "")
        text = c.text("text", MAX_CHOICE_TEXT, required=True)
        correct = c.boolean("correct", False)
        feedback = c.optional_text("feedback", MAX_FEEDBACK)
        if cid and text and correct is not None:
            choices.append(Choice(id=cid, text=text, correct=correct, feedback=feedback))
    if len(problems) == start:
        n_correct = sum(c.correct for c in choices)
        if kind == "single" and n_correct != 1:
            f.add("choices", f"needs exactly one correct choice (found {n_correct})")
        elif kind == "multiple" and n_correct < 1:
            f.add("choices", "needs at least one correct choice")
    return tuple(choices)


# ---------------------------------------------------------------- export


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def _non_default(value: Any, default: Any) -> dict[str, object]:
    return {
        name: getattr(value, name)
        for name in value.__struct_fields__
        if getattr(value, name) != getattr(default, name)
    }


def quiz_to_mapping(quiz: Quiz) -> dict[str, object]:
    """The export form of ``quiz`` (plain dicts, lists, strings and numbers)."""
    out: dict[str, object] = {
        "id": quiz.id,
        "title": quiz.title,
        "version": quiz.version,
        "duration_s": quiz.duration_s,
    }
    if quiz.opens_at is not None:
        out["opens_at"] = _iso(quiz.opens_at)
    if quiz.closes_at is not None:
        out["closes_at"] = _iso(quiz.closes_at)
    if quiz.instructions:
        out["instructions"] = quiz.instructions
    if policies := _non_default(quiz.policies, Policies()):
        out["policies"] = policies
    if quiz.practice is not None:
        out["practice"] = _section_to_mapping(quiz.practice)
    out["test"] = _section_to_mapping(quiz.test)
    return out


def _section_to_mapping(section: Section) -> dict[str, object]:
    out: dict[str, object] = {"kind": section.kind}
    if section.instructions:
        out["instructions"] = section.instructions
    if selection := _non_default(section.selection, Selection()):
        out["selection"] = selection
    out["questions"] = [_question_to_mapping(q) for q in section.questions]
    return out


def _question_to_mapping(q: Question) -> dict[str, object]:
    out: dict[str, object] = {"id": q.id, "kind": q.kind, "text": q.text, "points": q.points}
    if q.penalty:
        out["penalty"] = q.penalty
    if q.difficulty != 2:
        out["difficulty"] = q.difficulty
    if q.feedback is not None:
        out["feedback"] = q.feedback
    if q.kind in ("single", "multiple"):
        out["choices"] = [_choice_to_mapping(c) for c in q.choices]
        if q.kind == "multiple" and q.partial != "per_option":
            out["partial"] = q.partial
    elif q.kind == "true_false":
        out["correct"] = q.correct
    elif q.kind == "short_text":
        out["accepted"] = list(q.accepted)
        if q.case_sensitive:
            out["case_sensitive"] = True
    else:
        out["value"] = q.value
        if q.tolerance:
            out["tolerance"] = q.tolerance
    return out


def _choice_to_mapping(c: Choice) -> dict[str, object]:
    out: dict[str, object] = {"id": c.id, "text": c.text}
    if c.correct:
        out["correct"] = True
    if c.feedback is not None:
        out["feedback"] = c.feedback
    return out
