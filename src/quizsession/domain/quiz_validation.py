"""Reading quiz definitions from plain mappings (YAML/JSON).

``parse_quiz`` checks a whole definition and lists *every* problem it finds, each
located by a JSON-pointer path (``/test/questions/2/choices``, ``/policies/grace_s``;
the definition itself is ``""``), in one ``InvalidDefinition``. It refuses unknown
keys, and keys that do not apply to a question's kind (``choices`` on a true/false
question, say), so that a typo never silently changes a quiz.

Conventions:

- ``null`` means "absent" only for optional blocks and texts (``practice``,
  ``selection``, ``policies``, ``opens_at``, ``closes_at``, ``instructions``,
  ``feedback``, ``selection.count``, ``overall_feedback``); elsewhere it is a
  type error.
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
from quizsession.domain.kinds import KINDS, QUESTION_KINDS
from quizsession.domain.kinds.base import (
    MAX_ACCEPTED,
    MAX_CHOICE_TEXT,
    MAX_CHOICES,
    MAX_FEEDBACK,
)
from quizsession.domain.overall_feedback import parse_overall_feedback
from quizsession.domain.quiz import (
    REVIEW_ITEMS,
    SELECTION_MODES,
    Policies,
    Question,
    Quiz,
    ReviewPolicy,
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
from quizsession.domain.quiz_images import image_data_problem, parse_images
from quizsession.domain.selection import takes_answer

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
MAX_QUESTIONS = 5_000  # per section
DIFFICULTY_MIN, DIFFICULTY_MAX = 0, 100

_QUIZ_KEYS = (
    "id", "title", "version", "duration_s", "instructions", "opens_at", "closes_at",
    "policies", "navigation", "review", "overall_feedback", "practice", "test",
)  # fmt: skip
_SECTION_KEYS = ("kind", "questions", "selection", "instructions")
_SELECTION_KEYS = ("mode", "count")
_POLICY_KEYS = tuple(Policies.__struct_fields__)
_REVIEW_KEYS = tuple(ReviewPolicy.__struct_fields__)
_COMMON_QUESTION_KEYS = (
    "id", "kind", "text", "points", "penalty", "difficulty", "feedback", "images",
)  # fmt: skip
_QUESTION_KEYS = tuple(
    dict.fromkeys(_COMMON_QUESTION_KEYS + tuple(k for s in KINDS.values() for k in s.keys))
)


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
    navigation = f.literal("navigation", ("sequential", "free"), "sequential")
    review = _review(problems, f.get("review", nullable=True), "/review")
    overall_feedback = parse_overall_feedback(f)
    seen: dict[str, str] = {}
    practice = None
    if (raw_practice := f.get("practice", nullable=True)) is not ABSENT:
        practice = _section(problems, raw_practice, "/practice", "practice", seen)
    test = None
    if (raw_test := f.get("test", required=True)) is not ABSENT:
        test = _section(problems, raw_test, "/test", "test", seen)
    sections = [s for s in (practice, test) if s is not None]
    if (too_big := image_data_problem(q for s in sections for q in s.questions)) is not None:
        problems.append(Problem("", too_big))
    if navigation == "free":
        for name, section in (("practice", practice), ("test", test)):
            if section is not None and section.selection.mode == "adaptive":
                f.add(
                    "navigation",
                    f"free navigation cannot go with the {name} section's "
                    "adaptive selection (it chooses each question from the answers so far)",
                )
    if problems:
        return None
    assert quiz_id
    assert title
    assert duration
    assert test
    assert instructions is not None
    assert policies
    assert review
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
        navigation=navigation,
        review=review,
        overall_feedback=overall_feedback,
    )


def _review(problems: list[Problem], raw: object, path: str) -> ReviewPolicy | None:
    if raw is ABSENT:
        return ReviewPolicy()
    data = mapping(problems, raw, path)
    if data is None:
        return None
    start = len(problems)
    f = Fields(problems, data, path, _REVIEW_KEYS)
    default = ReviewPolicy()
    lists: dict[str, tuple[str, ...]] = {}
    for key in _REVIEW_KEYS:
        value = f.get(key)
        if value is ABSENT:
            lists[key] = getattr(default, key)
            continue
        if not is_list(value):
            f.add(key, f"must be a list of {', '.join(map(repr, REVIEW_ITEMS))}")
            continue
        base = ptr(path, key)
        for i, item in enumerate(value):
            if not isinstance(item, str) or item not in REVIEW_ITEMS:
                problems.append(
                    Problem(ptr(base, i), f"must be one of {', '.join(map(repr, REVIEW_ITEMS))}")
                )
            elif item in value[:i]:
                problems.append(Problem(ptr(base, i), f"duplicate review item {item!r}"))
        lists[key] = tuple(value)
    if len(problems) > start:
        return None
    return ReviewPolicy(
        after_submit=lists["after_submit"],  # type: ignore[arg-type]
        after_close=lists["after_close"],  # type: ignore[arg-type]
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
        # Selection counts the questions that take an answer (not descriptions).
        count = sum(1 for q in questions if q is None or takes_answer(q))
        if count == 0:
            f.add("questions", "needs at least one question that takes an answer")
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
    spec = KINDS[kind] if kind is not None else None
    text = f.text("text", MAX_QUESTION_TEXT, required=True)
    scored = spec is None or spec.grading != "none"
    points = f.number("points", 1.0 if scored else 0.0, low=0)
    if not scored and points:
        f.add("points", f"must be 0 for a {kind} question (it takes no answer)")
    penalty = f.number("penalty", 0.0, low=0)
    if spec is not None and spec.grading != "auto" and penalty:
        f.add("penalty", f"must be 0 for a {kind} question (it is not scored by a key)")
    difficulty = f.integer("difficulty", 2, DIFFICULTY_MIN, DIFFICULTY_MAX)
    feedback = f.optional_text("feedback", MAX_FEEDBACK)
    images = parse_images(f, path)
    extra: dict[str, Any] = {}
    if spec is not None:
        for key in data:
            if key in _QUESTION_KEYS and key not in _COMMON_QUESTION_KEYS + spec.keys:
                f.add(key, f"does not apply to a {kind} question")
        extra = spec.parse(f, path)
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
        images=images,
        **extra,
    )
