"""What the client raises: one exception class per refusal category, derived from
the service's own table of codes (``ErrorCode.category`` and
``api.problems.HTTP_STATUS``), so that a code added to the service lands in the
right class without a change here.

``QuizSessionError`` keeps the problem's ``code`` (the raw string, which a newer
service may send) and ``error_code`` (the ``ErrorCode``, or None for a code this
version does not know). A few codes that carry members of their own get a
subclass of their category's class (``SessionActive.takeover_allowed``,
``DeadlinePassed.deadline``); the refusals of the quiz's window (answered with
403) are ``Forbidden``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import httpx
import msgspec

from quizsession.api.problems import HTTP_STATUS
from quizsession.domain.errors import ErrorCode, Refusal


class FieldProblem(msgspec.Struct, frozen=True, kw_only=True):
    """One problem of a refused input, located by a JSON-pointer-like ``path``
    (or, for ``roster_text``, by its 1-based ``line``): the problem body's
    ``problems`` items (``api.problems.ProblemItem``) with plain defaults."""

    path: str = ""
    message: str = ""
    line: int | None = None


class QuizClientError(Exception):
    """Base of everything this client raises."""


class TransportFailed(QuizClientError):
    """No answer from the service (connection refused or reset, timeout) after
    ``attempts`` tries; the original httpx error is the ``__cause__``. For a
    request that is not retried the outcome is unknown: it may have been applied."""

    def __init__(self, method: str, path: str, attempts: int, error: Exception) -> None:
        super().__init__(f"{method} {path}: no answer after {attempts} attempt(s): {error!r}")
        self.method = method
        self.path = path
        self.attempts = attempts
        self.error = error


class UnexpectedResponse(QuizClientError):
    """A 2xx whose body does not decode into the expected type."""

    def __init__(self, status: int, message: str, content: bytes) -> None:
        super().__init__(f"HTTP {status}: unexpected response body: {message}")
        self.status = status
        self.content = content


class QuizSessionError(QuizClientError):
    """The service refused the request with an RFC 9457 problem (or, from
    something in between such as a proxy, a non-2xx that is not one).

    ``code`` is the problem's stable code (``http_<status>`` when the body is
    not a problem), ``error_code`` the same as an ``ErrorCode`` (None when this
    version does not know it), ``body`` the whole decoded problem (extra members
    included). ``category`` is the refusal category of the class."""

    category: ClassVar[Refusal | None] = None

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        body: Mapping[str, Any],
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.body: dict[str, Any] = dict(body)
        self.retry_after = retry_after
        """Seconds to wait before trying again, where the service said (the
        problem's ``retry_after`` member or the ``Retry-After`` header)."""

    @property
    def error_code(self) -> ErrorCode | None:
        try:
            return ErrorCode(self.code)
        except ValueError:
            return None


# -- one class per refusal category -----------------------------------------------------


class ValidationFailed(QuizSessionError):
    """The request itself was refused (``validation_error``, ``quiz_invalid``,
    ``answer_invalid``, ``malformed_json``, ``body_too_large``...); ``problems``
    lists each problem with its path where the service gave them."""

    category = Refusal.INPUT

    @property
    def problems(self) -> list[FieldProblem]:
        raw = self.body.get("problems")
        if not isinstance(raw, list):
            return []
        found: list[FieldProblem] = []
        for item in raw:
            if isinstance(item, Mapping):
                line = item.get("line")
                found.append(
                    FieldProblem(
                        path=str(item.get("path", "")),
                        message=str(item.get("message", "")),
                        line=line if isinstance(line, int) else None,
                    )
                )
        return found


class Unauthorized(QuizSessionError):
    """Who is asking is not established: a missing, wrong or expired token,
    invite or API key, or a session that has ended (``session_closed``,
    ``session_idle_timeout``)."""

    category = Refusal.AUTH


class NotFound(QuizSessionError):
    """No such quiz, attempt or resource."""

    category = Refusal.NOT_FOUND


class Conflict(QuizSessionError):
    """The request conflicts with the state of the attempt or of the quiz's
    window (``attempt_closed``, ``section_state``, ``version_mismatch``,
    ``op_id_conflict``, ``quiz_not_open``...)."""

    category = Refusal.STATE


class RateLimited(QuizSessionError):
    """``rate_limited``: slow down for ``retry_after`` seconds."""

    category = Refusal.LIMIT


class Unavailable(QuizSessionError):
    """``draining``, ``busy``, ``store_unavailable``, ``live_state_recovering``:
    nothing was done; try again later."""

    category = Refusal.UNAVAILABLE


class InternalError(QuizSessionError):
    """``internal``: an unforeseen failure in the service."""

    category = Refusal.INTERNAL


# -- codes with members of their own ------------------------------------------------------


class SessionActive(Conflict):
    """``session_active``: another session holds the attempt's lease. Retry after
    ``retry_after`` seconds, or, where ``takeover_allowed``, log in again with
    ``takeover=True``."""

    @property
    def takeover_allowed(self) -> bool:
        return bool(self.body.get("takeover_allowed", False))


class Superseded(Conflict):
    """``session_superseded``: a newer session took the attempt over; this
    handle can no longer write (log in again to continue)."""


class DeadlinePassed(Conflict):
    """``deadline_passed``: the write arrived after deadline + grace; the attempt
    has been (or is being) submitted by the server."""

    @property
    def deadline(self) -> float | None:
        value = self.body.get("deadline")
        return float(value) if isinstance(value, int | float) else None


class Forbidden(Conflict):
    """The quiz's window is not open (``quiz_not_open``, ``quiz_closed``: the
    state refusals answered with 403); ``opens_at`` / ``closes_at`` in ``body``."""


#: Refusal category -> its class (complete: a test checks every category).
BY_CATEGORY: dict[Refusal, type[QuizSessionError]] = {
    cls.category: cls
    for cls in (
        ValidationFailed,
        Unauthorized,
        NotFound,
        Conflict,
        RateLimited,
        Unavailable,
        InternalError,
    )
    if cls.category is not None
}
_SPECIAL: dict[ErrorCode, type[QuizSessionError]] = {
    ErrorCode.SESSION_ACTIVE: SessionActive,
    ErrorCode.SESSION_SUPERSEDED: Superseded,
    ErrorCode.DEADLINE_PASSED: DeadlinePassed,
}


def _class_for(code: ErrorCode) -> type[QuizSessionError]:
    if code in _SPECIAL:
        return _SPECIAL[code]
    if code.category is Refusal.STATE and HTTP_STATUS[code] == 403:
        return Forbidden
    return BY_CATEGORY[code.category]


#: Every known code -> the class raised for it.
BY_CODE: dict[str, type[QuizSessionError]] = {str(code): _class_for(code) for code in ErrorCode}


def _by_status() -> dict[int, type[QuizSessionError]]:
    """Status -> class, for a code this version does not know (or a body that is
    not a problem): the class of the codes answered with that status, where they
    share one."""
    classes: dict[int, set[type[QuizSessionError]]] = {}
    for code, status in HTTP_STATUS.items():
        cls = BY_CODE[str(code)]
        classes.setdefault(status, set()).add(
            cls if cls is Forbidden else BY_CATEGORY[code.category]
        )
    return {status: found.pop() for status, found in classes.items() if len(found) == 1}


BY_STATUS: dict[int, type[QuizSessionError]] = _by_status()
#: The codes after which the service did nothing: an idempotent request may be repeated.
RETRYABLE_CODES: frozenset[str] = frozenset(
    str(code) for code in ErrorCode if code.category is Refusal.UNAVAILABLE
)


def _retry_after(body: Mapping[str, Any], headers: httpx.Headers) -> float | None:
    value = body.get("retry_after")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    header = headers.get("retry-after")
    if header is not None:
        try:
            return float(header)
        except ValueError:
            return None  # an HTTP-date: not sent by this service
    return None


def error_from_response(response: httpx.Response) -> QuizSessionError:
    """The ``QuizSessionError`` subclass for a non-2xx ``response``: by the
    problem's ``code`` first, then by status."""
    body: dict[str, Any] = {}
    try:
        decoded = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        decoded = None
    if isinstance(decoded, dict):
        body = decoded
    status = response.status_code
    code = body.get("code")
    if not isinstance(code, str) or not code:
        code = f"http_{status}"
    detail = body.get("detail")
    if not isinstance(detail, str):
        detail = response.text[:200] if not body else ""
    cls = BY_CODE.get(code) or BY_STATUS.get(status) or QuizSessionError
    return cls(status, code, detail, body, retry_after=_retry_after(body, response.headers))
