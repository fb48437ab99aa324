"""Properties of every question kind (Hypothesis): a score stays within
[-penalty, points]; a blank never scores below 0; the fold of an attempt's events
recomputes every score; the candidate's view never holds the key; a quiz of any
kinds exports and reads back to itself."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from quizsession.domain.attempt_state import fold, score
from quizsession.domain.events import (
    AnswerSaved,
    AnswerValue,
    AttemptCreated,
    AttemptEvent,
    QuestionDelivered,
    SectionStarted,
)
from quizsession.domain.kinds import kind_of
from quizsession.domain.quiz import Question, Quiz
from quizsession.domain.quiz_export import quiz_to_mapping
from quizsession.domain.quiz_validation import parse_quiz
from quizsession.domain.scoring import answer_problem, score_answer, score_section
from quizsession.domain.selection import needs_answer

Raw = dict[str, Any]
ids = st.text("abcdefgh", min_size=1, max_size=4)
texts = st.text("abc xyz", min_size=1, max_size=8).filter(str.strip)
points = st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0, 7.5])
penalties = st.sampled_from([0.0, 0.25, 1.0, 2.0])
finite = st.floats(-1e6, 1e6, allow_nan=False)


@st.composite
def choices(draw: st.DrawFn, *, exactly_one: bool) -> list[Raw]:
    names = draw(st.lists(ids, min_size=2, max_size=5, unique=True))
    if exactly_one:
        right = {draw(st.sampled_from(names))}
    else:
        right = set(draw(st.lists(st.sampled_from(names), min_size=1, unique=True)))
    return [{"id": n, "text": n.upper(), "correct": n in right} for n in names]


@st.composite
def gap(draw: st.DrawFn, gid: str) -> Raw:
    kind = draw(st.sampled_from(["choice", "short_text", "numeric"]))
    out: Raw = {"id": gid, "kind": kind, "weight": draw(st.sampled_from([0.5, 1.0, 2.0, 3.0]))}
    if kind == "choice":
        out["choices"] = draw(choices(exactly_one=False))
    elif kind == "short_text":
        out["accepted"] = draw(st.lists(texts, min_size=1, max_size=3))
    else:
        out["value"] = draw(finite)
        out["tolerance"] = draw(st.sampled_from([0.0, 0.5]))
    return out


@st.composite
def question(draw: st.DrawFn, qid: str) -> Raw:
    kind = draw(
        st.sampled_from(
            ["single", "multiple", "true_false", "short_text", "numeric",
             "essay", "matching", "ordering", "cloze", "description"]
        )
    )  # fmt: skip
    raw: Raw = {"id": qid, "kind": kind, "text": "Question"}
    if kind != "description":
        raw["points"] = draw(points)
    if kind not in ("essay", "description"):
        raw["penalty"] = draw(penalties)
    if kind in ("single", "multiple"):
        raw["choices"] = draw(choices(exactly_one=kind == "single"))
        if kind == "multiple":
            raw["partial"] = draw(st.sampled_from(["per_option", "all_or_nothing"]))
    elif kind == "true_false":
        raw["correct"] = draw(st.booleans())
    elif kind == "short_text":
        raw["accepted"] = draw(st.lists(texts, min_size=1, max_size=3))
    elif kind == "numeric":
        raw["value"] = draw(finite)
    elif kind == "essay":
        raw["word_limit"] = draw(st.none() | st.integers(1, 500))
        raw["response_template"] = draw(st.sampled_from(["", "Dear..."]))
    elif kind == "matching":
        names = draw(st.lists(ids, min_size=2, max_size=5, unique=True))
        targets = draw(st.lists(texts, min_size=len(names), max_size=len(names)))
        raw["pairs"] = [
            {"id": n, "text": n, "answer": t} for n, t in zip(names, targets, strict=True)
        ]
        extra = draw(st.lists(st.sampled_from(["Q1", "Q2", "Q3"]), unique=True, max_size=2))
        raw["distractors"] = [d for d in extra if d not in targets]
    elif kind == "ordering":
        names = draw(st.lists(ids, min_size=2, max_size=7, unique=True))
        raw["items"] = [{"id": n, "text": n.upper()} for n in names]
        raw["ordering_rule"] = draw(
            st.sampled_from(
                ["all_or_nothing", "absolute_position", "relative_next",
                 "longest_subset", "longest_contiguous"]
            )
        )  # fmt: skip
    elif kind == "cloze":
        names = draw(st.lists(ids, min_size=1, max_size=4, unique=True))
        raw["gaps"] = [draw(gap(n)) for n in names]
        raw["text"] = " ".join(f"Fill {{{{{n}}}}}." for n in names)
    return raw


@st.composite
def quizzes(draw: st.DrawFn) -> Quiz:
    n = draw(st.integers(1, 6))
    questions = [draw(question(f"q{i}")) for i in range(n)]
    questions.append({"id": "anchor", "kind": "true_false", "text": "?", "correct": True})
    raw = {
        "id": "p",
        "title": "Properties",
        "duration_s": 60,
        "navigation": draw(st.sampled_from(["sequential", "free"])),
        "test": {"questions": questions},
    }
    return parse_quiz(raw)


@st.composite
def answer_for(draw: st.DrawFn, q: Question) -> AnswerValue:
    """A well-formed answer for ``q`` most of the time, sometimes anything."""
    if draw(st.integers(0, 9)) == 0:
        return draw(
            st.none()
            | st.booleans()
            | finite
            | texts
            | st.lists(ids, max_size=3)
            | st.dictionaries(ids, texts | finite, max_size=3)
        )
    match q.kind:
        case "single":
            return draw(st.sampled_from([c.id for c in q.choices]) | st.just(""))
        case "multiple":
            return draw(st.lists(st.sampled_from([c.id for c in q.choices]), unique=True))
        case "true_false":
            return draw(st.booleans())
        case "short_text" | "essay":
            return draw(st.sampled_from([*q.accepted, "", "  ", "other"]))
        case "numeric":
            value = q.value or 0.0
            return draw(st.sampled_from([value, value + 0.25, value + 10.0]))
        case "matching":
            options = list(dict.fromkeys([p.answer for p in q.pairs] + list(q.distractors)))
            keys = st.sampled_from([p.id for p in q.pairs])
            chosen: dict[str, str | float] = dict(
                draw(st.dictionaries(keys, st.sampled_from(options)))
            )
            return chosen
        case "ordering":
            return draw(st.permutations([i.id for i in q.items]))
        case "cloze":
            out: dict[str, str | float] = {}
            for g in q.gaps:
                if draw(st.booleans()):
                    if g.kind == "choice":
                        out[g.id] = draw(st.sampled_from([c.id for c in g.choices]))
                    elif g.kind == "short_text":
                        out[g.id] = draw(st.sampled_from([*g.accepted, "", "nope"]))
                    else:
                        out[g.id] = draw(st.sampled_from([g.value or 0.0, 1e7]))
            return out
        case _:
            return None


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_a_score_stays_within_minus_penalty_and_points(data: st.DataObject) -> None:
    quiz = data.draw(quizzes())
    for q in quiz.test.questions:
        answer = data.draw(answer_for(q))
        earned = score_answer(q, answer)
        assert -q.penalty <= earned <= q.points
        if kind_of(q).is_blank(answer) or answer_problem(q, answer) is not None:
            assert earned == 0.0
        if earned == q.points and q.points > 0 and kind_of(q).grading == "auto":
            assert kind_of(q).score(q, answer) == q.points


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_a_blank_never_scores_below_0(data: st.DataObject) -> None:
    quiz = data.draw(quizzes())
    for q in quiz.test.questions:
        blanks: list[AnswerValue] = [None, "", "   ", [], {}]
        for blank in blanks:
            assert score_answer(q, blank) >= 0.0


@settings(max_examples=200, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**31))
def test_the_view_never_holds_the_key(data: st.DataObject, seed: int) -> None:
    quiz = data.draw(quizzes())
    for q in quiz.test.questions:
        shown = repr(kind_of(q).view(q, seed))
        for name in ("correct", "answer", "accepted", "value"):
            assert f"'{name}'" not in shown


@settings(max_examples=200, deadline=None)
@given(quiz=quizzes())
def test_every_kind_round_trips_through_the_export(quiz: Quiz) -> None:
    assert parse_quiz(quiz_to_mapping(quiz)) == quiz


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_the_fold_of_the_events_recomputes_every_score(data: st.DataObject) -> None:
    quiz = data.draw(quizzes())
    plan = [q.id for q in quiz.test.questions]
    events: list[AttemptEvent] = [
        AttemptCreated(at=1.0, attempt_id="a", quiz_id="p", quiz_version=1, candidate_id="c"),
        SectionStarted(at=2.0, section="test", seed=7, plan=plan),
    ]
    given_answers: dict[str, AnswerValue] = {}
    for i, q in enumerate(quiz.test.questions):
        events.append(
            QuestionDelivered(
                at=3.0 + i,
                section="test",
                question_id=q.id,
                needs_answer=needs_answer(quiz.test, q.id),
            )
        )
        answer = data.draw(answer_for(q))
        if kind_of(q).grading != "none" and answer_problem(q, answer) is None:
            given_answers[q.id] = answer
            events.append(
                AnswerSaved(
                    at=3.5 + i,
                    section="test",
                    question_id=q.id,
                    answer=answer,
                    op_id=f"op{i}",
                    session_id="s",
                )
            )
    state = fold(events)
    assert state.test is not None
    assert state.test.current_question() is None or state.test.current_question() in plan
    sheet = score(state, quiz)
    direct = score_section(quiz.test, plan, given_answers)
    assert sheet == direct
    for q in quiz.test.questions:
        if kind_of(q).grading == "auto":
            assert sheet.per_question[q.id] == score_answer(q, given_answers.get(q.id))
        elif kind_of(q).grading == "none":
            assert q.id not in sheet.per_question
            assert q.id in state.test.info
