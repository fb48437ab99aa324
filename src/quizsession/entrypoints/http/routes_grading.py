"""Administrator routes for grading by hand and regrading (``X-API-Key``): the
queue of answers to grade of a quiz, a grade for one answer (the grader is the
API key's name, in the attempt's log), and the regrade of a quiz's finished
attempts with its current version."""

from __future__ import annotations

from typing import Annotated

from litestar import get, post, put
from litestar.params import Parameter

from quizsession.api.grading import (
    GradeBody,
    GradeResult,
    GradingQueue,
    QueueFilter,
    RegradeBody,
    RegradeReport,
)
from quizsession.api.models import Id
from quizsession.domain.errors import ErrorCode
from quizsession.entrypoints.http.context import AnyRequest, container, require_admin
from quizsession.entrypoints.http.openapi_docs import (
    API_KEY,
    API_KEY_CODES,
    JSON_BODY,
    QUERY,
    SERVICE,
    WRITES,
    ApiOperation,
    problem_responses,
)

_CURSOR = Parameter(min_length=1, max_length=600, description="next_cursor of the last page")


@get(
    "/admin/quizzes/{quiz_id:str}/grading",
    tags=["grading"],
    security=API_KEY,
    responses=problem_responses(*API_KEY_CODES, *QUERY, ErrorCode.NOT_FOUND, *SERVICE),
    operation_class=ApiOperation,
)
async def grading_queue(
    request: AnyRequest,
    quiz_id: str,
    question_id: Annotated[Id | None, Parameter(max_length=128)] = None,
    status: QueueFilter = "pending",
    cursor: Annotated[str | None, _CURSOR] = None,
    limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
) -> GradingQueue:
    """The answers to grade by hand of the quiz's submitted attempts, one item per
    (attempt, question): the question and its grader information, the answer with
    its word count, the points range and the grade so far. ``status``:
    ``pending`` (default: waiting for a grade), ``graded`` or ``all`` (blank
    answers too: they score 0 and need no grader). Paged with ``next_cursor``."""
    require_admin(request)
    return await container(request).grading.queue(
        quiz_id, question_id=question_id, status=status, cursor=cursor, limit=limit
    )


@put(
    "/admin/attempts/{attempt_id:str}/grades/{question_id:str}",
    status_code=200,
    opt={"body": GradeBody},
    tags=["grading"],
    security=API_KEY,
    responses=problem_responses(
        *API_KEY_CODES,
        *JSON_BODY,
        ErrorCode.NOT_FOUND,
        ErrorCode.QUESTION_UNKNOWN,
        ErrorCode.NOT_MANUALLY_GRADED,
        ErrorCode.GRADE_OUT_OF_RANGE,
        ErrorCode.ATTEMPT_NOT_FINISHED,
        ErrorCode.ATTEMPT_VOIDED,
        *WRITES,
        *SERVICE,
    ),
    operation_class=ApiOperation,
)
async def put_grade(
    request: AnyRequest, attempt_id: str, question_id: str, data: GradeBody
) -> GradeResult:
    """Grade the answer to a question graded by hand, once the test is submitted:
    points within 0 and the question's points, and a comment. Grading again
    replaces the grade. Returns the grade and the attempt's result (``pending``
    until every answer graded by hand is graded)."""
    by = require_admin(request)
    return await container(request).grading.grade(
        attempt_id, question_id, data.points, data.comment, by
    )


@post(
    "/admin/quizzes/{quiz_id:str}/regrade",
    status_code=200,
    opt={"body": RegradeBody},
    tags=["grading"],
    security=API_KEY,
    responses=problem_responses(
        *API_KEY_CODES,
        *JSON_BODY,
        ErrorCode.NOT_FOUND,
        ErrorCode.REGRADE_INCOMPATIBLE,
        *WRITES,
        *SERVICE,
    ),
    operation_class=ApiOperation,
)
async def regrade(request: AnyRequest, quiz_id: str, data: RegradeBody) -> RegradeReport:
    """Score the submitted attempts of older versions (``from_version``'s only,
    when given) with the quiz's current version, after an answer key was fixed:
    per attempt its old and new score. Grades given by hand are kept; an attempt
    whose score does not change is left as it is. ``dry_run``: change nothing.
    At most ``limit`` attempts per request: pass ``next_cursor`` back as
    ``cursor`` for the next ones. 409 ``regrade_incompatible`` (nothing changed)
    when a question an attempt was given is missing from the current version."""
    by = require_admin(request)
    return await container(request).grading.regrade(
        quiz_id,
        by=by,
        from_version=data.from_version,
        dry_run=data.dry_run,
        cursor=data.cursor,
        limit=data.limit,
    )


ROUTES = [grading_queue, put_grade, regrade]
