"""``AsyncQuizClient``: every part of the API on one connection, and the
service's own health checks."""

from __future__ import annotations

import msgspec

from quizsession.api.models import Readiness
from quizsession.client.admin import AccommodationsApi, AttemptAdminApi, QuizAdminApi, ReportsApi
from quizsession.client.errors import QuizSessionError
from quizsession.client.grading import GradingApi
from quizsession.client.sessions import SessionsApi
from quizsession.client.webhooks import WebhooksApi


class AsyncQuizClient(
    SessionsApi,
    QuizAdminApi,
    AttemptAdminApi,
    AccommodationsApi,
    ReportsApi,
    WebhooksApi,
    GradingApi,
):
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
