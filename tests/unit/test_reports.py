"""Reports from event logs: exact numbers on small hand-built logs.

The main dataset: a 5-question quiz (1 point each, no negative marks) taken by
four candidates A-D, plus a voided attempt E and an attempt F still running.
Points per question of the scored attempts (hand-checked below):

         q1  q2  q3  q4  q5 | total
    A     1   1   1   1   0 |   4
    B     1   0   0   1   0 |   2
    C     0   1   1   1   1 |   4
    D     0   0   0   1   0 |   1   (q5 delivered, never answered; deadline submit)
"""

from __future__ import annotations

import math
from typing import Any

import msgspec
import pytest

from quizsession.app.ports import RecordedEvent
from quizsession.app.reports.attempt import session_analytics
from quizsession.app.reports.builder import build_report
from quizsession.app.reports.items import facility_index, pearson
from quizsession.app.reports.model import OptionCount, QuizReport
from quizsession.domain.attempt import AttemptState, apply, decide
from quizsession.domain.commands import (
    AttemptCommand,
    CloseSession,
    CreateAttempt,
    DeliverNext,
    OpenSession,
    SaveAnswer,
    SessionRef,
    StartSection,
    Submit,
    Void,
)
from quizsession.domain.events import (
    AnswerValue,
    AttemptCreated,
    AttemptEvent,
    QuestionDelivered,
    Reopened,
    SectionStarted,
    SessionClosed,
    SessionOpened,
    SessionSuperseded,
    Submitted,
    Voided,
)
from quizsession.domain.quiz import Quiz
from quizsession.domain.quiz_validation import parse_quiz

T0 = 1_800_000_000.0
S = T0 + 10  # every test section starts here


def quiz_raw(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": "rq",
        "title": "Report quiz",
        "duration_s": 600,
        "policies": {"second_login": "takeover", "grace_s": 5},
        "test": {
            "questions": [
                {
                    "id": "q1",
                    "kind": "single",
                    "text": "Pick a",
                    "choices": [
                        {"id": "a", "text": "A", "correct": True},
                        {"id": "b", "text": "B"},
                        {"id": "c", "text": "C"},
                    ],
                },
                {"id": "q2", "kind": "true_false", "text": "True?", "correct": True},
                {"id": "q3", "kind": "numeric", "text": "Ten", "value": 10, "tolerance": 0.5},
                {"id": "q4", "kind": "short_text", "text": "Red planet", "accepted": ["Mars"]},
                {
                    "id": "q5",
                    "kind": "multiple",
                    "text": "y and z",
                    "partial": "all_or_nothing",
                    "choices": [
                        {"id": "x", "text": "X"},
                        {"id": "y", "text": "Y", "correct": True},
                        {"id": "z", "text": "Z", "correct": True},
                    ],
                },
            ]
        },
    }
    raw.update(changes)
    return raw


QUIZ = parse_quiz(quiz_raw())


class Run:
    """One attempt driven through the domain's decide/apply at explicit times."""

    def __init__(self, attempt_id: str, name: str, quiz: Quiz = QUIZ, at: float = T0) -> None:
        self.attempt_id = attempt_id
        self.quiz = quiz
        self.state = AttemptState()
        self.records: list[RecordedEvent] = []
        self.ref: SessionRef | None = None
        self.sessions = 0
        self.ops = 0
        self.do(
            CreateAttempt(
                attempt_id=attempt_id,
                quiz_id=quiz.id,
                quiz_version=quiz.version,
                candidate_id="c-" + attempt_id,
                candidate_name=name,
            ),
            at,
        )

    def do(self, command: AttemptCommand, at: float) -> list[AttemptEvent]:
        events = decide(self.state, self.quiz, command, at)
        for event in events:
            apply(self.state, event)
            self.records.append(
                RecordedEvent(attempt_id=self.attempt_id, seq=self.state.version, event=event)
            )
        return events

    @property
    def session(self) -> SessionRef:
        assert self.ref is not None
        return self.ref

    def login(self, at: float, *, takeover: bool = False) -> None:
        self.sessions += 1
        sid = f"{self.attempt_id}-s{self.sessions}"
        self.do(OpenSession(session_id=sid, takeover=takeover), at)
        self.ref = SessionRef(session_id=sid, epoch=self.state.epoch)

    def start(self, at: float = S) -> None:
        self.do(StartSection(session=self.session, section="test", seed=1), at)

    def deliver(self, at: float) -> str:
        [event] = self.do(DeliverNext(session=self.session), at)
        assert isinstance(event, QuestionDelivered)
        return event.question_id

    def save(self, qid: str, answer: AnswerValue, at: float) -> None:
        self.ops += 1
        op = f"op-{self.ops}"
        assert self.do(
            SaveAnswer(session=self.session, question_id=qid, answer=answer, op_id=op), at
        )

    def take(self, answers: list[tuple[AnswerValue, float]], at: float = S) -> float:
        """Log in, start the test at ``at`` and answer the questions in order: each
        question is delivered when the previous one is answered and answered
        ``seconds`` after its delivery. Returns the time of the last event."""
        self.login(T0)
        self.start(at)
        now = at
        for answer, seconds in answers:
            qid = self.deliver(now)
            now += seconds
            self.save(qid, answer, now)
        return now

    def submit(self, at: float, reason: Any = "candidate") -> Submitted:
        command = Submit(reason=reason, session=self.ref if reason == "candidate" else None)
        [event] = self.do(command, at)
        assert isinstance(event, Submitted)
        return event


def dataset() -> list[Run]:
    a = Run("a", "Ann")
    end = a.take([("a", 10), (True, 20), (10.2, 30), ("Mars", 40), (["x"], 50)])
    a.submit(end + 5)  # S+155

    b = Run("b", "Bob")
    end = b.take([("a", 20), (False, 20), (11.0, 20), ("mars", 20), (["y"], 20)])
    b.submit(end)  # S+100

    c = Run("c", "Cy")
    end = c.take([("b", 5), (True, 15), (9.6, 25), (" MARS ", 35), (["y", "z"], 45)])
    c.submit(end + 10)  # S+135

    d = Run("d", "Dee")  # a takeover, an idle close, then the deadline
    d.login(T0)
    d.start()
    d.deliver(S)  # q1
    d.login(S + 20, takeover=True)
    d.save("q1", "c", S + 30)
    d.deliver(S + 30)  # q2
    d.save("q2", False, S + 40)
    d.deliver(S + 40)  # q3
    d.do(CloseSession(session=d.session, reason="idle"), S + 45)
    d.login(S + 48)
    d.save("q3", 3.0, S + 50)
    d.deliver(S + 50)  # q4
    d.save("q4", "Mars", S + 60)
    d.deliver(S + 60)  # q5: never answered
    d.submit(S + 600 + 5 + 1, reason="deadline")  # the reaper, after deadline + grace

    e = Run("e", "Eve")  # all right, then voided: listed, not counted
    end = e.take([("a", 1), (True, 1), (10.0, 1), ("Mars", 1), (["y", "z"], 1)])
    e.submit(end)
    e.do(Void(by="admin:ops", reason="cheating"), end + 100)

    f = Run("f", "Fay")  # still running
    f.take([("a", 7)])
    return [a, b, c, d, e, f]


@pytest.fixture(scope="module")
def report() -> QuizReport:
    runs = dataset()
    return build_report(QUIZ, [r.records for r in runs], {1: QUIZ}, timelines=True)


def item(report: QuizReport, qid: str) -> Any:
    return next(i for i in report.items if i.question_id == qid)


# ----------------------------------------------------------------------------- results


def test_results_per_candidate(report: QuizReport) -> None:
    by_id = {r.attempt_id: r for r in report.results}
    assert list(by_id) == ["a", "b", "c", "d", "e", "f"]
    assert [(r.status, r.score, r.max_score, r.percentage) for r in report.results] == [
        ("submitted", 4.0, 5.0, 80.0),
        ("submitted", 2.0, 5.0, 40.0),
        ("submitted", 4.0, 5.0, 80.0),
        ("submitted", 1.0, 5.0, 20.0),
        ("voided", 5.0, 5.0, 100.0),  # its score stays visible, its status says voided
        ("open", None, None, None),
    ]
    a, d, f = by_id["a"], by_id["d"], by_id["f"]
    assert (a.candidate_id, a.candidate_name, a.quiz_version) == ("c-a", "Ann", 1)
    assert (a.started_at, a.finished_at, a.time_used_s, a.submit_reason) == (
        S,
        S + 155,
        155.0,
        "candidate",
    )
    # A deadline submit finishes at the deadline: 600 s after the test start.
    assert (d.finished_at, d.time_used_s, d.submit_reason) == (S + 600, 600.0, "deadline")
    assert [(x.question_id, x.answer, x.points, x.correct, x.delivered) for x in a.answers] == [
        ("q1", "a", 1.0, True, True),
        ("q2", True, 1.0, True, True),
        ("q3", 10.2, 1.0, True, True),
        ("q4", "Mars", 1.0, True, True),
        ("q5", ["x"], 0.0, False, True),
    ]
    assert [(x.question_id, x.answer, x.points) for x in d.answers][-1] == ("q5", None, 0.0)
    assert all(x.max_points == 1.0 for x in a.answers)
    # The running attempt: every planned question listed, two of them delivered.
    assert (f.started_at, f.finished_at, f.time_used_s) == (S, None, None)
    assert [x.delivered for x in f.answers] == [True, False, False, False, False]
    assert f.answers[0].points == 1.0


def test_summary_leaves_out_voided_and_running(report: QuizReport) -> None:
    s = report.summary
    assert (s.attempts, s.scored, s.in_progress, s.voided) == (6, 4, 1, 1)
    assert (s.mean_score, s.median_score) == (2.75, 3.0)  # 4, 2, 4, 1
    assert (s.mean_percentage, s.median_percentage) == (55.0, 60.0)
    assert s.mean_time_used_s == (155 + 100 + 135 + 600) / 4
    assert s.median_time_used_s == (135 + 155) / 2
    assert report.versions == [1]
    assert report.question_ids == ["q1", "q2", "q3", "q4", "q5"]


# ----------------------------------------------------------------------- item analysis


def test_facility_and_answered(report: QuizReport) -> None:
    got = {
        i.question_id: (i.delivered, i.answered, i.mean_points, i.facility) for i in report.items
    }
    assert got == {
        "q1": (4, 4, 0.5, 50.0),
        "q2": (4, 4, 0.5, 50.0),
        "q3": (4, 4, 0.5, 50.0),
        "q4": (4, 4, 1.0, 100.0),
        "q5": (4, 3, 0.25, 25.0),  # D saw q5 and left it blank
    }
    # Without negative marks the facility index is the share of full marks, and
    # with all-or-nothing questions the share of candidates right.
    right = {i.question_id: (i.right, i.right_percentage, i.min_points) for i in report.items}
    assert right == {
        "q1": (2, 50.0, 0.0),
        "q2": (2, 50.0, 0.0),
        "q3": (2, 50.0, 0.0),
        "q4": (4, 100.0, 0.0),
        "q5": (1, 25.0, 0.0),  # C's exact set; A's ["x"] and B's ["y"] are wrong
    }


def test_discrimination_by_hand(report: QuizReport) -> None:
    """Pearson r of the item's points with the rest of the test (total - item).

    q1: x = [1, 1, 0, 0], rest = [3, 1, 4, 1]; mean rest 2.25;
        Sxy = .5*.75 + .5*-1.25 - .5*1.75 - .5*-1.25 = -0.5; Sxx = 1;
        Syy = .5625 + 1.5625 + 3.0625 + 1.5625 = 6.75  ->  r = -0.5 / sqrt(6.75)
    q2 (and q3): x = [1, 0, 1, 0], rest = [3, 2, 3, 1]; Sxy = 1.5; Sxx = 1;
        Syy = 2.75  ->  r = 1.5 / sqrt(2.75)
    q4: every candidate right: zero variance -> None
    q5: x = [0, 0, 1, 0], rest = [4, 2, 3, 1]; mean x .25, mean rest 2.5;
        Sxy = -.25*1.5 - .25*-.5 + .75*.5 - .25*-1.5 = 0.5; Sxx = 0.75; Syy = 5
        ->  r = 0.5 / sqrt(3.75)
    """
    assert item(report, "q1").discrimination == pytest.approx(-0.5 / math.sqrt(6.75), abs=1e-6)
    assert item(report, "q1").discrimination == -0.19245
    assert item(report, "q2").discrimination == pytest.approx(1.5 / math.sqrt(2.75), abs=1e-6)
    assert item(report, "q2").discrimination == 0.904534
    assert item(report, "q3").discrimination == 0.904534
    assert item(report, "q4").discrimination is None
    assert item(report, "q5").discrimination == pytest.approx(0.5 / math.sqrt(3.75), abs=1e-6)
    assert item(report, "q5").discrimination == 0.258199


def test_pearson_edge_cases() -> None:
    assert pearson([], []) is None
    assert pearson([1.0], [2.0]) is None  # fewer than 2 attempts
    assert pearson([1.0, 1.0], [0.0, 3.0]) is None  # the item has no variance
    assert pearson([0.0, 1.0], [2.0, 2.0]) is None  # the rest has no variance
    assert pearson([0.0, 1.0], [1.0, 2.0]) == 1.0
    assert pearson([0.0, 1.0], [2.0, 1.0]) == -1.0


def opts(report: QuizReport, qid: str) -> list[tuple[str, int, bool]]:
    return [(o.option, o.count, o.correct) for o in item(report, qid).options]


def test_option_counts(report: QuizReport) -> None:
    assert opts(report, "q1") == [("a", 2, True), ("b", 1, False), ("c", 1, False)]
    assert [o.label for o in item(report, "q1").options] == ["A", "B", "C"]
    assert opts(report, "q2") == [("true", 2, True), ("false", 2, False)]
    # numeric: 10.2 and 9.6 within 10 +- 0.5; 11 and 3 outside
    assert opts(report, "q3") == [("within_tolerance", 2, True), ("outside_tolerance", 2, False)]
    # short text: compared as the scorer compares ("Mars", "mars", " MARS ", "Mars")
    assert opts(report, "q4") == [("mars", 4, True)]
    # multiple: each chosen option of each answer (D's blank counts nowhere)
    assert opts(report, "q5") == [("x", 1, False), ("y", 2, True), ("z", 1, True)]


def test_short_text_top_answers_are_ordered_by_count_then_text() -> None:
    runs = []
    for n, text in enumerate(["Venus", "mars", "venus ", "Jupiter", "MARS", "Mars"]):
        run = Run(f"t{n}", f"T{n}")
        end = run.take([("a", 1), (True, 1), (10.0, 1), (text, 1)])
        run.submit(end)
        runs.append(run)
    report = build_report(QUIZ, [r.records for r in runs], {1: QUIZ})
    assert opts(report, "q4") == [("mars", 3, True), ("venus", 2, False), ("jupiter", 1, False)]
    assert item(report, "q5").delivered == 0  # never delivered: nothing to analyse
    assert item(report, "q5").facility is None
    assert item(report, "q5").discrimination is None


def test_time_spent(report: QuizReport) -> None:
    """First delivery to first saved answer. A: 10 20 30 40 50, B: 20 each,
    C: 5 15 25 35 45, D: 30 10 10 10 and no answer to q5."""
    got = {i.question_id: (i.time_samples, i.median_time_s, i.mean_time_s) for i in report.items}
    assert got == {
        "q1": (4, 15.0, 16.25),  # 10 20 5 30 (D's takeover in between changes nothing)
        "q2": (4, 17.5, 16.25),  # 20 20 15 10
        "q3": (4, 22.5, 21.25),  # 30 20 25 10 (D's idle close and re-login count)
        "q4": (4, 27.5, 26.25),  # 40 20 35 10
        "q5": (3, 45.0, round(115 / 3, 6)),  # 50 20 45
    }


def test_negative_marks_keep_the_facility_index_within_0_to_100() -> None:
    """Moodle's facility index: (mean points - min) / (max - min), min = -penalty."""
    raw = quiz_raw()
    raw["test"]["questions"][2]["penalty"] = 0.5
    quiz = parse_quiz(raw)
    runs = []
    for n, answer in enumerate([3.0, 4.0, 10.0]):
        run = Run(f"n{n}", "N", quiz)
        end = run.take([("a", 1), (True, 1), (answer, 1)])
        run.submit(end)
        runs.append(run)
    report = build_report(quiz, [r.records for r in runs], {1: quiz})
    q3 = item(report, "q3")
    # points -0.5, -0.5, 1 in [-0.5, 1]: (0 + 0 + 1.5) / (3 * 1.5) = 1/3
    assert (q3.mean_points, q3.facility, q3.min_points) == (0.0, 33.333333, -0.5)
    assert (q3.right, q3.right_percentage) == (1, 33.333333)
    report = build_report(quiz, [r.records for r in runs[:2]], {1: quiz})
    q3 = item(report, "q3")
    assert (q3.mean_points, q3.facility, q3.right_percentage) == (-0.5, 0.0, 0.0)


def test_half_right_with_a_full_penalty_reads_50_not_0() -> None:
    """The teacher's case: a wrong answer costs as much as a right one earns, half
    the candidates are right. The mean points are 0; the facility index is 50 %."""
    raw = quiz_raw()
    raw["test"]["questions"][0]["penalty"] = 1
    quiz = parse_quiz(raw)
    runs = []
    for n, answer in enumerate(["a", "b", "a", "c"]):
        run = Run(f"h{n}", "H", quiz)
        run.submit(run.take([(answer, 1)]))
        runs.append(run)
    q1 = item(build_report(quiz, [r.records for r in runs], {1: quiz}), "q1")
    assert (q1.mean_points, q1.min_points, q1.max_points) == (0.0, -1.0, 1.0)
    assert (q1.facility, q1.right, q1.right_percentage) == (50.0, 2, 50.0)
    # Everyone wrong is 0 %, everyone right 100 %: never outside 0-100.
    wrong = [Run(f"w{n}", "W", quiz) for n in range(2)]
    for run in wrong:
        run.submit(run.take([("b", 1)]))
    q1 = item(build_report(quiz, [r.records for r in wrong], {1: quiz}), "q1")
    assert (q1.mean_points, q1.facility) == (-1.0, 0.0)


def test_facility_index_edge_cases() -> None:
    assert facility_index([], [], []) is None
    assert facility_index([0.0], [0.0], [0.0]) is None  # a question worth nothing
    assert facility_index([1.0, -1.0], [-1.0, -1.0], [1.0, 1.0]) == 50.0
    assert facility_index([2.0, 1.0], [0.0, 0.0], [2.0, 1.0]) == 100.0  # two versions


# --------------------------------------------------------------------- session analytics


def test_session_analytics(report: QuizReport) -> None:
    by_id = {s.attempt_id: s for s in report.sessions}
    d = by_id["d"]
    assert (d.sessions, d.takeovers, d.superseded, d.disconnects) == (3, 1, 1, 2)
    assert d.closed == {"idle": 1}
    # The test ran from S to the deadline S+600; the last event before was q5's
    # delivery at S+60: 540 s with nothing recorded.
    assert (d.longest_gap_s, d.longest_gap_from, d.longest_gap_to) == (540.0, S + 60, S + 600)
    a = by_id["a"]
    assert (a.sessions, a.takeovers, a.disconnects, a.closed) == (1, 0, 0, {})
    assert [(s.candidate_id, s.candidate_name) for s in report.sessions][:2] == [
        ("c-a", "Ann"),
        ("c-b", "Bob"),
    ]
    assert (a.longest_gap_s, a.longest_gap_from) == (50.0, S + 100)  # q5's 50 s
    assert by_id["e"].longest_gap_s == 1.0  # the void came after the submit: not counted
    assert by_id["f"].longest_gap_s == 7.0  # still running: up to the last event
    assert a.events == len(dataset()[0].records)


def ev_log(*events: AttemptEvent) -> list[RecordedEvent]:
    return [RecordedEvent(attempt_id="x", seq=n, event=e) for n, e in enumerate(events, 1)]


def test_gaps_only_while_the_test_runs() -> None:
    log = ev_log(
        AttemptCreated(at=0, attempt_id="x", quiz_id="rq", quiz_version=1, candidate_id="c"),
        SessionOpened(at=1, session_id="s1", epoch=1),
        SectionStarted(at=1000, section="practice", seed=1, plan=[]),  # before the test
        SectionStarted(at=2000, section="test", seed=1, plan=["q1"]),
        QuestionDelivered(at=2010, section="test", question_id="q1"),
        SessionClosed(at=2040, session_id="s1", reason="expired", by="system"),
        SessionOpened(at=2100, session_id="s2", epoch=2),
        SessionSuperseded(at=2130, session_id="s2", by_session_id="s3"),
        SessionOpened(at=2130, session_id="s3", epoch=3, takeover=True),
        Submitted(at=2150, reason="candidate", finished_at=2150, score=0, max_score=1),
        Reopened(at=5000, by="admin:ops", extra_seconds=300),  # the 2850 s closed: no gap
        SessionClosed(at=5010, session_id="s3", reason="unlock", by="admin:ops"),
        SessionOpened(at=5100, session_id="s4", epoch=4),
        Voided(at=5150, by="admin:ops"),
        SessionOpened(at=9000, session_id="s5", epoch=5),  # after the void: no gap
    )
    got = session_analytics(log)
    assert (got.sessions, got.takeovers, got.superseded) == (5, 1, 1)
    assert got.closed == {"expired": 1, "unlock": 1}
    assert got.disconnects == 3  # expired + unlock + superseded
    assert (got.longest_gap_s, got.longest_gap_from, got.longest_gap_to) == (90.0, 5010, 5100)


def test_a_deadline_submit_never_ends_before_the_last_event() -> None:
    log = ev_log(
        AttemptCreated(at=0, attempt_id="x", quiz_id="rq", quiz_version=1, candidate_id="c"),
        SectionStarted(at=10, section="test", seed=1, plan=["q1"]),
        QuestionDelivered(at=20, section="test", question_id="q1"),
        # a save inside the grace period, after the deadline (610)
        QuestionDelivered(at=613, section="test", question_id="q2"),
        Submitted(at=700, reason="deadline", finished_at=610, score=0, max_score=1),
    )
    got = session_analytics(log)
    assert (got.longest_gap_s, got.longest_gap_from, got.longest_gap_to) == (593.0, 20, 613)


def test_timelines_reuse_the_timeline_module(report: QuizReport) -> None:
    assert report.timelines is not None
    lines = report.timelines[0].lines
    assert report.timelines[0].attempt_id == "a"
    assert lines[0].endswith("created rq v1 c-a")
    assert any(line.endswith("response q5 [x] 0") for line in lines)
    assert lines[-1].startswith("2027/01/15 08:02:45 submit candidate 4/5")


def test_the_report_encodes_to_json(report: QuizReport) -> None:
    back = msgspec.json.decode(msgspec.json.encode(report), type=QuizReport)
    assert back == report
    assert isinstance(report.items[0].options[0], OptionCount)
