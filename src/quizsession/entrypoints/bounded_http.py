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
  the connection is closed. This holds for pipelined requests too: the bytes
  are handed over in pieces that end where a head or a body ends, so a head that
  begins in the same read as the end of the previous request is counted from
  its first byte;
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
import re
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from quizsession.entrypoints.response_writes import HeadHeldTransport

log = logging.getLogger("uvicorn.error")

#: At most one warning line per this many seconds for each kind of refusal (a
#: flood of refusals must not become a flood of log lines).
WARN_EVERY_S = 10.0

#: A chunked body is parsed in pieces of at most this many bytes: where such a
#: body ends is not known in advance, so a head that begins in the same piece is
#: charged the piece's bytes that were not body (chunk sizes, trailers).
CHUNKED_PIECE_BYTES = 8192

_BLANK_LINES = re.compile(rb"[\r\n]+")


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
        self._in_head = True  # from a message's end (or the start) to its head's end
        self._began = False  # the parser has seen the head's first byte
        self._head_bytes = 0  # an upper bound of the head in progress
        self._tail = b""  # its last bytes, for a blank line split between two reads
        self._body_left: int | None = None  # the body's bytes still to come, if known
        self._piece_body = 0  # body bytes in the piece being parsed
        self._ended_in_piece = False  # a message ended in the piece being parsed
        self._began_after_end = False  # ... and the next one began in it
        self._header_count = 0
        self._head_overflow: str | None = None
        self._head_timer: asyncio.TimerHandle | None = None
        # What the request cycles write through: one write per response
        # (``response_writes``); made when the connection is.
        self._writes: HeadHeldTransport | None = None

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
        self._writes = HeadHeldTransport(transport, self.loop)
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        if self._over_cap:
            return
        super().connection_lost(exc)

    # -- the head: size, count, time -----------------------------------------------
    #
    # Every byte handed to the parser is counted against the head in progress
    # unless it is known to be something else. The parser tells when a head or a
    # message ends, not where, so the bytes are handed to it in pieces that end
    # where a message can end: a head's piece ends at its first blank line (a
    # head ends there and nowhere else: the parser takes CRLF line ends only), a
    # body of known length is handed over as exactly that many bytes. Then the
    # next request's head begins at the next piece: pipelined requests are
    # counted one by one, exactly. Only where that cannot be known (the end of a
    # chunked body) is a head that begins inside a piece charged the whole rest
    # of that piece (an upper bound; such pieces are kept small).

    def data_received(self, data: bytes) -> None:
        if self._refused or self._over_cap:
            return
        view = memoryview(data)
        pos, end = 0, len(data)
        while pos < end:
            if self._in_head:
                self._start_head_timer()
                n = self._head_piece(data, pos, end)
                self._head_bytes += n
            elif self._body_left:
                n = min(end - pos, self._body_left)
            else:  # a chunked body: where it ends is the parser's to find
                n = min(end - pos, CHUNKED_PIECE_BYTES)
            if not self._feed(view[pos : pos + n]):
                return
            pos += n
            if self._in_head and self._head_bytes >= self.limits.max_header_bytes:
                # Not complete within the limit: it is too large (and the
                # parser never buffered more than the limit of it).
                self._refuse_head(f"a head over {self.limits.max_header_bytes} bytes")
                return

    def _head_piece(self, data: bytes, pos: int, end: int) -> int:
        """How many bytes of ``data[pos:end]`` to hand to the parser as (part of)
        the head in progress: up to its first blank line, never past the limit."""
        room = max(self.limits.max_header_bytes - self._head_bytes, 1)
        stop = min(end, pos + room)
        if not self._began:
            # Blank lines before a request line are skipped by the parser: hand
            # them over on their own, so that they are not taken for the end.
            blank = _BLANK_LINES.match(data, pos, stop)
            if blank is not None and blank.end() > pos:
                return blank.end() - pos
        if self._tail:
            i = (self._tail + data[pos : pos + 3]).find(b"\r\n\r\n")
            if i >= 0 and i + 4 - len(self._tail) <= stop - pos:
                return i + 4 - len(self._tail)
        i = data.find(b"\r\n\r\n", pos, stop)
        return i + 4 - pos if i >= 0 else stop - pos

    def _feed(self, piece: memoryview) -> bool:
        """Hand ``piece`` to the parser; False once nothing more is to be fed."""
        was_in_head = self._in_head
        self._piece_body = 0
        self._ended_in_piece = self._began_after_end = False
        super().data_received(piece)  # type: ignore[arg-type]
        if self._upgraded or self._refused or self.transport.is_closing():
            return False
        if self._in_head and self._began_after_end:
            # A head began inside this piece, after a message ended in it: it
            # is charged everything of the piece that was not body.
            self._head_bytes = len(piece) - self._piece_body
            self._tail = bytes(piece[-3:])
            self._start_head_timer()
        elif self._in_head and was_in_head and not self._ended_in_piece:
            self._tail = (self._tail + bytes(piece[-3:]))[-3:]
        return True

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_count = 0
        self._began = True
        if self._ended_in_piece:
            self._began_after_end = True

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self.limits.max_header_count:
            self._head_overflow = f"over {self.limits.max_header_count} header fields"
            raise ValueError(self._head_overflow)  # the parser stops: send_400_response
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        self._tail = b""
        self._body_left = _body_length(self.headers)
        self._stop_head_timer()
        before = self.cycle
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle is not before and self._writes is not None:
            cycle.transport = self._writes  # type: ignore[assignment]

    def on_body(self, body: bytes) -> None:
        self._piece_body += len(body)
        if self._body_left is not None:
            self._body_left -= len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        # The next bytes on this connection begin the next request's head (its
        # timer starts with its first byte: until then the keep-alive timeout).
        self._in_head = True
        self._began = False
        self._head_bytes = 0
        self._tail = b""
        self._body_left = None
        self._ended_in_piece = True
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


def _body_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The request body's length from its head: 0 without one, None when chunked
    (the parser has already refused a head with both, or a malformed length)."""
    length = 0
    for name, value in headers:
        if name == b"transfer-encoding":
            return None
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return None
    return length


def bounded_protocol(limits: EdgeLimits) -> type[BoundedHttpToolsProtocol]:
    """A ``BoundedHttpToolsProtocol`` class with ``limits`` (uvicorn's ``http``
    setting takes a protocol class and makes one instance per connection)."""
    return type(
        "BoundedHttpToolsProtocol",
        (BoundedHttpToolsProtocol,),
        {"limits": limits, "warnings": _Warnings()},
    )
