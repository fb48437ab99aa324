"""The live channel's use cases, independent of the transport: which sockets this
instance holds (so a drain can tell each of them to reconnect elsewhere), and the
messages a live session sends and receives.

Messages (JSON objects with a ``type``):
- client -> server: ``auth`` {token} (first message), ``ping`` {question_id,
  sent_at}.
- server -> client: ``welcome`` {attempt}, ``tick`` {server_time,
  time_remaining_s, deadline} every heartbeat, ``pong`` {echo, server_time,
  session_token}, and the notices ``takeover``, ``extension``, ``end_of_test``,
  ``void``, ``unlock``, ``drain``; ``error`` {code, detail} before a close.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Sender = Callable[[dict[str, object]], Awaitable[None]]

# WebSocket close codes (4000-4999 are the application's own).
CLOSE_AUTH = 4401  # no or bad token in the first message
CLOSE_SUPERSEDED = 4409  # another session took over
CLOSE_ENDED = 4410  # the attempt ended or the session was closed
CLOSE_FLOOD = 4429  # too many messages
CLOSE_ORIGIN = 4403  # foreign Origin
CLOSE_DRAIN = 1012  # service restart: reconnect (to another instance)


@dataclass(eq=False)
class LiveConnection:
    session_id: str
    attempt_id: str
    send: Sender
    close: Callable[[int, str], Awaitable[None]]
    closed: asyncio.Event = field(default_factory=asyncio.Event)


class LiveHub:
    """The live connections of this instance, and its drain: once ``draining`` is
    set the HTTP layer refuses new work (``draining``, 503), ``drain()`` tells
    every live socket to reconnect elsewhere, and ``wait_idle()`` waits for the
    requests admitted before the drain began to finish."""

    def __init__(self) -> None:
        self._connections: set[LiveConnection] = set()
        self.draining = False
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def add(self, conn: LiveConnection) -> None:
        self._connections.add(conn)

    def discard(self, conn: LiveConnection) -> None:
        self._connections.discard(conn)

    def __len__(self) -> int:
        return len(self._connections)

    @property
    def in_flight(self) -> int:
        """Requests admitted and not yet answered."""
        return self._in_flight

    def request_started(self) -> None:
        self._in_flight += 1
        self._idle.clear()

    def request_finished(self) -> None:
        self._in_flight -= 1
        if self._in_flight <= 0:
            self._in_flight = 0
            self._idle.set()

    async def wait_idle(self, timeout_s: float) -> bool:
        """Wait (at most ``timeout_s``) until no admitted request is running;
        True if none is."""
        if self._idle.is_set():
            return True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def drain(self, *, reason: str = "the server is restarting") -> int:
        """Tell every local live client to reconnect (to another instance) and
        close its socket. Returns how many were told."""
        self.draining = True
        conns = list(self._connections)

        async def tell(conn: LiveConnection) -> None:
            try:
                await conn.send({"type": "drain", "reason": reason, "reconnect": True})
                await conn.close(CLOSE_DRAIN, "drain")
            except Exception:  # noqa: S110 - a socket already gone needs no telling
                pass

        await asyncio.gather(*(tell(c) for c in conns))
        return len(conns)
