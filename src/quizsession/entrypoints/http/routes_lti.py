"""LTI 1.3 routes: the tool's side of an LMS launch, and the platform
registrations for administrators.

- ``GET|POST /lti/login``: OIDC third-party login initiation; redirects to the
  platform with ``state`` and ``nonce`` and sets the state in a cookie bound to
  this browser (``SameSite=None; Secure; Partitioned`` over https, so that it
  also comes back inside the LMS's frame where third-party cookies are
  partitioned; ``SameSite=Lax`` over plain http, where browsers refuse
  ``SameSite=None``).
- ``POST /lti/launch``: the id_token and state; answers an HTML page (the
  hand-over to the candidate's page, the instructor's page, the quiz choice of
  deep linking). A refusal is an HTML page with its stable code for a browser,
  problem+json otherwise.
- ``POST /lti/deep-link``: the instructor's choice; auto-posts the signed
  answer to the platform.
- ``POST /lti/continue``: the hand-over again, in a new window (from a framed
  launch; same origin only).
- ``GET /lti/jwks``: the tool's public key set.
- ``/admin/lti/platforms`` (``X-API-Key``): register, list, get, remove; and
  ``GET /admin/lti/urls``: what to type into the LMS.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from litestar import Response, delete, get, post, route
from litestar.status_codes import HTTP_302_FOUND

from quizsession.api.lti import LtiPlatform, LtiPlatformBody, LtiPlatformList, LtiToolUrls
from quizsession.api.problems import status_of
from quizsession.app.lti.launch import CandidateLaunch, DeepLinkingLaunch, InstructorLaunch
from quizsession.app.lti.login import state_cookie_name
from quizsession.app.lti.service import LAUNCH_PATH, tool_urls
from quizsession.domain.errors import DomainError, ErrorCode
from quizsession.entrypoints.http.context import AnyRequest, container, require_admin
from quizsession.entrypoints.http.lti_pages import (
    auto_post_page,
    error_page,
    handover_page,
    instructor_page,
    picker_page,
)
from quizsession.entrypoints.http.openapi_docs import (
    API_KEY,
    API_KEY_CODES,
    JSON_BODY,
    NO_CONTENT,
    SERVICE,
    ApiOperation,
    problem_responses,
)

_LAUNCH_CODES = (
    ErrorCode.LTI_MESSAGE_INVALID,
    ErrorCode.LTI_PLATFORM_UNKNOWN,
    ErrorCode.LTI_DEPLOYMENT_UNKNOWN,
    ErrorCode.LTI_TOKEN_INVALID,
    ErrorCode.LTI_TOKEN_EXPIRED,
    ErrorCode.LTI_NONCE_REPLAYED,
    ErrorCode.LTI_STATE_INVALID,
    ErrorCode.LTI_NOT_CONFIGURED,
    ErrorCode.LTI_PLATFORM_UNAVAILABLE,
    ErrorCode.NOT_FOUND,
    ErrorCode.SESSION_ACTIVE,
    ErrorCode.QUIZ_NOT_OPEN,
    ErrorCode.QUIZ_CLOSED,
    ErrorCode.ATTEMPT_VOIDED,
    ErrorCode.RATE_LIMITED,
    *SERVICE,
)
_LOGIN_CODES = (
    ErrorCode.LTI_MESSAGE_INVALID,
    ErrorCode.LTI_PLATFORM_UNKNOWN,
    ErrorCode.LTI_DEPLOYMENT_UNKNOWN,
    *SERVICE,
)
_FORM_LIMIT = 64


def base_url(request: AnyRequest) -> str:
    configured = container(request).settings.base_url
    return (configured or str(request.base_url)).rstrip("/")


def _wants_html(request: AnyRequest) -> bool:
    return "text/html" in request.headers.get("accept", "")


async def _browser(
    request: AnyRequest, handle: Callable[[], Awaitable[Response[Any]]]
) -> Response[Any]:
    """``handle()``; a refusal as an HTML page for a browser (problem+json for
    anyone else, through the app's handler)."""
    try:
        return await handle()
    except DomainError as exc:
        if not _wants_html(request):
            raise
        container(request).metrics.refused(exc.code)
        return error_page(status_of(exc.code), str(exc.code), exc.detail)


async def _params(request: AnyRequest) -> dict[str, str]:
    found: dict[str, str] = {}
    if request.method == "POST":
        form = await request.form()
        items: Any = form.items()
    else:
        items = request.query_params.items()
    for key, value in items:
        if isinstance(value, str) and len(found) < _FORM_LIMIT:
            found.setdefault(key, value)
    return found


def _cookie(name: str, value: str, max_age: int, secure: bool) -> str:
    attributes = [f"{name}={value}", "Path=/lti/", f"Max-Age={max_age}", "HttpOnly"]
    attributes += ["SameSite=None", "Secure", "Partitioned"] if secure else ["SameSite=Lax"]
    return "; ".join(attributes)


@route(
    "/lti/login",
    http_method=["GET", "POST"],
    status_code=HTTP_302_FOUND,
    responses=problem_responses(*_LOGIN_CODES),
    operation_class=ApiOperation,
)
async def lti_login(request: AnyRequest) -> Response[Any]:
    """OIDC third-party login initiation from an LMS (``iss``, ``login_hint``,
    ``target_link_uri``, ``lti_message_hint``, ``client_id``,
    ``lti_deployment_id``, as query or form): 302 to the platform's
    authentication endpoint with ``state`` and ``nonce``; the state is also set
    in a cookie the launch must bring back."""

    async def handle() -> Response[Any]:
        params = await _params(request)
        base = base_url(request)
        found = await container(request).lti.logins.initiate(params, base + LAUNCH_PATH)
        secure = base.startswith("https://")
        return Response(
            content=b"",
            status_code=HTTP_302_FOUND,
            headers={
                "Location": found.url,
                "Cache-Control": "no-store",
                "Set-Cookie": _cookie(found.cookie_name, found.state, found.max_age_s, secure),
            },
        )

    return await _browser(request, handle)


@post(
    "/lti/launch",
    status_code=200,
    responses=problem_responses(*_LAUNCH_CODES),
    operation_class=ApiOperation,
)
async def lti_launch(request: AnyRequest) -> Response[Any]:
    """The launch (a form post of ``id_token`` and ``state`` by the LMS): an HTML
    page that opens the candidate's attempt, the instructor's page, or the
    choice of a quiz for deep linking."""

    async def handle() -> Response[Any]:
        form = await _params(request)
        state = form.get("state", "")
        cookie = request.cookies.get(state_cookie_name(state)) if state else None
        outcome = await container(request).lti.launches.launch(
            form.get("id_token", ""), state, cookie
        )
        response: Response[Any]
        if isinstance(outcome, CandidateLaunch):
            opened = outcome.opened
            session = {
                "id": opened.session_id,
                "token": opened.session_token,
                "attemptId": opened.attempt.attempt_id,
            }
            response = handover_page(session, outcome.quiz_title, outcome.platform)
        elif isinstance(outcome, InstructorLaunch):
            response = instructor_page(
                outcome.platform, outcome.quiz, outcome.quiz_id, outcome.quizzes
            )
        else:
            assert isinstance(outcome, DeepLinkingLaunch)
            response = picker_page(outcome.platform, outcome.choice, outcome.quizzes)
        response.headers["Set-Cookie"] = (
            f"{state_cookie_name(state)}=; Path=/lti/; Max-Age=0; HttpOnly; SameSite=Lax"
        )
        return response

    return await _browser(request, handle)


@post(
    "/lti/deep-link",
    status_code=200,
    responses=problem_responses(
        ErrorCode.LTI_STATE_INVALID,
        ErrorCode.LTI_PLATFORM_UNKNOWN,
        ErrorCode.LTI_NOT_CONFIGURED,
        ErrorCode.NOT_FOUND,
        *SERVICE,
    ),
    operation_class=ApiOperation,
)
async def lti_deep_link(request: AnyRequest) -> Response[Any]:
    """The instructor's choice of a quiz (``choice``, ``quiz_id``): a page that
    posts the signed deep linking answer (``JWT``) back to the LMS."""

    async def handle() -> Response[Any]:
        form = await _params(request)
        answer = await container(request).lti.deep_linking.answer(
            form.get("choice", ""), form.get("quiz_id", ""), base_url(request) + LAUNCH_PATH
        )
        return auto_post_page(answer.return_url, {"JWT": answer.jwt}, answer.platform)

    return await _browser(request, handle)


@post(
    "/lti/continue",
    status_code=200,
    responses=problem_responses(ErrorCode.BAD_REQUEST),
    operation_class=ApiOperation,
)
async def lti_continue(request: AnyRequest) -> Response[Any]:
    """The hand-over in a new window, from a launch framed by the LMS: only a
    form of this service's own pages (same origin) is taken."""

    async def handle() -> Response[Any]:
        site = request.headers.get("sec-fetch-site")
        own = base_url(request)
        if site not in (None, "same-origin") or request.headers.get("origin", own) != own:
            raise DomainError("not from this service's page", code=ErrorCode.BAD_REQUEST)
        form = await _params(request)
        try:
            session = json.loads(form.get("session", ""))
        except ValueError as exc:
            raise DomainError("no session to continue", code=ErrorCode.BAD_REQUEST) from exc
        if not isinstance(session, dict) or not all(
            isinstance(session.get(k), str) for k in ("id", "token", "attemptId")
        ):
            raise DomainError("no session to continue", code=ErrorCode.BAD_REQUEST)
        kept = {k: session[k] for k in ("id", "token", "attemptId")}
        return handover_page(kept, form.get("quiz_title", "quizsession"), None)

    return await _browser(request, handle)


@get(
    "/lti/jwks",
    responses=problem_responses(ErrorCode.LTI_NOT_CONFIGURED, *SERVICE),
    operation_class=ApiOperation,
)
async def lti_jwks(request: AnyRequest) -> Response[Mapping[str, Any]]:
    """The tool's public key set (JWKS): the platform checks the deep linking
    answers and the grade service's client assertions with it."""
    return Response(
        content=container(request).lti.jwks(),
        headers={"Cache-Control": "public, max-age=300"},
    )


# -- administrators -----------------------------------------------------------------

PLATFORMS = "/admin/lti/platforms"


@post(
    PLATFORMS,
    status_code=201,
    opt={"body": LtiPlatformBody},
    security=API_KEY,
    responses=problem_responses(*API_KEY_CODES, *JSON_BODY, *SERVICE),
    operation_class=ApiOperation,
)
async def register_lti_platform(request: AnyRequest, data: LtiPlatformBody) -> LtiPlatform:
    """Register an LMS (issuer, client id, deployment ids, its OIDC
    authentication URL, key set URL and access token URL). The same issuer and
    client id again updates the registration. Scores of attempts launched from
    it go to its gradebook (an ``lti_ags`` destination ``lti:<id>``)."""
    require_admin(request)
    return await container(request).lti.platforms.register(data)


@get(
    PLATFORMS,
    security=API_KEY,
    responses=problem_responses(*API_KEY_CODES, *SERVICE),
    operation_class=ApiOperation,
)
async def list_lti_platforms(request: AnyRequest) -> LtiPlatformList:
    require_admin(request)
    return LtiPlatformList(platforms=await container(request).lti.platforms.all())


@get(
    PLATFORMS + "/{platform_id:str}",
    security=API_KEY,
    responses=problem_responses(*API_KEY_CODES, ErrorCode.NOT_FOUND, *SERVICE),
    operation_class=ApiOperation,
)
async def get_lti_platform(request: AnyRequest, platform_id: str) -> LtiPlatform:
    require_admin(request)
    return await container(request).lti.platforms.get(platform_id)


@delete(
    PLATFORMS + "/{platform_id:str}",
    status_code=204,
    security=API_KEY,
    responses={
        204: NO_CONTENT,
        **problem_responses(*API_KEY_CODES, ErrorCode.NOT_FOUND, *SERVICE),
    },
    operation_class=ApiOperation,
)
async def remove_lti_platform(request: AnyRequest, platform_id: str) -> Response[None]:
    """Forget the registration: its launches are refused from now on."""
    require_admin(request)
    await container(request).lti.platforms.remove(platform_id)
    return Response(content=None, status_code=204)


@get(
    "/admin/lti/urls",
    security=API_KEY,
    responses=problem_responses(*API_KEY_CODES),
    operation_class=ApiOperation,
)
async def lti_tool_urls(request: AnyRequest) -> LtiToolUrls:
    """The URLs to type into the LMS when adding this service as a tool
    (``QUIZSESSION_BASE_URL``, or this request's own)."""
    require_admin(request)
    return LtiToolUrls(**tool_urls(base_url(request)))


ROUTES = [
    lti_login,
    lti_launch,
    lti_deep_link,
    lti_continue,
    lti_jwks,
    register_lti_platform,
    list_lti_platforms,
    get_lti_platform,
    remove_lti_platform,
    lti_tool_urls,
]
