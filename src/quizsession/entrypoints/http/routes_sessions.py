"""Candidate routes: ``/sessions`` and the attempt flow."""

from __future__ import annotations

from litestar import Response, delete, get, post, put
from litestar.status_codes import HTTP_201_CREATED

from quizsession.api.models import (
    AttemptView,
    CompleteBody,
    CompleteResult,
    FlagBody,
    FlagResult,
    HeartbeatBody,
    HeartbeatResult,
    NavigationView,
    NextQuestion,
    OpenedSession,
    OpenSessionBody,
    ProgressBody,
    QuestionView,
    SaveResult,
    StartBody,
)
from quizsession.domain.errors import DomainError, ErrorCode
from quizsession.domain.kinds.base import MAX_ESSAY_ANSWER
from quizsession.entrypoints.http.context import (
    AnyRequest,
    admin_name,
    bearer,
    client_address,
    container,
    session_claims,
)
from quizsession.entrypoints.http.openapi_docs import (
    API_KEY_CODES,
    JSON_BODY,
    NO_CONTENT,
    OPTIONAL_API_KEY,
    SERVICE,
    SESSION_CODES,
    SESSION_TOKEN,
    WRITES,
    ApiOperation,
    OpenSessionOperation,
    OptionalBodyOperation,
    ProgressOperation,
    json_response,
    problem_responses,
)
from quizsession.entrypoints.http.replies import JsonReply

SID = "/sessions/{session_id:str}"
#: The least body a save takes, whatever the deployment's ``max_body_bytes``: an
#: essay at its cap (``MAX_ESSAY_ANSWER`` characters, up to 4 bytes each in
#: UTF-8) and the rest of the body. The cap is in characters: a save below it is
#: never refused for its size in bytes (work is never lost), in any script.
SAVE_BODY_BYTES = 4 * MAX_ESSAY_ANSWER + 64 * 1024


@post(
    "/sessions",
    status_code=HTTP_201_CREATED,
    tags=["sessions"],
    opt={"body": OpenSessionBody},
    security=OPTIONAL_API_KEY,
    responses=problem_responses(
        *JSON_BODY,
        *API_KEY_CODES,
        ErrorCode.INVITE_INVALID,
        ErrorCode.INVITE_EXPIRED,
        ErrorCode.NOT_FOUND,
        ErrorCode.QUIZ_NOT_OPEN,
        ErrorCode.QUIZ_CLOSED,
        ErrorCode.ATTEMPT_VOIDED,
        ErrorCode.SESSION_ACTIVE,
        ErrorCode.RATE_LIMITED,
        ErrorCode.LIVE_RECOVERING,
        *WRITES,
        *SERVICE,
    ),
    operation_class=OpenSessionOperation,
)
async def open_session(request: AnyRequest, data: OpenSessionBody) -> OpenedSession:
    """Start or resume an attempt. 409 ``session_active`` while another session
    holds the lease (with ``Retry-After``), unless the quiz allows ``takeover``."""
    c = container(request)
    if data.invite_token is not None:
        if data.user_id is not None or data.quiz_id is not None:
            raise DomainError(
                "send either invite_token or user_id + quiz_id", code=ErrorCode.VALIDATION
            )
        return await c.sessions.open_with_invite(
            data.invite_token, takeover=data.takeover, client=client_address(request)
        )
    if data.user_id is None or data.quiz_id is None:
        raise DomainError("send invite_token, or user_id and quiz_id", code=ErrorCode.VALIDATION)
    if admin_name(request) is None:
        raise DomainError("a backend login needs an API key", code=ErrorCode.API_KEY_REQUIRED)
    return await c.sessions.open_for_user(
        data.user_id, data.quiz_id, name=data.name, takeover=data.takeover
    )


@get(
    SID,
    tags=["sessions"],
    security=SESSION_TOKEN,
    responses=problem_responses(*SESSION_CODES, *SERVICE),
    operation_class=ApiOperation,
)
async def get_session(request: AnyRequest, session_id: str) -> AttemptView:
    claims = await session_claims(request, session_id)
    return await container(request).sessions.view(claims)


@post(
    SID + "/start",
    status_code=200,
    tags=["sessions"],
    opt={"body": StartBody},
    security=SESSION_TOKEN,
    responses=problem_responses(
        *JSON_BODY,
        *SESSION_CODES,
        ErrorCode.ATTEMPT_VOIDED,
        ErrorCode.ATTEMPT_CLOSED,
        ErrorCode.OP_ID_CONFLICT,
        ErrorCode.SECTION_STATE,
        ErrorCode.NO_SUCH_SECTION,
        ErrorCode.QUIZ_NOT_OPEN,
        ErrorCode.QUIZ_CLOSED,
        *WRITES,
        *SERVICE,
    ),
    operation_class=ApiOperation,
)
async def start_section(request: AnyRequest, session_id: str, data: StartBody) -> AttemptView:
    claims = await session_claims(request, session_id)
    return await container(request).sessions.start(claims, data.section, data.op_id)


@get(
    SID + "/question",
    tags=["sessions"],
    security=SESSION_TOKEN,
    responses=problem_responses(
        *SESSION_CODES,
        ErrorCode.ATTEMPT_VOIDED,
        ErrorCode.ATTEMPT_CLOSED,
        ErrorCode.SECTION_NOT_STARTED,
        ErrorCode.DEADLINE_PASSED,
        *WRITES,
        *SERVICE,
    ),
    operation_class=ApiOperation,
)
async def next_question(request: AnyRequest, session_id: str) -> NextQuestion:
    """The current question: the unanswered one already delivered, else the next
    new one (delivered once, never again as new)."""
    claims = await session_claims(request, session_id)
    return await container(request).sessions.next_question(claims)


@get(
    SID + "/questions",
    tags=["sessions"],
    security=SESSION_TOKEN,
    responses=problem_responses(*SESSION_CODES, ErrorCode.SECTION_NOT_STARTED, *SERVICE),
    operation_class=ApiOperation,
)
async def navigation(request: AnyRequest, session_id: str) -> NavigationView:
    """The running section's questions for the navigation panel and the summary
    before submitting: each one's number, kind, state (``not_seen``,
    ``not_answered``, ``answered``, ``information``) and flag, and the counts.
    Free navigation lists every question of the section; sequential navigation
    the ones delivered so far."""
    claims = await session_claims(request, session_id)
    return await container(request).sessions.questions(claims)


@get(
    SID + "/questions/{question_id:str}",
    tags=["sessions"],
    security=SESSION_TOKEN,
    responses=problem_responses(
        *SESSION_CODES,
        ErrorCode.ATTEMPT_VOIDED,
        ErrorCode.ATTEMPT_CLOSED,
        ErrorCode.DEADLINE_PASSED,
        ErrorCode.SECTION_NOT_STARTED,
        ErrorCode.QUESTION_UNKNOWN,
        ErrorCode.QUESTION_NOT_DELIVERED,
        *WRITES,
        *SERVICE,
    ),
    operation_class=ApiOperation,
)
async def open_question(request: AnyRequest, session_id: str, question_id: str) -> QuestionView:
    """A question of the running section, with the answer saved so far. Free
    navigation: any question of the section; its first opening delivers it (it
    counts as seen). Sequential navigation: only a question already delivered,
    to go back to it (409 ``question_not_delivered``)."""
    claims = await session_claims(request, session_id)
    return await container(request).sessions.open_question(claims, question_id)


@put(
    SID + "/flags/{question_id:str}",
    tags=["sessions"],
    opt={"body": FlagBody},
    security=SESSION_TOKEN,
    responses={
        200: json_response(FlagResult, "The flag is stored (or this is a replay)"),
        **problem_responses(
            *JSON_BODY,
            *SESSION_CODES,
            ErrorCode.RATE_LIMITED,
            ErrorCode.ATTEMPT_VOIDED,
            ErrorCode.ATTEMPT_CLOSED,
            ErrorCode.OP_ID_CONFLICT,
            ErrorCode.SECTION_NOT_STARTED,
            ErrorCode.DEADLINE_PASSED,
            ErrorCode.QUESTION_UNKNOWN,
            ErrorCode.QUESTION_NOT_DELIVERED,
            *WRITES,
            *SERVICE,
        ),
    },
    operation_class=ApiOperation,
)
async def flag_question(
    request: AnyRequest, session_id: str, question_id: str, data: FlagBody
) -> FlagResult:
    """Flag a delivered question of the running section for review (``flagged``
    false takes the flag off). Idempotent by ``op_id``; refused after deadline +
    grace like a save."""
    claims = await session_claims(request, session_id)
    return await container(request).sessions.flag(claims, question_id, data.flagged, data.op_id)


@put(
    SID + "/progress",
    tags=["sessions"],
    opt={"body": ProgressBody, "min_body_bytes": SAVE_BODY_BYTES},
    security=SESSION_TOKEN,
    responses={
        200: json_response(SaveResult, "Saved: on disk before this answer (or a replay)"),
        **problem_responses(
            *JSON_BODY,
            *SESSION_CODES,
            ErrorCode.RATE_LIMITED,
            ErrorCode.ATTEMPT_VOIDED,
            ErrorCode.ATTEMPT_CLOSED,
            ErrorCode.OP_ID_CONFLICT,
            ErrorCode.VERSION_MISMATCH,
            ErrorCode.SECTION_NOT_STARTED,
            ErrorCode.DEADLINE_PASSED,
            ErrorCode.QUESTION_UNKNOWN,
            ErrorCode.QUESTION_NOT_DELIVERED,
            ErrorCode.ANSWER_INVALID,
            *WRITES,
            *SERVICE,
        ),
    },
    operation_class=ProgressOperation,
)
async def save_progress(request: AnyRequest, session_id: str, data: ProgressBody) -> JsonReply:
    """Save an answer. A 2xx means it is on disk. Idempotent by ``op_id``."""
    sessions = container(request).sessions  # looked up once: the hottest route
    claims = await sessions.authenticate(bearer(request), session_id)
    result = await sessions.save(
        claims, data.question_id, data.answer, data.op_id, data.expected_version
    )
    return JsonReply(result)


@post(
    SID + "/heartbeat",
    status_code=200,
    tags=["sessions"],
    opt={"body": HeartbeatBody, "body_optional": True},
    security=SESSION_TOKEN,
    responses=problem_responses(
        *JSON_BODY, *SESSION_CODES, ErrorCode.ATTEMPT_VOIDED, *WRITES, *SERVICE
    ),
    operation_class=OptionalBodyOperation,
)
async def heartbeat(
    request: AnyRequest, session_id: str, data: HeartbeatBody | None = None
) -> HeartbeatResult:
    """Keep the lease; returns a refreshed token and the server's time."""
    claims = await session_claims(request, session_id)
    question_id = data.question_id if data is not None else None
    return await container(request).sessions.heartbeat(claims, question_id)


@post(
    SID + "/complete",
    status_code=200,
    tags=["sessions"],
    opt={"body": CompleteBody, "body_optional": True},
    security=SESSION_TOKEN,
    responses=problem_responses(
        *JSON_BODY,
        *SESSION_CODES,
        ErrorCode.ATTEMPT_VOIDED,
        ErrorCode.ATTEMPT_CLOSED,
        ErrorCode.OP_ID_CONFLICT,
        ErrorCode.SECTION_STATE,
        ErrorCode.SECTION_NOT_STARTED,
        ErrorCode.DEADLINE_PASSED,
        *WRITES,
        *SERVICE,
    ),
    operation_class=OptionalBodyOperation,
)
async def complete(
    request: AnyRequest, session_id: str, data: CompleteBody | None = None
) -> CompleteResult:
    """Finish the practice round, or submit the test and get the score
    (idempotent: submitting twice returns the same score)."""
    claims = await session_claims(request, session_id)
    op_id = data.op_id if data is not None else None
    return await container(request).sessions.complete(claims, op_id)


@delete(
    SID,
    status_code=204,
    tags=["sessions"],
    security=SESSION_TOKEN,
    responses={
        204: NO_CONTENT,
        **problem_responses(*SESSION_CODES, ErrorCode.ATTEMPT_VOIDED, *WRITES, *SERVICE),
    },
    operation_class=ApiOperation,
)
async def logout(request: AnyRequest, session_id: str) -> Response[None]:
    """Log out without submitting; the attempt can be resumed by a new login."""
    claims = await session_claims(request, session_id)
    await container(request).sessions.logout(claims)
    return Response(content=None, status_code=204)


ROUTES = [
    open_session,
    get_session,
    start_section,
    next_question,
    navigation,
    open_question,
    flag_question,
    save_progress,
    heartbeat,
    complete,
    logout,
]
