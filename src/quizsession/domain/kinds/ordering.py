"""``ordering``: put the ``items`` (listed in the right order) in order. The answer
lists every item id exactly once. The fraction of the points follows the
question's ``ordering_rule`` (the rules of Moodle's ordering question), for ``n``
items:

- ``all_or_nothing``: 1 for the right order, else 0;
- ``absolute_position``: items in their right position / n;
- ``relative_next``: items (not the last of the answer) followed by their right
  successor / (n - 1);
- ``longest_subset``: the length of the longest subsequence in the right relative
  order (not necessarily adjacent) / n, 0 when that length is 1;
- ``longest_contiguous``: the length of the longest run adjacent in the answer and
  consecutive in the right order / n, 0 when that length is 1.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any

from quizsession.domain.events import AnswerValue
from quizsession.domain.kinds.base import (
    MAX_CHOICE_TEXT,
    AutoKind,
    ResponseOption,
    count_between,
    id_records,
    seeded_order,
)
from quizsession.domain.quiz import OrderingRule, OrderItem, Question
from quizsession.domain.quiz_fields import Fields

MIN_ITEMS, MAX_ITEMS = 2, 50
_ITEM_KEYS = ("id", "text")


def _all_or_nothing(seq: Sequence[int]) -> float:
    return 1.0 if all(p == i for i, p in enumerate(seq)) else 0.0


def _absolute_position(seq: Sequence[int]) -> float:
    return sum(1 for i, p in enumerate(seq) if p == i) / len(seq)


def _relative_next(seq: Sequence[int]) -> float:
    followed = sum(1 for a, b in pairwise(seq) if b == a + 1)
    return followed / (len(seq) - 1)


def _longest_subset(seq: Sequence[int]) -> float:
    tails: list[int] = []  # patience sorting: the longest increasing subsequence
    for p in seq:
        at = bisect.bisect_left(tails, p)
        tails[at : at + 1] = [p]
    return len(tails) / len(seq) if len(tails) > 1 else 0.0


def _longest_contiguous(seq: Sequence[int]) -> float:
    best = run = 1
    for a, b in pairwise(seq):
        run = run + 1 if b == a + 1 else 1
        best = max(best, run)
    return best / len(seq) if best > 1 else 0.0


RULES: dict[OrderingRule, Callable[[Sequence[int]], float]] = {
    "all_or_nothing": _all_or_nothing,
    "absolute_position": _absolute_position,
    "relative_next": _relative_next,
    "longest_subset": _longest_subset,
    "longest_contiguous": _longest_contiguous,
}


def ordering_fraction(rule: OrderingRule, right: Sequence[str], given: Sequence[str]) -> float:
    """The share of the points ``given`` (a permutation of ``right``) earns."""
    position = {item: i for i, item in enumerate(right)}
    seq = [position[item] for item in given]
    return RULES[rule](seq) if len(seq) >= 2 else _all_or_nothing(seq)


def _parse_items(f: Fields, path: str) -> tuple[OrderItem, ...]:
    records = id_records(
        f, path, "items", _ITEM_KEYS, "item", count_between(MIN_ITEMS, MAX_ITEMS, "items")
    )
    items: list[OrderItem] = []
    for e, iid in records or ():
        text = e.text("text", MAX_CHOICE_TEXT, required=True)
        if iid and text:
            items.append(OrderItem(id=iid, text=text))
    return tuple(items)


class Ordering(AutoKind):
    name = "ordering"
    keys = ("items", "ordering_rule")

    def parse(self, f: Fields, path: str) -> dict[str, Any]:
        return {
            "items": _parse_items(f, path),
            "ordering_rule": f.literal("ordering_rule", tuple(RULES), "absolute_position"),
        }

    def export(self, question: Question) -> dict[str, object]:
        out: dict[str, object] = {"items": [{"id": i.id, "text": i.text} for i in question.items]}
        if question.ordering_rule != "absolute_position":
            out["ordering_rule"] = question.ordering_rule
        return out

    def answer_problem(self, question: Question, answer: AnswerValue) -> str | None:
        if answer is None:
            return None
        if not isinstance(answer, list) or not all(isinstance(a, str) for a in answer):
            return "an ordering answer must be a list of item ids (strings)"
        if sorted(answer) != sorted(i.id for i in question.items):
            return "an ordering answer must list every item id of the question exactly once"
        return None

    def fraction(self, question: Question, answer: AnswerValue) -> float:
        assert isinstance(answer, list)
        right = [i.id for i in question.items]
        return ordering_fraction(question.ordering_rule, right, answer)

    def view(self, question: Question, seed: int) -> dict[str, object]:
        # Shuffled from the items sorted by id, never from the right order:
        # whoever recovered the seed would otherwise undo the shuffle.
        items = seeded_order(sorted(question.items, key=lambda i: i.id), seed, question.id)
        if len(items) > 1 and list(items) == list(question.items):
            items = items[1:] + items[:1]  # never shown in the right order already
        return {"items": [{"id": i.id, "text": i.text} for i in items]}

    def right_answer(self, question: Question) -> str:
        return ", ".join(i.text for i in question.items)

    def describe(self, question: Question, answer: AnswerValue) -> str:
        if not isinstance(answer, list):
            return ""
        texts = {i.id: i.text for i in question.items}
        return ", ".join(texts.get(a, a) for a in answer if isinstance(a, str))

    def response_key(self, question: Question, answer: AnswerValue) -> list[str]:
        if not isinstance(answer, list) or not answer:
            return []
        return [",".join(a for a in answer if isinstance(a, str))]

    def known_responses(self, question: Question) -> list[ResponseOption]:
        key = ",".join(i.id for i in question.items)
        return [ResponseOption(key=key, label=self.right_answer(question), correct=True)]


SPEC = Ordering()
