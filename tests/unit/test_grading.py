"""Grading by hand and regrading, in the domain (explicit times, no clock).

Every refusal has its stable code and changes nothing; a grade replaces the one
before; an attempt is pending until every answered essay is graded (a blank
one needs no grader); a regrade records only changed scores, keeps the grades
and is recomputed by the fold. Also the outbound mapping of grades and regrades
and the index row of a pending attempt."""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

import pytest

from quizsession.app.attempts import GRADING_PENDING, index_row
from quizsession.app.delivery.events import outbound_events
from quizsession.app.ports import BacklogEntry, RecordedEvent
from quizsession.app.views import result_view
from quizsession.domain.attempt import AttemptState, decide, fold, score
from quizsession.domain.commands import AttemptCommand, GradeAnswer, Regrade, Submit
from quizsession.domain.errors import DomainError, ErrorCode
from quizsession.domain.events import (
    AnswerGraded,
    AnswerSaved,
    AnswerValue,
    AttemptCreated,
    AttemptEvent,
    QuestionDelivered,
    Regraded,
    SectionStarted,
    Submitted,
    Voided,
    decode_event,
    encode_event,
)
from quizsession.domain.grading import MAX_GRADE_COMMENT, scoring_version
from quizsession.domain.quiz import Quiz
from quizsession.domain.quiz_validation import parse_quiz

T0 = 1_800_000_000.0
BY = "admin:grader"


def definition(version: int = 1, *, right: str = "b", essay2: bool = True) -> dict[str, Any]:
    questions: list[dict[str, Any]] = [
        {
            "id": "e1",
            "kind": "essay",
            "text": "Explain.",
            "points": 5,
            "word_limit": 50,
            "grader_info": "Look for X.",
        },
        {
            "id": "s1",
            "kind": "single",
            "text": "Pick one.",
            "choices": [
                {"id": "a", "text": "A", "correct": right == "a"},
                {"id": "b", "text": "B", "correct": right == "b"},
                {"id": "c", "text": "C"},
            ],
        },
    ]
    if essay2:
        questions.append({"id": "e2", "kind": "essay", "text": "Describe.", "points": 3})
    questions.append(
        {
            "id": "x9",
            "kind": "single",
            "text": "Not planned.",
            "choices": [{"id": "a", "text": "A", "correct": True}, {"id": "b", "text": "B"}],
        }
    )
    return {
        "id": "g",
        "title": "Grading",
        "duration_s": 600,
        "version": version,
        "test": {"questions": questions},
    }


def quiz(version: int = 1, **kw: Any) -> Quiz:
    parsed = parse_quiz(definition(version, **kw))
    return parsed if parsed.version == version else _with_version(parsed, version)


def _with_version(q: Quiz, version: int) -> Quiz:
    import msgspec

    return msgspec.structs.replace(q, version=version)


V1 = quiz(1)
PLAN = ["e1", "s1", "e2"]


def running(answers: dict[str, AnswerValue], plan: Sequence[str] = PLAN) -> list[AttemptEvent]:
    events: list[AttemptEvent] = [
        AttemptCreated(at=T0, attempt_id="a1", quiz_id="g", quiz_version=1, candidate_id="c1"),
        SectionStarted(at=T0 + 1, section="test", seed=1, plan=list(plan)),
    ]
    for n, qid in enumerate(plan):
        events.append(QuestionDelivered(at=T0 + 2 + n, section="test", question_id=qid))
        if qid in answers:
            events.append(
                AnswerSaved(
                    at=T0 + 2.5 + n,
                    section="test",
                    question_id=qid,
                    answer=answers[qid],
                    op_id=f"op-{qid}",
                    session_id="s",
                )
            )
    return events


def submitted(answers: dict[str, AnswerValue], quiz_: Quiz = V1) -> list[AttemptEvent]:
    events = running(answers)
    events += decide(fold(events), quiz_, Submit(reason="admin", by=BY), T0 + 100)
    return events


class Harness:
    """Decides on the fold of ``events``; checks decide leaves the state alone and
    that a refusal changes nothing."""

    def __init__(self, events: list[AttemptEvent]) -> None:
        self.events = list(events)

    @property
    def state(self) -> AttemptState:
        return fold(self.events)

    def run(
        self, command: AttemptCommand, q: Quiz = V1, at: float = T0 + 200
    ) -> list[AttemptEvent]:
        state = self.state
        before = copy.deepcopy(state)
        new = decide(state, q, command, at)
        assert state == before
        for event in new:
            assert decode_event(encode_event(event)) == event
        self.events += new
        return new

    def refused(self, command: AttemptCommand, code: ErrorCode, q: Quiz = V1) -> DomainError:
        count = len(self.events)
        with pytest.raises(DomainError) as info:
            self.run(command, q)
        assert info.value.code == code, info.value.detail
        assert len(self.events) == count
        return info.value


def grade(qid: str, points: float, comment: str = "", by: str = BY) -> GradeAnswer:
    return GradeAnswer(question_id=qid, points=points, comment=comment, by=by)


ANSWERS: dict[str, AnswerValue] = {"e1": "Some words here.", "s1": "b", "e2": "More\nwords."}


# ------------------------------------------------------------------------------ refusals


def test_no_grade_before_the_test_is_submitted() -> None:
    h = Harness(running(ANSWERS))
    h.refused(grade("e1", 3), ErrorCode.ATTEMPT_NOT_FINISHED)
    h.refused(Regrade(quiz_version=2, by=BY, quiz=quiz(2)), ErrorCode.ATTEMPT_NOT_FINISHED)


def test_no_grade_for_an_unknown_attempt() -> None:
    Harness([]).refused(grade("e1", 3), ErrorCode.NOT_FOUND)


def test_no_grade_for_a_voided_attempt() -> None:
    h = Harness([*submitted(ANSWERS), Voided(at=T0 + 150, by=BY)])
    h.refused(grade("e1", 3), ErrorCode.ATTEMPT_VOIDED)


def test_no_grade_for_a_question_not_in_the_attempt() -> None:
    h = Harness(submitted(ANSWERS))
    err = h.refused(grade("nope", 1), ErrorCode.QUESTION_UNKNOWN)
    assert err.extra["question_id"] == "nope"
    h.refused(grade("x9", 1), ErrorCode.QUESTION_UNKNOWN)  # in the quiz, not planned


def test_no_grade_for_a_question_scored_automatically() -> None:
    Harness(submitted(ANSWERS)).refused(grade("s1", 1), ErrorCode.NOT_MANUALLY_GRADED)


@pytest.mark.parametrize("points", [-0.5, 5.01, math.nan, math.inf, -math.inf])
def test_no_grade_outside_the_question_points(points: float) -> None:
    err = Harness(submitted(ANSWERS)).refused(grade("e1", points), ErrorCode.GRADE_OUT_OF_RANGE)
    assert (err.extra["min_points"], err.extra["max_points"]) == (0.0, 5.0)


def test_no_comment_longer_than_the_limit() -> None:
    h = Harness(submitted(ANSWERS))
    h.refused(grade("e1", 1, "x" * (MAX_GRADE_COMMENT + 1)), ErrorCode.VALIDATION)
    assert h.run(grade("e1", 1, "x" * MAX_GRADE_COMMENT))


# --------------------------------------------------------------------------------- grades


def test_the_submit_scores_the_automatic_part_and_says_pending() -> None:
    events = submitted(ANSWERS)
    sub = events[-1]
    assert isinstance(sub, Submitted)
    assert (sub.score, sub.max_score, sub.pending) == (1.0, 9.0, 2)
    state = fold(events)
    assert score(state, V1).pending == ("e1", "e2")
    result = result_view(state, V1)
    assert result is not None
    assert (result.pending, result.pending_questions, result.score) == (True, 2, 1.0)


def test_pending_until_every_answered_essay_is_graded() -> None:
    h = Harness(submitted(ANSWERS))
    (first,) = h.run(grade("e1", 4, "Good."))
    assert isinstance(first, AnswerGraded)
    assert (first.score, first.max_score, first.pending) == (5.0, 9.0, 1)
    result = result_view(h.state, V1)
    assert result is not None
    assert (result.pending, result.pending_questions) == (True, 1)
    (last,) = h.run(grade("e2", 2.5))
    assert isinstance(last, AnswerGraded)
    assert (last.score, last.pending) == (7.5, 0)
    result = result_view(h.state, V1)
    assert result is not None
    assert (result.pending, result.pending_questions, result.score) == (False, 0, 7.5)
    assert h.state.grades == {"e1": (4.0, "Good.", BY), "e2": (2.5, "", BY)}


def test_grading_again_replaces_the_grade() -> None:
    h = Harness(submitted(ANSWERS))
    h.run(grade("e1", 4, "Good."))
    (again,) = h.run(grade("e1", 1, "On second thought.", by="admin:other"))
    assert isinstance(again, AnswerGraded)
    assert h.state.grades["e1"] == (1.0, "On second thought.", "admin:other")
    assert score(h.state, V1).per_question["e1"] == 1.0
    assert len([e for e in h.events if isinstance(e, AnswerGraded)]) == 2


def test_the_same_grade_again_changes_nothing() -> None:
    h = Harness(submitted(ANSWERS))
    assert h.run(grade("e1", 4, "Good."))
    assert h.run(grade("e1", 4, "Good.")) == []


def test_a_blank_essay_is_not_pending() -> None:
    events = submitted({"e1": "   \n ", "s1": "b"})
    state = fold(events)
    sheet = score(state, V1)
    assert sheet.pending == ()
    assert sheet.per_question["e1"] == 0.0
    assert sheet.per_question["e2"] == 0.0
    sub = events[-1]
    assert isinstance(sub, Submitted)
    assert sub.pending == 0
    result = result_view(state, V1)
    assert result is not None
    assert not result.pending


# ------------------------------------------------------------------------------- regrade


def test_regrade_records_only_the_changed_scores_and_keeps_grades() -> None:
    v2 = quiz(2, right="a")  # the key said b; a was right
    h = Harness(submitted({**ANSWERS, "s1": "a"}))
    h.run(grade("e1", 4))
    (event,) = h.run(Regrade(quiz_version=2, by=BY, quiz=v2))
    assert isinstance(event, Regraded)
    assert event.changes == {"s1": [0.0, 1.0]}
    assert (event.old_score, event.new_score, event.max_score, event.pending) == (4.0, 5.0, 9.0, 1)
    state = h.state
    assert state.regraded_version == 2
    assert scoring_version(state) == 2
    assert state.grades["e1"][0] == 4.0
    assert score(state, v2).score == 5.0
    # Once on version 2, regrading with it again changes nothing.
    assert h.run(Regrade(quiz_version=2, by=BY, quiz=v2), q=v2) == []


def test_regrade_without_a_changed_score_records_nothing() -> None:
    v2 = quiz(2, right="a")
    h = Harness(submitted({**ANSWERS, "s1": "c"}))  # wrong with either key
    assert h.run(Regrade(quiz_version=2, by=BY, quiz=v2)) == []
    assert h.state.regraded_version is None


def test_regrade_refused_when_a_planned_question_is_gone() -> None:
    v2 = quiz(2, essay2=False)
    h = Harness(submitted(ANSWERS))
    err = h.refused(Regrade(quiz_version=2, by=BY, quiz=v2), ErrorCode.REGRADE_INCOMPATIBLE)
    assert err.extra["missing"] == ["e2"]


def _s1_choices(q: Quiz, choices: list[dict[str, Any]]) -> Quiz:
    d = definition(q.version)
    for question in d["test"]["questions"]:
        if question["id"] == "s1":
            question["choices"] = choices
    return quiz_from(d, q.version)


def quiz_from(d: dict[str, Any], version: int) -> Quiz:
    parsed = parse_quiz(d)
    return parsed if parsed.version == version else _with_version(parsed, version)


def test_regrade_refused_when_the_ids_answers_name_now_mean_other_choices() -> None:
    """A new version numbering the same choices differently (a re-import that
    gives letters in another order): an answer stored as "a" would be scored as
    another choice. Refused, naming what moved; the answers stay as they were."""
    v2 = _s1_choices(
        quiz(2),
        [
            {"id": "a", "text": "B", "correct": True},
            {"id": "b", "text": "A"},
            {"id": "c", "text": "C"},
        ],
    )
    h = Harness(submitted({**ANSWERS, "s1": "b"}))
    err = h.refused(Regrade(quiz_version=2, by=BY, quiz=v2), ErrorCode.REGRADE_INCOMPATIBLE)
    assert err.extra["renamed"] == [
        "s1: choice a is 'B', was 'A'",
        "s1: choice b is 'A', was 'B'",
    ]
    assert h.state.regraded_version is None


def test_regrade_accepts_a_choice_text_edited_in_place() -> None:
    """A typo fixed in a choice's text is no rename: the regrade goes on."""
    v2 = _s1_choices(
        quiz(2),
        [
            {"id": "a", "text": "A (fixed)", "correct": True},
            {"id": "b", "text": "B"},
            {"id": "c", "text": "C"},
        ],
    )
    h = Harness(submitted({**ANSWERS, "s1": "a"}))
    (event,) = h.run(Regrade(quiz_version=2, by=BY, quiz=v2))
    assert isinstance(event, Regraded)
    assert event.changes == {"s1": [0.0, 1.0]}


def test_regrade_refused_for_another_quiz_or_version() -> None:
    h = Harness(submitted(ANSWERS))
    h.refused(Regrade(quiz_version=3, by=BY, quiz=quiz(2)), ErrorCode.NOT_ALLOWED)


def test_the_fold_recomputes_grades_and_regrades() -> None:
    v2 = quiz(2, right="a")
    h = Harness(submitted({**ANSWERS, "s1": "a"}))
    h.run(grade("e1", 4))
    h.run(grade("e2", 3))
    h.run(Regrade(quiz_version=2, by=BY, quiz=v2))
    h.run(grade("e2", 1), q=v2)
    replayed = fold(decode_event(encode_event(e)) for e in h.events)
    assert replayed == h.state
    assert score(replayed, v2).score == 6.0
    assert replayed.grades["e2"] == (1.0, "", BY)


# ------------------------------------------------------------------- outbound and index


def _outbound(events: Sequence[AttemptEvent]) -> list[tuple[str, dict[str, object]]]:
    entry = BacklogEntry(
        attempt_id="a1", quiz_id="g", candidate_id="c1", cursor=0, latest=len(events)
    )
    found: list[tuple[str, dict[str, object]]] = []
    for seq, event in enumerate(events, 1):
        record = RecordedEvent(attempt_id="a1", seq=seq, event=event)
        found += [(o.type, o.data) for o in outbound_events(entry, record)]
    return found


def test_outbound_pending_then_graded_then_regraded() -> None:
    v2 = quiz(2, right="a")
    h = Harness(submitted({**ANSWERS, "s1": "a"}))
    start = len(h.events)
    scored = dict(_outbound(h.events))["attempt.scored"]
    assert scored["score"] == {"points": 0.0, "max": 9.0, "pending": True}
    h.run(grade("e1", 4))
    assert _outbound(h.events[start:]) == []  # one answer still waits
    h.run(grade("e2", 3))
    graded = _outbound(h.events[start:])
    assert [t for t, _ in graded] == ["attempt.graded", "attempt.scored"]
    assert graded[0][1] == {"score": {"points": 7.0, "max": 9.0}, "by": "admin"}
    assert graded[1][1] == {"score": {"points": 7.0, "max": 9.0}, "cause": "grading"}
    mark = len(h.events)
    h.run(Regrade(quiz_version=2, by=BY, quiz=v2))
    regraded = _outbound(h.events[mark:])
    assert [t for t, _ in regraded] == ["attempt.regraded", "attempt.scored"]
    assert regraded[0][1]["questions_changed"] == ["s1"]
    assert regraded[1][1] == {"score": {"points": 8.0, "max": 9.0}, "cause": "regrade"}


def test_the_index_row_says_grading_pending() -> None:
    h = Harness(submitted(ANSWERS))
    assert index_row(h.state, V1, T0).state == GRADING_PENDING
    h.run(grade("e1", 1))
    h.run(grade("e2", 1))
    row = index_row(h.state, V1, T0)
    assert (row.status, row.state) == ("submitted", "test_finished")
