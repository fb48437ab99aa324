"""Free and sequential navigation, flags and the section's map (domain only,
explicit times). The harness (``Run``) checks on every call that ``decide`` did
not touch the state, that the state is the fold of the events, and for a refusal
its exact code and that nothing changed."""

from __future__ import annotations

from typing import Any

import msgspec

from quizsession.domain.attempt import deadline
from quizsession.domain.commands import (
    DeliverNext,
    FlagQuestion,
    OpenQuestion,
    SessionRef,
    Submit,
    Void,
)
from quizsession.domain.errors import ErrorCode
from quizsession.domain.events import AnswerValue, QuestionDelivered, QuestionFlagged
from quizsession.domain.navigation import is_blank, question_number, section_map
from quizsession.domain.quiz import Question, Quiz
from quizsession.domain.quiz_validation import parse_quiz
from tests.unit.test_attempt import T0, Run
from testsupport.sample_kinds import sample_quiz

IDS = ["q1", "q2", "q3", "q4"]


def _raw(selection: dict[str, Any] | None = None) -> dict[str, Any]:
    test: dict[str, Any] = {
        "questions": [
            {
                "id": "q1",
                "kind": "single",
                "text": "One?",
                "choices": [{"id": "a", "text": "A", "correct": True}, {"id": "b", "text": "B"}],
            },
            {"id": "q2", "kind": "short_text", "text": "Two?", "accepted": ["two"]},
            {"id": "q3", "kind": "short_text", "text": "Three?", "accepted": ["three"]},
            {"id": "q4", "kind": "true_false", "text": "Four?", "correct": True},
        ]
    }
    if selection is not None:
        test["selection"] = selection
    return {
        "id": "nav",
        "title": "Navigation",
        "duration_s": 600,
        "practice": {
            "questions": [{"id": "p1", "kind": "true_false", "text": "Warm up?", "correct": True}]
        },
        "test": test,
    }


SEQUENTIAL: Quiz = parse_quiz(_raw())
FREE: Quiz = msgspec.structs.replace(SEQUENTIAL, navigation="free")
GRACE = SEQUENTIAL.policies.grace_s
END = T0 + SEQUENTIAL.duration_s


def in_test(quiz: Quiz = FREE) -> tuple[Run, SessionRef]:
    run = Run(quiz)
    ref = run.open("s1", T0)
    run.start(ref, "test", T0)
    return run, ref


def opened(run: Run, ref: SessionRef, qid: str, now: float) -> None:
    events = run.do(OpenQuestion(session=ref, question_id=qid), now)
    assert events == [QuestionDelivered(at=now, section="test", question_id=qid)]


def flag(ref: SessionRef, qid: str, flagged: bool = True, op: str = "f1") -> FlagQuestion:
    return FlagQuestion(session=ref, question_id=qid, flagged=flagged, op_id=op)


# ------------------------------------------------------------------- opening


def test_free_opens_any_planned_question_and_delivers_it_once() -> None:
    run, s1 = in_test()
    opened(run, s1, "q3", T0 + 1)
    run.noop(OpenQuestion(session=s1, question_id="q3"), T0 + 2)  # shown again: no event
    opened(run, s1, "q1", T0 + 3)
    assert run.state.test is not None
    assert run.state.test.delivered == ["q3", "q1"]
    # Saves go to any delivered question, in any order.
    run.save(s1, "q3", "three", T0 + 4)
    run.save(s1, "q1", "a", T0 + 5)
    run.refuse(run.save_cmd(s1, "q2", "two"), T0 + 6, ErrorCode.QUESTION_NOT_DELIVERED)


def test_free_numbers_follow_the_plan_not_the_opening_order() -> None:
    run, s1 = in_test()
    opened(run, s1, "q3", T0 + 1)
    progress = run.state.test
    assert progress is not None
    assert [question_number(FREE.test, progress, q) for q in IDS] == [1, 2, 3, 4]


def test_deliver_next_in_free_mode_delivers_the_next_question_of_the_plan() -> None:
    """Old clients (GET /question, answer, again) still work in free mode."""
    run, s1 = in_test()
    opened(run, s1, "q2", T0 + 1)
    run.save(s1, "q2", "two", T0 + 2)
    assert run.deliver(s1, T0 + 3) == "q1"
    run.noop(DeliverNext(session=s1), T0 + 4)  # q1 unanswered: shown again
    run.save(s1, "q1", "a", T0 + 5)
    assert run.deliver(s1, T0 + 6) == "q3"  # q2 was delivered already: skipped


def test_sequential_opens_only_delivered_questions() -> None:
    run, s1 = in_test(SEQUENTIAL)
    q1 = run.deliver(s1, T0 + 1)
    run.noop(OpenQuestion(session=s1, question_id=q1), T0 + 2)
    run.refuse(OpenQuestion(session=s1, question_id="q2"), T0 + 2, ErrorCode.QUESTION_NOT_DELIVERED)


def test_an_unknown_question_or_one_outside_the_plan_is_unknown() -> None:
    run, s1 = in_test()
    for qid in ("nope", "p1"):  # p1: a practice question, unknown in the test
        run.refuse(OpenQuestion(session=s1, question_id=qid), T0 + 1, ErrorCode.QUESTION_UNKNOWN)
    pool = msgspec.structs.replace(
        parse_quiz(_raw({"mode": "pool", "count": 2})), navigation="free"
    )
    for quiz, code in (
        (pool, ErrorCode.QUESTION_UNKNOWN),
        # Sequential: what lies ahead stays unknown, whether in the plan or not.
        (msgspec.structs.replace(pool, navigation="sequential"), ErrorCode.QUESTION_NOT_DELIVERED),
    ):
        run, s1 = in_test(quiz)
        assert run.state.test is not None
        outside = next(q for q in IDS if q not in run.state.test.plan)
        inside = next(q for q in run.state.test.plan if q not in run.state.test.delivered_set)
        run.refuse(OpenQuestion(session=s1, question_id=outside), T0 + 1, code)
        run.refuse(OpenQuestion(session=s1, question_id="nope"), T0 + 1, code)
        if quiz.navigation == "sequential":
            run.refuse(OpenQuestion(session=s1, question_id=inside), T0 + 1, code)


def test_open_needs_a_running_section_and_the_live_session() -> None:
    run = Run(FREE)
    s1 = run.open("s1", T0)
    run.refuse(OpenQuestion(session=s1, question_id="q1"), T0, ErrorCode.SECTION_NOT_STARTED)
    run.start(s1, "test", T0)
    s2 = run.open("s2", T0 + 1, takeover=True)
    run.refuse(OpenQuestion(session=s1, question_id="q1"), T0 + 2, ErrorCode.SESSION_SUPERSEDED)
    opened(run, s2, "q1", T0 + 3)


def test_open_in_free_mode_keeps_to_the_deadline_and_grace() -> None:
    run, s1 = in_test()
    opened(run, s1, "q1", END + GRACE)  # at deadline + grace it still counts
    err = run.refuse(
        OpenQuestion(session=s1, question_id="q2"), END + GRACE + 0.001, ErrorCode.DEADLINE_PASSED
    )
    assert err.extra["deadline"] == deadline(run.state, FREE)
    # A question already delivered is only shown again: no write, no refusal.
    run.noop(OpenQuestion(session=s1, question_id="q1"), END + GRACE + 0.001)


def test_open_after_submit_or_void_is_refused() -> None:
    run, s1 = in_test()
    opened(run, s1, "q1", T0 + 1)
    run.do(Submit(reason="candidate", session=s1), T0 + 2)
    run.refuse(OpenQuestion(session=s1, question_id="q2"), T0 + 3, ErrorCode.ATTEMPT_CLOSED)
    run, s1 = in_test()
    run.do(Void(by="admin:ops"), T0 + 2)
    run.refuse(OpenQuestion(session=s1, question_id="q2"), T0 + 3, ErrorCode.ATTEMPT_VOIDED)


def test_the_practice_round_navigates_freely_too() -> None:
    run = Run(FREE)
    s1 = run.open("s1", T0)
    run.start(s1, "practice", T0)
    events = run.do(OpenQuestion(session=s1, question_id="p1"), T0 + 1)
    assert events == [QuestionDelivered(at=T0 + 1, section="practice", question_id="p1")]
    run.refuse(OpenQuestion(session=s1, question_id="q1"), T0 + 2, ErrorCode.QUESTION_UNKNOWN)


# --------------------------------------------------------------------- flags


def test_a_flag_is_set_and_taken_off() -> None:
    run, s1 = in_test()
    opened(run, s1, "q2", T0 + 1)
    events = run.do(flag(s1, "q2"), T0 + 2)
    assert events == [QuestionFlagged(at=T0 + 2, question_id="q2", flagged=True, op_id="f1")]
    assert run.state.test is not None
    assert run.state.test.flagged == {"q2"}
    run.do(flag(s1, "q2", False, "f2"), T0 + 3)
    assert run.state.test.flagged == set()


def test_a_flag_retry_is_a_replay_and_a_reused_op_id_a_conflict() -> None:
    run, s1 = in_test()
    opened(run, s1, "q1", T0 + 1)
    run.do(flag(s1, "q1"), T0 + 2)
    run.noop(flag(s1, "q1"), T0 + 3)
    run.refuse(flag(s1, "q1", False), T0 + 3, ErrorCode.OP_ID_CONFLICT)
    opened(run, s1, "q2", T0 + 4)
    run.refuse(flag(s1, "q2"), T0 + 5, ErrorCode.OP_ID_CONFLICT)
    # A retry after the deadline still gets the first result.
    run.noop(flag(s1, "q1"), END + 3600)


def test_a_flag_needs_a_delivered_question_of_the_running_section() -> None:
    run, s1 = in_test()
    run.refuse(flag(s1, "q1"), T0 + 1, ErrorCode.QUESTION_NOT_DELIVERED)
    run.refuse(flag(s1, "nope"), T0 + 1, ErrorCode.QUESTION_UNKNOWN)
    run = Run(FREE)
    s1 = run.open("s1", T0)
    run.refuse(flag(s1, "q1"), T0, ErrorCode.SECTION_NOT_STARTED)


def test_a_flag_is_a_write_fenced_and_timed_like_a_save() -> None:
    run, s1 = in_test()
    opened(run, s1, "q1", T0 + 1)
    s2 = run.open("s2", T0 + 2, takeover=True)
    run.refuse(flag(s1, "q1"), T0 + 3, ErrorCode.SESSION_SUPERSEDED)
    run.do(flag(s2, "q1", op="f-late"), END + GRACE)
    run.refuse(flag(s2, "q1", False, "f3"), END + GRACE + 0.001, ErrorCode.DEADLINE_PASSED)
    run.do(Submit(reason="deadline", by="deadline"), END + GRACE + 1)
    run.refuse(flag(s2, "q1", False, "f4"), END + GRACE + 2, ErrorCode.DEADLINE_PASSED)
    run, s1 = in_test()
    opened(run, s1, "q1", T0 + 1)
    run.do(Submit(reason="candidate", session=s1), T0 + 2)
    run.refuse(flag(s1, "q1"), T0 + 3, ErrorCode.ATTEMPT_CLOSED)


def test_flags_work_in_sequential_mode_and_stay_with_their_section() -> None:
    run = Run(SEQUENTIAL)
    s1 = run.open("s1", T0)
    run.start(s1, "practice", T0)
    run.deliver(s1, T0 + 1)
    run.do(flag(s1, "p1", op="fp"), T0 + 2)
    assert run.state.practice is not None
    assert run.state.practice.flagged == {"p1"}
    run.start(s1, "test", T0 + 3)
    q1 = run.deliver(s1, T0 + 4)
    run.do(flag(s1, q1), T0 + 5)
    assert run.state.test is not None
    assert run.state.test.flagged == {q1}
    assert run.state.practice.flagged == {"p1"}


# ------------------------------------------------------------------ the map


def test_the_free_map_lists_every_question_with_its_state() -> None:
    run, s1 = in_test()
    opened(run, s1, "q1", T0 + 1)
    run.save(s1, "q1", "a", T0 + 2)
    opened(run, s1, "q3", T0 + 3)
    opened(run, s1, "q2", T0 + 4)
    run.save(s1, "q2", None, T0 + 5)  # blank on purpose: not answered
    run.do(flag(s1, "q2"), T0 + 6)
    found = section_map(run.state, FREE, "test")
    assert found.free
    assert [(e.id, e.number, e.state, e.flagged) for e in found.entries] == [
        ("q1", 1, "answered", False),
        ("q2", 2, "not_answered", True),
        ("q3", 3, "not_answered", False),
        ("q4", 4, "not_seen", False),
    ]
    assert (found.answered, found.unanswered, found.flagged) == (1, 3, 1)


def test_the_sequential_map_lists_only_what_was_delivered() -> None:
    run, s1 = in_test(SEQUENTIAL)
    q1 = run.deliver(s1, T0 + 1)
    run.save(s1, q1, "a", T0 + 2)
    q2 = run.deliver(s1, T0 + 3)
    found = section_map(run.state, SEQUENTIAL, "test")
    assert not found.free
    assert [(e.id, e.state) for e in found.entries] == [(q1, "answered"), (q2, "not_answered")]
    assert (found.answered, found.unanswered, found.flagged) == (1, 3, 0)


def test_a_description_is_information_not_numbered_nor_counted() -> None:
    info = Question(id="intro", kind="description", text="Read this.", points=0)
    quiz = msgspec.structs.replace(
        FREE, test=msgspec.structs.replace(FREE.test, questions=(info, *FREE.test.questions))
    )
    run, s1 = in_test(quiz)
    run.do(OpenQuestion(session=s1, question_id="intro"), T0 + 1)
    found = section_map(run.state, quiz, "test")
    assert [(e.id, e.number, e.state) for e in found.entries][:2] == [
        ("intro", 0, "information"),
        ("q1", 1, "not_seen"),
    ]
    assert (found.answered, found.unanswered) == (0, 4)
    assert run.state.test is not None
    assert question_number(quiz.test, run.state.test, "intro") == 0
    assert question_number(quiz.test, run.state.test, "q4") == 4


def test_blank_answers() -> None:
    questions = parse_quiz(sample_quiz()).test.questions

    def sample_question(kind: str) -> Question:
        return next(q for q in questions if q.kind == kind)

    blanks: list[tuple[str, AnswerValue]] = [
        ("short_text", None),
        ("short_text", ""),
        ("essay", "   "),
        ("multiple", []),
        ("matching", {}),
        ("cloze", {}),
    ]
    given: list[tuple[str, AnswerValue]] = [
        ("short_text", "x"),
        ("multiple", ["a"]),
        ("matching", {"p": "x"}),
        ("true_false", False),
        ("numeric", 0.0),
    ]
    assert all(is_blank(sample_question(kind), a) for kind, a in blanks)
    assert not any(is_blank(sample_question(kind), a) for kind, a in given)
