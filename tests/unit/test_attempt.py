"""The attempt's rules, with explicit times (no clock at all).

Each test drives ``decide`` / ``apply`` through a small harness that checks, on every
call, that ``decide`` did not touch the state, that the state is the fold of the
events accepted so far, and (for refusals) the exact error ``code`` and that the
fold is unchanged.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

import quizsession
from quizsession.domain.attempt import (
    AttemptState,
    apply,
    deadline,
    decide,
    due_at,
    fold,
    score,
)
from quizsession.domain.commands import (
    AttemptCommand,
    ChangeDuration,
    CloseSession,
    CreateAttempt,
    DeliverNext,
    Extend,
    FinishPractice,
    OpenSession,
    Reopen,
    SaveAnswer,
    SessionRef,
    StartSection,
    Submit,
    Unlock,
    Void,
)
from quizsession.domain.errors import DomainError, ErrorCode
from quizsession.domain.events import (
    AnswerSaved,
    AnswerValue,
    AttemptCreated,
    AttemptEvent,
    DurationChanged,
    QuestionDelivered,
    Reopened,
    SectionStarted,
    SessionClosed,
    SessionOpened,
    SessionSuperseded,
    Submitted,
    TimeExtended,
    Voided,
    decode_event,
    encode_event,
)
from quizsession.domain.quiz import Quiz
from quizsession.domain.quiz_validation import parse_quiz
from quizsession.domain.scoring import score_section

T0 = 1_800_000_000.0
DEMO_PATH = Path(quizsession.__file__).parent / "examples" / "demo.yaml"


def demo_raw() -> dict[str, Any]:
    raw = yaml.safe_load(DEMO_PATH.read_text(encoding="utf-8"))
    assert isinstance(raw, dict)
    return raw


DEMO: Quiz = parse_quiz(demo_raw())
DURATION = DEMO.duration_s  # 600
GRACE = DEMO.policies.grace_s  # 5
TEST_IDS = [q.id for q in DEMO.test.questions]
PRACTICE_IDS = [q.id for q in DEMO.practice.questions] if DEMO.practice else []

# A right answer for every test question of the demo.
RIGHT: dict[str, AnswerValue] = {
    "capital-au": "canberra",
    "primes": ["n2", "n11", "n17"],
    "noble-gases": ["he", "ar"],
    "great-wall": False,
    "water-boils": True,
    "red-planet": "Mars",
    "hamlet-author": "Shakespeare",
    "speed-of-light": 300.0,
    "pi-digits": 3.14,
    "largest-ocean": "pacific",
}


def with_window(opens_at: float | None, closes_at: float | None) -> Quiz:
    return msgspec.structs.replace(DEMO, opens_at=opens_at, closes_at=closes_at)


class Run:
    """One attempt: the events accepted so far and their fold."""

    def __init__(self, quiz: Quiz = DEMO, *, create_at: float = T0) -> None:
        self.quiz = quiz
        self.events: list[AttemptEvent] = []
        self.state = AttemptState()
        self.ops = 0
        created = self.do(
            CreateAttempt(
                attempt_id="a1", quiz_id=quiz.id, quiz_version=quiz.version, candidate_id="c1"
            ),
            create_at,
        )
        assert [type(e) for e in created] == [AttemptCreated]

    def _check_fold(self) -> None:
        assert fold(self.events) == self.state
        # What a store gives back (encoded and decoded) folds to the same state.
        assert fold(decode_event(encode_event(e)) for e in self.events) == self.state

    def do(self, command: AttemptCommand, now: float) -> list[AttemptEvent]:
        before = copy.deepcopy(self.state)
        events = decide(self.state, self.quiz, command, now)
        assert self.state == before, "decide must not change the state"
        for event in events:
            apply(self.state, event)
        self.events.extend(events)
        self._check_fold()
        return events

    def noop(self, command: AttemptCommand, now: float) -> None:
        before = copy.deepcopy(self.state)
        assert self.do(command, now) == []
        assert self.state == before

    def refuse(self, command: AttemptCommand, now: float, code: str) -> DomainError:
        before = copy.deepcopy(self.state)
        n_events = len(self.events)
        with pytest.raises(DomainError) as info:
            decide(self.state, self.quiz, command, now)
        assert info.value.code == code, info.value.detail
        assert self.state == before
        assert len(self.events) == n_events
        assert fold(self.events) == before
        return info.value

    # -- shortcuts ---------------------------------------------------------------

    def open(self, session_id: str, now: float, *, takeover: bool = False) -> SessionRef:
        events = self.do(OpenSession(session_id=session_id, takeover=takeover), now)
        assert isinstance(events[-1], SessionOpened)
        return SessionRef(session_id=session_id, epoch=self.state.epoch)

    def start(self, ref: SessionRef, section: Any, now: float, seed: int = 7) -> None:
        events = self.do(StartSection(session=ref, section=section, seed=seed), now)
        assert [type(e) for e in events] == [SectionStarted]

    def deliver(self, ref: SessionRef, now: float) -> str:
        events = self.do(DeliverNext(session=ref), now)
        assert len(events) == 1
        assert isinstance(events[0], QuestionDelivered)
        return events[0].question_id

    def save(
        self, ref: SessionRef, qid: str, answer: AnswerValue, now: float, op_id: str | None = None
    ) -> list[AttemptEvent]:
        self.ops += 1
        op = op_id or f"op-{self.ops}"
        return self.do(SaveAnswer(session=ref, question_id=qid, answer=answer, op_id=op), now)

    def save_cmd(self, ref: SessionRef, qid: str, answer: AnswerValue) -> SaveAnswer:
        self.ops += 1
        return SaveAnswer(session=ref, question_id=qid, answer=answer, op_id=f"op-{self.ops}")


def in_test(at: float = T0) -> tuple[Run, SessionRef]:
    """An attempt with session s1 live and the test started at ``at``."""
    run = Run(create_at=at)
    ref = run.open("s1", at)
    run.start(ref, "test", at)
    return run, ref


# ---------------------------------------------------------------------------- create


def test_create_records_the_attempt_once() -> None:
    run = Run()
    state = run.state
    assert state.exists
    assert (state.attempt_id, state.quiz_id, state.candidate_id) == ("a1", DEMO.id, "c1")
    assert state.version == 1
    assert state.status == "open"
    assert state.section_state(DEMO) == "practice_not_started"
    # Creating it again (a second first login) changes nothing.
    run.noop(
        CreateAttempt(attempt_id="a1", quiz_id=DEMO.id, quiz_version=1, candidate_id="c1"), T0 + 1
    )


def test_commands_on_a_missing_attempt_are_refused() -> None:
    blank = AttemptState()
    with pytest.raises(DomainError) as info:
        decide(blank, DEMO, OpenSession(session_id="s1"), T0)
    assert info.value.code == "not_found"
    assert blank == AttemptState()


# ---------------------------------------------------------------------- open session


def test_open_session_bumps_the_epoch_and_supersedes_the_previous() -> None:
    run = Run()
    s1 = run.open("s1", T0)
    assert (run.state.epoch, run.state.live_session) == (1, "s1")
    assert s1.epoch == 1

    events = run.do(OpenSession(session_id="s2", takeover=True), T0 + 1)
    assert events == [
        SessionSuperseded(at=T0 + 1, session_id="s1", by_session_id="s2"),
        SessionOpened(at=T0 + 1, session_id="s2", epoch=2, takeover=True),
    ]
    assert (run.state.epoch, run.state.live_session) == (2, "s2")
    assert run.state.ended_sessions == {"s1": "superseded"}


def test_open_after_logout_bumps_the_epoch_without_superseding() -> None:
    run = Run()
    s1 = run.open("s1", T0)
    run.do(CloseSession(session=s1, reason="logout"), T0 + 1)
    assert run.state.live_session is None
    events = run.do(OpenSession(session_id="s2"), T0 + 2)
    assert [type(e) for e in events] == [SessionOpened]
    assert run.state.epoch == 2


# -------------------------------------------------------------------------- fencing


def test_a_command_with_an_old_epoch_is_refused_as_superseded() -> None:
    run = Run()
    s1 = run.open("s1", T0)
    s2 = run.open("s2", T0 + 1)
    run.refuse(
        StartSection(session=s1, section="test", seed=1), T0 + 2, ErrorCode.SESSION_SUPERSEDED
    )
    run.refuse(DeliverNext(session=s1), T0 + 2, ErrorCode.SESSION_SUPERSEDED)
    run.refuse(Submit(reason="candidate", session=s1), T0 + 2, ErrorCode.SESSION_SUPERSEDED)
    # The live session is not affected.
    run.start(s2, "test", T0 + 3)
    run.deliver(s2, T0 + 4)
    qid = run.state.test.delivered[0] if run.state.test else ""
    run.refuse(run.save_cmd(s1, qid, RIGHT[qid]), T0 + 5, ErrorCode.SESSION_SUPERSEDED)


def test_the_live_session_id_with_a_forged_epoch_is_refused() -> None:
    run = Run()
    run.open("s1", T0)
    run.open("s2", T0 + 1)
    stale = SessionRef(session_id="s2", epoch=1)
    ahead = SessionRef(session_id="s2", epoch=3)
    run.refuse(
        StartSection(session=stale, section="test", seed=1), T0 + 2, ErrorCode.SESSION_SUPERSEDED
    )
    run.refuse(
        StartSection(session=ahead, section="test", seed=1), T0 + 2, ErrorCode.SESSION_CLOSED
    )


def test_after_logout_the_session_is_closed() -> None:
    run, s1 = in_test()
    qid = run.deliver(s1, T0 + 1)
    run.do(CloseSession(session=s1, reason="logout"), T0 + 2)
    assert run.state.ended_sessions == {"s1": "logout"}
    run.refuse(run.save_cmd(s1, qid, RIGHT[qid]), T0 + 3, ErrorCode.SESSION_CLOSED)
    run.refuse(DeliverNext(session=s1), T0 + 3, ErrorCode.SESSION_CLOSED)
    run.refuse(Submit(reason="candidate", session=s1), T0 + 3, ErrorCode.SESSION_CLOSED)
    # Logging out twice changes nothing.
    run.noop(CloseSession(session=s1, reason="logout"), T0 + 4)


def test_a_superseded_session_cannot_log_the_live_one_out() -> None:
    run = Run()
    s1 = run.open("s1", T0)
    run.open("s2", T0 + 1)
    run.noop(CloseSession(session=s1, reason="logout"), T0 + 2)
    assert run.state.live_session == "s2"


# ------------------------------------------------------------------------- sections


def test_practice_then_test() -> None:
    run = Run()
    s1 = run.open("s1", T0)
    run.start(s1, "practice", T0 + 1)
    assert run.state.section_state(DEMO) == "practice_started"
    assert run.state.current_section() == "practice"
    # Starting practice again while it runs changes nothing.
    run.noop(StartSection(session=s1, section="practice", seed=9), T0 + 2)
    p = run.deliver(s1, T0 + 3)
    assert p == PRACTICE_IDS[0]
    run.start(s1, "test", T0 + 10)
    assert run.state.section_state(DEMO) == "test_started"
    assert run.state.current_section() == "test"
    assert run.state.practice is not None
    assert run.state.practice.finished
    assert run.state.test is not None
    assert run.state.test.started_at == T0 + 10
    # The clock starts with the test, not with the practice round.
    assert deadline(run.state, DEMO) == T0 + 10 + DURATION


def test_the_test_starts_once() -> None:
    run, s1 = in_test()
    started = run.state.test
    assert started is not None
    plan = list(started.plan)
    assert plan == TEST_IDS  # fixed selection: definition order
    run.noop(StartSection(session=s1, section="test", seed=99), T0 + 100)
    assert run.state.test is not None
    assert run.state.test.started_at == T0
    assert run.state.test.plan == plan
    assert deadline(run.state, DEMO) == T0 + DURATION


def test_practice_cannot_start_or_restart_once_the_test_started() -> None:
    run, s1 = in_test()
    run.refuse(
        StartSection(session=s1, section="practice", seed=1), T0 + 1, ErrorCode.SECTION_STATE
    )
    run.refuse(FinishPractice(session=s1), T0 + 1, ErrorCode.SECTION_STATE)

    run2 = Run()
    r = run2.open("s1", T0)
    run2.start(r, "practice", T0)
    run2.start(r, "test", T0 + 5)
    run2.refuse(
        StartSection(session=r, section="practice", seed=1), T0 + 6, ErrorCode.SECTION_STATE
    )


def test_practice_cannot_restart_after_it_finished() -> None:
    run = Run()
    s1 = run.open("s1", T0)
    run.start(s1, "practice", T0)
    run.do(FinishPractice(session=s1), T0 + 1)
    assert run.state.section_state(DEMO) == "test_not_started"
    assert run.state.current_section() is None
    run.refuse(
        StartSection(session=s1, section="practice", seed=1), T0 + 2, ErrorCode.SECTION_STATE
    )
    run.refuse(DeliverNext(session=s1), T0 + 2, ErrorCode.SECTION_NOT_STARTED)


def test_a_quiz_without_practice_refuses_a_practice_start() -> None:
    quiz = msgspec.structs.replace(DEMO, practice=None)
    run = Run(quiz)
    s1 = run.open("s1", T0)
    assert run.state.section_state(quiz) == "test_not_started"
    run.refuse(StartSection(session=s1, section="practice", seed=1), T0, ErrorCode.NO_SUCH_SECTION)


# ------------------------------------------------------------------------- delivery


def test_delivery_never_repeats_and_shows_the_pending_question_again() -> None:
    run, s1 = in_test()
    seen: list[str] = []
    now = T0 + 1
    for _ in TEST_IDS:
        qid = run.deliver(s1, now)
        assert qid not in seen
        seen.append(qid)
        # While it is unanswered, DeliverNext gives nothing new.
        run.noop(DeliverNext(session=s1), now + 0.5)
        assert run.state.test is not None
        assert run.state.test.current_question() == qid
        run.save(s1, qid, RIGHT[qid], now + 1)
        now += 2
    assert seen == TEST_IDS
    # Everything delivered and answered: nothing more to deliver.
    run.noop(DeliverNext(session=s1), now)
    assert run.state.test is not None
    assert run.state.test.current_question() is None


def test_the_pending_question_survives_a_takeover() -> None:
    run, s1 = in_test()
    first = run.deliver(s1, T0 + 1)
    s2 = run.open("s2", T0 + 2, takeover=True)
    run.noop(DeliverNext(session=s2), T0 + 3)
    assert run.state.test is not None
    assert run.state.test.current_question() == first
    assert run.state.test.delivered == [first]


def test_a_null_answer_leaves_a_question_blank_and_moves_on() -> None:
    run, s1 = in_test()
    q1 = run.deliver(s1, T0 + 1)
    run.save(s1, q1, None, T0 + 2)  # left blank on purpose
    assert run.state.test is not None
    assert run.state.test.current_question() is None
    q2 = run.deliver(s1, T0 + 3)
    assert q2 != q1
    run.save(s1, q2, RIGHT[q2], T0 + 4)
    run.save(s1, q1, RIGHT[q1], T0 + 5)  # and may be answered later
    assert run.state.test.current_question() is None
    assert run.state.test.answers[q1] == RIGHT[q1]


def test_deliver_before_any_section_is_refused() -> None:
    run = Run()
    s1 = run.open("s1", T0)
    run.refuse(DeliverNext(session=s1), T0, ErrorCode.SECTION_NOT_STARTED)


# -------------------------------------------------------------------------- answers


def test_an_answer_to_an_undelivered_question_is_refused() -> None:
    run, s1 = in_test()
    run.deliver(s1, T0 + 1)
    run.refuse(
        run.save_cmd(s1, TEST_IDS[1], RIGHT[TEST_IDS[1]]), T0 + 2, ErrorCode.QUESTION_NOT_DELIVERED
    )


def test_an_answer_to_an_unknown_question_is_refused() -> None:
    """Sequential navigation: an id that is no question gets the answer a question
    not delivered yet gets (what lies ahead stays unknown)."""
    run, s1 = in_test()
    run.deliver(s1, T0 + 1)
    not_yet = ErrorCode.QUESTION_NOT_DELIVERED
    run.refuse(run.save_cmd(s1, "no-such-question", "x"), T0 + 2, not_yet)
    # A practice question is not a question of the test section.
    run.refuse(run.save_cmd(s1, PRACTICE_IDS[0], "a"), T0 + 2, not_yet)
    # An upcoming question of the test: the same answer.
    run.refuse(run.save_cmd(s1, TEST_IDS[-1], "x"), T0 + 2, not_yet)


@pytest.mark.parametrize(
    ("qid", "answer"),
    [
        ("capital-au", ["canberra"]),  # single: a list
        ("capital-au", "hobart"),  # single: not a choice
        ("capital-au", True),
        ("primes", "n2"),  # multiple: not a list
        ("primes", ["n2", "n2"]),  # repeated id
        ("primes", ["n4"]),  # unknown choice
        ("great-wall", "false"),  # true/false: a string
        ("great-wall", 0.0),
        ("red-planet", 42.0),  # short text: a number
        ("red-planet", "x" * 2001),  # too long
        ("speed-of-light", "300"),  # numeric: a string
        ("speed-of-light", True),  # a bool is not a number
        ("speed-of-light", float("nan")),
        ("speed-of-light", float("inf")),
    ],
)
def test_an_answer_of_the_wrong_shape_is_refused(qid: str, answer: AnswerValue) -> None:
    run, s1 = in_test()
    now = T0 + 1
    # Deliver up to qid, answering the ones before it.
    while True:
        got = run.deliver(s1, now)
        if got == qid:
            break
        run.save(s1, got, RIGHT[got], now)
        now += 1
    err = run.refuse(run.save_cmd(s1, qid, answer), now, ErrorCode.ANSWER_INVALID)
    assert err.extra["question_id"] == qid


def test_expected_version_must_match() -> None:
    run, s1 = in_test()
    qid = run.deliver(s1, T0 + 1)
    version = run.state.version
    stale = SaveAnswer(
        session=s1, question_id=qid, answer=RIGHT[qid], op_id="v1", expected_version=version - 1
    )
    err = run.refuse(stale, T0 + 2, ErrorCode.VERSION_MISMATCH)
    assert err.extra["version"] == version
    fresh = SaveAnswer(
        session=s1, question_id=qid, answer=RIGHT[qid], op_id="v1", expected_version=version
    )
    assert [type(e) for e in run.do(fresh, T0 + 3)] == [AnswerSaved]


def test_an_accepted_answer_records_who_and_when() -> None:
    run, s1 = in_test()
    qid = run.deliver(s1, T0 + 1)
    events = run.save(s1, qid, "sydney", T0 + 2, op_id="o1")
    assert events == [
        AnswerSaved(
            at=T0 + 2,
            section="test",
            question_id=qid,
            answer="sydney",
            op_id="o1",
            session_id="s1",
        )
    ]
    assert run.state.test is not None
    assert run.state.test.answers == {qid: "sydney"}


# --------------------------------------------------------------------- idempotency


def test_the_same_op_id_with_the_same_payload_is_a_no_op() -> None:
    run, s1 = in_test()
    qid = run.deliver(s1, T0 + 1)
    cmd = SaveAnswer(session=s1, question_id=qid, answer="canberra", op_id="o1")
    assert len(run.do(cmd, T0 + 2)) == 1
    first_version = run.state.version
    run.noop(cmd, T0 + 3)
    run.noop(cmd, T0 + 300)
    assert run.state.version == first_version
    assert run.state.ops["o1"].version == first_version


def test_the_same_op_id_with_another_payload_is_a_conflict() -> None:
    run, s1 = in_test()
    qid = run.deliver(s1, T0 + 1)
    run.do(SaveAnswer(session=s1, question_id=qid, answer="canberra", op_id="o1"), T0 + 2)
    other_answer = SaveAnswer(session=s1, question_id=qid, answer="sydney", op_id="o1")
    run.refuse(other_answer, T0 + 3, ErrorCode.OP_ID_CONFLICT)
    q2 = run.deliver(s1, T0 + 4)
    other_question = SaveAnswer(session=s1, question_id=q2, answer=RIGHT[q2], op_id="o1")
    run.refuse(other_question, T0 + 5, ErrorCode.OP_ID_CONFLICT)
    other_kind = Submit(reason="candidate", session=s1, op_id="o1")
    run.refuse(other_kind, T0 + 6, ErrorCode.OP_ID_CONFLICT)
    assert run.state.test is not None
    assert run.state.test.answers == {qid: "canberra"}


def test_a_retry_from_a_superseded_session_gets_the_first_result() -> None:
    run, s1 = in_test()
    qid = run.deliver(s1, T0 + 1)
    cmd = SaveAnswer(session=s1, question_id=qid, answer="canberra", op_id="o1")
    run.do(cmd, T0 + 2)
    run.open("s2", T0 + 3)
    run.noop(cmd, T0 + 4)  # the retry of an acknowledged save
    # A new save from the stale session is refused.
    run.refuse(
        SaveAnswer(session=s1, question_id=qid, answer="perth", op_id="o2"),
        T0 + 4,
        ErrorCode.SESSION_SUPERSEDED,
    )


def test_start_with_an_op_id_is_idempotent() -> None:
    run = Run()
    s1 = run.open("s1", T0)
    run.do(StartSection(session=s1, section="practice", seed=1, op_id="st"), T0)
    run.do(StartSection(session=s1, section="test", seed=2, op_id="st2"), T0 + 1)
    # A retry of the practice start after the test began returns the first result.
    run.noop(StartSection(session=s1, section="practice", seed=1, op_id="st"), T0 + 2)
    run.refuse(
        StartSection(session=s1, section="test", seed=2, op_id="st"),
        T0 + 2,
        ErrorCode.OP_ID_CONFLICT,
    )


# ------------------------------------------------------------------------ the clock


def test_deadline_is_start_plus_duration_plus_extensions() -> None:
    run, _ = in_test(T0 + 50)
    assert deadline(run.state, DEMO) == T0 + 50 + DURATION
    assert due_at(run.state, DEMO) == T0 + 50 + DURATION + GRACE
    run.do(Extend(seconds=30, by="admin:ops"), T0 + 60)
    run.do(Extend(seconds=12.5, by="admin:ops"), T0 + 70)
    assert deadline(run.state, DEMO) == T0 + 50 + DURATION + 42.5


def test_no_deadline_before_the_test_starts() -> None:
    run = Run()
    s1 = run.open("s1", T0)
    run.start(s1, "practice", T0)
    assert deadline(run.state, DEMO) is None
    assert due_at(run.state, DEMO) is None
    # The practice round has no clock: answers count hours later.
    p = run.deliver(s1, T0 + 100_000)
    assert len(run.save(s1, p, "a" if p == "p-colour" else True, T0 + 200_000)) == 1


def test_deadline_is_capped_by_the_window_close() -> None:
    quiz = with_window(None, T0 + 400)
    run = Run(quiz)
    s1 = run.open("s1", T0)
    run.start(s1, "test", T0)
    assert deadline(run.state, quiz) == T0 + 400
    run.do(Extend(seconds=1000, by="admin:ops"), T0 + 1)
    assert deadline(run.state, quiz) == T0 + 400
    # Without the cap the extension would count.
    run2 = Run(with_window(None, T0 + 10_000))
    r = run2.open("s1", T0)
    run2.start(r, "test", T0)
    run2.do(Extend(seconds=1000, by="admin:ops"), T0 + 1)
    assert deadline(run2.state, run2.quiz) == T0 + DURATION + 1000


def test_a_write_at_deadline_plus_grace_counts_and_just_after_is_refused() -> None:
    run, s1 = in_test()
    end = T0 + DURATION
    q1 = run.deliver(s1, end + GRACE)  # delivery at the last moment still counts
    assert len(run.save(s1, q1, RIGHT[q1], end + GRACE)) == 1
    q2 = TEST_IDS[1]
    err = run.refuse(DeliverNext(session=s1), end + GRACE + 0.001, ErrorCode.DEADLINE_PASSED)
    assert err.extra["deadline"] == end
    run.refuse(run.save_cmd(s1, q1, "sydney"), end + GRACE + 0.001, ErrorCode.DEADLINE_PASSED)
    run.refuse(run.save_cmd(s1, q2, RIGHT[q2]), end + 3600, ErrorCode.DEADLINE_PASSED)
    assert run.state.test is not None
    assert run.state.test.answers == {q1: RIGHT[q1]}


def test_deadline_submit_is_refused_before_deadline_plus_grace() -> None:
    run, _ = in_test()
    end = T0 + DURATION
    run.refuse(Submit(reason="deadline", by="deadline"), end, ErrorCode.NOT_ALLOWED)
    run.refuse(Submit(reason="deadline", by="deadline"), end + GRACE - 0.001, ErrorCode.NOT_ALLOWED)
    # (At deadline + grace exactly a write still counts; the server submits after it.)
    events = run.do(Submit(reason="deadline", by="deadline"), end + GRACE + 0.001)
    assert isinstance(events[0], Submitted)
    assert events[0].finished_at == end


def test_deadline_submit_finishes_at_the_deadline_and_ends_all_writes() -> None:
    run, s1 = in_test()
    q1 = run.deliver(s1, T0 + 1)
    run.save(s1, q1, RIGHT[q1], T0 + 2)
    end = T0 + DURATION
    events = run.do(Submit(reason="deadline", by="deadline"), end + 47)
    sheet = score_section(DEMO.test, TEST_IDS, {q1: RIGHT[q1]})
    assert events == [
        Submitted(
            at=end + 47,
            reason="deadline",
            finished_at=end,
            score=sheet.score,
            max_score=sheet.max_score,
            by="deadline",
        ),
    ]
    assert sheet.score == 1.0
    assert sheet.max_score == 13.0
    assert run.state.status == "submitted"
    assert run.state.section_state(DEMO) == "test_finished"
    assert due_at(run.state, DEMO) is None
    # The session may still read (the result); every write is refused, and
    # refused as late (deadline_passed), as it was before the server submitted.
    run.refuse(run.save_cmd(s1, q1, "perth"), end + 48, ErrorCode.DEADLINE_PASSED)
    run.refuse(DeliverNext(session=s1), end + 48, ErrorCode.DEADLINE_PASSED)
    run.refuse(Submit(reason="candidate", session=s1), end + 48, ErrorCode.DEADLINE_PASSED)


def test_candidate_submit_finishes_now_and_scores_the_answers() -> None:
    run, s1 = in_test()
    answers: dict[str, AnswerValue] = {}
    now = T0 + 1
    for qid in TEST_IDS[:4]:
        run.deliver(s1, now)
        answer = RIGHT[qid] if qid != "great-wall" else True  # one wrong: -1 penalty
        run.save(s1, qid, answer, now)
        answers[qid] = answer
        now += 1
    events = run.do(Submit(reason="candidate", session=s1, op_id="done"), T0 + 123)
    assert len(events) == 1  # a candidate's own submit leaves the session open
    submitted = events[0]
    assert isinstance(submitted, Submitted)
    assert submitted.finished_at == T0 + 123
    expected = score_section(DEMO.test, TEST_IDS, answers)
    assert (submitted.score, submitted.max_score) == (expected.score, expected.max_score)
    assert submitted.score == 1 + 2 + 2 - 1
    assert score(run.state, DEMO) == expected
    assert run.state.live_session == "s1"


def test_submitting_twice_returns_the_same_score() -> None:
    run, s1 = in_test()
    q1 = run.deliver(s1, T0 + 1)
    run.save(s1, q1, RIGHT[q1], T0 + 2)
    run.do(Submit(reason="candidate", session=s1, op_id="done"), T0 + 3)
    first = run.state.submitted
    assert first is not None
    run.noop(Submit(reason="candidate", session=s1, op_id="done"), T0 + 4)  # a retry
    run.noop(Submit(reason="candidate", session=s1, op_id="again"), T0 + 5)  # a second click
    run.noop(Submit(reason="candidate", session=s1), T0 + 6)
    run.noop(Submit(reason="deadline", by="deadline"), T0 + DURATION + GRACE)  # the reaper
    assert run.state.submitted == first
    assert run.state.submitted.score == 1.0
    assert sum(isinstance(e, Submitted) for e in run.events) == 1


def test_writes_after_submit_are_refused() -> None:
    run, s1 = in_test()
    q1 = run.deliver(s1, T0 + 1)
    run.do(Submit(reason="candidate", session=s1), T0 + 2)
    run.refuse(run.save_cmd(s1, q1, RIGHT[q1]), T0 + 3, ErrorCode.ATTEMPT_CLOSED)
    run.refuse(DeliverNext(session=s1), T0 + 3, ErrorCode.ATTEMPT_CLOSED)
    run.refuse(Extend(seconds=60, by="admin:ops"), T0 + 3, ErrorCode.ATTEMPT_CLOSED)


def test_submit_before_the_test_is_refused() -> None:
    run = Run()
    s1 = run.open("s1", T0)
    run.refuse(Submit(reason="candidate", session=s1), T0, ErrorCode.SECTION_NOT_STARTED)
    run.refuse(Submit(reason="deadline", by="deadline"), T0 + 10**6, ErrorCode.SECTION_NOT_STARTED)


def test_a_candidate_submit_counts_until_deadline_plus_grace_and_is_refused_after() -> None:
    run, s1 = in_test()
    end = T0 + DURATION
    late = Submit(reason="candidate", session=s1, op_id="late")
    err = run.refuse(late, end + GRACE + 0.001, ErrorCode.DEADLINE_PASSED)
    assert err.extra["deadline"] == end
    # The server's own submit then records the deadline as the finish time.
    events = run.do(Submit(reason="deadline", by="deadline"), end + GRACE + 1)
    assert isinstance(events[0], Submitted)
    assert (events[0].reason, events[0].finished_at) == ("deadline", end)

    run2, r = in_test()
    in_grace = run2.do(Submit(reason="candidate", session=r), end + GRACE)
    assert isinstance(in_grace[0], Submitted)
    assert (in_grace[0].reason, in_grace[0].finished_at) == ("candidate", end)


# --------------------------------------------------------------------------- admin


def test_extend_moves_the_deadline_and_revives_late_writes() -> None:
    run, s1 = in_test()
    q1 = run.deliver(s1, T0 + 1)
    end = T0 + DURATION
    run.refuse(run.save_cmd(s1, q1, RIGHT[q1]), end + GRACE + 1, ErrorCode.DEADLINE_PASSED)
    events = run.do(Extend(seconds=120, by="admin:ops", reason="fire alarm"), end + GRACE + 1)
    assert events == [
        TimeExtended(at=end + GRACE + 1, seconds=120, by="admin:ops", reason="fire alarm")
    ]
    assert deadline(run.state, DEMO) == end + 120
    assert len(run.save(s1, q1, RIGHT[q1], end + GRACE + 2)) == 1


@pytest.mark.parametrize("seconds", [0.0, -10.0, float("nan"), float("inf"), 7 * 24 * 3600 + 1])
def test_extend_refuses_out_of_range_seconds(seconds: float) -> None:
    run, _ = in_test()
    run.refuse(Extend(seconds=seconds, by="admin:ops"), T0 + 1, "validation_error")


def test_duration_change_applies_only_when_longer() -> None:
    run, _ = in_test()
    run.noop(ChangeDuration(duration_s=DURATION, quiz_version=2, by="admin:ops"), T0 + 1)
    run.noop(ChangeDuration(duration_s=DURATION - 100, quiz_version=2, by="admin:ops"), T0 + 1)
    assert deadline(run.state, DEMO) == T0 + DURATION
    events = run.do(ChangeDuration(duration_s=900, quiz_version=2, by="admin:ops"), T0 + 2)
    assert events == [DurationChanged(at=T0 + 2, duration_s=900, quiz_version=2, by="admin:ops")]
    assert deadline(run.state, DEMO) == T0 + 900
    # Shorter than the new duration (though longer than the quiz's): nothing.
    run.noop(ChangeDuration(duration_s=800, quiz_version=3, by="admin:ops"), T0 + 3)
    assert deadline(run.state, DEMO) == T0 + 900


def test_unlock_ends_the_live_session() -> None:
    run, s1 = in_test()
    events = run.do(Unlock(by="admin:ops"), T0 + 5)
    assert events == [SessionClosed(at=T0 + 5, session_id="s1", reason="unlock", by="admin:ops")]
    assert run.state.live_session is None
    run.refuse(DeliverNext(session=s1), T0 + 6, ErrorCode.SESSION_CLOSED)
    run.noop(Unlock(by="admin:ops"), T0 + 7)
    s2 = run.open("s2", T0 + 8)
    run.deliver(s2, T0 + 9)


def test_void_closes_the_session_and_refuses_everything_after() -> None:
    run, s1 = in_test()
    q1 = run.deliver(s1, T0 + 1)
    events = run.do(Void(by="admin:ops", reason="cheating"), T0 + 10)
    assert events == [
        SessionClosed(at=T0 + 10, session_id="s1", reason="voided", by="admin:ops"),
        Voided(at=T0 + 10, by="admin:ops", reason="cheating"),
    ]
    assert run.state.status == "voided"
    assert due_at(run.state, DEMO) is None
    run.refuse(OpenSession(session_id="s2"), T0 + 11, ErrorCode.ATTEMPT_VOIDED)
    run.refuse(Extend(seconds=60, by="admin:ops"), T0 + 11, ErrorCode.ATTEMPT_VOIDED)
    run.refuse(
        ChangeDuration(duration_s=900, quiz_version=2, by="admin:ops"),
        T0 + 11,
        ErrorCode.ATTEMPT_VOIDED,
    )
    run.refuse(
        Submit(reason="deadline", by="deadline"), T0 + DURATION + GRACE, ErrorCode.ATTEMPT_VOIDED
    )
    run.refuse(Submit(reason="admin", by="admin:ops"), T0 + 12, ErrorCode.ATTEMPT_VOIDED)
    # The stale session is refused too (whatever the code, it writes nothing).
    with pytest.raises(DomainError):
        decide(run.state, DEMO, run.save_cmd(s1, q1, RIGHT[q1]), T0 + 12)
    run.noop(Void(by="admin:ops"), T0 + 13)


def test_a_write_from_the_session_live_at_void_says_attempt_voided() -> None:
    run, s1 = in_test()
    q1 = run.deliver(s1, T0 + 1)
    run.do(Void(by="admin:ops"), T0 + 10)
    run.refuse(run.save_cmd(s1, q1, RIGHT[q1]), T0 + 11, ErrorCode.ATTEMPT_VOIDED)


def test_reopen_needs_extra_seconds_after_the_deadline() -> None:
    run, s1 = in_test()
    q1 = run.deliver(s1, T0 + 1)
    end = T0 + DURATION
    run.do(Submit(reason="deadline", by="deadline"), end + GRACE + 1)
    run.refuse(Reopen(by="admin:ops"), end + 100, ErrorCode.NOT_ALLOWED)
    run.refuse(Reopen(by="admin:ops", extra_seconds=-5), end + 100, "validation_error")
    events = run.do(Reopen(by="admin:ops", reason="outage", extra_seconds=300), end + 100)
    assert events == [Reopened(at=end + 100, by="admin:ops", reason="outage", extra_seconds=300)]
    assert run.state.status == "open"
    assert run.state.submitted is None
    assert run.state.section_state(DEMO) == "test_started"
    assert deadline(run.state, DEMO) == end + 400
    assert due_at(run.state, DEMO) == end + 400 + GRACE
    # The candidate carries on (here from another device).
    s2 = run.open("s2", end + 101, takeover=True)
    run.refuse(DeliverNext(session=s1), end + 101, ErrorCode.SESSION_SUPERSEDED)
    run.noop(DeliverNext(session=s2), end + 102)  # q1 is still the current question
    assert len(run.save(s2, q1, RIGHT[q1], end + 103)) == 1
    run.refuse(run.save_cmd(s2, q1, "perth"), end + 400 + GRACE + 0.001, ErrorCode.DEADLINE_PASSED)
    # Already open: nothing to reopen.
    run.refuse(Reopen(by="admin:ops", extra_seconds=60), end + 104, ErrorCode.NOT_ALLOWED)
    # Scored again at the new deadline, with the answer given after the reopen.
    run.refuse(Submit(reason="deadline", by="deadline"), end + 400, ErrorCode.NOT_ALLOWED)
    events = run.do(Submit(reason="deadline", by="deadline"), end + 400 + GRACE + 1)
    resubmitted = events[0]
    assert isinstance(resubmitted, Submitted)
    assert resubmitted.finished_at == end + 400
    assert resubmitted.score == 1.0


def test_reopen_of_an_early_submit_before_the_deadline_needs_no_extra_time() -> None:
    run, s1 = in_test()
    run.do(Submit(reason="candidate", session=s1), T0 + 60)
    run.do(Reopen(by="admin:ops", reason="clicked by mistake"), T0 + 70)
    assert run.state.status == "open"
    assert deadline(run.state, DEMO) == T0 + DURATION
    run.deliver(s1, T0 + 71)


def test_reopen_of_an_attempt_whose_test_never_started_is_refused() -> None:
    run = Run()
    run.open("s1", T0)
    run.do(Void(by="admin:ops"), T0 + 1)
    run.refuse(Reopen(by="admin:ops", extra_seconds=60), T0 + 2, ErrorCode.NOT_ALLOWED)


# -------------------------------------------------------------------------- window


def test_open_before_the_window_opens_is_refused() -> None:
    quiz = with_window(T0 + 100, T0 + 10_000)
    run = Run(quiz)
    err = run.refuse(OpenSession(session_id="s1"), T0 + 99.999, ErrorCode.QUIZ_NOT_OPEN)
    assert err.extra["opens_at"] == T0 + 100
    s1 = run.open("s1", T0 + 100)
    run.start(s1, "test", T0 + 100)


def test_start_at_or_after_the_window_close_is_refused() -> None:
    quiz = with_window(T0, T0 + 1000)
    run = Run(quiz)
    s1 = run.open("s1", T0 + 500)
    run.start(s1, "practice", T0 + 500)
    err = run.refuse(
        StartSection(session=s1, section="test", seed=1), T0 + 1000, ErrorCode.QUIZ_CLOSED
    )
    assert err.extra["closes_at"] == T0 + 1000
    run.refuse(StartSection(session=s1, section="test", seed=1), T0 + 5000, ErrorCode.QUIZ_CLOSED)
    # Just before the close the test starts, with its deadline at the close.
    run.start(s1, "test", T0 + 999)
    assert deadline(run.state, quiz) == T0 + 1000
