"""Reports read through a store: every quiz version the attempts used, unknown
quizzes and attempts, one attempt's analytics, and names encrypted at rest read
through the decrypting store the composition root assembles. The dataset is
``test_reports``'s."""

from __future__ import annotations

import msgspec
import pytest

from quizsession.adapters.store.encrypted import new_key
from quizsession.adapters.store.memory import MemoryStore
from quizsession.app.attempts import index_row
from quizsession.app.reports.builder import attempt_analytics, build_report, quiz_report
from quizsession.app.reports.model import AttemptAnalytics
from quizsession.bootstrap import with_encryption
from quizsession.domain.errors import DomainError
from quizsession.domain.events import AttemptCreated
from quizsession.domain.quiz import Quiz
from quizsession.domain.quiz_validation import parse_quiz
from tests.unit.test_reports import QUIZ, Run, dataset, item, quiz_raw


async def stored(runs: list[Run], *quizzes: Quiz) -> MemoryStore:
    store = MemoryStore()
    await store.open()
    for quiz in quizzes:
        await store.put_quiz(quiz)
    for run in runs:
        await store.append(
            run.attempt_id,
            0,
            [r.event for r in run.records],
            index_row(run.state, run.quiz, run.records[-1].event.at),
        )
    return store


async def test_quiz_report_reads_every_version_through_the_store() -> None:
    v2_raw = quiz_raw(title="Report quiz, v2")
    questions = v2_raw["test"]["questions"]
    questions[0] = {**questions[0], "points": 2}
    questions[4] = {"id": "q6", "kind": "true_false", "text": "New", "correct": False}
    v2 = msgspec.structs.replace(parse_quiz(v2_raw), version=2)
    runs = dataset()[:2]
    new = Run("n", "Nia", v2)
    end = new.take([("a", 1), (True, 1), (10.0, 1), ("Mars", 1), (False, 1)])
    new.submit(end)
    store = await stored([*runs, new], QUIZ, v2)

    report = await quiz_report(store, "rq")
    assert report.title == "Report quiz, v2"
    assert report.versions == [1, 2]
    assert report.question_ids == ["q1", "q2", "q3", "q4", "q6", "q5"]  # latest first
    assert [(r.attempt_id, r.quiz_version, r.score, r.max_score) for r in report.results] == [
        ("a", 1, 4.0, 5.0),
        ("b", 1, 2.0, 5.0),
        ("n", 2, 6.0, 6.0),
    ]
    # q1 is worth 1 in v1 and 2 in v2: facility = (1 + 1 + 2) / (1 + 1 + 2)
    assert (item(report, "q1").delivered, item(report, "q1").facility) == (3, 100.0)
    assert item(report, "q1").max_points == 2.0  # the latest definition's
    assert item(report, "q5").delivered == 2
    assert item(report, "q6").delivered == 1
    assert report.timelines is None
    expected = build_report(v2, [r.records for r in [*runs, new]], {1: QUIZ, 2: v2})
    assert report == expected


async def test_unknown_quiz_and_attempt_are_not_found() -> None:
    store = await stored([], QUIZ)
    with pytest.raises(DomainError) as info:
        await quiz_report(store, "nope")
    assert info.value.code == "not_found"
    with pytest.raises(DomainError) as info:
        await attempt_analytics(store, "nope")
    assert info.value.code == "not_found"
    empty = await quiz_report(store, "rq")
    assert (empty.summary.attempts, empty.results, empty.versions) == (0, [], [])
    assert [i.facility for i in empty.items] == [None] * 5


async def test_attempt_analytics_through_the_store() -> None:
    runs = dataset()
    store = await stored(runs, QUIZ)
    got = await attempt_analytics(store, "d")
    assert isinstance(got, AttemptAnalytics)
    assert (got.attempt_id, got.quiz_id) == ("d", "rq")
    assert got.result is not None
    assert got.result.score == 1.0
    assert got.sessions.disconnects == 2
    assert got.sessions.longest_gap_s == 540.0
    assert len(got.timeline) == len(runs[3].records)
    assert "login d-s2 epoch 2 takeover" in got.timeline[5]


async def test_names_are_read_through_the_decrypting_store() -> None:
    """With encryption at rest the store holds only envelopes; the report, read
    through the store the composition root assembles, has the names in clear."""
    inner = MemoryStore()
    await inner.open()
    store = with_encryption(inner, f"k1:{new_key()}")
    await store.put_quiz(QUIZ)
    for run in dataset()[:2]:
        await store.append(
            run.attempt_id,
            0,
            [r.event for r in run.records],
            index_row(run.state, run.quiz, run.records[-1].event.at),
        )
    [created, *_] = await inner.read("a")
    assert isinstance(created.event, AttemptCreated)
    assert created.event.candidate_name.startswith("enc:v1:")  # sealed at rest
    report = await quiz_report(store, "rq")
    assert [(r.candidate_id, r.candidate_name) for r in report.results] == [
        ("c-a", "Ann"),
        ("c-b", "Bob"),
    ]
    assert [s.candidate_name for s in report.sessions] == ["Ann", "Bob"]
