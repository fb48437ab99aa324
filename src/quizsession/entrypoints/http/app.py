"""The Litestar application: routes, problem+json translation, lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig

from quizsession.bootstrap import Container
from quizsession.domain.errors import DomainError
from quizsession.entrypoints.http.bodies import strict_body
from quizsession.entrypoints.http.live_socket import live
from quizsession.entrypoints.http.problems import (
    on_domain_error,
    on_http_exception,
    on_unexpected,
)
from quizsession.entrypoints.http.routes_admin import admin_router, healthz, readyz
from quizsession.entrypoints.http.routes_sessions import ROUTES as SESSION_ROUTES
from quizsession.entrypoints.http.routes_web import web_router

StartupHook = Callable[[Container], Awaitable[None]]


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
        route_handlers=[*SESSION_ROUTES, live, admin_router, healthz, readyz, web_router],
        exception_handlers={
            DomainError: on_domain_error,
            HTTPException: on_http_exception,
            Exception: on_unexpected,
        },
        lifespan=[lifespan],
        before_request=strict_body,
        state=State({"container": container}),
        request_max_body_size=container.settings.max_body_bytes,
        openapi_config=OpenAPIConfig(title="quizsession", version="0.1.0", path="/schema"),
        logging_config=None,
        debug=False,
    )
