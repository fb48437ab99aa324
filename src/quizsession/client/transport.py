"""The client's plumbing: the connection pool, authentication headers, decoding,
and the retry rules.

Retries: transport failures (connection refused or reset, timeouts) are retried
with exponential backoff only where repeating the request cannot do anything
twice: every GET, and the writes that carry an operation id (``start``, ``save``
and ``complete``; the id is generated once per call and reused by every retry,
so the server answers a repeat with the first result). The same operations are
retried on a 503 answer of the ``unavailable`` category (``draining``, ``busy``,
``store_unavailable``, ``live_state_recovering``: nothing was done), after its
``Retry-After``. Nothing else is retried: a login, an admin change or a
heartbeat that failed in transit raises ``TransportFailed`` and the caller
decides.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar, runtime_checkable
from urllib.parse import quote

import httpx
import msgspec

from quizsession.client.errors import (
    RETRYABLE_CODES,
    TransportFailed,
    UnexpectedResponse,
    error_from_response,
)

T = TypeVar("T")
Params = Mapping[str, str | int | bool]

DEFAULT_RETRIES = 3
DEFAULT_BACKOFF_S = 0.2
DEFAULT_MAX_BACKOFF_S = 5.0
USER_AGENT = "quizsession-client/0.1"
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


def new_op_id() -> str:
    """A fresh operation id (a random UUID)."""
    return str(uuid.uuid4())


def seg(value: str) -> str:
    """``value`` as one URL path segment (a ``/`` or ``?`` in it cannot change
    the route)."""
    return quote(value, safe=":@")


class HttpCore:
    """The connection to one service: the pool, the retries, the decoding. The
    API methods are in the mixins ``AsyncQuizClient`` is made of (its docstring
    describes the arguments)."""

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
            headers={"User-Agent": USER_AGENT},
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
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send a request and return its 2xx response; raise ``QuizSessionError``
        for any other status and ``TransportFailed`` when no answer came. With
        ``idempotent`` the request is retried as the module docstring says.
        ``json``: anything msgspec encodes (a wire model, a mapping)."""
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
        params: Params | None = None,
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
        params: Params | None = None,
    ) -> T:
        return await self._call(
            method, "/admin" + path, type_, json=json, params=params, headers=self._admin_headers()
        )

    async def _admin_text(self, path: str, params: Params | None = None) -> str:
        response = await self.request(
            "GET", "/admin" + path, idempotent=True, params=params, headers=self._admin_headers()
        )
        return response.text
