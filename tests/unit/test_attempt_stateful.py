"""A Hypothesis state machine over the attempt's rules, with a simple model alongside.

Several sessions of one attempt log in, take over, log out, start sections, fetch
questions, save answers (with fresh or reused op ids, from any session including
stale ones and with forged epochs), let time pass (also past the deadline), and
administrators extend, change the duration, unlock, void and reopen. The model
says, for every command, whether it must be accepted, must be a no-op, or must be
refused (and with which codes); and after every step:

- no question is ever delivered twice in a section;
- no AnswerSaved is accepted after the attempt closed or after deadline + grace,
  nor from a session that is not the live one at the current epoch;
- every refused command returns no events and leaves the fold unchanged;
- a Submitted score equals ``scoring.score_section`` recomputed from the answers;
- re-folding all events from scratch (also after an encode/decode round trip, as a
  store gives them back) gives the state of the incremental fold.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from quizsession.domain.attempt import AttemptState, apply, deadline, decide, fold
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
    SectionName,
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
    AttemptEvent,
    DurationChanged,
    PracticeFinished,
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
from quizsession.domain.scoring import answer_problem, score_section

T0 = 1_800_000_000.0
CLOSES_AT = T0 + 1500.0

RAW: dict[str, Any] = {
    "id": "state-machine",
    "title": "State machine",
    "duration_s": 120,
    "closes_at": CLOSES_AT,
    "policies": {"second_login": "takeover", "grace_s": 5},
    "practice": {
        "questions": [
            {"id": "p1", "kind": "true_false", "text": "P1", "correct": True},
            {"id": "p2", "kind": "numeric", "text": "P2", "value": 2},
        ]
    },
    "test": {
        "selection": {"mode": "pool", "count": 4},
        "questions": [
            {
                "id": "t-single",
                "kind": "single",
                "text": "S",
                "penalty": 0.25,
                "choices": [{"id": "a", "text": "A", "correct": True}, {"id": "b", "text": "B"}],
            },
            {
                "id": "t-multi",
                "kind": "multiple",
                "text": "M",
                "points": 2,
                "penalty": 0.5,
                "choices": [
                    {"id": "a", "text": "A", "correct": True},
                    {"id": "b", "text": "B", "correct": True},
                    {"id": "c", "text": "C"},
                ],
            },
            {"id": "t-tf", "kind": "true_false", "text": "TF", "correct": False, "penalty": 1},
            {"id": "t-num", "kind": "numeric", "text": "N", "value": 3, "tolerance": 0.5},
            {"id": "t-text", "kind": "short_text", "text": "T", "accepted": ["Mars"]},
        ],
    },
}
QUIZ: Quiz = parse_quiz(RAW)
GRACE = QUIZ.policies.grace_s
assert QUIZ.practice is not None
PRACTICE_IDS = [q.id for q in QUIZ.practice.questions]
TEST_IDS = [q.id for q in QUIZ.test.questions]
QUESTION_CHOICES = [*TEST_IDS, *PRACTICE_IDS, "ghost"]
# Right, wrong and malformed answers for the questions above (numbers are floats,
# as the HTTP layer decodes them).
ANSWERS: list[AnswerValue] = [
    "a", "b", "zz", ["a"], ["a", "b"], ["a", "a"], ["c"], [], True, False,
    3.0, 3.4, 2.0, 7.25, "Mars", " mars ", None,
]  # fmt: skip

# Well-formed answers (right and wrong) per question, for answering the current one.
VALID: dict[str, list[AnswerValue]] = {
    "t-single": ["a", "b", None],
    "t-multi": [["a", "b"], ["a"], ["c"], ["a", "c"], []],
    "t-tf": [False, True],
    "t-num": [3.0, 3.4, 2.0],
    "t-text": ["Mars", " mars ", "Venus"],
    "p1": [True, False],
    "p2": [2.0, 5.0],
}

# A Hypothesis "who": -1 picks the live session (the common case), others any
# session opened so far (stale ones included).
WHO = st.sampled_from([-1] * 20 + list(range(6)))
TAMPER = st.sampled_from([0] * 20 + [-1, 1])


def fingerprint(*parts: object) -> bytes:
    return msgspec.json.encode(parts)


@dataclass
class Model:
    version: int = 0
    live: str | None = None
    epoch: int = 0
    ended: dict[str, str] = field(default_factory=dict)
    status: str = "open"
    submitted: bool = False
    submitted_by_deadline: bool = False
    practice_started: bool = False
    practice_finished: bool = False
    test_started_at: float | None = None
    plan: list[str] = field(default_factory=list)
    delivered: dict[str, list[str]] = field(default_factory=lambda: {"practice": [], "test": []})
    answers: dict[str, dict[str, AnswerValue]] = field(
        default_factory=lambda: {"practice": {}, "test": {}}
    )
    extensions: float = 0.0
    duration_override: float | None = None
    reopened_base: float | None = None
    ops: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    def deadline(self) -> float | None:
        if self.test_started_at is None:
            return None
        if self.reopened_base is not None:
            return self.reopened_base + self.extensions
        duration = self.duration_override or QUIZ.duration_s
        return min(self.test_started_at + duration + self.extensions, CLOSES_AT)

    def late(self, now: float) -> bool:
        end = self.deadline()
        return end is not None and now > end + GRACE

    def section(self) -> SectionName | None:
        if self.test_started_at is not None and not self.submitted:
            return "test"
        if self.test_started_at is None and self.practice_started and not self.practice_finished:
            return "practice"
        return None

    def writer_problem(self, ref: SessionRef) -> str | None:
        if ref.epoch == self.epoch and ref.session_id == self.live:
            return None
        if self.ended.get(ref.session_id) == "superseded" or ref.epoch < self.epoch:
            return ErrorCode.SESSION_SUPERSEDED
        return ErrorCode.SESSION_CLOSED

    def open_problem(self) -> str | None:
        if self.status == "voided":
            return ErrorCode.ATTEMPT_VOIDED
        if self.submitted:
            return ErrorCode.ATTEMPT_CLOSED
        return None

    def write_problem(self) -> str | None:
        """A session's write: late (deadline_passed) once the server submitted at
        the deadline, closed once the candidate or an administrator did."""
        if self.status != "voided" and self.submitted and self.submitted_by_deadline:
            return ErrorCode.DEADLINE_PASSED
        return self.open_problem()

    def pending(self, section: SectionName) -> str | None:
        answers = self.answers[section]
        return next((q for q in self.delivered[section] if q not in answers), None)

    def close_live(self, reason: str) -> None:
        if self.live is not None:
            self.ended[self.live] = reason
            self.live = None

    def expected_score(self) -> tuple[float, float]:
        sheet = score_section(QUIZ.test, self.plan, self.answers["test"])
        return sheet.score, sheet.max_score


Result = list[AttemptEvent] | str  # the events, or the refusal's code


class AttemptMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.events: list[AttemptEvent] = []
        self.state = AttemptState()
        self.m = Model()
        self.sessions: list[SessionRef] = []
        self.n_sessions = 0
        self.n_ops = 0

    # -- plumbing ----------------------------------------------------------------

    def run(self, command: AttemptCommand) -> Result:
        """Decide and (when accepted) apply: a refusal must leave the fold as it was."""
        before = copy.deepcopy(self.state)
        try:
            events = decide(self.state, QUIZ, command, self.now)
        except DomainError as exc:
            assert self.state == before, f"a refused {command!r} changed the state"
            assert fold(self.events) == before
            return exc.code
        assert self.state == before, "decide must not change the state"
        for event in events:
            apply(self.state, event)
        self.events.extend(events)
        self.m.version += len(events)
        return events

    def pick(self, who: int, tamper: int) -> SessionRef:
        if who < 0 and self.m.live is not None:
            ref = next(r for r in self.sessions if r.session_id == self.m.live)
        else:
            ref = self.sessions[who % len(self.sessions)]
        if tamper:
            ref = SessionRef(session_id=ref.session_id, epoch=ref.epoch + tamper)
        return ref

    def op_id(self, reuse: int | None) -> str:
        if reuse is not None and self.m.ops:
            ops = sorted(self.m.ops)
            return ops[reuse % len(ops)]
        self.n_ops += 1
        return f"op-{self.n_ops}"

    @staticmethod
    def check(result: Result, reasons: set[str], accepted: list[AttemptEvent] | None) -> None:
        """Refused with one of ``reasons`` when there are any, else ``accepted``."""
        if reasons:
            assert isinstance(result, str), f"accepted {result!r} despite {reasons}"
            assert result in reasons, f"refused with {result!r}, expected one of {reasons}"
        else:
            assert result == accepted, f"got {result!r}, expected {accepted!r}"

    def check_submitted(self, event: Submitted) -> None:
        score, max_score = self.m.expected_score()
        assert (event.score, event.max_score) == (score, max_score)

    # -- the attempt and its sessions --------------------------------------------

    @initialize(
        begin=st.sampled_from(["created", "logged in", "in practice", "in test", "in test"]),
        seed=st.integers(min_value=0, max_value=2**31 - 1),
    )
    def create(self, begin: str, seed: int) -> None:
        """The attempt, and (through the same checked steps as the rules) often a
        session with a section running, so that most runs reach the test."""
        result = self.run(
            CreateAttempt(attempt_id="a1", quiz_id=QUIZ.id, quiz_version=1, candidate_id="c1")
        )
        assert isinstance(result, list)
        assert len(result) == 1
        if begin == "created":
            return
        self.open_session(takeover=False)
        if begin in ("in practice", "in test"):
            self.start(-1, 0, "practice" if begin == "in practice" else "test", seed, None)

    @rule(
        action=st.sampled_from(["open", "open", "open", "takeover", "takeover", "close", "idle"]),
        who=WHO,
        tamper=TAMPER,
    )
    def session(self, action: str, who: int, tamper: int) -> None:
        """Log in (also while another session lives: a takeover), or log out."""
        if action in ("open", "takeover") or not self.sessions:
            self.open_session(takeover=action == "takeover")
        else:
            self.close_session(who, tamper, "idle" if action == "idle" else "logout")

    def open_session(self, takeover: bool) -> None:
        self.n_sessions += 1
        sid = f"s{self.n_sessions}"
        result = self.run(OpenSession(session_id=sid, takeover=takeover))
        if self.m.status == "voided":
            self.check(result, {ErrorCode.ATTEMPT_VOIDED}, None)
            return
        expected: list[AttemptEvent] = []
        if self.m.live is not None:
            expected.append(
                SessionSuperseded(at=self.now, session_id=self.m.live, by_session_id=sid)
            )
        expected.append(
            SessionOpened(at=self.now, session_id=sid, epoch=self.m.epoch + 1, takeover=takeover)
        )
        self.check(result, set(), expected)
        self.m.close_live("superseded")
        self.m.epoch += 1
        self.m.live = sid
        self.sessions.append(SessionRef(session_id=sid, epoch=self.m.epoch))

    def close_session(self, who: int, tamper: int, reason: Literal["logout", "idle"]) -> None:
        ref = self.pick(who, tamper)
        result = self.run(CloseSession(session=ref, reason=reason))
        if ref.session_id != self.m.live:
            self.check(result, set(), [])
            return
        problem = self.m.writer_problem(ref)
        expected: list[AttemptEvent] = [
            SessionClosed(at=self.now, session_id=ref.session_id, reason=reason, by="candidate")
        ]
        self.check(result, {problem} if problem else set(), expected)
        if not problem:
            self.m.close_live(reason)

    # -- the candidate's flow ----------------------------------------------------

    @precondition(lambda self: self.sessions)
    @rule(
        who=WHO,
        tamper=TAMPER,
        section=st.sampled_from(["practice", "test", "test", "finish practice"]),
        seed=st.integers(min_value=0, max_value=2**31 - 1),
        reuse=st.one_of(st.none(), st.none(), st.integers(min_value=0, max_value=20)),
    )
    def start(self, who: int, tamper: int, section: str, seed: int, reuse: int | None) -> None:
        if section == "finish practice":
            self.finish_practice(who, tamper, reuse)
            return
        ref = self.pick(who, tamper)
        name: SectionName = "test" if section == "test" else "practice"
        op = self.op_id(reuse)
        result = self.run(StartSection(session=ref, section=name, seed=seed, op_id=op))
        m = self.m
        prior = m.ops.get(op)
        if prior is not None:
            replay = prior == ("start", fingerprint(name))
            self.check(result, set() if replay else {ErrorCode.OP_ID_CONFLICT}, [])
            return
        reasons = {p for p in (m.writer_problem(ref), m.write_problem()) if p}
        if reasons:
            self.check(result, reasons, None)
            return
        if name == "practice" and m.practice_started:
            running = not m.practice_finished and m.test_started_at is None
            self.check(result, set() if running else {ErrorCode.SECTION_STATE}, [])
            return
        if name == "practice" and m.test_started_at is not None:
            self.check(result, {ErrorCode.SECTION_STATE}, None)
            return
        if name == "test" and m.test_started_at is not None:
            self.check(result, set(), [])
            return
        if self.now >= CLOSES_AT:
            self.check(result, {ErrorCode.QUIZ_CLOSED}, None)
            return
        assert isinstance(result, list), result
        assert len(result) == 1
        event = result[0]
        assert isinstance(event, SectionStarted)
        assert (event.at, event.section, event.seed, event.op_id) == (self.now, name, seed, op)
        if name == "test":
            assert len(event.plan) == 4
            assert len(set(event.plan)) == 4
            assert set(event.plan) <= set(TEST_IDS)
            m.test_started_at = self.now
            m.plan = list(event.plan)
            if m.practice_started:
                m.practice_finished = True
        else:
            assert event.plan == PRACTICE_IDS
            m.practice_started = True
        m.ops[op] = ("start", fingerprint(name))

    def finish_practice(self, who: int, tamper: int, reuse: int | None) -> None:
        ref = self.pick(who, tamper)
        op = self.op_id(reuse)
        result = self.run(FinishPractice(session=ref, op_id=op))
        m = self.m
        prior = m.ops.get(op)
        if prior is not None:
            replay = prior == ("finish_practice", fingerprint())
            self.check(result, set() if replay else {ErrorCode.OP_ID_CONFLICT}, [])
            return
        reasons = {p for p in (m.writer_problem(ref), m.write_problem()) if p}
        if not reasons and m.section() != "practice":
            reasons.add(ErrorCode.SECTION_STATE)
        self.check(result, reasons, [PracticeFinished(at=self.now, op_id=op)])
        if not reasons:
            m.practice_finished = True
            m.ops[op] = ("finish_practice", fingerprint())

    @precondition(lambda self: self.sessions)
    @rule(who=WHO, tamper=TAMPER)
    def next_question(self, who: int, tamper: int) -> None:
        self.deliver(who, tamper)

    @precondition(lambda self: self.sessions)
    @rule(who=WHO, tamper=TAMPER)
    def deliver(self, who: int, tamper: int) -> None:
        ref = self.pick(who, tamper)
        result = self.run(DeliverNext(session=ref))
        m = self.m
        section = m.section()
        reasons = {p for p in (m.writer_problem(ref), m.write_problem()) if p}
        if section is None:
            reasons.add(ErrorCode.SECTION_NOT_STARTED)
        elif section == "test" and m.late(self.now):
            reasons.add(ErrorCode.DEADLINE_PASSED)
        if reasons:
            self.check(result, reasons, None)
            return
        assert section is not None
        delivered = m.delivered[section]
        if m.pending(section) is not None:
            self.check(result, set(), [])  # the current question is shown again
            return
        order = m.plan if section == "test" else PRACTICE_IDS
        nxt = next((q for q in order if q not in delivered), None)
        if nxt is None:
            self.check(result, set(), [])
            return
        self.check(
            result, set(), [QuestionDelivered(at=self.now, section=section, question_id=nxt)]
        )
        # No repeats: the model's independent record of what was delivered.
        assert nxt not in delivered
        delivered.append(nxt)

    @precondition(lambda self: self.sessions)
    @rule(
        who=WHO,
        tamper=TAMPER,
        qid=st.sampled_from(QUESTION_CHOICES),
        answer=st.sampled_from(ANSWERS),
        reuse=st.one_of(st.none(), st.none(), st.integers(0, 20)),
        version=st.sampled_from(["none", "none", "current", "stale"]),
    )
    def save(
        self,
        who: int,
        tamper: int,
        qid: str,
        answer: AnswerValue,
        reuse: int | None,
        version: str,
    ) -> None:
        self._save(self.pick(who, tamper), qid, answer, reuse, version)

    @precondition(lambda self: self.sessions and self.m.section() is not None)
    @rule(who=WHO, tamper=TAMPER, choice=st.integers(min_value=0, max_value=10))
    def answer(self, who: int, tamper: int, choice: int) -> None:
        self.answer_current(who, tamper, choice)

    @precondition(lambda self: self.sessions and self.m.section() is not None)
    @rule(who=WHO, tamper=TAMPER, choice=st.integers(min_value=0, max_value=10))
    def answer_current(self, who: int, tamper: int, choice: int) -> None:
        """Answer the current question (or change the last answer) with a
        well-formed answer: the flow a real candidate follows."""
        section = self.m.section()
        assert section is not None
        qid = self.m.pending(section)
        if qid is None and self.m.delivered[section]:
            qid = self.m.delivered[section][-1]
        if qid is None:
            return
        options = VALID[qid]
        self._save(self.pick(who, tamper), qid, options[choice % len(options)], None, "none")

    def _save(
        self, ref: SessionRef, qid: str, answer: AnswerValue, reuse: int | None, version: str
    ) -> None:
        op = self.op_id(reuse)
        m = self.m
        version_before = m.version
        expected_version = {"none": None, "current": m.version, "stale": m.version - 1}[version]
        result = self.run(
            SaveAnswer(
                session=ref,
                question_id=qid,
                answer=answer,
                op_id=op,
                expected_version=expected_version,
            )
        )
        fp = fingerprint(qid, answer)
        prior = m.ops.get(op)
        if prior is not None:
            # A retry gets the first result (no events), from whichever session.
            replay = prior == ("save", fp)
            self.check(result, set() if replay else {ErrorCode.OP_ID_CONFLICT}, [])
            return
        reasons = {p for p in (m.writer_problem(ref), m.write_problem()) if p}
        if expected_version is not None and expected_version != version_before:
            reasons.add(ErrorCode.VERSION_MISMATCH)
        section = m.section()
        if section is None:
            reasons.add(ErrorCode.SECTION_NOT_STARTED)
        else:
            if section == "test" and m.late(self.now):
                reasons.add(ErrorCode.DEADLINE_PASSED)
            definition = QUIZ.section(section)
            assert definition is not None
            question = definition.question(qid)
            if question is None:
                # Sequential navigation: an id that is no question gets the
                # answer an upcoming one gets (free: the plan is shown).
                reasons.add(
                    ErrorCode.QUESTION_UNKNOWN
                    if QUIZ.navigation == "free"
                    else ErrorCode.QUESTION_NOT_DELIVERED
                )
            else:
                if qid not in m.delivered[section]:
                    reasons.add(ErrorCode.QUESTION_NOT_DELIVERED)
                if answer_problem(question, answer) is not None:
                    reasons.add(ErrorCode.ANSWER_INVALID)
        if reasons:
            self.check(result, reasons, None)
            return
        assert section is not None
        # The promise, stated on its own: an accepted save comes from the live
        # session at the current epoch, into an open attempt, in time.
        assert ref.session_id == m.live
        assert ref.epoch == m.epoch
        assert m.status == "open"
        assert not m.submitted
        assert section == "practice" or not m.late(self.now)
        expected: list[AttemptEvent] = [
            AnswerSaved(
                at=self.now,
                section=section,
                question_id=qid,
                answer=answer,
                op_id=op,
                session_id=ref.session_id,
            )
        ]
        self.check(result, set(), expected)
        m.answers[section][qid] = answer
        m.ops[op] = ("save", fp)

    @precondition(lambda self: self.sessions and self.m.test_started_at is not None)
    @rule(who=WHO, tamper=TAMPER, reuse=st.one_of(st.none(), st.none(), st.integers(0, 20)))
    def submit_by_candidate(self, who: int, tamper: int, reuse: int | None) -> None:
        ref = self.pick(who, tamper)
        op = self.op_id(reuse)
        result = self.run(Submit(reason="candidate", session=ref, op_id=op))
        m = self.m
        prior = m.ops.get(op)
        if prior is not None:
            replay = prior == ("submit", fingerprint())
            self.check(result, set() if replay else {ErrorCode.OP_ID_CONFLICT}, [])
            return
        reasons = {p for p in (m.writer_problem(ref),) if p}
        if m.status == "voided":
            reasons.add(ErrorCode.ATTEMPT_VOIDED)
        if reasons:
            self.check(result, reasons, None)
            return
        if m.submitted and m.submitted_by_deadline:
            self.check(result, {ErrorCode.DEADLINE_PASSED}, None)  # late, as before the reap
            return
        if m.submitted:
            self.check(result, set(), [])  # submitting twice: the first score stands
            return
        end = m.deadline()
        if end is None:
            self.check(result, {ErrorCode.SECTION_NOT_STARTED}, None)
            return
        if m.late(self.now):  # a submit is a write: after deadline + grace the server's
            self.check(result, {ErrorCode.DEADLINE_PASSED}, None)
            return
        assert isinstance(result, list), result
        assert len(result) == 1
        event = result[0]
        assert isinstance(event, Submitted)
        assert (event.reason, event.op_id, event.by) == ("candidate", op, "candidate")
        assert event.finished_at == min(self.now, end)
        self.check_submitted(event)
        m.submitted = True
        m.status = "submitted"
        m.ops[op] = ("submit", fingerprint())

    def submit_by_deadline(self) -> None:
        result = self.run(Submit(reason="deadline", by="deadline"))
        m = self.m
        end = m.deadline()
        if m.status == "voided":
            self.check(result, {ErrorCode.ATTEMPT_VOIDED}, None)
            return
        if m.submitted:
            self.check(result, set(), [])
            return
        if end is None:
            self.check(result, {ErrorCode.SECTION_NOT_STARTED}, None)
            return
        if not m.late(self.now):  # at deadline + grace exactly, a write still counts
            self.check(result, {ErrorCode.NOT_ALLOWED}, None)
            return
        assert isinstance(result, list), result
        assert len(result) == 1  # the session stays open for reading the result
        event = result[0]
        assert isinstance(event, Submitted)
        assert event.reason == "deadline"
        assert event.finished_at == end  # finish time is the deadline, not the reap time
        self.check_submitted(event)
        m.submitted = True
        m.submitted_by_deadline = True
        m.status = "submitted"

    # -- time --------------------------------------------------------------------

    @rule(seconds=st.sampled_from([0.001, 1.0, 5.0, 20.0, 60.0, 200.0]))
    def advance(self, seconds: float) -> None:
        self.now += seconds

    @precondition(lambda self: self.m.deadline() is not None)
    @rule(offset=st.sampled_from([-0.001, 0.0, 0.001]))
    def advance_to_deadline_plus_grace(self, offset: float) -> None:
        end = self.m.deadline()
        assert end is not None
        target = end + GRACE + offset
        if target > self.now:
            self.now = target

    # -- administrators ----------------------------------------------------------

    @rule(
        action=st.sampled_from(
            ["reap", "reap", "reap", "extend", "extend", "duration", "unlock", "void", "reopen"]
        ),
        amount=st.sampled_from([0.0, 15.0, 30.0, 60.0, 120.0, 200.0, 400.0]),
    )
    def admin(self, action: str, amount: float) -> None:
        if action in ("reap", "void") and self.m.test_started_at is None and amount < 400:
            action = "extend"  # mostly let the candidate reach the test first
        if action == "reap":
            self.submit_by_deadline()
        elif action == "extend":
            self.extend(amount)
        elif action == "duration":
            self.change_duration(amount)
        elif action == "unlock":
            self.unlock()
        elif action == "void":
            self.void()
        else:
            self.reopen(amount)

    def extend(self, seconds: float) -> None:
        result = self.run(Extend(seconds=seconds, by="admin:ops"))
        problem = self.m.open_problem()
        if problem is None and seconds <= 0:
            problem = "validation_error"
        expected: list[AttemptEvent] = [TimeExtended(at=self.now, seconds=seconds, by="admin:ops")]
        self.check(result, {problem} if problem else set(), expected)
        if problem is None:
            self.m.extensions += seconds

    def change_duration(self, duration: float) -> None:
        result = self.run(ChangeDuration(duration_s=duration, quiz_version=2, by="admin:ops"))
        m = self.m
        problem = m.open_problem()
        if problem is not None:
            self.check(result, {problem}, None)
            return
        if duration <= (m.duration_override or QUIZ.duration_s):
            self.check(result, set(), [])
            return
        expected: list[AttemptEvent] = [
            DurationChanged(at=self.now, duration_s=duration, quiz_version=2, by="admin:ops")
        ]
        self.check(result, set(), expected)
        m.duration_override = duration

    def unlock(self) -> None:
        result = self.run(Unlock(by="admin:ops"))
        expected: list[AttemptEvent] = []
        if self.m.live is not None:
            expected.append(
                SessionClosed(at=self.now, session_id=self.m.live, reason="unlock", by="admin:ops")
            )
        self.check(result, set(), expected)
        self.m.close_live("unlock")

    def void(self) -> None:
        result = self.run(Void(by="admin:ops", reason="test"))
        m = self.m
        if m.status == "voided":
            self.check(result, set(), [])
            return
        expected: list[AttemptEvent] = []
        if m.live is not None:
            expected.append(
                SessionClosed(at=self.now, session_id=m.live, reason="voided", by="admin:ops")
            )
        expected.append(Voided(at=self.now, by="admin:ops", reason="test"))
        self.check(result, set(), expected)
        m.status = "voided"
        m.close_live("voided")

    def reopen(self, extra: float) -> None:
        result = self.run(Reopen(by="admin:ops", reason="r", extra_seconds=extra))
        m = self.m
        end = m.deadline()
        if m.status == "open" or end is None:
            self.check(result, {ErrorCode.NOT_ALLOWED}, None)
            return
        if extra <= 0 and end + GRACE <= self.now:
            self.check(result, {ErrorCode.NOT_ALLOWED}, None)
            return
        expected: list[AttemptEvent] = [
            Reopened(at=self.now, by="admin:ops", reason="r", extra_seconds=extra)
        ]
        self.check(result, set(), expected)
        m.status = "open"
        m.submitted = False
        m.submitted_by_deadline = False
        if extra > 0:
            m.reopened_base = self.now + extra
            m.extensions = 0.0

    # -- invariants ----------------------------------------------------------------

    @invariant()
    def the_state_is_the_fold_of_the_log(self) -> None:
        assert fold(self.events) == self.state
        assert fold(decode_event(encode_event(e)) for e in self.events) == self.state

    @invariant()
    def the_state_agrees_with_the_model(self) -> None:
        state, m = self.state, self.m
        assert state.version == m.version == len(self.events)
        assert (state.epoch, state.live_session, state.status) == (m.epoch, m.live, m.status)
        assert (state.submitted is not None) == m.submitted
        assert deadline(state, QUIZ) == m.deadline()
        names: tuple[SectionName, ...] = ("practice", "test")
        for name in names:
            progress = state.progress(name)
            delivered = progress.delivered if progress is not None else []
            answers = progress.answers if progress is not None else {}
            assert delivered == m.delivered[name]
            assert answers == m.answers[name]

    @invariant()
    def no_question_is_delivered_twice_in_a_section(self) -> None:
        seen: set[tuple[str, str]] = set()
        for event in self.events:
            if isinstance(event, QuestionDelivered):
                key = (event.section, event.question_id)
                assert key not in seen, f"{key} delivered twice"
                seen.add(key)

    @invariant()
    def every_submit_scores_the_answers_it_saw(self) -> None:
        # Replay the log: at each Submitted, the score is score_section of the
        # answers folded so far.
        state = AttemptState()
        for event in self.events:
            if isinstance(event, Submitted):
                assert state.test is not None
                sheet = score_section(QUIZ.test, state.test.plan, state.test.answers)
                assert (event.score, event.max_score) == (sheet.score, sheet.max_score)
            apply(state, event)


def test_attempt_state_machine() -> None:
    run_state_machine_as_test(
        AttemptMachine,
        settings=settings(
            max_examples=150,
            stateful_step_count=80,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
