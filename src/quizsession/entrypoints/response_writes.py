"""One write per response: a response's head goes to the socket with its body.

uvicorn's HTTP/1.1 protocol writes a response's status line and header fields
(the ASGI ``http.response.start`` message) and then its body (``http.response.body``)
as two ``transport.write`` calls, and uvloop sends each at once: two system calls
and two TCP segments for every small JSON answer, the client woken twice. A
``HeadHeldTransport`` stands between one connection's request cycles and its
transport: it holds a response head back until the next write (the body, sent
with it in one ``writelines``: one system call) and never longer than the event
loop's current iteration (a callback then sends it alone), so nothing a
response sends is ever delayed beyond that, streamed or not. An interim
``100 Continue`` is never held. ``close`` sends what is held first.

``bounded_http.BoundedHttpToolsProtocol`` hands one to every request cycle of
its connection (the cycle writes only through ``write``, ``close`` and
``is_closing``); the protocol's own writes (its refusals) go to the transport
directly, as before.
"""

from __future__ import annotations

import asyncio

#: What a response head starts with, and an interim (1xx) one: sent at once.
_HEAD = b"HTTP/"
_INTERIM = (b"HTTP/1.1 1", b"HTTP/1.0 1")


class HeadHeldTransport:
    """The write side of one connection's transport for its request cycles
    (see the module's documentation)."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.writelines((held, data))
        elif data.startswith(_HEAD) and not data.startswith(_INTERIM):
            self._held = data
            self._loop.call_soon(self.flush)
        else:
            self._transport.write(data)

    def flush(self) -> None:
        """Send the held head now, if one is held."""
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()
