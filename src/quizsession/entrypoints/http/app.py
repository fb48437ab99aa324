"""The Litestar application: routes, problem+json translation, lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

import msgspec
from litestar import Litestar
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.types import ASGIApp, Receive, Scope, Send

from quizsession.bootstrap import Container
from quizsession.domain.errors import DomainError
from quizsession.entrypoints.http.bodies import strict_body
from quizsession.entrypoints.http.live_socket import live
from quizsession.entrypoints.http.problems import (
    MEDIA_TYPE,
    TITLES,
    on_domain_error,
    on_http_exception,
    on_unexpected,
)
from quizsession.entrypoints.http.routes_admin import admin_router, healthz, readyz
from quizsession.entrypoints.http.routes_reports import reports_router
from quizsession.entrypoints.http.routes_sessions import ROUTES as SESSION_ROUTES
from quizsession.entrypoints.http.routes_web import web_router

StartupHook = Callable[[Container], Awaitable[None]]

#: Answered while draining (liveness, and readiness saying ``draining``); not
#: counted as in-flight work.
OPS_PATHS = frozenset({"/healthz", "/readyz"})
DRAIN_RETRY_AFTER_S = 1


def _draining_problem(path: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    body = msgspec.json.encode(
        {
            "type": "/problems/draining",
            "title": TITLES[503],
            "status": 503,
            "code": "draining",
            "detail": "this instance is shutting down: retry, another instance will answer",
            "instance": path,
            "retry_after": DRAIN_RETRY_AFTER_S,
        }
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

    return Litestar(
        route_handlers=[
            *SESSION_ROUTES,
            live,
            admin_router,
            reports_router,
            healthz,
            readyz,
            web_router,
        ],
        exception_handlers={
            DomainError: on_domain_error,
            HTTPException: on_http_exception,
            Exception: on_unexpected,
        },
        lifespan=[lifespan],
        before_request=strict_body,
        middleware=[drain_guard(container)],
        state=State({"container": container}),
        request_max_body_size=container.settings.max_body_bytes,
        openapi_config=OpenAPIConfig(title="quizsession", version="0.1.0", path="/schema"),
        logging_config=None,
        debug=False,
    )
