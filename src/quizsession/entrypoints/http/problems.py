"""Errors translated at the boundary into RFC 9457 problem+json with a stable
``code``. Every problem is built by ``problem`` from the table in
``quizsession.api.problems`` (code -> status, title, body) and counted there
(``quizsession_refusals_total{code}``); anything unforeseen becomes a logged 500
with code ``internal`` (a test asserts that no request in the suites ever gets
one)."""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    ValidationException,
)

from quizsession.api.problems import MEDIA_TYPE, problem_body
from quizsession.app.ports import StoreError
from quizsession.bootstrap import Container
from quizsession.domain.errors import DomainError, ErrorCode

log = logging.getLogger("quizsession.http")
audit = logging.getLogger("quizsession.audit")

__all__ = [
    "MEDIA_TYPE",
    "on_domain_error",
    "on_http_exception",
    "on_store_error",
    "on_unexpected",
    "pointer",
    "problem",
]


def problem(
    request: Request[Any, Any, Any],
    code: ErrorCode,
    detail: str,
    *,
    status: int | None = None,
    **extra: Any,
) -> Response[bytes]:
    """The problem+json response for ``code`` at ``request``'s path (its status
    from ``HTTP_STATUS`` unless ``status`` is given), counted by its code."""
    body = problem_body(code, detail, status=status, instance=request.url.path, **extra)
    headers: dict[str, str] = {}
    retry_after = extra.get("retry_after")
    if retry_after is not None:
        headers["Retry-After"] = str(int(retry_after))
    found = request.app.state.get("container")
    if isinstance(found, Container):
        found.metrics.refused(code)
    return Response(
        content=msgspec.json.encode(body),
        status_code=body["status"],
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def audit_refused_key(request: Request[Any, Any, Any]) -> None:
    """A request carried an ``X-API-Key`` that is not a configured key (the key
    itself is never logged)."""
    client = request.client
    audit.warning(
        "admin authentication refused: the API key is not valid",
        extra={
            "action": "authenticate",
            "outcome": "refused",
            "method": request.method,
            "route": request.scope.get("path_template") or "unmatched",
            "client": client.host if client is not None else "",
        },
    )


def on_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[bytes]:
    if exc.code is ErrorCode.API_KEY_INVALID:
        audit_refused_key(request)
    return problem(request, exc.code, exc.detail, **exc.extra)


_AT = re.compile(r"- at `\$((?:\.[^`\[]+|\[\d+\]|\[\.\.\.\])*)`")
_MISSING = re.compile(r"missing required field `([^`]+)`")
_UNKNOWN = re.compile(r"contains unknown field `([^`]+)`")


def pointer(message: str, key: str | None) -> str:
    """A JSON-pointer-like path for msgspec's message (``... - at `$.a[0].b```)."""
    base = ""
    found = _AT.search(message)
    if found:
        # ``[...]`` is a value of a mapping (msgspec does not name its key): the
        # path stops at the mapping.
        at = found.group(1).split("[...]", 1)[0]
        base = re.sub(r"\[(\d+)\]", r".\1", at).replace(".", "/")
    missing = _MISSING.search(message) or _UNKNOWN.search(message)
    if missing:
        return f"{base}/{missing.group(1)}"
    if base:
        return base
    if key and key != "data":
        return "/" + re.sub(r"\[(\d+)\]", r".\1", key).replace(".", "/")
    return ""


def _validation_problems(exc: ValidationException) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    extra = exc.extra
    if isinstance(extra, list):
        for item in extra:
            if isinstance(item, dict):
                message = str(item.get("message", ""))
                key = item.get("key")
                path = pointer(message, str(key) if key is not None else None)
                found.append({"path": path, "message": message})
    return found


def on_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    if isinstance(exc, ValidationException):
        # Bodies are decoded (strictly) before the handler runs (bodies.py), so a
        # framework validation error here is about the path or the query.
        problems = _validation_problems(exc)
        return problem(
            request,
            ErrorCode.VALIDATION,
            "the request does not match the expected shape",
            problems=problems or [{"path": "", "message": exc.detail}],
        )
    if isinstance(exc, NotFoundException):
        return problem(request, ErrorCode.NOT_FOUND, "no such resource")
    if isinstance(exc, MethodNotAllowedException):
        response = problem(request, ErrorCode.METHOD_NOT_ALLOWED, "method not allowed here")
        allow = (exc.headers or {}).get("Allow") or (exc.headers or {}).get("allow")
        if allow:
            response.headers["Allow"] = allow
        return response
    status = exc.status_code
    if status == 400:
        # Our own refusals are DomainErrors; a bare 400 from the framework is a
        # body it could not decode.
        detail = f"the body is not valid JSON: {exc.detail}"
        return problem(request, ErrorCode.MALFORMED_JSON, detail)
    if status == 413:
        return problem(request, ErrorCode.BODY_TOO_LARGE, "the request body is too large")
    if status == 415:
        return problem(request, ErrorCode.UNSUPPORTED_MEDIA_TYPE, exc.detail)
    if status == 429:
        return problem(request, ErrorCode.RATE_LIMITED, exc.detail, retry_after=1)
    if status >= 500:
        log.error("http %s at %s: %s", status, request.url.path, exc.detail)
        return problem(request, ErrorCode.INTERNAL, "internal error", status=status)
    detail = exc.detail or "bad request"
    return problem(request, ErrorCode.BAD_REQUEST, detail, status=status)


def on_store_error(request: Request[Any, Any, Any], exc: StoreError) -> Response[bytes]:
    """A store failure that reached the boundary (a read path): nothing was
    changed; the client may retry."""
    log.warning("store error at %s: %s", request.url.path, exc)
    return problem(
        request, ErrorCode.STORE_UNAVAILABLE, "the store is unavailable; retry", retry_after=1
    )


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.exception("unhandled error at %s", request.url.path, exc_info=exc)
    return problem(request, ErrorCode.INTERNAL, "internal error")
