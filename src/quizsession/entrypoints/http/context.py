"""Per-request access to the container and the credentials a request carries."""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request

from quizsession.app.ports import SessionClaims
from quizsession.bootstrap import Container
from quizsession.domain.errors import DomainError, ErrorCode

AnyRequest = Request[Any, Any, Any]


def container(request: AnyRequest) -> Container:
    found = request.app.state.container
    assert isinstance(found, Container)
    return found


_AUTHORIZATION = b"authorization"


def bearer(request: AnyRequest) -> str | None:
    # Straight from the ASGI scope's headers: every session route asks, and
    # ``request.headers`` builds a multi-dict of all of them first.
    header: str | None = None
    for name, raw in request.scope["headers"]:
        if name.lower() == _AUTHORIZATION:
            header = raw.decode("latin-1")
            break
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def session_claims(request: AnyRequest, session_id: str) -> SessionClaims:
    return await container(request).sessions.authenticate(bearer(request), session_id)


def admin_name(request: AnyRequest) -> str | None:
    """The name of the API key the request carries, None without one; a wrong key
    is refused (compared in constant time against every configured key)."""
    key = request.headers.get("x-api-key")
    if key is None:
        return None
    found: str | None = None
    for known, name in container(request).admin_keys.items():
        if hmac.compare_digest(known.encode(), key.encode()):
            found = name
    if found is None:
        raise DomainError("the API key is not valid", code=ErrorCode.API_KEY_INVALID)
    return found


def require_admin(request: AnyRequest) -> str:
    name = admin_name(request)
    if name is None:
        raise DomainError(
            "an API key is required (X-API-Key header)", code=ErrorCode.API_KEY_REQUIRED
        )
    return "admin:" + name


def client_address(request: AnyRequest) -> str:
    client = request.client
    return client.host if client is not None else ""
