"""``cloze``: a text with gaps. The question's ``text`` marks each gap ``{{gap id}}``
(every marker names a gap, every gap appears exactly once); a gap is a choice
(a choice id), a short text (compared as ``short_text`` answers are) or a number
(within ``tolerance`` of ``value``), worth ``weight`` shares of the points. The
answer is an object ``{gap id: choice id | text | number}``; missing gaps are
unanswered. Fraction = sum(weight of right gaps) / sum(weights).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from quizsession.domain.errors import Problem
from quizsession.domain.events import AnswerValue
from quizsession.domain.kinds.base import (
    MAX_FEEDBACK,
    MAX_TEXT_ANSWER,
    AutoKind,
    ResponseOption,
    blank,
    choice_mapping,
    choice_views,
    is_finite_number,
    normalize_text,
    number_text,
    numeric_matches,
    parse_accepted,
    parse_choices,
    text_matches,
)
from quizsession.domain.quiz import Gap, Question
from quizsession.domain.quiz_fields import ABSENT, Fields, is_list, mapping, ptr

MIN_GAPS, MAX_GAPS = 1, 100
MARKER = re.compile(r"\{\{([^{}]*)\}\}")
GAP_KINDS = ("choice", "short_text", "numeric")
_GAP_KEYS: dict[str, tuple[str, ...]] = {
    "choice": ("choices",),
    "short_text": ("accepted", "case_sensitive"),
    "numeric": ("value", "tolerance"),
}
_COMMON_GAP_KEYS = ("id", "kind", "weight", "feedback")
_ALL_GAP_KEYS = _COMMON_GAP_KEYS + tuple(k for ks in _GAP_KEYS.values() for k in ks)


def markers(text: str) -> list[str]:
    """The gap ids ``text`` marks, in order."""
    return MARKER.findall(text)


def _choice_gap(f: Fields, path: str) -> dict[str, Any]:
    return {"choices": parse_choices(f, path)}


def _text_gap(f: Fields, path: str) -> dict[str, Any]:
    return {
        "accepted": parse_accepted(f, path),
        "case_sensitive": f.boolean("case_sensitive", False),
    }


def _numeric_gap(f: Fields, path: str) -> dict[str, Any]:
    return {"value": f.number("value"), "tolerance": f.number("tolerance", 0.0, low=0)}


_GAP_PARSERS: dict[str, Callable[[Fields, str], dict[str, Any]]] = {
    "choice": _choice_gap,
    "short_text": _text_gap,
    "numeric": _numeric_gap,
}


def _parse_gap(f: Fields, raw: object, path: str) -> Gap | None:
    data = mapping(f.problems, raw, path)
    if data is None:
        return None
    start = len(f.problems)
    g = Fields(f.problems, data, path, _ALL_GAP_KEYS)
    gid = g.ident("id")
    kind = g.literal("kind", GAP_KINDS, None)
    weight = g.number("weight", 1.0, above=0)
    feedback = g.optional_text("feedback", MAX_FEEDBACK)
    extra: dict[str, Any] = {}
    if kind is not None:
        for key in data:
            if key in _ALL_GAP_KEYS and key not in _COMMON_GAP_KEYS + _GAP_KEYS[kind]:
                g.add(key, f"does not apply to a {kind} gap")
        extra = _GAP_PARSERS[kind](g, path)
    if len(f.problems) > start:
        return None
    assert gid
    assert weight is not None
    return Gap(id=gid, kind=kind, weight=weight, feedback=feedback, **extra)


def _parse_gaps(f: Fields, path: str) -> tuple[Gap, ...]:
    raw = f.get("gaps", required=True)
    if raw is ABSENT:
        return ()
    if not is_list(raw):
        f.add("gaps", "must be a list")
        return ()
    if not MIN_GAPS <= len(raw) <= MAX_GAPS:
        f.add("gaps", f"must have between {MIN_GAPS} and {MAX_GAPS} gaps")
    base = ptr(path, "gaps")
    gaps: list[Gap] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        gap = _parse_gap(f, item, ptr(base, i))
        if gap is None:
            continue
        if gap.id in seen:
            f.problems.append(Problem(ptr(ptr(base, i), "id"), f"duplicate gap id {gap.id!r}"))
        seen.add(gap.id)
        gaps.append(gap)
    text = f.raw.get("text")
    if isinstance(text, str) and len(gaps) == len(raw):
        _check_markers(f, text, gaps)
    return tuple(gaps)


def _check_markers(f: Fields, text: str, gaps: list[Gap]) -> None:
    found = Counter(markers(text))
    ids = {g.id for g in gaps}
    for name in found:
        if name not in ids:
            f.add("text", f"the marker {{{{{name}}}}} names no gap")
    for gap in gaps:
        if found[gap.id] == 0:
            f.add("text", f"gap {gap.id!r} has no marker {{{{{gap.id}}}}}")
        elif found[gap.id] > 1:
            f.add("text", f"the marker {{{{{gap.id}}}}} appears {found[gap.id]} times")


def gap_problem(gap: Gap, value: object) -> str | None:
    """None when ``value`` has the right shape for ``gap``, else why not."""
    if gap.kind == "choice":
        if not isinstance(value, str) or all(c.id != value for c in gap.choices):
            return f"the answer for gap {gap.id!r} must be one of its choice ids"
    elif gap.kind == "short_text":
        if not isinstance(value, str):
            return f"the answer for gap {gap.id!r} must be a string"
        if len(value) > MAX_TEXT_ANSWER:
            return f"the answer for gap {gap.id!r} must be at most {MAX_TEXT_ANSWER} characters"
    elif not is_finite_number(value):
        return f"the answer for gap {gap.id!r} must be a finite number"
    return None


def gap_right(gap: Gap, value: object) -> bool:
    """Whether a well-formed ``value`` fills ``gap`` right."""
    if gap.kind == "choice":
        return any(c.id == value and c.correct for c in gap.choices)
    if gap.kind == "short_text":
        return isinstance(value, str) and text_matches(value, gap.accepted, gap.case_sensitive)
    return isinstance(value, int | float) and numeric_matches(
        float(value), gap.value, gap.tolerance
    )


def _gap_value_text(gap: Gap, value: object) -> str:
    if gap.kind == "choice":
        return next((c.text for c in gap.choices if c.id == value), str(value))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number_text(float(value))
    return str(value)


def _gap_key(gap: Gap, value: object) -> str:
    if gap.kind == "short_text" and isinstance(value, str):
        return f"{gap.id}={normalize_text(value, case_sensitive=gap.case_sensitive)}"
    if gap.kind == "numeric":
        return f"{gap.id}={_gap_value_text(gap, value)}"
    return f"{gap.id}={value}"


def _gap_right_text(gap: Gap) -> str:
    if gap.kind == "choice":
        return "; ".join(c.text for c in gap.choices if c.correct)
    if gap.kind == "short_text":
        return next((a for a in gap.accepted if a.strip()), "")
    if gap.value is None:
        return ""
    text = number_text(gap.value)
    return f"{text} ± {number_text(gap.tolerance)}" if gap.tolerance else text


def _gap_export(gap: Gap) -> dict[str, object]:
    out: dict[str, object] = {"id": gap.id, "kind": gap.kind}
    if gap.weight != 1.0:
        out["weight"] = gap.weight
    if gap.feedback is not None:
        out["feedback"] = gap.feedback
    if gap.kind == "choice":
        out["choices"] = [choice_mapping(c) for c in gap.choices]
    elif gap.kind == "short_text":
        out["accepted"] = list(gap.accepted)
        if gap.case_sensitive:
            out["case_sensitive"] = True
    else:
        out["value"] = gap.value
        if gap.tolerance:
            out["tolerance"] = gap.tolerance
    return out


def _numbered(question: Question) -> list[tuple[int, Gap]]:
    """The gaps as the candidate meets them: numbered from 1 in the order of their
    markers in the text (what the page calls "Gap 1", "Gap 2"...)."""
    by_id = {g.id: g for g in question.gaps}
    found = [by_id[m.strip()] for m in markers(question.text) if m.strip() in by_id]
    return list(enumerate(found, start=1))


def _filled(answer: AnswerValue) -> dict[str, str | float]:
    """The gaps an answer fills (blank texts are unfilled)."""
    if not isinstance(answer, dict):
        return {}
    return {k: v for k, v in answer.items() if not (isinstance(v, str) and blank(v))}


class Cloze(AutoKind):
    name = "cloze"
    keys = ("gaps",)

    def parse(self, f: Fields, path: str) -> dict[str, Any]:
        return {"gaps": _parse_gaps(f, path)}

    def export(self, question: Question) -> dict[str, object]:
        return {"gaps": [_gap_export(g) for g in question.gaps]}

    def answer_problem(self, question: Question, answer: AnswerValue) -> str | None:
        if answer is None:
            return None
        if not isinstance(answer, dict):
            return "a cloze answer must be an object {gap id: answer}"
        gaps = {g.id: g for g in question.gaps}
        for key, value in answer.items():
            gap = gaps.get(key)
            if gap is None:
                return f"{key!r} is not a gap of question {question.id!r}"
            problem = gap_problem(gap, value)
            if problem is not None:
                return problem
        return None

    def is_blank(self, answer: AnswerValue) -> bool:
        return answer is None or (isinstance(answer, dict) and not _filled(answer))

    def fraction(self, question: Question, answer: AnswerValue) -> float:
        filled = _filled(answer)
        total = math.fsum(g.weight for g in question.gaps)
        right = math.fsum(
            g.weight for g in question.gaps if g.id in filled and gap_right(g, filled[g.id])
        )
        return right / total if total > 0 else 0.0

    def view(self, question: Question, seed: int) -> dict[str, object]:
        return {
            "gaps": [
                {
                    "id": g.id,
                    "kind": g.kind,
                    "choices": choice_views(g.choices) if g.kind == "choice" else None,
                }
                for g in question.gaps
            ]
        }

    def right_answer(self, question: Question) -> str:
        return "; ".join(f"gap {n}: {_gap_right_text(g)}" for n, g in _numbered(question))

    def describe(self, question: Question, answer: AnswerValue) -> str:
        filled = _filled(answer)
        return "; ".join(
            f"gap {n}: {_gap_value_text(g, filled[g.id])}"
            for n, g in _numbered(question)
            if g.id in filled
        )

    def response_key(self, question: Question, answer: AnswerValue) -> list[str]:
        filled = _filled(answer)
        return [_gap_key(g, filled[g.id]) for g in question.gaps if g.id in filled]

    def known_responses(self, question: Question) -> list[ResponseOption]:
        out: list[ResponseOption] = []
        for g in question.gaps:
            if g.kind == "choice":
                out += [
                    ResponseOption(
                        key=f"{g.id}={c.id}", label=f"{g.id}: {c.text}", correct=c.correct
                    )
                    for c in g.choices
                ]
        return out


SPEC = Cloze()
