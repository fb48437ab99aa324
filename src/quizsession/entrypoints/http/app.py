"""The Litestar application: routes, problem+json translation, lifespan."""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

import msgspec
from litestar import Litestar, Response, get
from litestar.datastructures import State
from litestar.enums import MediaType, ScopeType
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from quizsession.api.problems import MEDIA_TYPE, problem_body
from quizsession.app.ports import StoreError
from quizsession.bootstrap import Container
from quizsession.domain.errors import DomainError, ErrorCode
from quizsession.entrypoints.http.bodies import strict_body
from quizsession.entrypoints.http.context import AnyRequest, require_admin
from quizsession.entrypoints.http.context import container as container_of
from quizsession.entrypoints.http.live_socket import live
from quizsession.entrypoints.http.openapi_docs import COMPONENTS as OPENAPI_COMPONENTS
from quizsession.entrypoints.http.problems import (
    on_domain_error,
    on_http_exception,
    on_store_error,
    on_unexpected,
)
from quizsession.entrypoints.http.routes_admin import admin_router, healthz, readyz
from quizsession.entrypoints.http.routes_grading import ROUTES as GRADING_ROUTES
from quizsession.entrypoints.http.routes_lti import ROUTES as LTI_ROUTES
from quizsession.entrypoints.http.routes_reports import reports_router
from quizsession.entrypoints.http.routes_review import ROUTES as REVIEW_ROUTES
from quizsession.entrypoints.http.routes_sessions import ROUTES as SESSION_ROUTES
from quizsession.entrypoints.http.routes_web import web_router
from quizsession.observability import REQUEST_ID, new_request_id, safe_request_id

StartupHook = Callable[[Container], Awaitable[None]]

#: Answered while draining (liveness, and readiness saying ``draining``); not
#: counted as in-flight work.
OPS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
DRAIN_RETRY_AFTER_S = 1


def _draining_problem(path: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    body = msgspec.json.encode(
        problem_body(
            ErrorCode.DRAINING,
            "this instance is shutting down: retry, another instance will answer",
            instance=path,
            retry_after=DRAIN_RETRY_AFTER_S,
        )
    )
    headers = [
        (b"content-type", MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(DRAIN_RETRY_AFTER_S).encode()),
        # The client's next request opens a new connection (through the load
        # balancer, to another instance).
        (b"connection", b"close"),
    ]
    return headers, body


def drain_guard(container: Container) -> Callable[[ASGIApp], ASGIApp]:
    """ASGI middleware for the graceful drain: while ``container.hub.draining``,
    every request but ``/healthz`` and ``/readyz`` gets 503 ``draining`` with
    ``Retry-After`` and ``Connection: close``, and a WebSocket handshake is denied
    with the same problem (or closed with 1013 where the server cannot send a
    denial response). Requests admitted before are counted so the drain can wait
    for them (``LiveHub.wait_idle``)."""
    hub = container.hub

    def middleware(app: ASGIApp) -> ASGIApp:
        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == ScopeType.HTTP:
                if scope["path"] in OPS_PATHS:
                    await app(scope, receive, send)
                    return
                if hub.draining:
                    container.metrics.refused(ErrorCode.DRAINING)
                    headers, body = _draining_problem(scope["path"])
                    await send({"type": "http.response.start", "status": 503, "headers": headers})
                    await send({"type": "http.response.body", "body": body, "more_body": False})
                    return
                hub.request_started()
                try:
                    await app(scope, receive, send)
                finally:
                    hub.request_finished()
                return
            if scope["type"] == ScopeType.WEBSOCKET and hub.draining:
                container.metrics.refused(ErrorCode.DRAINING)
                if "websocket.http.response" in (scope.get("extensions") or {}):
                    headers, body = _draining_problem(scope["path"])
                    await send(
                        {
                            "type": "websocket.http.response.start",
                            "status": 503,
                            "headers": headers,
                        }
                    )
                    await send(
                        {"type": "websocket.http.response.body", "body": body, "more_body": False}
                    )
                else:
                    await send({"type": "websocket.close", "code": 1013, "reason": "draining"})
                return
            await app(scope, receive, send)

        return guarded

    return middleware


@get("/metrics", media_type=MediaType.TEXT, include_in_schema=False)
async def metrics(request: AnyRequest) -> Response[bytes]:
    """This instance's metrics in the Prometheus text format (for a scraper, not
    part of the API document). Needs ``X-API-Key`` unless
    ``QUIZSESSION_METRICS_PUBLIC=true``; answered while draining."""
    c = container_of(request)
    if not c.settings.metrics_public:
        require_admin(request)
    body, content_type = c.metrics.exposition()
    # As a header, not ``media_type``: Litestar appends a charset to a ``text/``
    # media type, and the exposition's content type already names one.
    return Response(
        content=body, headers={"content-type": content_type, "cache-control": "no-store"}
    )


_ALLOW = b"allow"


def complete_allow(app: Litestar) -> Callable[[ASGIApp], ASGIApp]:
    """ASGI middleware: the ``Allow`` header of an ``OPTIONS`` answer names every
    method of the matched route. Litestar's own ``OPTIONS``
    answer names only the methods of the first handler registered at a path
    (``GET /sessions/{id}`` without ``DELETE``)."""
    allow = {
        route.path_format: ", ".join(sorted(route.methods)).encode()
        for route in app.routes
        if isinstance(route, HTTPRoute)
    }

    def middleware(inner: ASGIApp) -> ASGIApp:
        async def allowed(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP or scope["method"] != "OPTIONS":
                await inner(scope, receive, send)  # a 405's Allow is complete already
                return

            async def send_allow(message: Message) -> None:
                if message["type"] == "http.response.start":
                    methods = allow.get(scope.get("path_template") or "")
                    headers = message.get("headers", ())
                    if methods and any(k.lower() == _ALLOW for k, _v in headers):
                        kept = [(k, v) for k, v in headers if k.lower() != _ALLOW]
                        message = {**message, "headers": [*kept, (_ALLOW, methods)]}
                await send(message)

            await inner(scope, receive, send_allow)

        return allowed

    return middleware


access_log = logging.getLogger("quizsession.access")
audit_log = logging.getLogger("quizsession.audit")
#: The ``route`` of a request no route matched (404, 405): never the raw path.
UNMATCHED_ROUTE = "unmatched"
_CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_REQUEST_ID = b"x-request-id"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _with_request_id(message: Message, request_id: bytes) -> Message:
    """``message`` (a response start or a WebSocket accept) with ``X-Request-ID``."""
    headers = [
        (key, value)
        for key, value in message.get("headers", ())  # type: ignore[attr-defined]
        if key.lower() != _REQUEST_ID
    ]
    headers.append((_REQUEST_ID, request_id))
    return {**message, "headers": headers}  # type: ignore[return-value]


def _admin_actor(container: Container, scope: Scope) -> str | None:
    """``admin:<key name>`` for a configured API key on the request, else None
    (compared in constant time; the key itself is never kept or logged)."""
    key = _header(scope, b"x-api-key")
    if key is None:
        return None
    found: str | None = None
    for known, name in container.admin_keys.items():
        if hmac.compare_digest(known.encode(), key.encode()):
            found = name
    return None if found is None else "admin:" + found


def _audit(container: Container, scope: Scope, route: str, status: int) -> None:
    """One ``quizsession.audit`` line for an administrator's change (its event in
    the attempt's log names the same actor): who, what, on which ids, outcome."""
    actor = _admin_actor(container, scope)
    if actor is None:
        return  # not authenticated: refused (a bad key is logged at WARNING)
    handler = scope.get("route_handler")
    action = getattr(handler, "handler_name", "") or route
    targets = {
        str(k): str(v)
        for k, v in (scope.get("path_params") or {}).items()
        if isinstance(k, str) and k.endswith("_id")
    }
    described = " ".join(f"{k}={v}" for k, v in targets.items())
    audit_log.info(
        "%s %s %s: %d",
        actor,
        action,
        described,
        status,
        extra={
            "actor": actor,
            "action": action,
            **targets,
            "method": scope.get("method", ""),
            "route": route,
            "status": status,
            "outcome": "done" if status < 400 else "refused",
        },
    )


def observe(container: Container) -> Callable[[ASGIApp], ASGIApp]:
    """The outermost ASGI layer: the request id (``X-Request-ID`` when it is a
    safe token of at most 64 characters ``[A-Za-z0-9._-]``, else a new one) in a
    context variable for the logs and in the response's ``X-Request-ID``; the
    request duration by route template, method and status; the access log line
    (``QUIZSESSION_ACCESS_LOG``); the audit line of an administrator's change."""
    metrics_ = container.metrics
    access = container.settings.access_log

    def middleware(app: ASGIApp) -> ASGIApp:
        async def observed(scope: Scope, receive: Receive, send: Send) -> None:
            kind = scope["type"]  # http or websocket (Litestar answers lifespan itself)
            request_id = safe_request_id(_header(scope, _REQUEST_ID)) or new_request_id()
            raw_id = request_id.encode()
            token = REQUEST_ID.set(request_id)
            status = 500

            async def send_with_id(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    message = _with_request_id(message, raw_id)
                elif message["type"] in ("websocket.accept", "websocket.http.response.start"):
                    message = _with_request_id(message, raw_id)
                await send(message)

            began = time.perf_counter()
            try:
                await app(scope, receive, send_with_id)
            finally:
                try:
                    if kind == ScopeType.HTTP:
                        _finished(scope, status, time.perf_counter() - began)
                finally:
                    REQUEST_ID.reset(token)

        return observed

    def _finished(scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("path_template") or UNMATCHED_ROUTE
        method = str(scope.get("method") or "")
        metrics_.request_done(route, method, status, seconds)
        if access:
            duration_ms = round(seconds * 1000, 2)
            access_log.info(
                "%s %s %d %.2fms",
                method,
                route,
                status,
                duration_ms,
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": duration_ms,
                },
            )
        if method in _CHANGES and route.startswith("/admin/"):
            _audit(container, scope, route, status)

    return middleware


def create_app(
    container: Container,
    *,
    manage_lifespan: bool = True,
    on_ready: Sequence[StartupHook] = (),
) -> Litestar:
    """The ASGI app around ``container``. With ``manage_lifespan`` the app opens
    the store and starts the reaper on start-up and closes them on shutdown;
    ``on_ready`` hooks run once the container is started (the demo loader)."""

    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        if manage_lifespan:
            await container.start()
        for hook in on_ready:
            await hook(container)
        try:
            yield
        finally:
            if manage_lifespan:
                await container.stop()

    app = Litestar(
        route_handlers=[
            *SESSION_ROUTES,
            *REVIEW_ROUTES,
            live,
            admin_router,
            *GRADING_ROUTES,
            reports_router,
            *LTI_ROUTES,
            healthz,
            readyz,
            metrics,
            web_router,
        ],
        exception_handlers={
            DomainError: on_domain_error,
            StoreError: on_store_error,
            HTTPException: on_http_exception,
            Exception: on_unexpected,
        },
        lifespan=[lifespan],
        before_request=strict_body,
        state=State({"container": container}),
        request_max_body_size=container.settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="quizsession",
            version="0.1.0",
            path="/schema",
            components=OPENAPI_COMPONENTS,
            use_handler_docstrings=True,
        ),
        logging_config=None,
        debug=False,
    )
    # Around everything, the exception handling and the routing included (a 404
    # gets its request id and is timed too). The drain guard is here rather than
    # a Litestar middleware: a route with a middleware gets a second exception
    # handling layer of its own (another wrapper of every ``send``).
    edge = observe(container)(drain_guard(container)(complete_allow(app)(app.asgi_handler)))
    app.asgi_handler = edge
    return app
