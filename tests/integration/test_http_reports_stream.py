"""The results route streams: a quiz with hundreds of attempts (several pages of
the store, several chunks of the response) comes back as the same JSON and CSV
as the report built in memory."""

from __future__ import annotations

import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient

from quizsession.adapters.report_render.csv_json import results_csv
from quizsession.api.reports import QuizResults
from quizsession.app.attempts import index_row
from quizsession.app.reports.builder import quiz_report
from quizsession.bootstrap import Container
from tests.unit.test_reports import QUIZ, Run, dataset
from tests.unit.test_reports_stream import many


async def _fill(container: Container) -> None:
    await _fill_with(container, [*dataset(), *many(1200)])


async def _fill_with(container: Container, runs: list[Run]) -> None:
    """The report quiz ``rq`` and ``runs``, straight into the store."""
    store = container.data
    await store.put_quiz(QUIZ)
    for run in runs:
        await store.append(
            run.attempt_id,
            0,
            [r.event for r in run.records],
            index_row(run.state, run.quiz, run.records[-1].event.at),
        )


async def test_results_json_and_csv_stream_what_the_report_holds(
    client: AsyncTestClient[Litestar], container: Container, admin_headers: dict[str, str]
) -> None:
    await _fill(container)
    report = await quiz_report(container.data, "rq")
    assert len(report.results) == 1206

    got = await client.get("/admin/quizzes/rq/results", headers=admin_headers)
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("application/json")
    results = msgspec.json.decode(got.content, type=QuizResults)
    assert results == QuizResults(
        quiz_id=report.quiz_id,
        title=report.title,
        versions=report.versions,
        question_ids=report.question_ids,
        summary=report.summary,
        results=report.results,
    )

    got = await client.get("/admin/quizzes/rq/results?format=csv", headers=admin_headers)
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/csv")
    assert got.text == results_csv(report)


async def test_an_unknown_quiz_is_a_problem_before_anything_is_sent(
    client: AsyncTestClient[Litestar], admin_headers: dict[str, str]
) -> None:
    for fmt in ("json", "csv"):
        got = await client.get(f"/admin/quizzes/nope/results?format={fmt}", headers=admin_headers)
        assert got.status_code == 404
        assert got.headers["content-type"].startswith("application/problem+json")
        assert got.json()["code"] == "not_found"
