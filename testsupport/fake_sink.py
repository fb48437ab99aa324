"""A ``Sink`` in memory for tests of the delivery engine: it answers as the
receiver of ``testsupport.webhook_receiver`` would for the destination's URL
path (``/ok``, ``/status/<code>``, ``/slow/<seconds>``) and records every event
it was given. It passes the same sink tests as the webhook sink
(``tests/unit/test_delivery_sink.py``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from quizsession.app.outbound import Destination, OutboundEvent, SendOutcome

#: Nothing listens on the discard port: a destination there is unreachable.
UNREACHABLE_PORT = 9


class FakeSink:
    def __init__(self, kind: str = "webhook", timeout_s: float = 10.0) -> None:
        self._kind = kind
        self.timeout_s = timeout_s
        self.sent: list[tuple[str, OutboundEvent]] = []
        #: Per destination id, the URL path answers to use instead of its URL's.
        self.script: dict[str, list[str]] = {}
        #: Attempts this sink's destinations do not hear of (``reaches``).
        self.unreached: set[str] = set()

    @property
    def kind(self) -> str:
        return self._kind

    async def reaches(self, destination: Destination, attempt_id: str) -> bool:
        return attempt_id not in self.unreached

    async def send(self, destination: Destination, event: OutboundEvent) -> SendOutcome:
        self.sent.append((destination.id, event))
        url = urlsplit(destination.url)
        if url.port == UNREACHABLE_PORT:
            return SendOutcome(ok=False, error=f"cannot connect to {url.netloc}")
        queued = self.script.get(destination.id)
        path = queued.pop(0) if queued else url.path
        parts = path.strip("/").split("/")
        if parts[0] == "slow" and float(parts[1]) >= self.timeout_s:
            return SendOutcome(ok=False, error=f"no answer within {self.timeout_s:g} s")
        status = int(parts[1]) if parts[0] == "status" else 204
        if 200 <= status < 300:
            return SendOutcome(ok=True, status=status)
        if status == 410:
            return SendOutcome(ok=False, status=status, error="HTTP 410", retry=False, disable=True)
        return SendOutcome(ok=False, status=status, error=f"HTTP {status}")
