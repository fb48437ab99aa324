"""The report read page by page (``app/reports/stream.py``) gives exactly the
figures of ``build_report`` on the same logs, whatever the page size; its results
come back one at a time from the spool, in attempt-id order. The dataset is
``test_reports``'s, cloned into many attempts with varied answers."""

from __future__ import annotations

import random

import msgspec
import pytest

from quizsession.adapters.store.memory import MemoryStore
from quizsession.app.reports import stream
from quizsession.app.reports.builder import build_report
from quizsession.app.reports.stream import attempt_pages, tally_report
from quizsession.domain.errors import DomainError
from quizsession.domain.events import AnswerValue
from tests.unit.test_reports import QUIZ, Run, S, dataset
from tests.unit.test_reports_store import stored

ANSWERS: list[list[AnswerValue]] = [
    ["a", "b", "c", None],
    [True, False, None],
    [10.0, 10.2, 9.6, 3.0, None],
    ["Mars", "mars", " MARS ", "Venus", "", None],
    [["x"], ["y"], ["y", "z"], [], None],
]


def many(count: int, seed: int = 3) -> list[Run]:
    """``count`` attempts with random answers and times, some submitted."""
    rng = random.Random(seed)
    runs = []
    for n in range(count):
        run = Run(f"m{n:04d}", f"Cand {n}")
        picks: list[tuple[AnswerValue, float]] = [
            (rng.choice(options), rng.uniform(1, 60)) for options in ANSWERS
        ]
        end = run.take(picks[: rng.randint(1, 5)], at=S + rng.uniform(0, 30))
        if rng.random() < 0.8:
            run.submit(end + rng.uniform(0, 5))
        runs.append(run)
    return runs


@pytest.mark.parametrize("page", [1, 7, 500])
async def test_the_streamed_report_is_the_built_one(page: int) -> None:
    runs = [*dataset(), *many(60)]
    store = await stored(runs, QUIZ)
    runs.sort(key=lambda r: r.attempt_id)  # the order the store lists them in
    expected = build_report(QUIZ, [r.records for r in runs], {1: QUIZ}, timelines=True)
    tally = await tally_report(store, "rq", sessions=True, timelines=True, page=page)
    assert tally.report() == expected


async def test_results_come_back_one_at_a_time_in_attempt_order() -> None:
    runs = many(25)
    store = await stored(runs, QUIZ)
    tally = await tally_report(store, "rq", page=4)
    assert tally.sessions is None
    assert tally.timelines is None
    encoded = list(tally.results_json())
    ids = [msgspec.json.decode(data)["attempt_id"] for data in encoded]
    assert ids == sorted(r.attempt_id for r in runs)
    assert tally.summary.attempts == 25


async def test_a_spool_beyond_its_memory_moves_to_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream, "SPOOL_MEMORY", 1000)
    runs = many(30)
    store = await stored(runs, QUIZ)
    tally = await tally_report(store, "rq", page=8)
    assert [r.attempt_id for r in tally.results()] == sorted(r.attempt_id for r in runs)


async def test_pages_in_attempt_order_with_their_logs() -> None:
    runs = many(11)
    store = await stored(runs, QUIZ)
    pages = [page async for page in attempt_pages(store, "rq", page=4)]
    assert [len(p) for p in pages] == [4, 4, 3]
    flat = [pair for page in pages for pair in page]
    assert [a for a, _ in flat] == sorted(r.attempt_id for r in runs)
    by_id = {r.attempt_id: r.records for r in runs}
    assert all(log == by_id[a] for a, log in flat)
    assert [p async for p in attempt_pages(store, "nope")] == []


async def test_an_unknown_quiz_is_not_found() -> None:
    store = MemoryStore()
    await store.open()
    with pytest.raises(DomainError) as caught:
        await tally_report(store, "nope")
    assert caught.value.code == "not_found"
