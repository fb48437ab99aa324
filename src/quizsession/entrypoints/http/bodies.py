"""Strict request bodies: every route that takes a body names its type in
``opt={"body": T}``; the body is decoded strictly (no "60" for 60) before the
handler runs, and anything that is not valid JSON of that shape is refused with
``malformed_json`` or ``validation_error`` and a path — including bodies that
are nested too deep or are not UTF-8, which a JSON decoder would otherwise turn
into a crash.

A body is JSON only when it says so: ``Content-Type: application/json`` or any
``+json`` type (a ``charset``, if given, must be UTF-8); any other content type,
or none, is refused with 415 ``unsupported_media_type`` before anything is
decoded. Integer fields take any JSON number with no fractional part (``105``
and ``105.0``, as JSON Schema's ``integer`` does); ``105.5`` is refused."""

from __future__ import annotations

import functools
import math
from typing import Any

import msgspec
from litestar.exceptions import ClientException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.types import Empty
from litestar.utils.scope.state import ScopeState

from quizsession.domain.errors import DomainError, ErrorCode
from quizsession.entrypoints.http.context import AnyRequest
from quizsession.entrypoints.http.problems import pointer

MAX_DEPTH = 64
_decoder = msgspec.json.Decoder()
_CONTENT_TYPE = b"content-type"


def is_json_media_type(content_type: bytes | None) -> bool:
    """``application/json`` or a ``+json`` type, with no charset but UTF-8."""
    if not content_type:
        return False
    media, _, params = content_type.decode("latin-1").partition(";")
    media = media.strip().lower()
    if media != "application/json" and not (media.endswith("+json") and "/" in media):
        return False
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            return False
    return True


def _content_type(request: AnyRequest) -> bytes | None:
    for name, value in request.scope["headers"]:
        if name.lower() == _CONTENT_TYPE:
            return value
    return None


#: A plan of where a body type has integer fields: ``INT`` for an integer,
#: ``{json name: plan}`` for a struct's fields, ``("items", plan)`` for a
#: list's items, ``("values", plan)`` for a mapping's values.
INT = "int"
_Plan = object


def _integer_plan(info: msgspec.inspect.Type, seen: frozenset[type]) -> _Plan | None:
    mi = msgspec.inspect
    if isinstance(info, mi.Metadata):
        return _integer_plan(info.type, seen)
    if isinstance(info, mi.IntType):
        return INT
    if isinstance(info, mi.UnionType):
        members = [t.type if isinstance(t, mi.Metadata) else t for t in info.types]
        if any(isinstance(t, mi.FloatType) for t in members):
            return None  # a float is welcome as it is
        plans = [p for t in members if (p := _integer_plan(t, seen)) is not None]
        return plans[0] if len(plans) == 1 else None
    if isinstance(info, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        item = _integer_plan(info.item_type, seen)
        return None if item is None else ("items", item)
    if isinstance(info, mi.DictType):
        value = _integer_plan(info.value_type, seen)
        return None if value is None else ("values", value)
    if isinstance(info, mi.StructType) and info.cls not in seen:
        inner = seen | {info.cls}
        fields = {
            f.encode_name: plan
            for f in info.fields
            if (plan := _integer_plan(f.type, inner)) is not None
        }
        return fields or None
    return None


@functools.cache
def integer_plan(target: Any) -> _Plan | None:
    """Where ``target`` (a body type) has integer fields; None if nowhere."""
    return _integer_plan(msgspec.inspect.type_info(target), frozenset())


def integral_to_int(value: Any, plan: _Plan | None) -> Any:
    """``value`` (decoded JSON) with every integral float at an integer place of
    ``plan`` made an ``int`` (in place); anything else is left for the strict
    conversion to judge."""
    if plan is None:
        return value
    if plan is INT:
        if type(value) is float and value.is_integer():
            return int(value)
        return value
    if isinstance(plan, dict):
        if isinstance(value, dict):
            for key, inner in plan.items():
                if key in value:
                    value[key] = integral_to_int(value[key], inner)
        return value
    if isinstance(plan, tuple):
        kind, inner = plan
        if kind == "items" and isinstance(value, list):
            for i, item in enumerate(value):
                value[i] = integral_to_int(item, inner)
        elif kind == "values" and isinstance(value, dict):
            for key, item in value.items():
                value[key] = integral_to_int(item, inner)
    return value


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


def body_limit(request: AnyRequest) -> float:
    """The route's body limit: the deployment's (``max_body_bytes``, or the
    route's own), raised to the route's ``opt["min_body_bytes"]`` where it has
    one (a save must hold an essay at its length cap in any script)."""
    handler = request.route_handler
    limit = handler.resolve_request_max_body_size() or math.inf
    floor: int = handler.opt.get("min_body_bytes", 0)
    return max(limit, floor)


async def _read_body(request: AnyRequest, state: ScopeState) -> bytes:
    """The whole body, straight from the ASGI messages (a body is one message
    nearly always), kept where Litestar's ``request.body()`` finds it; over the
    route's size limit it is refused as Litestar refuses it (413)."""
    if state.body is not Empty:
        return state.body
    limit = body_limit(request)
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
            code=ErrorCode.VALIDATION,
            problems=[{"path": "", "message": "a JSON body is required"}],
        )
    if not is_json_media_type(_content_type(request)):
        raise DomainError(
            "the body must be JSON (Content-Type: application/json or a +json type)",
            code=ErrorCode.UNSUPPORTED_MEDIA_TYPE,
        )
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and _too_deep(raw):
        raise DomainError(
            f"the body nests deeper than {MAX_DEPTH} levels", code=ErrorCode.MALFORMED_JSON
        )
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DomainError("the body is not UTF-8", code=ErrorCode.MALFORMED_JSON) from exc
    try:
        # Syntax first (a trailing comma is malformed JSON whatever the fields say),
        # then the shape, strictly.
        value = _decoder.decode(raw)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as exc:
        raise DomainError(
            f"the body is not valid JSON: {exc}", code=ErrorCode.MALFORMED_JSON
        ) from exc
    value = integral_to_int(value, integer_plan(target))
    # Litestar's own decoding of ``data`` starts from this value: decoded once.
    state.json = value
    try:
        msgspec.convert(value, type=target, strict=True)
    except msgspec.ValidationError as exc:
        message = str(exc)
        raise DomainError(
            "the request does not match the expected shape",
            code=ErrorCode.VALIDATION,
            problems=[{"path": pointer(message, None), "message": message}],
        ) from exc
