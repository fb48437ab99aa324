"""Errors translated at the boundary into RFC 9457 problem+json with a stable
``code``. Every refusal the service makes has a row in ``STATUS``; anything
unforeseen becomes a logged 500 with code ``internal`` (a test asserts that no
request in the suites ever gets one)."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    ValidationException,
)

from quizsession.app.ports import StoreError
from quizsession.bootstrap import Container
from quizsession.domain.errors import DomainError

log = logging.getLogger("quizsession.http")
audit = logging.getLogger("quizsession.audit")

MEDIA_TYPE = "application/problem+json"

STATUS: dict[str, int] = {
    # input
    "validation_error": 422,
    "quiz_invalid": 422,
    "malformed_json": 400,
    "bad_request": 400,
    "body_too_large": 413,
    "unsupported_media_type": 415,
    "answer_invalid": 422,
    "question_unknown": 422,
    "no_such_section": 422,
    # who you are
    "token_invalid": 401,
    "token_expired": 401,
    "session_idle_timeout": 401,
    "session_closed": 401,
    "invite_invalid": 401,
    "invite_expired": 401,
    "api_key_required": 401,
    "api_key_invalid": 401,
    # what exists
    "not_found": 404,
    "method_not_allowed": 405,
    # the state of the attempt
    "session_active": 409,
    "session_superseded": 409,
    "attempt_closed": 409,
    "attempt_voided": 409,
    "deadline_passed": 409,
    "section_not_started": 409,
    "section_state": 409,
    "question_not_delivered": 409,
    "version_mismatch": 409,
    "op_id_conflict": 409,
    "not_allowed": 409,
    "quiz_not_open": 403,
    "quiz_closed": 403,
    # capacity
    "rate_limited": 429,
    "store_unavailable": 503,
    "busy": 503,
    "live_state_recovering": 503,
    "draining": 503,
    "internal": 500,
}

TITLES: dict[int, str] = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Not allowed now",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict with the attempt's state",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


def problem(
    code: str, detail: str, *, status: int | None = None, instance: str | None = None, **extra: Any
) -> Response[bytes]:
    status = status or STATUS.get(code, 400)
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "code": code,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    headers: dict[str, str] = {}
    retry_after = extra.get("retry_after")
    if retry_after is not None:
        headers["Retry-After"] = str(int(retry_after))
    body.update(extra)
    return Response(
        content=msgspec.json.encode(body),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


class _Coded(msgspec.Struct):
    code: str = "internal"


ExcT = TypeVar("ExcT", bound=Exception)
Handler = Callable[[Request[Any, Any, Any], ExcT], Response[bytes]]


def counted(handler: Handler[ExcT]) -> Handler[ExcT]:
    """Counts every problem the exception handler answers by its ``code``
    (``quizsession_refusals_total{code}``)."""

    @functools.wraps(handler)
    def translate(request: Request[Any, Any, Any], exc: ExcT) -> Response[bytes]:
        response = handler(request, exc)
        found = request.app.state.get("container")
        if isinstance(found, Container) and isinstance(response.content, bytes):
            try:
                code = msgspec.json.decode(response.content, type=_Coded).code
            except msgspec.DecodeError:
                code = "internal"
            found.metrics.refused(code)
        return response

    return translate


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


@counted
def on_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[bytes]:
    if exc.code == "api_key_invalid":
        audit_refused_key(request)
    return problem(exc.code, exc.detail, instance=request.url.path, **exc.extra)


_AT = re.compile(r"- at `\$((?:\.[^`\[]+|\[\d+\])*)`")
_MISSING = re.compile(r"missing required field `([^`]+)`")
_UNKNOWN = re.compile(r"contains unknown field `([^`]+)`")


def pointer(message: str, key: str | None) -> str:
    """A JSON-pointer-like path for msgspec's message (``... - at `$.a[0].b```)."""
    base = ""
    found = _AT.search(message)
    if found:
        base = re.sub(r"\[(\d+)\]", r".\1", found.group(1)).replace(".", "/")
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


@counted
def on_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    path = request.url.path
    if isinstance(exc, ValidationException):
        # Bodies are decoded (strictly) before the handler runs (bodies.py), so a
        # framework validation error here is about the path or the query.
        problems = _validation_problems(exc)
        return problem(
            "validation_error",
            "the request does not match the expected shape",
            instance=path,
            problems=problems or [{"path": "", "message": exc.detail}],
        )
    if isinstance(exc, NotFoundException):
        return problem("not_found", "no such resource", instance=path)
    if isinstance(exc, MethodNotAllowedException):
        response = problem("method_not_allowed", "method not allowed here", instance=path)
        allow = (exc.headers or {}).get("Allow") or (exc.headers or {}).get("allow")
        if allow:
            response.headers["Allow"] = allow
        return response
    status = exc.status_code
    if status == 400:
        # Our own refusals are DomainErrors; a bare 400 from the framework is a
        # body it could not decode.
        return problem("malformed_json", f"the body is not valid JSON: {exc.detail}", instance=path)
    if status == 413:
        return problem("body_too_large", "the request body is too large", instance=path)
    if status == 415:
        return problem("unsupported_media_type", exc.detail, instance=path)
    if status == 429:
        return problem("rate_limited", exc.detail, instance=path, retry_after=1)
    if status >= 500:
        log.error("http %s at %s: %s", status, path, exc.detail)
        return problem("internal", "internal error", status=status, instance=path)
    return problem("bad_request", exc.detail or "bad request", status=status, instance=path)


@counted
def on_store_error(request: Request[Any, Any, Any], exc: StoreError) -> Response[bytes]:
    """A store failure that reached the boundary (a read path): nothing was
    changed; the client may retry."""
    log.warning("store error at %s: %s", request.url.path, exc)
    return problem(
        "store_unavailable",
        "the store is unavailable; retry",
        instance=request.url.path,
        retry_after=1,
    )


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.exception("unhandled error at %s", request.url.path, exc_info=exc)
    return problem("internal", "internal error", instance=request.url.path)
