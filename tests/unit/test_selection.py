from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quizsession.domain.events import AnswerValue
from quizsession.domain.quiz import SELECTION_MODES, Question, Section, Selection
from quizsession.domain.selection import (
    STRATEGIES,
    AdaptiveSelection,
    adaptive_max_score,
    planned_ids,
    strategy_for,
)


def tf(qid: str, difficulty: int = 2, points: float = 1.0) -> Question:
    """A true/false question whose right answer is True."""
    return Question(
        id=qid, kind="true_false", text=qid, correct=True, difficulty=difficulty, points=points
    )


def make_section(
    n: int = 5,
    mode: str = "fixed",
    count: int | None = None,
    difficulties: Sequence[int] | None = None,
) -> Section:
    levels = list(difficulties) if difficulties is not None else [2] * n
    return Section(
        kind="test",
        questions=tuple(tf(f"q{i}", d) for i, d in enumerate(levels)),
        selection=Selection(mode=mode, count=count),  # type: ignore[arg-type]
    )


def run(
    section: Section, seed: int, respond: Sequence[AnswerValue] = (), limit: int = 10_000
) -> list[str]:
    """Deliver questions until the strategy says there are no more; answer the i-th
    delivered question with ``respond[i]`` (None when absent)."""
    strategy = strategy_for(section)
    plan = strategy.plan(section, seed)
    delivered: list[str] = []
    answers: dict[str, AnswerValue] = {}
    for _ in range(limit):
        nxt = strategy.next_question(section, plan, delivered, answers, seed)
        if nxt is None:
            return delivered
        assert nxt not in delivered
        answers[nxt] = respond[len(delivered)] if len(delivered) < len(respond) else None
        delivered.append(nxt)
    raise AssertionError("selection did not terminate")


def difficulty_of(section: Section, qid: str) -> int:
    question = section.question(qid)
    assert question is not None
    return question.difficulty


def test_every_mode_has_a_strategy() -> None:
    assert set(STRATEGIES) == set(SELECTION_MODES)
    assert isinstance(strategy_for(make_section(mode="adaptive", count=2)), AdaptiveSelection)


# ---------------------------------------------------------------- fixed, shuffled, pool


def test_fixed_is_definition_order() -> None:
    section = make_section(4)
    assert strategy_for(section).plan(section, 123) == ["q0", "q1", "q2", "q3"]
    assert run(section, 123) == ["q0", "q1", "q2", "q3"]


def test_shuffled_is_a_seeded_permutation() -> None:
    section = make_section(8, "shuffled")
    plan = strategy_for(section).plan(section, 7)
    assert sorted(plan) == sorted(q.id for q in section.questions)
    assert strategy_for(section).plan(section, 7) == plan
    orders = {tuple(strategy_for(section).plan(section, seed)) for seed in range(20)}
    assert len(orders) > 1
    assert run(section, 7) == plan


def test_pool_draws_count_questions() -> None:
    section = make_section(10, "pool", count=3)
    plan = strategy_for(section).plan(section, 99)
    assert len(plan) == len(set(plan)) == 3
    assert set(plan) <= {q.id for q in section.questions}
    assert run(section, 99) == plan
    draws = {tuple(strategy_for(section).plan(section, seed)) for seed in range(20)}
    assert len(draws) > 1


def test_next_question_skips_what_was_delivered_whatever_the_order() -> None:
    section = make_section(4)
    strategy = strategy_for(section)
    plan = ["q0", "q1", "q2", "q3"]
    assert strategy.next_question(section, plan, ["q1", "q0"], {}, 0) == "q2"
    assert strategy.next_question(section, plan, ["q3", "q2", "q0"], {}, 0) == "q1"
    assert strategy.next_question(section, plan, plan, {}, 0) is None


def test_planned_ids_is_the_plan_for_planned_modes() -> None:
    section = make_section(6, "pool", count=2)
    assert planned_ids(section, ["q4", "q1"], ["q4"]) == ["q4", "q1"]


# ---------------------------------------------------------------- adaptive


def test_adaptive_has_no_upfront_plan() -> None:
    section = make_section(mode="adaptive", count=3)
    assert strategy_for(section).plan(section, 1) == []


@pytest.mark.parametrize(
    ("levels", "first"),
    [([1, 2, 3, 4, 5], 3), ([5, 4, 3, 2, 1], 3), ([1, 2, 3, 4], 2), ([1, 1, 1, 9], 1), ([7], 7)],
)
def test_adaptive_starts_at_the_median_difficulty(levels: list[int], first: int) -> None:
    section = make_section(mode="adaptive", count=1, difficulties=levels)
    for seed in range(5):
        (qid,) = run(section, seed)
        assert difficulty_of(section, qid) == first


def test_adaptive_goes_up_when_right_and_down_when_wrong_or_unanswered() -> None:
    section = make_section(mode="adaptive", count=5, difficulties=[1, 2, 3, 3, 4, 5, 3, 2])
    asked = run(section, 0, respond=[True, True, False, None])
    # median 3 -> right: 4 -> right: 5 -> wrong: 4, but the only 4 is used, so the
    # nearest free is a 3 -> unanswered counts as wrong: 3
    assert [difficulty_of(section, qid) for qid in asked] == [3, 4, 5, 3, 3]


def test_adaptive_clamps_the_target_at_the_top() -> None:
    section = make_section(mode="adaptive", count=5, difficulties=[1, 2, 3, 3, 3, 3, 2, 2])
    asked = run(section, 0, respond=[True, True, True, False])
    # targets 2, 3, 3 (not 4), 3 (not 5), 2 (not 4): one wrong answer is enough to
    # come down from the top of the range
    assert [difficulty_of(section, qid) for qid in asked] == [2, 3, 3, 3, 2]


def test_adaptive_clamps_the_target_at_the_bottom() -> None:
    section = make_section(mode="adaptive", count=5, difficulties=[3, 2, 1, 1, 1, 1, 2, 2])
    asked = run(section, 0, respond=[False, None, False, True])
    assert [difficulty_of(section, qid) for qid in asked] == [1, 1, 1, 1, 2]


def test_adaptive_picks_the_nearest_available_difficulty() -> None:
    section = make_section(mode="adaptive", count=2, difficulties=[1, 1, 1, 10])
    asked = run(section, 5, respond=[True])
    assert [difficulty_of(section, q) for q in asked] == [1, 1]  # target 2: nearest is 1


def test_adaptive_ties_are_broken_by_the_seed_deterministically() -> None:
    section = make_section(12, mode="adaptive", count=1)
    firsts = {run(section, seed)[0] for seed in range(30)}
    assert len(firsts) > 1
    assert run(section, 17) == run(section, 17)


def test_adaptive_ignores_foreign_delivered_ids() -> None:
    section = make_section(3, mode="adaptive", count=2)
    strategy = strategy_for(section)
    nxt = strategy.next_question(section, [], ["zz", "q0"], {"q0": True}, 0)
    assert nxt in ("q1", "q2")
    assert strategy.next_question(section, [], ["q0", "q1"], {}, 0) is None


def test_adaptive_planned_ids_are_what_was_delivered() -> None:
    section = make_section(5, mode="adaptive", count=3)
    assert planned_ids(section, [], ["q3", "q1", "zz", "q3"]) == ["q3", "q1"]
    assert planned_ids(section, [], []) == []


def test_adaptive_max_score_takes_the_count_highest_points() -> None:
    questions = tuple(tf(f"q{i}", points=p) for i, p in enumerate([1, 5, 3, 2, 0.1, 0.2]))
    section = Section(
        kind="test", questions=questions, selection=Selection(mode="adaptive", count=2)
    )
    assert adaptive_max_score(section) == 8.0
    three = Section(
        kind="test", questions=questions[3:], selection=Selection(mode="adaptive", count=3)
    )
    assert adaptive_max_score(three) == 2.3


# ---------------------------------------------------------------- properties


@st.composite
def sections(draw: st.DrawFn) -> Section:
    n = draw(st.integers(1, 12))
    mode = draw(st.sampled_from(SELECTION_MODES))
    count = draw(st.integers(1, n)) if mode in ("pool", "adaptive") else None
    if mode in ("fixed", "shuffled") and draw(st.booleans()):
        count = n
    levels = draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    return make_section(n, mode, count, levels)


seeds = st.integers(min_value=-(2**63), max_value=2**64)
responses = st.lists(st.sampled_from([True, False, None]), max_size=12)


@given(sections(), seeds, responses)
@settings(deadline=None)
def test_selection_never_repeats_and_terminates(
    section: Section, seed: int, respond: list[AnswerValue]
) -> None:
    asked = run(section, seed, respond, limit=len(section.questions) + 1)
    ids = {q.id for q in section.questions}
    assert len(asked) == len(set(asked))
    assert set(asked) <= ids
    expected = section.selection.count or len(section.questions)
    assert len(asked) == expected
    if section.selection.mode != "adaptive":
        assert asked == strategy_for(section).plan(section, seed)
    assert planned_ids(section, strategy_for(section).plan(section, seed), asked) == asked


@given(sections(), seeds, responses)
@settings(deadline=None)
def test_selection_is_deterministic(
    section: Section, seed: int, respond: list[AnswerValue]
) -> None:
    assert run(section, seed, respond) == run(section, seed, respond)


@given(sections(), seeds)
@settings(deadline=None)
def test_plans_are_deterministic_permutations_or_subsets(section: Section, seed: int) -> None:
    strategy = strategy_for(section)
    plan = strategy.plan(section, seed)
    assert strategy.plan(section, seed) == plan
    ids = [q.id for q in section.questions]
    mode = section.selection.mode
    if mode == "fixed":
        assert plan == ids
    elif mode == "shuffled":
        assert sorted(plan) == sorted(ids)
    elif mode == "pool":
        assert len(plan) == len(set(plan)) == section.selection.count
        assert set(plan) <= set(ids)
    else:
        assert plan == []


@given(sections(), seeds, st.data())
@settings(deadline=None)
def test_resuming_from_any_delivered_prefix_never_repeats(
    section: Section, seed: int, data: st.DataObject
) -> None:
    strategy = strategy_for(section)
    plan = strategy.plan(section, seed)
    ids = [q.id for q in section.questions]
    delivered = data.draw(st.lists(st.sampled_from(ids), unique=True, max_size=len(ids)))
    answers = {qid: data.draw(st.sampled_from([True, False, None])) for qid in delivered}
    nxt = strategy.next_question(section, plan, delivered, answers, seed)
    assert nxt is None or (nxt in ids and nxt not in delivered)
