"""Strict request bodies: every route that takes a body names its type in
``opt={"body": T}``; the body is decoded strictly (no "60" for 60) before the
handler runs, and anything that is not valid JSON of that shape is refused with
``malformed_json`` or ``validation_error`` and a path — including bodies that
are nested too deep or are not UTF-8, which a JSON decoder would otherwise turn
into a crash."""

from __future__ import annotations

import math
from typing import Any

import msgspec
from litestar.exceptions import ClientException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.types import Empty
from litestar.utils.scope.state import ScopeState

from quizsession.domain.errors import DomainError
from quizsession.entrypoints.http.context import AnyRequest
from quizsession.entrypoints.http.problems import pointer

MAX_DEPTH = 64
_decoder = msgspec.json.Decoder()


def _too_deep(raw: bytes) -> bool:
    """True when brackets nest deeper than MAX_DEPTH (outside strings)."""
    depth = 0
    in_string = False
    escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
            continue
        if byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


async def _read_body(request: AnyRequest, state: ScopeState) -> bytes:
    """The whole body, straight from the ASGI messages (a body is one message
    nearly always), kept where Litestar's ``request.body()`` finds it; over the
    route's size limit it is refused as Litestar refuses it (413)."""
    if state.body is not Empty:
        return state.body
    limit = request.route_handler.resolve_request_max_body_size() or math.inf
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await request.receive()
        if message["type"] != "http.request":  # http.disconnect
            raise ClientException("the client disconnected before sending its body")
        chunk = message["body"]
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    state.body = body
    return body


async def strict_body(request: AnyRequest) -> None:
    opt = request.route_handler.opt
    if "body" not in opt:
        return
    target: Any = opt["body"]
    state = ScopeState.from_scope(request.scope)
    raw = await _read_body(request, state)
    if not raw.strip():
        if opt.get("body_optional"):
            return
        raise DomainError(
            "a JSON body is required",
            code="validation_error",
            problems=[{"path": "", "message": "a JSON body is required"}],
        )
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and _too_deep(raw):
        raise DomainError(f"the body nests deeper than {MAX_DEPTH} levels", code="malformed_json")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DomainError("the body is not UTF-8", code="malformed_json") from exc
    try:
        # Syntax first (a trailing comma is malformed JSON whatever the fields say),
        # then the shape, strictly.
        value = _decoder.decode(raw)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as exc:
        raise DomainError(f"the body is not valid JSON: {exc}", code="malformed_json") from exc
    # Litestar's own decoding of ``data`` starts from this value: decoded once.
    state.json = value
    try:
        msgspec.convert(value, type=target, strict=True)
    except msgspec.ValidationError as exc:
        message = str(exc)
        raise DomainError(
            "the request does not match the expected shape",
            code="validation_error",
            problems=[{"path": pointer(message, None), "message": message}],
        ) from exc
