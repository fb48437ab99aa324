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

from quizsession.api.reports import AttemptAnalytics, ItemAnalysisReport, QuizResults
from quizsession.app.reports.builder import attempt_analytics, quiz_report
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
    per attempt, a points and an answer column per question)."""
    require_admin(request)
    c = container(request)
    report = await quiz_report(c.data, quiz_id)
    if format == "csv":
        name = _filename(quiz_id, "results.csv")
        return Response(
            content=c.reports.results_csv(report),
            media_type="text/csv",  # Litestar adds "; charset=utf-8" to text/*
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "X-Content-Type-Options": "nosniff",
            },
        )
    return Response(
        content=QuizResults(
            quiz_id=report.quiz_id,
            title=report.title,
            versions=report.versions,
            question_ids=report.question_ids,
            summary=report.summary,
            results=report.results,
        )
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
    report = await quiz_report(container(request).data, quiz_id)
    return ItemAnalysisReport(
        quiz_id=report.quiz_id,
        title=report.title,
        versions=report.versions,
        scored_attempts=report.summary.scored,
        items=report.items,
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
