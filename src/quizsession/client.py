"""A typed asyncio client for quizsession, for integrating backends and tests.

::

    async with AsyncQuizClient("http://127.0.0.1:8002", api_key=KEY) as client:
        await client.put_quiz("maths", definition)
        session = await client.open_session(user_id="u-42", quiz_id="maths")
        await session.start()
        current = await session.next_question()
        await session.save(current.question.id, "canberra")  # op_id generated
        result = await session.complete()

Responses are decoded with msgspec into the very structs the server encodes
(``quizsession.app.*``); the few envelopes the HTTP layer defines itself
(``QuizStored``, ``AttemptList``...) are mirrored here field for field so that the
client never imports the server's web framework (a test checks the mirrors
against the server's). Every problem+json answer raises a ``QuizSessionError``
subclass chosen by its stable ``code`` and status.

Retries: transport failures (connection refused or reset, timeouts) are retried
with exponential backoff only where repeating the request cannot do anything
twice: every GET, and the writes that carry an operation id (``start``, ``save``
and ``complete``; the id is generated once per call and reused by every retry,
so the server answers a repeat with the first result). The same operations are
retried on a 503 ``draining``/``busy``/``store_unavailable`` answer, after its
``Retry-After``. Nothing else is retried: a login, an admin change or a
heartbeat that failed in transit raises ``TransportFailed`` and the caller
decides.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, Protocol, Self, TypeVar, overload, runtime_checkable
from urllib.parse import quote

import httpx
import msgspec

from quizsession.app.admin import AttemptDetail, EventView, LiveAttempt, TimingResult
from quizsession.app.catalog import IssuedInvite
from quizsession.app.ports import AttemptIndexRow, QuizSummary
from quizsession.app.reports import AttemptAnalytics, CandidateResult, ItemAnalysis, Summary
from quizsession.app.sessions import (
    CompleteResult,
    HeartbeatResult,
    NextQuestion,
    OpenedSession,
    SaveResult,
)
from quizsession.app.views import AttemptView, QuestionView
from quizsession.domain.events import AnswerValue

__all__ = [
    "AsyncQuizClient",
    "AsyncTransport",
    "AttemptList",
    "Conflict",
    "DeadlinePassed",
    "FieldProblem",
    "Forbidden",
    "InviteList",
    "ItemAnalysisReport",
    "LiveList",
    "NotFound",
    "QuizClientError",
    "QuizList",
    "QuizResults",
    "QuizSessionError",
    "QuizStored",
    "RateLimited",
    "Readiness",
    "RosterLine",
    "SessionActive",
    "SessionHandle",
    "Superseded",
    "TransportFailed",
    "Unauthorized",
    "Unavailable",
    "UnexpectedResponse",
    "ValidationFailed",
]

T = TypeVar("T")

PROBLEM_JSON = "application/problem+json"
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF_S = 0.2
DEFAULT_MAX_BACKOFF_S = 5.0
#: 503 codes after which the server did nothing: an idempotent request may be repeated.
RETRYABLE_CODES = frozenset({"draining", "busy", "store_unavailable"})
#: Transport failures worth another try (not a bad URL or a protocol misuse).
_TRANSIENT = (httpx.NetworkError, httpx.TimeoutException, httpx.RemoteProtocolError)


@runtime_checkable
class AsyncTransport(Protocol):
    """Anything that answers an ``httpx.Request`` (an ``httpx.AsyncBaseTransport``,
    or a duck-typed one such as Litestar's test client transport)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response: ...


class _Adapted(httpx.AsyncBaseTransport):
    """A duck-typed transport as an ``httpx.AsyncBaseTransport`` (httpx closes
    its transport; the wrapped one is closed only if it knows how)."""

    def __init__(self, inner: AsyncTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        close = getattr(self._inner, "aclose", None)
        if close is not None:
            await close()


# ---------------------------------------------------------------------------- envelopes
# Mirrors of the response envelopes defined by the HTTP layer
# (``entrypoints/http/routes_admin.py`` and ``routes_reports.py``); the items
# inside them are the app layer's own structs.


class QuizStored(msgspec.Struct, frozen=True, kw_only=True):
    """``PUT /admin/quizzes/{id}``: the version the definition was stored as."""

    id: str
    version: int
    title: str


class QuizList(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /admin/quizzes``: the latest version of every quiz."""

    quizzes: list[QuizSummary]


class LiveList(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /admin/quizzes/{id}/live``: every attempt with its clock and presence."""

    quiz_id: str
    server_time: float
    attempts: list[LiveAttempt]


class InviteList(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /admin/quizzes/{id}/invites``: the issued tokens (shown only once)."""

    quiz_id: str
    invites: list[IssuedInvite]


class AttemptList(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /admin/attempts``: one page of the attempt index."""

    attempts: list[AttemptIndexRow]
    limit: int
    offset: int


class QuizResults(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /admin/quizzes/{id}/results``: every attempt with its score."""

    quiz_id: str
    title: str
    versions: list[int]
    question_ids: list[str]
    summary: Summary
    results: list[CandidateResult]


class ItemAnalysisReport(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /admin/quizzes/{id}/item-analysis``: statistics per question."""

    quiz_id: str
    title: str
    versions: list[int]
    scored_attempts: int
    items: list[ItemAnalysis]


class Readiness(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /readyz``: ``status`` is ``ready`` or ``unavailable``; ``live`` is
    ``"degraded"`` while the live state runs behind an open circuit breaker."""

    status: str
    store: bool
    live: bool | str


class RosterLine(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One candidate to invite. ``valid_until``: ``YYYY-MM-DD`` (through the end
    of that UTC day) or an ISO-8601 date-time with an offset."""

    name: str
    email: str
    valid_until: str
    candidate_id: str | None = None


class FieldProblem(msgspec.Struct, frozen=True, kw_only=True):
    """One problem of a refused input, located by a JSON-pointer-like ``path``
    (or, for ``roster_text``, by its 1-based ``line``)."""

    path: str = ""
    message: str = ""
    line: int | None = None


# ------------------------------------------------------------------------------- errors


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
    not a problem), ``body`` the whole decoded problem (extra members included).
    """

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


class ValidationFailed(QuizSessionError):
    """The input was refused (400, 413, 415, 422: ``validation_error``,
    ``quiz_invalid``, ``answer_invalid``, ``malformed_json``...); ``problems``
    lists each problem with its path where the service gave them."""

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
    """401: a missing, wrong or expired token, invite or API key, or a session
    that has ended (``session_closed``, ``session_idle_timeout``)."""


class Forbidden(QuizSessionError):
    """403: the quiz's window is not open (``quiz_not_open``, ``quiz_closed``)."""


class NotFound(QuizSessionError):
    """404: no such quiz, attempt or resource."""


class Conflict(QuizSessionError):
    """409: the request conflicts with the attempt's state (``attempt_closed``,
    ``section_state``, ``version_mismatch``, ``op_id_conflict``...)."""


class SessionActive(Conflict):
    """409 ``session_active``: another session holds the attempt's lease. Retry
    after ``retry_after`` seconds, or, where ``takeover_allowed``, log in again
    with ``takeover=True``."""

    @property
    def takeover_allowed(self) -> bool:
        return bool(self.body.get("takeover_allowed", False))


class Superseded(Conflict):
    """409 ``session_superseded``: a newer session took the attempt over; this
    handle can no longer write (log in again to continue)."""


class DeadlinePassed(Conflict):
    """409 ``deadline_passed``: the write arrived after deadline + grace; the
    attempt has been (or is being) submitted by the server."""

    @property
    def deadline(self) -> float | None:
        value = self.body.get("deadline")
        return float(value) if isinstance(value, int | float) else None


class RateLimited(QuizSessionError):
    """429 ``rate_limited``: slow down for ``retry_after`` seconds."""


class Unavailable(QuizSessionError):
    """503: ``draining``, ``busy`` or ``store_unavailable``; nothing was done."""


_BY_CODE: dict[str, type[QuizSessionError]] = {
    "session_active": SessionActive,
    "session_superseded": Superseded,
    "deadline_passed": DeadlinePassed,
    "rate_limited": RateLimited,
}
_BY_STATUS: dict[int, type[QuizSessionError]] = {
    400: ValidationFailed,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: ValidationFailed,
    415: ValidationFailed,
    422: ValidationFailed,
    429: RateLimited,
    503: Unavailable,
}


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
    cls = _BY_CODE.get(code) or _BY_STATUS.get(status) or QuizSessionError
    return cls(status, code, detail, body, retry_after=_retry_after(body, response.headers))


def new_op_id() -> str:
    """A fresh operation id (a random UUID)."""
    return str(uuid.uuid4())


def _seg(value: str) -> str:
    """``value`` as one URL path segment (a ``/`` or ``?`` in it cannot change
    the route)."""
    return quote(value, safe=":@")


def _omit_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


# ------------------------------------------------------------------------------- client


class AsyncQuizClient:
    """An asyncio client for one quizsession service.

    ``base_url``: the service's root (``http://host:8002``). ``api_key``: sent as
    ``X-API-Key`` on administrator routes and backend logins (never on a
    candidate's own requests). ``transport``: any ``httpx.AsyncBaseTransport``,
    e.g. ``httpx.ASGITransport(app=app)`` to drive an in-process app, or the
    transport of a Litestar ``AsyncTestClient`` (default: real HTTP).
    ``timeout``: seconds for each of connect, read, write and pool.
    ``retries``, ``backoff_s`` and ``max_backoff_s``: how idempotent requests are
    retried (the n-th retry waits about ``backoff_s * 2**(n-1)``, capped, with
    jitter). Use as an async context manager, or call ``aclose()``.
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        transport: httpx.AsyncBaseTransport | AsyncTransport | None = None,
        timeout: float = 10.0,
        retries: int = DEFAULT_RETRIES,
        backoff_s: float = DEFAULT_BACKOFF_S,
        max_backoff_s: float = DEFAULT_MAX_BACKOFF_S,
    ) -> None:
        if retries < 0:
            raise ValueError("retries must be >= 0")
        self.api_key = api_key
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        if transport is not None and not isinstance(transport, httpx.AsyncBaseTransport):
            transport = _Adapted(transport)
        self._http = httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": "quizsession-client/0.1"},
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    # -- plumbing ------------------------------------------------------------------------

    def _admin_headers(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key} if self.api_key is not None else {}

    def _delay(self, retry: int, hint: float | None = None) -> float:
        base = min(self.max_backoff_s, self.backoff_s * 2.0 ** (retry - 1))
        delay = base * (0.5 + random.random() / 2)  # jitter
        if hint is not None:
            delay = max(delay, min(hint, self.max_backoff_s))
        return delay

    async def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        json: Any = None,
        params: Mapping[str, str | int | bool] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send a request and return its 2xx response; raise ``QuizSessionError``
        for any other status and ``TransportFailed`` when no answer came. With
        ``idempotent`` the request is retried as the module docstring says."""
        content = msgspec.json.encode(json) if json is not None else None
        send_headers = dict(headers or {})
        if content is not None:
            send_headers["Content-Type"] = "application/json"
        tries = 0
        while True:
            tries += 1
            try:
                response = await self._http.request(
                    method, path, content=content, params=params, headers=send_headers
                )
            except _TRANSIENT as exc:
                if not idempotent or tries > self.retries:
                    raise TransportFailed(method, path, tries, exc) from exc
                await asyncio.sleep(self._delay(tries))
                continue
            except httpx.TransportError as exc:
                raise TransportFailed(method, path, tries, exc) from exc
            if response.is_success:
                return response
            error = error_from_response(response)
            if idempotent and error.code in RETRYABLE_CODES and tries <= self.retries:
                await asyncio.sleep(self._delay(tries, error.retry_after))
                continue
            raise error

    @staticmethod
    def _decode(response: httpx.Response, type_: type[T]) -> T:
        try:
            return msgspec.json.decode(response.content, type=type_)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise UnexpectedResponse(response.status_code, str(exc), response.content) from exc

    async def _call(
        self,
        method: str,
        path: str,
        type_: type[T],
        *,
        idempotent: bool | None = None,
        json: Any = None,
        params: Mapping[str, str | int | bool] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> T:
        response = await self.request(
            method,
            path,
            idempotent=method == "GET" if idempotent is None else idempotent,
            json=json,
            params=params,
            headers=headers,
        )
        return self._decode(response, type_)

    async def _admin(
        self,
        method: str,
        path: str,
        type_: type[T],
        *,
        json: Any = None,
        params: Mapping[str, str | int | bool] | None = None,
    ) -> T:
        return await self._call(
            method, "/admin" + path, type_, json=json, params=params, headers=self._admin_headers()
        )

    async def _admin_text(
        self, path: str, params: Mapping[str, str | int | bool] | None = None
    ) -> str:
        response = await self.request(
            "GET", "/admin" + path, idempotent=True, params=params, headers=self._admin_headers()
        )
        return response.text

    # -- candidate sessions ----------------------------------------------------------------

    async def open_session(
        self,
        *,
        invite_token: str | None = None,
        user_id: str | None = None,
        quiz_id: str | None = None,
        name: str = "",
        takeover: bool = False,
    ) -> SessionHandle:
        """``POST /sessions``: start or resume an attempt, with a candidate's
        ``invite_token`` or, for a backend (``api_key`` needed), ``user_id`` and
        ``quiz_id`` (``name``: the candidate's display name on first login).
        Raises ``SessionActive`` while another session holds the lease (retry
        after ``retry_after``, or pass ``takeover=True`` where allowed). Not
        retried: a repeated login would supersede the first one."""
        if (invite_token is None) == (user_id is None or quiz_id is None):
            raise ValueError("pass either invite_token, or user_id and quiz_id")
        body: dict[str, Any] = {"takeover": takeover}
        headers: dict[str, str] = {}
        if invite_token is not None:
            body["invite_token"] = invite_token
        else:
            body.update(user_id=user_id, quiz_id=quiz_id)
            if name:
                body["name"] = name
            headers = self._admin_headers()
        opened = await self._call(
            "POST", "/sessions", OpenedSession, idempotent=False, json=body, headers=headers
        )
        return SessionHandle(self, opened)

    def session(self, session_id: str, token: str) -> SessionHandle:
        """A handle for a session opened earlier (its id and latest token)."""
        return SessionHandle(self, None, session_id=session_id, token=token)

    # -- administration: quizzes -------------------------------------------------------------

    async def put_quiz(self, quiz_id: str, definition: Mapping[str, Any]) -> QuizStored:
        """Store ``definition`` as the quiz's next version (``ValidationFailed``
        with every problem when it is invalid)."""
        return await self._admin(
            "PUT", f"/quizzes/{_seg(quiz_id)}", QuizStored, json=dict(definition)
        )

    async def get_quiz(self, quiz_id: str, version: int | None = None) -> dict[str, Any]:
        """A quiz definition (the latest version, or ``version``) as a mapping with
        its ``version``: the shape ``put_quiz`` takes."""
        params = {"version": version} if version is not None else None
        return await self._admin("GET", f"/quizzes/{_seg(quiz_id)}", dict[str, Any], params=params)

    async def list_quizzes(self) -> list[QuizSummary]:
        """The latest version of every quiz."""
        return (await self._admin("GET", "/quizzes", QuizList)).quizzes

    async def live_attempts(self, quiz_id: str) -> LiveList:
        """Every attempt of a quiz with its clock, connection and last-seen time."""
        return await self._admin("GET", f"/quizzes/{_seg(quiz_id)}/live", LiveList)

    async def apply_timing(self, quiz_id: str) -> TimingResult:
        """Apply the latest version's duration to the attempts in progress."""
        return await self._admin("POST", f"/quizzes/{_seg(quiz_id)}/apply-timing", TimingResult)

    async def invite(
        self,
        quiz_id: str,
        roster: Sequence[RosterLine] = (),
        *,
        roster_text: str | None = None,
    ) -> list[IssuedInvite]:
        """Issue invite tokens for ``roster`` (tokens generated) and/or
        ``roster_text`` lines ``name email valid-until token`` (tokens supplied,
        22-128 characters). The tokens are shown only here: the service keeps
        their hashes."""
        body: dict[str, Any] = {"roster": list(roster)}
        if roster_text is not None:
            body["roster_text"] = roster_text
        found = await self._admin(
            "POST", f"/quizzes/{_seg(quiz_id)}/invites", InviteList, json=body
        )
        return found.invites

    # -- administration: attempts --------------------------------------------------------------

    async def list_attempts(
        self,
        *,
        quiz_id: str | None = None,
        status: Literal["open", "submitted", "voided"] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> AttemptList:
        """One page of the attempt index, optionally for one quiz and status."""
        params: dict[str, str | int | bool] = {"limit": limit, "offset": offset}
        params.update(_omit_none({"quiz_id": quiz_id, "status": status}))
        return await self._admin("GET", "/attempts", AttemptList, params=params)

    async def attempt(self, attempt_id: str) -> AttemptDetail:
        """One attempt: its view, the candidate's name and its live session."""
        return await self._admin("GET", f"/attempts/{_seg(attempt_id)}", AttemptDetail)

    async def events(self, attempt_id: str) -> list[EventView]:
        """The attempt's whole event log, oldest first."""
        return await self._admin("GET", f"/attempts/{_seg(attempt_id)}/events", list[EventView])

    async def timeline(self, attempt_id: str) -> str:
        """The attempt's log as readable text, one event a line."""
        return await self._admin_text(f"/attempts/{_seg(attempt_id)}/timeline")

    async def analytics(self, attempt_id: str) -> AttemptAnalytics:
        """One attempt's result, sessions, disconnects, takeovers and timeline."""
        return await self._admin("GET", f"/attempts/{_seg(attempt_id)}/analytics", AttemptAnalytics)

    async def extend(self, attempt_id: str, seconds: float, reason: str = "") -> AttemptView:
        """Give the attempt ``seconds`` more (audited)."""
        body = {"seconds": seconds, "reason": reason}
        return await self._admin(
            "POST", f"/attempts/{_seg(attempt_id)}/extend", AttemptView, json=body
        )

    async def unlock(self, attempt_id: str) -> AttemptView:
        """End the attempt's live session so that the candidate can log in at once."""
        return await self._admin("POST", f"/attempts/{_seg(attempt_id)}/unlock", AttemptView)

    async def void(self, attempt_id: str, reason: str = "") -> AttemptView:
        """Void the attempt (audited; it leaves the statistics)."""
        body = {"reason": reason}
        return await self._admin(
            "POST", f"/attempts/{_seg(attempt_id)}/void", AttemptView, json=body
        )

    async def reopen(
        self, attempt_id: str, reason: str = "", extra_seconds: float = 0.0
    ) -> AttemptView:
        """Reopen a submitted or voided attempt, with ``extra_seconds`` more time."""
        body = {"reason": reason, "extra_seconds": extra_seconds}
        return await self._admin(
            "POST", f"/attempts/{_seg(attempt_id)}/reopen", AttemptView, json=body
        )

    # -- administration: reports ------------------------------------------------------------------

    @overload
    async def results(self, quiz_id: str, format: Literal["json"] = "json") -> QuizResults: ...

    @overload
    async def results(self, quiz_id: str, format: Literal["csv"]) -> str: ...

    async def results(
        self, quiz_id: str, format: Literal["json", "csv"] = "json"
    ) -> QuizResults | str:
        """Every attempt with its score: decoded (``json``) or the CSV text."""
        if format == "csv":
            return await self._admin_text(f"/quizzes/{_seg(quiz_id)}/results", {"format": "csv"})
        return await self._admin("GET", f"/quizzes/{_seg(quiz_id)}/results", QuizResults)

    async def item_analysis(self, quiz_id: str) -> ItemAnalysisReport:
        """Per question: delivered, answered, facility, discrimination, time spent."""
        return await self._admin(
            "GET", f"/quizzes/{_seg(quiz_id)}/item-analysis", ItemAnalysisReport
        )

    async def report_html(self, quiz_id: str, *, timelines: bool = False) -> str:
        """The self-contained HTML report."""
        params = {"timelines": "true"} if timelines else None
        return await self._admin_text(f"/quizzes/{_seg(quiz_id)}/report.html", params)

    # -- operations --------------------------------------------------------------------------------

    async def health(self) -> dict[str, str]:
        """``GET /healthz`` (liveness)."""
        return await self._call("GET", "/healthz", dict[str, str])

    async def ready(self) -> Readiness:
        """``GET /readyz``; a 503 ``unavailable`` answer is returned, not raised
        (a draining instance raises ``Unavailable``)."""
        try:
            response = await self.request("GET", "/readyz", idempotent=False)
        except QuizSessionError as exc:
            if exc.status == 503 and "status" in exc.body:
                return msgspec.convert(exc.body, Readiness)
            raise
        return self._decode(response, Readiness)


class SessionHandle:
    """One candidate session: its id and its latest token (refreshed from every
    heartbeat). ``opened`` is the login's answer (None for a handle rebuilt with
    ``AsyncQuizClient.session``)."""

    def __init__(
        self,
        client: AsyncQuizClient,
        opened: OpenedSession | None,
        *,
        session_id: str | None = None,
        token: str | None = None,
    ) -> None:
        self.client = client
        self.opened = opened
        if opened is not None:
            session_id, token = opened.session_id, opened.session_token
            self.expires_at: float | None = opened.expires_at
        else:
            self.expires_at = None
        if session_id is None or token is None:
            raise ValueError("a session needs its id and token")
        self.session_id: str = session_id
        self.token: str = token

    def __repr__(self) -> str:
        return f"SessionHandle(session_id={self.session_id!r})"

    @property
    def attempt_id(self) -> str | None:
        """The attempt's id, when this handle came from a login."""
        return self.opened.attempt.attempt_id if self.opened is not None else None

    @property
    def path(self) -> str:
        return f"/sessions/{_seg(self.session_id)}"

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def _call(
        self, method: str, suffix: str, type_: type[T], *, idempotent: bool, json: Any = None
    ) -> T:
        return await self.client._call(
            method,
            self.path + suffix,
            type_,
            idempotent=idempotent,
            json=json,
            headers=self._auth(),
        )

    async def view(self) -> AttemptView:
        """The attempt view: state, section, time remaining, answers, version."""
        return await self._call("GET", "", AttemptView, idempotent=True)

    async def start(
        self, section: Literal["practice", "test"] = "test", *, op_id: str | None = None
    ) -> AttemptView:
        """Start the ``practice`` round or the timed ``test``. Retried safely:
        ``op_id`` (generated when not given) makes a repeat return the first result."""
        body = {"section": section, "op_id": op_id or new_op_id()}
        return await self._call("POST", "/start", AttemptView, idempotent=True, json=body)

    async def next_question(self) -> NextQuestion:
        """The current question: the unanswered one already delivered, else the
        next new one (``question`` is None when none is left)."""
        return await self._call("GET", "/question", NextQuestion, idempotent=True)

    async def question(self, question_id: str) -> QuestionView:
        """A question already delivered in the running section, with its saved answer."""
        return await self._call(
            "GET", f"/questions/{_seg(question_id)}", QuestionView, idempotent=True
        )

    async def save(
        self,
        question_id: str,
        answer: AnswerValue,
        *,
        op_id: str | None = None,
        expected_version: int | None = None,
    ) -> SaveResult:
        """Save an answer; a return means it is on disk. ``op_id`` (a new UUID
        when not given) is reused by every retry, so the answer lands once;
        ``replayed`` tells a repeat. ``expected_version``: refuse
        (``version_mismatch``) if the attempt moved since that version."""
        body: dict[str, Any] = {
            "question_id": question_id,
            "answer": answer,  # None is a valid (blank) answer
            "op_id": op_id or new_op_id(),
        }
        if expected_version is not None:
            body["expected_version"] = expected_version
        return await self._call("PUT", "/progress", SaveResult, idempotent=True, json=body)

    async def heartbeat(self, question_id: str | None = None) -> HeartbeatResult:
        """Keep the lease (``question_id``: the question on screen). The handle
        takes the refreshed token. Not retried: the next heartbeat is the retry."""
        body = {"question_id": question_id} if question_id is not None else None
        beat = await self._call("POST", "/heartbeat", HeartbeatResult, idempotent=False, json=body)
        self.token = beat.session_token
        self.expires_at = beat.expires_at
        return beat

    async def complete(self, op_id: str | None = None) -> CompleteResult:
        """Finish the practice round, or submit the test and get the score. Retried
        safely with the same ``op_id``; submitting twice returns the same score."""
        body = {"op_id": op_id or new_op_id()}
        return await self._call("POST", "/complete", CompleteResult, idempotent=True, json=body)

    async def logout(self) -> None:
        """End this session without submitting (a new login resumes the attempt)."""
        await self.client.request("DELETE", self.path, idempotent=False, headers=self._auth())
