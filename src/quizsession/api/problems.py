"""Refusals on the wire: RFC 9457 problem bodies, and the one table that maps
each ``ErrorCode`` to its HTTP status.

The HTTP boundary builds every problem from here (``entrypoints/http/problems.py``),
the OpenAPI document derives each route's problem responses from here
(``entrypoints/http/openapi_docs.py``), and the typed client reads refusals with
it. Only the standard library, msgspec and ``quizsession.domain.errors`` may be
imported: the client imports this module where only httpx and msgspec exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Final

import msgspec

from quizsession.domain.errors import ErrorCode, Refusal

__all__ = [
    "HTTP_STATUS",
    "MEDIA_TYPE",
    "TITLES",
    "ErrorCode",
    "ProblemDetails",
    "ProblemItem",
    "Refusal",
    "known_code",
    "problem_body",
    "problem_type",
    "status_for",
    "status_of",
    "title_of",
]

MEDIA_TYPE: Final = "application/problem+json"

_C = ErrorCode

#: code -> the HTTP status it is answered with. Complete: every ``ErrorCode`` has
#: a row (a unit test checks it, and that there are no others).
HTTP_STATUS: Final[Mapping[ErrorCode, int]] = MappingProxyType(
    {
        # input
        _C.VALIDATION: 422,
        _C.QUIZ_INVALID: 422,
        _C.MALFORMED_JSON: 400,
        _C.BAD_REQUEST: 400,
        _C.BODY_TOO_LARGE: 413,
        _C.UNSUPPORTED_MEDIA_TYPE: 415,
        _C.METHOD_NOT_ALLOWED: 405,
        _C.ANSWER_INVALID: 422,
        _C.QUESTION_UNKNOWN: 422,
        _C.NO_SUCH_SECTION: 422,
        _C.ACCOMMODATION_INVALID: 422,
        _C.LTI_MESSAGE_INVALID: 422,
        _C.WEBHOOK_INVALID: 422,
        _C.NOT_MANUALLY_GRADED: 422,
        _C.GRADE_OUT_OF_RANGE: 422,
        # who you are
        _C.TOKEN_INVALID: 401,
        _C.TOKEN_EXPIRED: 401,
        _C.SESSION_IDLE: 401,
        _C.SESSION_CLOSED: 401,
        _C.INVITE_INVALID: 401,
        _C.INVITE_EXPIRED: 401,
        _C.API_KEY_REQUIRED: 401,
        _C.API_KEY_INVALID: 401,
        _C.LTI_PLATFORM_UNKNOWN: 401,
        _C.LTI_DEPLOYMENT_UNKNOWN: 401,
        _C.LTI_TOKEN_INVALID: 401,
        _C.LTI_TOKEN_EXPIRED: 401,
        _C.LTI_NONCE_REPLAYED: 401,
        _C.LTI_STATE_INVALID: 401,
        # what exists
        _C.NOT_FOUND: 404,
        # the state of the attempt
        _C.SESSION_ACTIVE: 409,
        _C.SESSION_SUPERSEDED: 409,
        _C.ATTEMPT_CLOSED: 409,
        _C.ATTEMPT_VOIDED: 409,
        _C.DEADLINE_PASSED: 409,
        _C.SECTION_NOT_STARTED: 409,
        _C.SECTION_STATE: 409,
        _C.QUESTION_NOT_DELIVERED: 409,
        _C.VERSION_MISMATCH: 409,
        _C.OP_ID_CONFLICT: 409,
        _C.NOT_ALLOWED: 409,
        _C.REVIEW_NOT_AVAILABLE: 409,
        _C.PRACTICE_ONLY: 409,
        _C.ATTEMPT_NOT_FINISHED: 409,
        _C.REGRADE_INCOMPATIBLE: 409,
        # the quiz's window
        _C.QUIZ_NOT_OPEN: 403,
        _C.QUIZ_CLOSED: 403,
        # capacity
        _C.RATE_LIMITED: 429,
        _C.STORE_UNAVAILABLE: 503,
        _C.BUSY: 503,
        _C.LIVE_RECOVERING: 503,
        _C.DRAINING: 503,
        _C.LTI_NOT_CONFIGURED: 503,
        _C.LTI_PLATFORM_UNAVAILABLE: 503,
        _C.INTERNAL: 500,
    }
)

#: status -> the problem's ``title`` (RFC 9457: the same for every occurrence).
TITLES: Final[Mapping[int, str]] = MappingProxyType(
    {
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
)


def status_of(code: ErrorCode) -> int:
    """The HTTP status ``code`` is answered with."""
    return HTTP_STATUS[code]


def known_code(code: str) -> ErrorCode | None:
    """The ``ErrorCode`` of a wire code; ``None`` for one this version does not
    know (a newer server may answer with it: treat it by its status)."""
    try:
        return ErrorCode(code)
    except ValueError:
        return None


def status_for(code: str) -> int | None:
    """The status the wire code ``code`` is answered with; ``None`` if unknown."""
    known = known_code(code)
    return None if known is None else HTTP_STATUS[known]


def title_of(status: int) -> str:
    """The ``title`` of a problem answered with ``status``."""
    return TITLES.get(status, "Error")


def problem_type(code: ErrorCode | str) -> str:
    """The problem's ``type``: a relative URI naming its code."""
    return f"/problems/{code}"


def problem_body(
    code: ErrorCode,
    detail: str,
    *,
    status: int | None = None,
    instance: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The members of the problem for ``code`` (``ProblemDetails``'s shape), in
    wire order: ``type``, ``title``, ``status``, ``code``, ``detail``,
    ``instance``, then the code's extra members. ``status`` overrides the table
    only where the framework answered with its own status."""
    status = status or HTTP_STATUS[code]
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": title_of(status),
        "status": status,
        "code": str(code),
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return body


# -- the body's shape --------------------------------------------------------------


def _unset() -> Any:
    return msgspec.UNSET


def _optional() -> Any:
    """A member that may be absent (never ``null``): left out when encoded."""
    return msgspec.field(default_factory=_unset)


class ProblemItem(msgspec.Struct, frozen=True, kw_only=True):
    """One problem in the input: ``path`` locates it by a JSON-pointer-like path
    (``""`` is the whole body), or ``line`` by its line in ``roster_text``."""

    message: str
    path: str = _optional()
    line: Annotated[int, msgspec.Meta(ge=1)] = _optional()


class ProblemDetails(msgspec.Struct, frozen=True, kw_only=True):
    """An RFC 9457 problem. ``code`` is stable (``type`` is ``/problems/{code}``);
    ``detail`` is for people. The optional members appear with the codes that
    carry them; clients ignore members they do not know."""

    type: str
    title: str
    status: int
    code: str
    detail: str
    instance: str = _optional()
    #: ``validation_error``, ``quiz_invalid``: every problem found, by path.
    problems: list[ProblemItem] = _optional()
    #: ``rate_limited``, ``session_active``, ``live_state_recovering``, ``draining``:
    #: seconds to wait (also sent as the ``Retry-After`` header).
    retry_after: int = _optional()
    #: ``session_active``: whether the quiz lets this login take the attempt over.
    takeover_allowed: bool = _optional()
    #: ``deadline_passed``: the deadline (epoch seconds).
    deadline: float = _optional()
    #: ``quiz_not_open`` / ``quiz_closed``: when the quiz opens / closed (epoch seconds).
    opens_at: float = _optional()
    closes_at: float = _optional()
    #: ``answer_invalid``: the question whose answer was refused.
    question_id: str = _optional()
    #: ``version_mismatch``: the attempt's current version.
    version: int = _optional()
    #: ``grade_out_of_range``: the points a grade may have (``min_points`` to
    #: ``max_points``); ``question_id`` names the question.
    min_points: float = _optional()
    max_points: float = _optional()
    #: ``regrade_incompatible``: the planned questions missing from the new version.
    missing: list[str] = _optional()

    @property
    def error_code(self) -> ErrorCode | None:
        """``code`` as an ``ErrorCode``; ``None`` for a code this version does not
        know (a newer server)."""
        return known_code(self.code)
