"""``matching``: match each item (a pair's ``text``) with its answer, chosen among
the options: the pairs' distinct answers and the ``distractors`` (extra wrong
options). The answer is an object ``{pair id: option}``; missing pairs are
unanswered. Fraction = right pairs / number of pairs."""

from __future__ import annotations

from typing import Any

from quizsession.domain.errors import Problem
from quizsession.domain.events import AnswerValue
from quizsession.domain.kinds.base import (
    MAX_CHOICE_TEXT,
    AutoKind,
    ResponseOption,
    count_between,
    id_records,
    seeded_order,
)
from quizsession.domain.quiz import MatchPair, Question
from quizsession.domain.quiz_fields import ABSENT, Fields, is_list, ptr

MIN_PAIRS, MAX_PAIRS = 2, 100
MAX_DISTRACTORS = 100
_PAIR_KEYS = ("id", "text", "answer")


def options(question: Question) -> list[str]:
    """The options in definition order: the distinct answers, then distractors."""
    return list(dict.fromkeys([p.answer for p in question.pairs] + list(question.distractors)))


def _parse_pairs(f: Fields, path: str) -> tuple[MatchPair, ...]:
    records = id_records(
        f, path, "pairs", _PAIR_KEYS, "pair", count_between(MIN_PAIRS, MAX_PAIRS, "pairs")
    )
    pairs: list[MatchPair] = []
    for p, pid in records or ():
        text = p.text("text", MAX_CHOICE_TEXT, required=True)
        answer = p.text("answer", MAX_CHOICE_TEXT, required=True)
        if pid and text and answer:
            pairs.append(MatchPair(id=pid, text=text, answer=answer))
    return tuple(pairs)


def _parse_distractors(f: Fields, path: str, pairs: tuple[MatchPair, ...]) -> tuple[str, ...]:
    raw = f.get("distractors")
    if raw is ABSENT:
        return ()
    if not is_list(raw):
        f.add("distractors", "must be a list of strings")
        return ()
    if len(raw) > MAX_DISTRACTORS:
        f.add("distractors", f"must have at most {MAX_DISTRACTORS} distractors")
    base = ptr(path, "distractors")
    answers = {p.answer for p in pairs}
    seen: set[str] = set()
    for i, text in enumerate(raw):
        where = ptr(base, i)
        if not isinstance(text, str) or not text.strip():
            f.problems.append(Problem(where, "must be a non-empty string"))
        elif len(text) > MAX_CHOICE_TEXT:
            f.problems.append(Problem(where, f"must be at most {MAX_CHOICE_TEXT} characters"))
        elif text in answers:
            f.problems.append(Problem(where, "is the answer of a pair (a distractor is wrong)"))
        elif text in seen:
            f.problems.append(Problem(where, f"duplicate distractor {text!r}"))
        else:
            seen.add(text)
    return tuple(raw)


class Matching(AutoKind):
    name = "matching"
    keys = ("pairs", "distractors")

    def parse(self, f: Fields, path: str) -> dict[str, Any]:
        pairs = _parse_pairs(f, path)
        return {"pairs": pairs, "distractors": _parse_distractors(f, path, pairs)}

    def export(self, question: Question) -> dict[str, object]:
        out: dict[str, object] = {
            "pairs": [{"id": p.id, "text": p.text, "answer": p.answer} for p in question.pairs]
        }
        if question.distractors:
            out["distractors"] = list(question.distractors)
        return out

    def answer_problem(self, question: Question, answer: AnswerValue) -> str | None:
        if answer is None:
            return None
        if not isinstance(answer, dict):
            return "a matching answer must be an object {item id: option}"
        ids = {p.id for p in question.pairs}
        allowed = set(options(question))
        for key, value in answer.items():
            if key not in ids:
                return f"{key!r} is not an item of question {question.id!r}"
            if not isinstance(value, str) or value not in allowed:
                return f"the answer for {key!r} must be one of the question's options"
        return None

    def fraction(self, question: Question, answer: AnswerValue) -> float:
        assert isinstance(answer, dict)
        right = sum(1 for p in question.pairs if answer.get(p.id) == p.answer)
        return right / len(question.pairs) if question.pairs else 0.0

    def view(self, question: Question, seed: int) -> dict[str, object]:
        return {
            "items": [{"id": p.id, "text": p.text} for p in question.pairs],
            # Shuffled from a sorted list, never from the pairs' order: whoever
            # recovered the seed would otherwise undo the shuffle and read the key.
            "options": seeded_order(sorted(options(question)), seed, question.id),
        }

    def right_answer(self, question: Question) -> str:
        return "; ".join(f"{p.text}: {p.answer}" for p in question.pairs)

    def describe(self, question: Question, answer: AnswerValue) -> str:
        if not isinstance(answer, dict):
            return ""
        return "; ".join(f"{p.text}: {answer[p.id]}" for p in question.pairs if p.id in answer)

    def response_key(self, question: Question, answer: AnswerValue) -> list[str]:
        if not isinstance(answer, dict):
            return []
        return [f"{p.id}={answer[p.id]}" for p in question.pairs if p.id in answer]

    def known_responses(self, question: Question) -> list[ResponseOption]:
        return [
            ResponseOption(key=f"{p.id}={p.answer}", label=f"{p.text}: {p.answer}", correct=True)
            for p in question.pairs
        ]


SPEC = Matching()
