"""Writing a quiz back as a plain mapping (the export form, ready for YAML/JSON).

``quiz_to_mapping`` omits defaults, writes times as ISO-8601 UTC strings and
includes the version for information. For any quiz ``q`` that ``parse_quiz`` can
produce, ``parse_quiz(quiz_to_mapping(q)) == q`` up to ``version`` (which import
ignores). Fields that do not apply to a question's kind are not exported.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from quizsession.domain.kinds import kind_of
from quizsession.domain.quiz import Policies, Question, Quiz, ReviewPolicy, Section, Selection


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
    if quiz.navigation != "sequential":
        out["navigation"] = quiz.navigation
    if quiz.review != ReviewPolicy():
        out["review"] = {
            "after_submit": list(quiz.review.after_submit),
            "after_close": list(quiz.review.after_close),
        }
    if quiz.overall_feedback:
        out["overall_feedback"] = [
            {"from_percent": band.from_percent, "text": band.text} for band in quiz.overall_feedback
        ]
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
    if q.images:
        out["images"] = [{"url": i.url, "alt": i.alt} for i in q.images]
    out.update(kind_of(q).export(q))
    return out
