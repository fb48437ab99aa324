"""The webhook ``Sink``: one POST of one event to one endpoint, signed, through
a shared ``httpx.AsyncClient``. Redirects are not followed (a 3xx is a failed
send), a send is bounded in time as a whole (``timeout_s``: connecting, writing
and reading together), and at most ``MAX_RESPONSE`` bytes of the answer are read
(for the delivery log). Never raises: the outcome says how it went.

2xx: delivered. 410 Gone: the endpoint asks never to be called again (the
engine disables it). Anything else (another status, a timeout, a refused
connection): tried again later."""

from __future__ import annotations

import asyncio

import httpx

from quizsession.adapters.webhooks import signing
from quizsession.app.outbound import Destination, OutboundEvent, SendOutcome
from quizsession.app.ports import Clock

MAX_RESPONSE = 1024
USER_AGENT = "quizsession-webhooks/1"


class WebhookSink:
    def __init__(self, client: httpx.AsyncClient, clock: Clock, *, timeout_s: float = 10.0):
        self._client = client
        self._clock = clock
        self._timeout_s = timeout_s

    async def close(self) -> None:
        await self._client.aclose()

    @property
    def kind(self) -> str:
        return "webhook"

    @staticmethod
    def client(timeout_s: float = 10.0, max_connections: int = 32) -> httpx.AsyncClient:
        """A client fit for sending webhooks (the composition root owns it)."""
        return httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=max_connections),
            trust_env=False,
        )

    async def reaches(self, destination: Destination, attempt_id: str) -> bool:
        return True  # an endpoint hears of every attempt (filtered by event type)

    async def send(self, destination: Destination, event: OutboundEvent) -> SendOutcome:
        secrets = signing.active_secrets(destination, self._clock.now())
        if not secrets:
            return SendOutcome(ok=False, error="the endpoint has no signing secret in force")
        payload = signing.body(event)
        headers = signing.headers(event.event_id, payload, secrets, self._clock.now())
        headers["content-type"] = "application/json"
        headers["user-agent"] = USER_AGENT
        try:
            async with asyncio.timeout(self._timeout_s):
                return await self._post(destination.url, payload, headers)
        except TimeoutError:
            return SendOutcome(ok=False, error=f"no answer within {self._timeout_s:g} s")
        except httpx.HTTPError as exc:
            return SendOutcome(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
        except (OSError, ValueError) as exc:
            return SendOutcome(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])

    async def _post(self, url: str, payload: bytes, headers: dict[str, str]) -> SendOutcome:
        request = self._client.build_request("POST", url, content=payload, headers=headers)
        response = await self._client.send(request, stream=True)
        try:
            head = bytearray()
            async for chunk in response.aiter_raw():
                head += chunk
                if len(head) >= MAX_RESPONSE:
                    break
        finally:
            await response.aclose()
        status = response.status_code
        if 200 <= status < 300:
            return SendOutcome(ok=True, status=status)
        text = bytes(head[:MAX_RESPONSE]).decode("utf-8", "replace").strip()
        error = f"HTTP {status}" + (f": {text[:200]}" if text else "")
        if status == 410:
            return SendOutcome(ok=False, status=status, error=error, retry=False, disable=True)
        if 300 <= status < 400:
            error += " (redirects are not followed)"
        return SendOutcome(ok=False, status=status, error=error)
