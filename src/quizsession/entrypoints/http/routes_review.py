"""What the candidate is told about answers: the review of a submitted test (as
the quiz's review policy allows it now), the practice round's immediate
feedback, and an administrator's full review of any attempt."""

from __future__ import annotations

from litestar import get, post

from quizsession.api.review import PracticeFeedback, ReviewView
from quizsession.domain.errors import ErrorCode
from quizsession.entrypoints.http.context import (
    AnyRequest,
    container,
    require_admin,
    session_claims,
)
from quizsession.entrypoints.http.openapi_docs import (
    API_KEY,
    API_KEY_CODES,
    SERVICE,
    SESSION_CODES,
    SESSION_TOKEN,
    ApiOperation,
    problem_responses,
)

SID = "/sessions/{session_id:str}"


@get(
    SID + "/review",
    tags=["sessions"],
    security=SESSION_TOKEN,
    responses=problem_responses(
        *SESSION_CODES, ErrorCode.ATTEMPT_VOIDED, ErrorCode.REVIEW_NOT_AVAILABLE, *SERVICE
    ),
    operation_class=ApiOperation,
)
async def session_review(request: AnyRequest, session_id: str) -> ReviewView:
    """The submitted test as the quiz's review policy shows it now: the score
    at once, answers, right answers and feedback when the policy allows
    (``next_at``: when more becomes visible). What the policy hides is absent.
    409 ``review_not_available`` before the test is submitted."""
    claims = await session_claims(request, session_id)
    return await container(request).reviews.review(claims)


@post(
    SID + "/questions/{question_id:str}/check",
    status_code=200,
    tags=["sessions"],
    security=SESSION_TOKEN,
    responses=problem_responses(
        *SESSION_CODES,
        ErrorCode.ATTEMPT_VOIDED,
        ErrorCode.PRACTICE_ONLY,
        ErrorCode.QUESTION_UNKNOWN,
        ErrorCode.QUESTION_NOT_DELIVERED,
        *SERVICE,
    ),
    operation_class=ApiOperation,
)
async def check_practice_answer(
    request: AnyRequest, session_id: str, question_id: str
) -> PracticeFeedback:
    """The practice round's immediate feedback on the saved answer to a
    delivered practice question: right or not, the right answer, feedback.
    Changes nothing. 409 ``practice_only`` outside the practice round."""
    claims = await session_claims(request, session_id)
    return await container(request).reviews.check(claims, question_id)


@get(
    "/admin/attempts/{attempt_id:str}/review",
    tags=["admin"],
    security=API_KEY,
    responses=problem_responses(*API_KEY_CODES, ErrorCode.NOT_FOUND, *SERVICE),
    operation_class=ApiOperation,
)
async def admin_review(request: AnyRequest, attempt_id: str) -> ReviewView:
    """Everything about one attempt (submitted or not): score, answers, right
    answers, feedback and general feedback, whatever the review policy."""
    require_admin(request)
    return await container(request).reviews.full_review(attempt_id)


ROUTES = [session_review, check_practice_answer, admin_review]
