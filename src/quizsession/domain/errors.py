"""The project's own error tree for refusals, and the one vocabulary of codes.

Every refusal carries a stable machine-readable code, an ``ErrorCode``; each code
belongs to one ``Refusal`` category (``ErrorCode.X.category``). The wire side
(HTTP status, title, problem body) lives in ``quizsession.api.problems``;
nothing here knows HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final


class Refusal(StrEnum):
    """What kind of refusal a code is: how a caller should react to it."""

    #: The request itself is wrong (shape, values, encoding, size): fix it.
    INPUT = "input"
    #: Who is asking is not established (credentials missing, invalid, expired).
    AUTH = "auth"
    #: The thing asked about does not exist.
    NOT_FOUND = "not_found"
    #: The request conflicts with the state of the attempt or the quiz's window.
    STATE = "state"
    #: Too many requests: slow down.
    LIMIT = "limit"
    #: The service cannot answer now; nothing was changed, retry later.
    UNAVAILABLE = "unavailable"
    #: An unforeseen failure (a bug).
    INTERNAL = "internal"


class ErrorCode(StrEnum):
    """Every code the service can refuse with (HTTP problems, live socket, CLI).

    The values are the stable wire codes; never rename one."""

    # input
    VALIDATION = "validation_error"
    QUIZ_INVALID = "quiz_invalid"
    MALFORMED_JSON = "malformed_json"
    BAD_REQUEST = "bad_request"
    BODY_TOO_LARGE = "body_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    ANSWER_INVALID = "answer_invalid"
    QUESTION_UNKNOWN = "question_unknown"
    NO_SUCH_SECTION = "no_such_section"
    ACCOMMODATION_INVALID = "accommodation_invalid"
    LTI_MESSAGE_INVALID = "lti_message_invalid"
    WEBHOOK_INVALID = "webhook_invalid"
    NOT_MANUALLY_GRADED = "not_manually_graded"
    GRADE_OUT_OF_RANGE = "grade_out_of_range"
    # who you are
    TOKEN_INVALID = "token_invalid"
    TOKEN_EXPIRED = "token_expired"
    SESSION_IDLE = "session_idle_timeout"
    SESSION_CLOSED = "session_closed"
    INVITE_INVALID = "invite_invalid"
    INVITE_EXPIRED = "invite_expired"
    API_KEY_REQUIRED = "api_key_required"
    API_KEY_INVALID = "api_key_invalid"
    LTI_PLATFORM_UNKNOWN = "lti_platform_unknown"
    LTI_DEPLOYMENT_UNKNOWN = "lti_deployment_unknown"
    LTI_TOKEN_INVALID = "lti_token_invalid"
    LTI_TOKEN_EXPIRED = "lti_token_expired"
    LTI_NONCE_REPLAYED = "lti_nonce_replayed"
    LTI_STATE_INVALID = "lti_state_invalid"
    # what exists
    NOT_FOUND = "not_found"
    # the state of the attempt (or of the quiz's window)
    SESSION_ACTIVE = "session_active"
    SESSION_SUPERSEDED = "session_superseded"
    ATTEMPT_CLOSED = "attempt_closed"
    ATTEMPT_VOIDED = "attempt_voided"
    DEADLINE_PASSED = "deadline_passed"
    SECTION_NOT_STARTED = "section_not_started"
    SECTION_STATE = "section_state"
    QUESTION_NOT_DELIVERED = "question_not_delivered"
    VERSION_MISMATCH = "version_mismatch"
    OP_ID_CONFLICT = "op_id_conflict"
    NOT_ALLOWED = "not_allowed"
    QUIZ_NOT_OPEN = "quiz_not_open"
    QUIZ_CLOSED = "quiz_closed"
    REVIEW_NOT_AVAILABLE = "review_not_available"
    PRACTICE_ONLY = "practice_only"
    ATTEMPT_NOT_FINISHED = "attempt_not_finished"
    REGRADE_INCOMPATIBLE = "regrade_incompatible"
    # capacity
    RATE_LIMITED = "rate_limited"
    STORE_UNAVAILABLE = "store_unavailable"
    BUSY = "busy"
    LIVE_RECOVERING = "live_state_recovering"
    DRAINING = "draining"
    LTI_NOT_CONFIGURED = "lti_not_configured"
    LTI_PLATFORM_UNAVAILABLE = "lti_platform_unavailable"
    INTERNAL = "internal"

    @property
    def category(self) -> Refusal:
        """The kind of refusal this code is (see ``CATEGORY``)."""
        return CATEGORY[self]


def _categories() -> dict[ErrorCode, Refusal]:
    by_refusal: dict[Refusal, tuple[ErrorCode, ...]] = {
        Refusal.INPUT: (
            ErrorCode.VALIDATION,
            ErrorCode.QUIZ_INVALID,
            ErrorCode.MALFORMED_JSON,
            ErrorCode.BAD_REQUEST,
            ErrorCode.BODY_TOO_LARGE,
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            ErrorCode.METHOD_NOT_ALLOWED,
            ErrorCode.ANSWER_INVALID,
            ErrorCode.QUESTION_UNKNOWN,
            ErrorCode.NO_SUCH_SECTION,
            ErrorCode.ACCOMMODATION_INVALID,
            ErrorCode.LTI_MESSAGE_INVALID,
            ErrorCode.WEBHOOK_INVALID,
            ErrorCode.NOT_MANUALLY_GRADED,
            ErrorCode.GRADE_OUT_OF_RANGE,
        ),
        Refusal.AUTH: (
            ErrorCode.TOKEN_INVALID,
            ErrorCode.TOKEN_EXPIRED,
            ErrorCode.SESSION_IDLE,
            ErrorCode.SESSION_CLOSED,
            ErrorCode.INVITE_INVALID,
            ErrorCode.INVITE_EXPIRED,
            ErrorCode.API_KEY_REQUIRED,
            ErrorCode.API_KEY_INVALID,
            ErrorCode.LTI_PLATFORM_UNKNOWN,
            ErrorCode.LTI_DEPLOYMENT_UNKNOWN,
            ErrorCode.LTI_TOKEN_INVALID,
            ErrorCode.LTI_TOKEN_EXPIRED,
            ErrorCode.LTI_NONCE_REPLAYED,
            ErrorCode.LTI_STATE_INVALID,
        ),
        Refusal.NOT_FOUND: (ErrorCode.NOT_FOUND,),
        Refusal.STATE: (
            ErrorCode.SESSION_ACTIVE,
            ErrorCode.SESSION_SUPERSEDED,
            ErrorCode.ATTEMPT_CLOSED,
            ErrorCode.ATTEMPT_VOIDED,
            ErrorCode.DEADLINE_PASSED,
            ErrorCode.SECTION_NOT_STARTED,
            ErrorCode.SECTION_STATE,
            ErrorCode.QUESTION_NOT_DELIVERED,
            ErrorCode.VERSION_MISMATCH,
            ErrorCode.OP_ID_CONFLICT,
            ErrorCode.NOT_ALLOWED,
            ErrorCode.QUIZ_NOT_OPEN,
            ErrorCode.QUIZ_CLOSED,
            ErrorCode.REVIEW_NOT_AVAILABLE,
            ErrorCode.PRACTICE_ONLY,
            ErrorCode.ATTEMPT_NOT_FINISHED,
            ErrorCode.REGRADE_INCOMPATIBLE,
        ),
        Refusal.LIMIT: (ErrorCode.RATE_LIMITED,),
        Refusal.UNAVAILABLE: (
            ErrorCode.STORE_UNAVAILABLE,
            ErrorCode.BUSY,
            ErrorCode.LIVE_RECOVERING,
            ErrorCode.DRAINING,
            ErrorCode.LTI_NOT_CONFIGURED,
            ErrorCode.LTI_PLATFORM_UNAVAILABLE,
        ),
        Refusal.INTERNAL: (ErrorCode.INTERNAL,),
    }
    return {code: refusal for refusal, codes in by_refusal.items() for code in codes}


#: code -> its category; complete (a unit test checks every member is here once).
CATEGORY: Final[Mapping[ErrorCode, Refusal]] = MappingProxyType(_categories())


class DomainError(Exception):
    """A command was refused by a rule. Refusals change nothing."""

    code: ErrorCode

    def __init__(self, detail: str, *, code: ErrorCode, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        # ErrorCode(...) is the identity on a member, and rejects a stray string.
        self.code = ErrorCode(code)
        self.extra: dict[str, Any] = extra


def refuse(code: ErrorCode, detail: str, **extra: Any) -> DomainError:
    """``raise refuse(ErrorCode.X, "why", **extra)``: the refusal to raise."""
    return DomainError(detail, code=code, **extra)


class Problem:
    """One problem found in an input, located by a JSON-pointer-like path."""

    __slots__ = ("message", "path")

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}

    def __repr__(self) -> str:
        return f"Problem({self.path!r}, {self.message!r})"


class InvalidDefinition(DomainError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(
            f"the quiz definition has {len(problems)} problem(s)",
            code=ErrorCode.QUIZ_INVALID,
            problems=[p.as_dict() for p in problems],
        )
        self.problems = problems
