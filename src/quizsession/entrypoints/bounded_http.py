"""What a client can make one ``quizsession serve`` process hold, bounded at the
HTTP/1.1 protocol layer (before any ASGI code runs).

uvicorn's ``httptools`` protocol has no limit on the size or number of header
fields (its ``h11_max_incomplete_event_size`` applies to the ``h11`` protocol
only), no timeout on reading a request's head (``timeout_keep_alive`` covers
only the idle time between two requests), and its ``limit_concurrency`` is
checked only once a head is complete, so a connection that never finishes its
head is never refused. ``bounded_protocol`` returns a subclass of
``HttpToolsProtocol`` that adds:

- **the head's size** (request line and header fields together): the bytes of a
  head are counted as they arrive and handed to the parser only up to the limit,
  so the parser never buffers more than that; beyond it the answer is 431 and
  the connection is closed;
- **the number of header fields**: 431 and close beyond the limit;
- **the time to send a head**: a connection that has not sent a complete head
  within ``head_timeout_s`` of connecting (or of the first byte of its next
  request on a kept-alive connection) is closed; the idle time between
  requests stays uvicorn's ``timeout_keep_alive``;
- **connections per process** (HTTP and WebSocket alike, uvicorn counts both in
  one set): a connection over the cap is answered 503 at once and closed,
  before anything is read from it.

These refusals are ``text/plain``, like uvicorn's own 400 for a request its
parser rejects: they happen below the application, which never sees the request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("uvicorn.error")

#: At most one warning line per this many seconds for each kind of refusal (a
#: flood of refusals must not become a flood of log lines).
WARN_EVERY_S = 10.0


@dataclass(frozen=True, slots=True)
class EdgeLimits:
    max_header_bytes: int
    max_header_count: int
    head_timeout_s: float
    max_connections: int


def _plain(status_line: bytes, text: str) -> bytes:
    body = text.encode("ascii")
    return b"".join(
        [
            status_line,
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
            b"connection: close\r\n\r\n",
            body,
        ]
    )


HEAD_TOO_LARGE = _plain(
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n", "Request header fields too large"
)
OVER_CAPACITY = _plain(b"HTTP/1.1 503 Service Unavailable\r\n", "Too many connections")


class _Warnings:
    """Rate-limited warning lines, with the count of what was not logged."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}
        self._quiet: dict[str, int] = {}

    def warn(self, kind: str, message: str) -> None:
        now = time.monotonic()
        if now - self._last.get(kind, -WARN_EVERY_S) < WARN_EVERY_S:
            self._quiet[kind] = self._quiet.get(kind, 0) + 1
            return
        quiet = self._quiet.pop(kind, 0)
        self._last[kind] = now
        more = f" ({quiet} more in the last {WARN_EVERY_S:g}s)" if quiet else ""
        log.warning("quizsession: %s%s", message, more)


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` with the limits of ``EdgeLimits`` (see the module)."""

    limits: ClassVar[EdgeLimits]
    warnings: ClassVar[_Warnings]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._over_cap = False  # refused when it connected: nothing else was set up
        self._refused = False  # answered 431: whatever else arrives is ignored
        self._upgraded = False
        self._in_head = True
        self._head_bytes = 0
        self._header_count = 0
        self._head_overflow: str | None = None
        self._head_timer: asyncio.TimerHandle | None = None

    # -- connections ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            self._over_cap = True
            self.transport = transport
            self.warnings.warn(
                "cap",
                f"connection refused: {self.limits.max_connections} connections open "
                "(QUIZSESSION_MAX_CONNECTIONS)",
            )
            transport.write(OVER_CAPACITY)
            transport.close()
            return
        super().connection_made(transport)
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        if self._over_cap:
            return
        super().connection_lost(exc)

    # -- the head: size, count, time -----------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._refused or self._over_cap:
            return
        while data:
            if not self._in_head:
                super().data_received(data)
                return
            self._start_head_timer()
            room = self.limits.max_header_bytes - self._head_bytes
            if len(data) <= room:
                self._head_bytes += len(data)
                super().data_received(data)
                return
            # Only what fits is parsed: if the head is not complete within it,
            # it is too large (and the parser never buffered more than the limit).
            piece, data = data[:room], data[room:]
            self._head_bytes += len(piece)
            if piece:
                super().data_received(piece)
            if self._upgraded or self._refused or self.transport.is_closing():
                return
            if self._in_head:
                self._refuse_head(f"a head over {self.limits.max_header_bytes} bytes")
                return

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_count = 0

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self.limits.max_header_count:
            self._head_overflow = f"over {self.limits.max_header_count} header fields"
            raise ValueError(self._head_overflow)  # the parser stops: send_400_response
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        self._stop_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        # The next bytes on this connection begin the next request's head (its
        # timer starts with its first byte: until then the keep-alive timeout).
        self._in_head = True
        self._head_bytes = 0
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._upgraded = True
        self._stop_head_timer()
        super().handle_websocket_upgrade()

    def send_400_response(self, msg: str) -> None:
        if self._head_overflow is not None:
            self._refuse_head(self._head_overflow)
            return
        super().send_400_response(msg)

    def _refuse_head(self, why: str) -> None:
        self._stop_head_timer()
        self._refused = True
        self.warnings.warn("head", f"431 refused ({why}) from {self._peer()}")
        self.transport.write(HEAD_TOO_LARGE)
        self.transport.close()

    def _start_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(
                self.limits.head_timeout_s, self._head_timed_out
            )

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self._in_head or self.transport.is_closing():
            return
        self.warnings.warn(
            "slow",
            f"connection closed: no complete request head within "
            f"{self.limits.head_timeout_s:g}s from {self._peer()}",
        )
        self.transport.close()

    def _peer(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "?"


def bounded_protocol(limits: EdgeLimits) -> type[BoundedHttpToolsProtocol]:
    """A ``BoundedHttpToolsProtocol`` class with ``limits`` (uvicorn's ``http``
    setting takes a protocol class and makes one instance per connection)."""
    return type(
        "BoundedHttpToolsProtocol",
        (BoundedHttpToolsProtocol,),
        {"limits": limits, "warnings": _Warnings()},
    )
