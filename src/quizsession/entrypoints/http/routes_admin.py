"""Administrator and backend routes (``X-API-Key``). Every change records the key's
name as the actor in the attempt's log."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Protocol, runtime_checkable

from litestar import Response, Router, get, post, put
from litestar.params import Parameter

from quizsession.api.models import (
    AttemptList,
    AttemptView,
    ExtendBody,
    InviteList,
    InvitesBody,
    LiveList,
    QuizList,
    QuizStored,
    ReasonBody,
    ReopenBody,
    TimingResult,
)
from quizsession.app.admin import AttemptDetail, EventView
from quizsession.app.catalog import RosterEntry, parse_roster_lines
from quizsession.app.paging import MAX_CURSOR_CHARS, decode_cursor, next_cursor
from quizsession.app.timeline import timeline
from quizsession.domain.errors import DomainError, ErrorCode
from quizsession.domain.quiz_export import quiz_to_mapping
from quizsession.entrypoints.http.context import AnyRequest, container, require_admin
from quizsession.entrypoints.http.openapi_docs import (
    API_KEY,
    API_KEY_CODES,
    JSON_BODY,
    QUERY,
    SERVICE,
    WRITES,
    ApiOperation,
    InvitesOperation,
    ReadinessOperation,
    json_response,
    problem_responses,
    readiness_responses,
)
from quizsession.entrypoints.http.openapi_quiz import QuizDefinition, QuizDefinitionBodyOperation
from quizsession.entrypoints.http.routes_accommodations import ROUTES as ACCOMMODATION_ROUTES
from quizsession.entrypoints.http.routes_webhooks import ROUTES as WEBHOOK_ROUTES

ADMIN_BODY_LIMIT = 8 * 1024 * 1024


@put(
    "/quizzes/{quiz_id:str}",
    request_max_body_size=ADMIN_BODY_LIMIT,
    opt={"body": dict[str, Any]},
    security=API_KEY,
    responses=problem_responses(*API_KEY_CODES, *JSON_BODY, ErrorCode.QUIZ_INVALID, *SERVICE),
    operation_class=QuizDefinitionBodyOperation,
)
async def put_quiz(request: AnyRequest, quiz_id: str, data: dict[str, Any]) -> QuizStored:
    """Store a definition as the quiz's next version (every problem listed by
    path when it is invalid). Attempts keep the version they started with."""
    require_admin(request)
    body_id = data.get("id")
    if body_id is not None and body_id != quiz_id:
        raise DomainError("the id in the body differs from the path", code=ErrorCode.VALIDATION)
    quiz = await container(request).catalog.put_quiz({**data, "id": quiz_id})
    return QuizStored(id=quiz.id, version=quiz.version, title=quiz.title)


@get(
    "/quizzes",
    security=API_KEY,
    responses=problem_responses(*API_KEY_CODES, *SERVICE),
    operation_class=ApiOperation,
)
async def list_quizzes(request: AnyRequest) -> QuizList:
    require_admin(request)
    return QuizList(quizzes=await container(request).catalog.list_quizzes())


@get(
    "/quizzes/{quiz_id:str}",
    security=API_KEY,
    responses={
        200: json_response(
            QuizDefinition,
            "The definition in its export form: defaults left out, times as ISO-8601 "
            "UTC, with `id` and the stored `version`",
        ),
        **problem_responses(*API_KEY_CODES, *QUERY, ErrorCode.NOT_FOUND, *SERVICE),
    },
    operation_class=ApiOperation,
)
async def get_quiz(
    request: AnyRequest,
    quiz_id: str,
    version: Annotated[int | None, Parameter(ge=1, le=1_000_000)] = None,
) -> dict[str, Any]:
    require_admin(request)
    quiz = await container(request).catalog.get_quiz(quiz_id, version)
    return {"version": quiz.version, **quiz_to_mapping(quiz)}


@get(
    "/quizzes/{quiz_id:str}/live",
    security=API_KEY,
    responses=problem_responses(*API_KEY_CODES, *QUERY, ErrorCode.NOT_FOUND, *SERVICE),
    operation_class=ApiOperation,
)
async def live_attempts(
    request: AnyRequest,
    quiz_id: str,
    cursor: Annotated[str | None, Parameter(max_length=MAX_CURSOR_CHARS)] = None,
    limit: Annotated[int, Parameter(ge=1, le=1000)] = 1000,
) -> LiveList:
    """A quiz's attempts with their clock, connection and last-seen time (the
    admin page polls this), in attempt-id order, ``limit`` at a time: pass
    ``next_cursor`` back as ``cursor`` for the next page."""
    require_admin(request)
    c = container(request)
    after = decode_cursor(cursor)
    await c.catalog.get_quiz(quiz_id)
    rows = await c.admin.live_attempts(quiz_id, limit=limit, after=after)
    return LiveList(
        quiz_id=quiz_id,
        server_time=c.clock.now(),
        attempts=rows,
        next_cursor=next_cursor([r.attempt_id for r in rows], limit),
    )


@post(
    "/quizzes/{quiz_id:str}/apply-timing",
    status_code=200,
    security=API_KEY,
    responses=problem_responses(
        *API_KEY_CODES,
        ErrorCode.NOT_FOUND,
        ErrorCode.ATTEMPT_VOIDED,
        ErrorCode.ATTEMPT_CLOSED,
        *WRITES,
        *SERVICE,
    ),
    operation_class=ApiOperation,
)
async def apply_timing(request: AnyRequest, quiz_id: str) -> TimingResult:
    """Apply the latest version's (longer) duration to the attempts in progress."""
    by = require_admin(request)
    return await container(request).admin.apply_timing(quiz_id, by)


@post(
    "/quizzes/{quiz_id:str}/invites",
    status_code=201,
    request_max_body_size=ADMIN_BODY_LIMIT,
    opt={"body": InvitesBody},
    security=API_KEY,
    responses=problem_responses(*API_KEY_CODES, *JSON_BODY, ErrorCode.NOT_FOUND, *SERVICE),
    operation_class=InvitesOperation,
)
async def create_invites(request: AnyRequest, quiz_id: str, data: InvitesBody) -> InviteList:
    """Roster in, invite tokens out (shown once; only hashes are stored)."""
    require_admin(request)
    c = container(request)
    entries = [
        RosterEntry(
            name=line.name,
            email=line.email,
            valid_until=line.valid_until,
            candidate_id=line.candidate_id,
        )
        for line in data.roster
    ]
    if data.roster_text is not None:
        entries.extend(parse_roster_lines(data.roster_text))
    if not entries:
        raise DomainError("the roster is empty", code=ErrorCode.VALIDATION)
    base = c.settings.base_url or str(request.base_url).rstrip("/")
    invites = await c.catalog.invite(quiz_id, entries, base_url=base)
    return InviteList(quiz_id=quiz_id, invites=invites)


@get(
    "/attempts",
    security=API_KEY,
    responses=problem_responses(*API_KEY_CODES, *QUERY, *SERVICE),
    operation_class=ApiOperation,
)
async def list_attempts(
    request: AnyRequest,
    quiz_id: Annotated[str | None, Parameter(max_length=128)] = None,
    status: Literal["open", "submitted", "voided"] | None = None,
    limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
    offset: Annotated[int, Parameter(ge=0, le=10_000_000)] = 0,
    cursor: Annotated[str | None, Parameter(max_length=MAX_CURSOR_CHARS)] = None,
) -> AttemptList:
    """A page of the attempt index in attempt-id order: pass ``next_cursor`` back
    as ``cursor`` for the next one (``offset`` still works, and then counts from
    the cursor; a cursor costs the same however deep the page)."""
    require_admin(request)
    after = decode_cursor(cursor)
    rows = await container(request).admin.list_attempts(
        quiz_id=quiz_id, status=status, limit=limit, offset=offset, after=after
    )
    return AttemptList(
        attempts=rows,
        limit=limit,
        offset=offset,
        next_cursor=next_cursor([r.attempt_id for r in rows], limit),
    )


@get(
    "/attempts/{attempt_id:str}",
    security=API_KEY,
    responses=problem_responses(*API_KEY_CODES, ErrorCode.NOT_FOUND, *SERVICE),
    operation_class=ApiOperation,
)
async def get_attempt(request: AnyRequest, attempt_id: str) -> AttemptDetail:
    require_admin(request)
    return await container(request).admin.detail(attempt_id)


@get(
    "/attempts/{attempt_id:str}/events",
    security=API_KEY,
    responses=problem_responses(*API_KEY_CODES, ErrorCode.NOT_FOUND, *SERVICE),
    operation_class=ApiOperation,
)
async def attempt_events(request: AnyRequest, attempt_id: str) -> list[EventView]:
    require_admin(request)
    return await container(request).admin.events(attempt_id)


@get(
    "/attempts/{attempt_id:str}/timeline",
    media_type="text/plain",
    security=API_KEY,
    responses=problem_responses(*API_KEY_CODES, ErrorCode.NOT_FOUND, *SERVICE),
    operation_class=ApiOperation,
)
async def attempt_timeline(request: AnyRequest, attempt_id: str) -> str:
    require_admin(request)
    c = container(request)
    records = await c.data.read(attempt_id)
    if not records:
        raise DomainError("no such attempt", code=ErrorCode.NOT_FOUND)
    loaded = await c.executor.load(attempt_id, fresh=True)
    return "\n".join(timeline(records, loaded.quiz if loaded else None)) + "\n"


@post(
    "/attempts/{attempt_id:str}/extend",
    status_code=200,
    opt={"body": ExtendBody},
    security=API_KEY,
    responses=problem_responses(
        *API_KEY_CODES,
        *JSON_BODY,
        ErrorCode.NOT_FOUND,
        ErrorCode.ATTEMPT_VOIDED,
        ErrorCode.ATTEMPT_CLOSED,
        *WRITES,
        *SERVICE,
    ),
    operation_class=ApiOperation,
)
async def extend(request: AnyRequest, attempt_id: str, data: ExtendBody) -> AttemptView:
    by = require_admin(request)
    return await container(request).admin.extend(attempt_id, data.seconds, by, data.reason)


@post(
    "/attempts/{attempt_id:str}/unlock",
    status_code=200,
    security=API_KEY,
    responses=problem_responses(*API_KEY_CODES, ErrorCode.NOT_FOUND, *WRITES, *SERVICE),
    operation_class=ApiOperation,
)
async def unlock(request: AnyRequest, attempt_id: str) -> AttemptView:
    by = require_admin(request)
    return await container(request).admin.unlock(attempt_id, by)


@post(
    "/attempts/{attempt_id:str}/void",
    status_code=200,
    opt={"body": ReasonBody},
    security=API_KEY,
    responses=problem_responses(*API_KEY_CODES, *JSON_BODY, ErrorCode.NOT_FOUND, *WRITES, *SERVICE),
    operation_class=ApiOperation,
)
async def void(request: AnyRequest, attempt_id: str, data: ReasonBody) -> AttemptView:
    by = require_admin(request)
    return await container(request).admin.void(attempt_id, by, data.reason)


@post(
    "/attempts/{attempt_id:str}/reopen",
    status_code=200,
    opt={"body": ReopenBody},
    security=API_KEY,
    responses=problem_responses(
        *API_KEY_CODES, *JSON_BODY, ErrorCode.NOT_FOUND, ErrorCode.NOT_ALLOWED, *WRITES, *SERVICE
    ),
    operation_class=ApiOperation,
)
async def reopen(request: AnyRequest, attempt_id: str, data: ReopenBody) -> AttemptView:
    by = require_admin(request)
    return await container(request).admin.reopen(attempt_id, by, data.reason, data.extra_seconds)


admin_router = Router(
    path="/admin",
    route_handlers=[
        put_quiz,
        list_quizzes,
        get_quiz,
        live_attempts,
        apply_timing,
        create_invites,
        list_attempts,
        get_attempt,
        attempt_events,
        attempt_timeline,
        extend,
        unlock,
        void,
        reopen,
        *ACCOMMODATION_ROUTES,
        *WEBHOOK_ROUTES,
    ],
    tags=["admin"],
)


@get("/healthz", tags=["ops"], operation_class=ApiOperation)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@runtime_checkable
class _Breaker(Protocol):
    """A live state behind a circuit breaker (``state``: closed, open, half_open)."""

    @property
    def state(self) -> str: ...


@get(
    "/readyz",
    tags=["ops"],
    responses=readiness_responses(),
    operation_class=ReadinessOperation,
)
async def readyz(request: AnyRequest) -> Response[dict[str, Any]]:
    if container(request).hub.draining:  # SIGTERM: load balancers stop routing here
        raise DomainError("this instance is draining", code=ErrorCode.DRAINING, retry_after=1)
    c = container(request)
    store_ok = await c.store.ping()
    live_ok = await c.live.ping()
    ok = store_ok and live_ok
    live: bool | str = live_ok
    if live_ok and isinstance(c.live, _Breaker) and c.live.state != "closed":
        live = "degraded"  # Redis is down: store-only mode, still serving
    return Response(
        content={"status": "ready" if ok else "unavailable", "store": store_ok, "live": live},
        status_code=200 if ok else 503,
    )
