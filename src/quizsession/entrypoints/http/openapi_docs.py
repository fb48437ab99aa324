"""What the OpenAPI document says beyond the handlers' signatures.

Litestar documents a handler's success answer from its signature, and adds a
generic ``400 application/json {status_code, detail, extra}`` to any operation
with parameters or a body. Neither is the whole truth here: every refusal is an
RFC 9457 ``application/problem+json`` body with a stable ``code``
(``quizsession.api.problems``). So each route declares, on its decorator:

- ``responses=problem_responses(...)``: the codes it can refuse with; they are
  ``ErrorCode`` members, grouped by their status in ``api.problems.HTTP_STATUS``,
  and the description of each status (its title) lists its codes;
- ``security=``: ``SESSION_TOKEN`` (candidate routes), ``API_KEY`` (admin and
  reports), ``OPTIONAL_API_KEY`` (``POST /sessions``: an invite needs nothing,
  a backend login needs the key), with the schemes in ``COMPONENTS``;
- ``operation_class=ApiOperation`` (or a subclass) which removes Litestar's
  default 400, documents ``Retry-After`` on 429/503, marks request bodies as
  refusing unknown members, and fixes what a signature cannot say: optional
  bodies, a second media type for one status, rules across a body's fields
  (``POST /sessions``, invites), the quiz definition's shape for
  ``PUT /admin/quizzes/{id}`` (whose handler takes a free mapping because the
  definition is checked by ``parse_quiz``).

The served document is committed as ``docs/openapi.json`` (``make openapi``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import msgspec
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import (
    Components,
    Example,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    Reference,
    RequestBody,
    Schema,
    SecurityRequirement,
    SecurityScheme,
)
from litestar.openapi.spec.enums import OpenAPIType

from quizsession.api.models import Readiness
from quizsession.api.problems import (
    HTTP_STATUS,
    MEDIA_TYPE,
    ProblemDetails,
    problem_body,
    title_of,
)
from quizsession.domain.errors import ErrorCode

# -- the problem body ------------------------------------------------------------


def _unset() -> Any:
    return msgspec.UNSET


def optional() -> Any:
    """A member that may be absent (never ``null`` unless its type says so). These
    structs only describe bodies, but ``UNSET`` keeps them honest if one is built:
    an absent member is left out when encoded."""
    return msgspec.field(default_factory=_unset)


def _example(status: int, code: ErrorCode) -> Example:
    return Example(
        summary=str(code),
        value=problem_body(
            code,
            "a sentence for people",
            status=status,
            instance="/the/request/path",
        ),
    )


def problem_responses(*codes: ErrorCode) -> dict[int, ResponseSpec]:
    """``responses=`` for a route that can refuse with ``codes``: one
    problem+json response per status (from ``HTTP_STATUS``), its description
    (the status's title) listing the codes."""
    by_status: dict[int, list[ErrorCode]] = {}
    for code in dict.fromkeys(codes):
        by_status.setdefault(HTTP_STATUS[code], []).append(code)
    return {
        status: ResponseSpec(
            data_container=ProblemDetails,
            media_type=MEDIA_TYPE,
            description=f"{title_of(status)} (problem+json); `code` is one of: "
            + ", ".join(f"`{code}`" for code in found),
            generate_examples=False,
            examples=[_example(status, found[0])],
        )
        for status, found in sorted(by_status.items())
    }


# Codes by what a route does; each route lists the groups and codes that apply.

#: Every route but the ops probes while the instance drains, and any store read.
SERVICE = (ErrorCode.DRAINING, ErrorCode.STORE_UNAVAILABLE)
#: A route that writes to an attempt (the optimistic lock gave up).
WRITES = (ErrorCode.BUSY,)
#: A route that decodes a JSON body (``bodies.strict_body``).
JSON_BODY = (
    ErrorCode.MALFORMED_JSON,
    ErrorCode.VALIDATION,
    ErrorCode.BODY_TOO_LARGE,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE,
)
#: A route with typed query parameters.
QUERY = (ErrorCode.VALIDATION,)
#: ``X-API-Key``: missing, or not a configured key.
API_KEY_CODES = (ErrorCode.API_KEY_REQUIRED, ErrorCode.API_KEY_INVALID)
#: ``Authorization: Bearer <session token>`` for ``{session_id}``, and the session
#: still being the attempt's live one.
SESSION_CODES = (
    ErrorCode.TOKEN_INVALID,
    ErrorCode.TOKEN_EXPIRED,
    ErrorCode.SESSION_IDLE,
    ErrorCode.NOT_FOUND,
    ErrorCode.SESSION_CLOSED,
    ErrorCode.SESSION_SUPERSEDED,
)


# -- credentials -------------------------------------------------------------------

COMPONENTS = Components(
    security_schemes={
        "sessionToken": SecurityScheme(
            type="http",
            scheme="bearer",
            bearer_format="JWT",
            description=(
                "The session token from `POST /sessions` (refreshed by the heartbeat); "
                "valid for its own `{session_id}` only."
            ),
        ),
        "apiKey": SecurityScheme(
            type="apiKey",
            name="X-API-Key",
            security_scheme_in="header",
            description="An administrator's or a backend's API key.",
        ),
    }
)

SESSION_TOKEN: tuple[SecurityRequirement, ...] = ({"sessionToken": []},)
API_KEY: tuple[SecurityRequirement, ...] = ({"apiKey": []},)
#: ``POST /sessions``: an invite token in the body needs no credentials; a
#: backend login (``user_id`` + ``quiz_id``) needs the API key.
OPTIONAL_API_KEY: tuple[SecurityRequirement, ...] = ({}, {"apiKey": []})


def ref(name: str) -> Reference:
    """A reference to a schema some route registers (by its ``data_container``);
    ``tests/integration/test_openapi.py`` checks that every reference resolves."""
    return Reference(ref=f"#/components/schemas/{name}")


# -- the operation classes ----------------------------------------------------------

_RETRY_AFTER = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.INTEGER, minimum=0),
    description="Seconds to wait before retrying (with the codes that carry `retry_after`).",
    required=False,
)


def _is_framework_default(response: OpenAPIResponse | Reference) -> bool:
    """Litestar's generated ``{status_code, detail, extra}`` error response."""
    if not isinstance(response, OpenAPIResponse) or not response.content:
        return False
    if set(response.content) != {"application/json"}:
        return False
    schema = response.content["application/json"].schema
    candidates = (schema.one_of or [schema]) if isinstance(schema, Schema) else []
    return bool(candidates) and all(
        isinstance(s, Schema) and set(s.properties or ()) == {"status_code", "detail", "extra"}
        for s in candidates
    )


def _without_null(schema: Schema | Reference | None) -> Schema | Reference | None:
    """``X | None`` -> ``X`` (a JSON ``null`` body is refused like any non-object)."""
    if isinstance(schema, Schema) and schema.one_of:
        kept = [s for s in schema.one_of if not (isinstance(s, Schema) and s.type == "null")]
        if len(kept) == 1:
            return kept[0]
    return schema


#: JSON Schema's ``false``: no value is valid.
_NOTHING = Schema(schema_not=Schema())


def _closed(schema: Schema | Reference | None) -> Schema | Reference | None:
    """The body ``schema`` with unknown members refused, as the service refuses
    them (``forbid_unknown_fields``; ``parse_quiz``): Litestar does not say so in
    the component, and ``additionalProperties`` beside a ``$ref`` would refuse the
    known members too, so ``unevaluatedProperties`` (OpenAPI 3.1) does it."""
    if isinstance(schema, Reference):
        return Schema(all_of=[schema], unevaluated_properties=_NOTHING)
    if isinstance(schema, Schema) and schema.all_of and schema.unevaluated_properties is None:
        return replace(schema, unevaluated_properties=_NOTHING)
    return schema


@dataclass
class ApiOperation(Operation):
    """Every API operation: Litestar's default 400 removed (the service's 400s are
    problem+json, declared by ``problem_responses``), ``Retry-After`` documented
    on 429 and 503. Subclasses set the class variables below."""

    #: False: the body may be left out (an empty body means ``{}``).
    body_required: ClassVar[bool] = True
    #: Replaces the request body's schema.
    body_schema: ClassVar[Schema | Reference | None] = None
    #: The request body's description.
    body_description: ClassVar[str | None] = None
    #: status -> media type -> schema, added to that response's content.
    extra_content: ClassVar[Mapping[str, Mapping[str, Schema | Reference]]] = {}

    def __post_init__(self) -> None:
        responses = self.responses or {}
        for status in [s for s, r in responses.items() if _is_framework_default(r)]:
            del responses[status]
        for status, media in self.extra_content.items():
            response = responses[status]
            assert isinstance(response, OpenAPIResponse)
            response.content = {
                **(response.content or {}),
                **{name: OpenAPIMediaType(schema=schema) for name, schema in media.items()},
            }
        for status in ("429", "503"):
            waiting = responses.get(status)
            if isinstance(waiting, OpenAPIResponse) and MEDIA_TYPE in (waiting.content or {}):
                waiting.headers = {**(waiting.headers or {}), "Retry-After": _RETRY_AFTER}
        body = self.request_body
        if isinstance(body, RequestBody):
            body.required = self.body_required
            body.description = self.body_description or body.description
            for media_type in body.content.values():
                media_type.schema = _closed(self.body_schema or _without_null(media_type.schema))


@dataclass
class OptionalBodyOperation(ApiOperation):
    body_required = False


@dataclass
class OpenSessionOperation(ApiOperation):
    """``POST /sessions``: an ``invite_token``, or a ``user_id`` and a ``quiz_id``
    (a backend login, with the API key); never both (``null`` is absent)."""

    body_schema = Schema(
        all_of=[
            ref("OpenSessionBody"),
            Schema(
                one_of=[
                    Schema(
                        required=["invite_token"],
                        properties={
                            "invite_token": Schema(type=OpenAPIType.STRING),
                            "user_id": Schema(type=OpenAPIType.NULL),
                            "quiz_id": Schema(type=OpenAPIType.NULL),
                        },
                    ),
                    Schema(
                        required=["user_id", "quiz_id"],
                        properties={
                            "invite_token": Schema(type=OpenAPIType.NULL),
                            "user_id": Schema(type=OpenAPIType.STRING),
                            "quiz_id": Schema(type=OpenAPIType.STRING),
                        },
                    ),
                ]
            ),
        ]
    )


@dataclass
class InvitesOperation(ApiOperation):
    """``POST .../invites``: at least one roster line, structured or as text."""

    body_schema = Schema(
        all_of=[
            ref("InvitesBody"),
            Schema(
                any_of=[
                    Schema(required=["roster"], properties={"roster": Schema(min_items=1)}),
                    Schema(
                        required=["roster_text"],
                        properties={"roster_text": Schema(type=OpenAPIType.STRING, min_length=1)},
                    ),
                ]
            ),
        ]
    )


@dataclass
class ProgressOperation(ApiOperation):
    """``PUT .../progress``: Litestar drops a ``minimum`` of 0 inside an optional
    (``expected_version``), so it is restated here."""

    body_schema = Schema(
        all_of=[
            ref("ProgressBody"),
            Schema(properties={"expected_version": Schema(minimum=0)}),
        ]
    )


@dataclass
class CsvVariantOperation(ApiOperation):
    """``results``: JSON by default, CSV with ``format=csv``."""

    extra_content = {
        "200": {
            "text/csv": Schema(
                type=OpenAPIType.STRING,
                description=(
                    "`format=csv`: a header row, then one row per attempt with a points "
                    "and an answer column per question (sent as an attachment)."
                ),
            )
        }
    }


@dataclass
class ReadinessOperation(ApiOperation):
    """``/readyz``: 503 is either the readiness body (``unavailable``) or the
    ``draining`` problem."""

    extra_content = {"503": {"application/json": ref("Readiness")}}


def readiness_responses() -> dict[int, ResponseSpec]:
    return {
        200: ResponseSpec(
            data_container=Readiness,
            description="Ready: the store and the live state answer",
            generate_examples=False,
        ),
        503: ResponseSpec(
            data_container=ProblemDetails,
            media_type=MEDIA_TYPE,
            description=(
                "Not ready: the readiness body with `status: unavailable` (application/json), "
                "or a problem while the instance shuts down (problem+json); "
                "`code` is one of: `draining`"
            ),
            generate_examples=False,
            examples=[_example(503, ErrorCode.DRAINING)],
        ),
    }


def json_response(data_container: Any, description: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=data_container, description=description, generate_examples=False
    )


NO_CONTENT = ResponseSpec(data_container=None, description="Done; no content")
HTML_PAGE = ResponseSpec(
    data_container=str,
    media_type="text/html",
    description="A self-contained HTML page (inline CSS and plots, no scripts)",
    generate_examples=False,
)
