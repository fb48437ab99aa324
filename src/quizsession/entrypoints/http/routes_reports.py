"""Reports for administrators (``X-API-Key``), computed from the event log:
results (JSON or CSV), item analysis, a self-contained HTML report, and one
attempt's session analytics with its timeline. An unknown quiz or attempt is a
404 problem."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any, Literal

from litestar import Response, Router, get
from litestar.params import Parameter
from litestar.response import Stream

from quizsession.api.reports import AttemptAnalytics, ItemAnalysisReport, QuizResults
from quizsession.app.reports.builder import attempt_analytics, quiz_report
from quizsession.app.reports.stream import tally_report
from quizsession.domain.errors import ErrorCode
from quizsession.entrypoints.http.context import AnyRequest, container, require_admin
from quizsession.entrypoints.http.openapi_docs import (
    API_KEY,
    API_KEY_CODES,
    HTML_PAGE,
    QUERY,
    SERVICE,
    ApiOperation,
    CsvVariantOperation,
    json_response,
    problem_responses,
)

#: The HTML report needs nothing from outside: no scripts, inline CSS, data: images.
HTML_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9_.-]")


def _filename(quiz_id: str, suffix: str) -> str:
    return f"{_UNSAFE_FILENAME.sub('_', quiz_id)}-{suffix}"


@get(
    "/quizzes/{quiz_id:str}/results",
    security=API_KEY,
    responses={
        200: json_response(QuizResults, "The results: JSON (`format=json`) or CSV (`format=csv`)"),
        **problem_responses(*API_KEY_CODES, *QUERY, ErrorCode.NOT_FOUND, *SERVICE),
    },
    operation_class=CsvVariantOperation,
)
async def quiz_results(
    request: AnyRequest,
    quiz_id: str,
    format: Annotated[Literal["json", "csv"], Parameter(description="json or csv")] = "json",
) -> Response[Any]:
    """Every attempt with its score, times and answers (``format=csv``: one row
    per attempt, a points and an answer column per question). Read page by page
    and sent as it is written (chunked), in bounded memory however many attempts
    the quiz has."""
    require_admin(request)
    c = container(request)
    tally = await tally_report(c.data, quiz_id)
    if format == "csv":
        name = _filename(quiz_id, "results.csv")
        return Stream(
            c.reports.results_csv_lines(tally.question_ids, tally.results()),
            media_type="text/csv",  # Litestar adds "; charset=utf-8" to text/*
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "X-Content-Type-Options": "nosniff",
            },
        )
    head = QuizResults(
        quiz_id=tally.quiz_id,
        title=tally.title,
        versions=tally.versions,
        question_ids=tally.question_ids,
        summary=tally.summary,
        results=[],
    )
    return Stream(
        c.reports.results_json_chunks(head, tally.results_json()),
        media_type="application/json",
    )


@get(
    "/quizzes/{quiz_id:str}/item-analysis",
    security=API_KEY,
    responses=problem_responses(*API_KEY_CODES, ErrorCode.NOT_FOUND, *SERVICE),
    operation_class=ApiOperation,
)
async def item_analysis(request: AnyRequest, quiz_id: str) -> ItemAnalysisReport:
    """Per question: delivered, answered, facility, discrimination, answers given
    and time spent (scored attempts only)."""
    require_admin(request)
    tally = await tally_report(container(request).data, quiz_id)
    tally.close()  # the results are not needed here
    return ItemAnalysisReport(
        quiz_id=tally.quiz_id,
        title=tally.title,
        versions=tally.versions,
        scored_attempts=tally.summary.scored,
        items=tally.items,
    )


@get(
    "/quizzes/{quiz_id:str}/report.html",
    security=API_KEY,
    responses={
        200: HTML_PAGE,
        **problem_responses(*API_KEY_CODES, *QUERY, ErrorCode.NOT_FOUND, *SERVICE),
    },
    operation_class=ApiOperation,
)
async def html_report(request: AnyRequest, quiz_id: str, timelines: bool = False) -> Response[str]:
    """A self-contained HTML page (inline CSS and plots) to save or print."""
    require_admin(request)
    c = container(request)
    report = await quiz_report(c.data, quiz_id, timelines=timelines)
    page = await asyncio.to_thread(c.reports.report_html, report)  # plotting: off the loop
    return Response(
        content=page,
        media_type="text/html",  # Litestar adds "; charset=utf-8" to text/*
        headers={
            "Content-Security-Policy": HTML_CSP,
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'inline; filename="{_filename(quiz_id, "report.html")}"',
        },
    )


@get(
    "/attempts/{attempt_id:str}/analytics",
    security=API_KEY,
    responses=problem_responses(*API_KEY_CODES, ErrorCode.NOT_FOUND, *SERVICE),
    operation_class=ApiOperation,
)
async def analytics(request: AnyRequest, attempt_id: str) -> AttemptAnalytics:
    """One attempt's result, sessions, disconnects, takeovers, longest quiet gap
    and timeline."""
    require_admin(request)
    return await attempt_analytics(container(request).data, attempt_id)


reports_router = Router(
    path="/admin",
    route_handlers=[quiz_results, item_analysis, html_report, analytics],
    tags=["reports"],
)
