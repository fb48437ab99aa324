"""Reading quiz definitions from plain mappings (YAML/JSON).

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

The field readers live in ``quiz_fields``; the export form (``quiz_to_mapping``,
which ``parse_quiz`` reads back to the same quiz) in ``quiz_export``.
"""

from __future__ import annotations

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
from quizsession.domain.quiz_fields import (
    ABSENT,
    ID_PATTERN,
    TIME_MAX,
    Fields,
    is_list,
    mapping,
    ptr,
)
from quizsession.domain.scoring import MAX_TEXT_ANSWER

__all__ = [
    "DIFFICULTY_MAX",
    "DIFFICULTY_MIN",
    "ID_PATTERN",
    "MAX_ACCEPTED",
    "MAX_CHOICES",
    "MAX_CHOICE_TEXT",
    "MAX_FEEDBACK",
    "MAX_INSTRUCTIONS",
    "MAX_QUESTIONS",
    "MAX_QUESTION_TEXT",
    "MAX_TITLE",
    "TIME_MAX",
    "parse_quiz",
]

MAX_TITLE = 500
MAX_INSTRUCTIONS = 50_000
MAX_QUESTION_TEXT = 20_000
MAX_CHOICE_TEXT = 5_000
MAX_FEEDBACK = 20_000
MAX_CHOICES = 200
MAX_QUESTIONS = 5_000  # per section
MAX_ACCEPTED = 200
DIFFICULTY_MIN, DIFFICULTY_MAX = 0, 100

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


def parse_quiz(raw: object) -> Quiz:
    """Check a quiz definition and build the ``Quiz``; raise ``InvalidDefinition``
    listing every problem found."""
    problems: list[Problem] = []
    quiz = _quiz(problems, raw)
    if problems or quiz is None:
        # Each problem once (a path and its message), in the order found.
        unique = {(p.path, p.message): p for p in problems}
        raise InvalidDefinition(list(unique.values()) or [Problem("", "invalid quiz definition")])
    return quiz


def _quiz(problems: list[Problem], raw: object) -> Quiz | None:
    data = mapping(problems, raw, "")
    if data is None:
        return None
    f = Fields(problems, data, "", _QUIZ_KEYS)
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
    if (raw_practice := f.get("practice", nullable=True)) is not ABSENT:
        practice = _section(problems, raw_practice, "/practice", "practice", seen)
    test = None
    if (raw_test := f.get("test", required=True)) is not ABSENT:
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
    if raw is ABSENT:
        return Policies()
    data = mapping(problems, raw, path)
    if data is None:
        return None
    start = len(problems)
    d = Policies()
    f = Fields(problems, data, path, _POLICY_KEYS)
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
    data = mapping(problems, raw, path)
    if data is None:
        return None
    start = len(problems)
    f = Fields(problems, data, path, _SECTION_KEYS)
    if (given := f.get("kind")) is not ABSENT and given != kind:
        f.add("kind", f"must be {kind!r} (or omitted) in the {kind} section")
    instructions = f.text("instructions", MAX_INSTRUCTIONS)
    raw_questions = f.get("questions", required=True)
    questions: list[Question | None] = []
    count: int | None = None
    if raw_questions is ABSENT:
        pass
    elif not is_list(raw_questions):
        f.add("questions", "must be a list")
    elif not raw_questions:
        f.add("questions", "needs at least one question")
    elif len(raw_questions) > MAX_QUESTIONS:
        f.add("questions", f"must have at most {MAX_QUESTIONS} questions")
    else:
        count = len(raw_questions)
        base = ptr(path, "questions")
        questions = [
            _question(problems, q, ptr(base, i), seen) for i, q in enumerate(raw_questions)
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
    if raw is ABSENT:
        return Selection()
    path = ptr(section_path, "selection")
    data = mapping(problems, raw, path)
    if data is None:
        return None
    start = len(problems)
    f = Fields(problems, data, path, _SELECTION_KEYS)
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
    data = mapping(problems, raw, path)
    if data is None:
        return None
    start = len(problems)
    f = Fields(problems, data, path, _QUESTION_KEYS)
    qid = f.ident("id")
    if qid is not None:
        if qid in seen:
            f.add("id", f"duplicate question id {qid!r} (first at {seen[qid]})")
        else:
            seen[qid] = ptr(path, "id")
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


def _accepted(f: Fields, path: str) -> tuple[str, ...]:
    raw = f.get("accepted", required=True)
    if raw is ABSENT:
        return ()
    if not is_list(raw):
        f.add("accepted", "must be a list of strings")
        return ()
    if not raw:
        f.add("accepted", "needs at least one accepted answer")
    elif len(raw) > MAX_ACCEPTED:
        f.add("accepted", f"must have at most {MAX_ACCEPTED} answers")
    base = ptr(path, "accepted")
    for i, answer in enumerate(raw):
        if not isinstance(answer, str) or not answer.strip():
            f.problems.append(Problem(ptr(base, i), "must be a non-empty string"))
        elif len(answer) > MAX_TEXT_ANSWER:
            f.problems.append(Problem(ptr(base, i), f"must be at most {MAX_TEXT_ANSWER} chars"))
    return tuple(raw)


def _choices(problems: list[Problem], f: Fields, path: str, kind: str) -> tuple[Choice, ...]:
    raw = f.get("choices", required=True)
    if raw is ABSENT:
        return ()
    if not is_list(raw):
        f.add("choices", "must be a list")
        return ()
    start = len(problems)
    if len(raw) < 2:
        f.add("choices", "needs at least 2 choices")
    elif len(raw) > MAX_CHOICES:
        f.add("choices", f"must have at most {MAX_CHOICES} choices")
    base = ptr(path, "choices")
    seen: set[str] = set()
    choices: list[Choice] = []
    for i, item in enumerate(raw):
        data = mapping(problems, item, ptr(base, i))
        if data is None:
            continue
        c = Fields(problems, data, ptr(base, i), _CHOICE_KEYS)
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
