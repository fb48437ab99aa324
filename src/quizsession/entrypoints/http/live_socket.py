"""``WS /sessions/{id}/live``: the token arrives in the first message (never in the
URL), the Origin is checked, the server ticks with the time remaining, the client
pings with the question on screen (which also keeps the lease), and notices
(takeover, extension, end of test, void, unlock, drain) are pushed as they
happen. Ticks and pings use this instance's cached attempt while its notices
flow, with a bounded staleness (``app.live_reads``). Missed pings let the lease
lapse, so a crashed browser gets back in after the lease TTL while a second live
tab is refused."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any
from urllib.parse import urlsplit

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from quizsession.app.live import (
    CLOSE_AUTH,
    CLOSE_ENDED,
    CLOSE_FLOOD,
    CLOSE_ORIGIN,
    CLOSE_SUPERSEDED,
    LiveConnection,
)
from quizsession.app.live_reads import LiveReads
from quizsession.app.ports import Notice, SessionClaims, Subscription
from quizsession.bootstrap import Container
from quizsession.domain.errors import DomainError, ErrorCode

AnySocket = WebSocket[Any, Any, Any]

AUTH_TIMEOUT_S = 10.0
MAX_MESSAGE_BYTES = 4096
FLOOD_LIMIT = 20  # messages per second per socket
_encoder = msgspec.json.Encoder()


class AuthMessage(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    type: str
    token: str


class ClientMessage(msgspec.Struct, frozen=True, kw_only=True):
    type: str
    question_id: str | None = None
    sent_at: float | None = None


def _container(socket: AnySocket) -> Container:
    found = socket.app.state.container
    assert isinstance(found, Container)
    return found


def origin_allowed(origin: str | None, socket: AnySocket, allowed: tuple[str, ...]) -> bool:
    """Browsers always send Origin: it must be this service's own origin or one
    configured. Non-browser clients (no Origin) are allowed: they hold a token."""
    if origin is None:
        return True
    if origin in allowed:
        return True
    host = socket.headers.get("host", "")
    parts = urlsplit(origin)
    return bool(host) and parts.netloc == host and parts.scheme in ("http", "https")


async def _send(socket: AnySocket, message: object) -> None:
    await socket.send_text(_encoder.encode(message).decode())


_CLOSE_FOR = {
    ErrorCode.SESSION_SUPERSEDED: CLOSE_SUPERSEDED,
    ErrorCode.SESSION_CLOSED: CLOSE_ENDED,
    ErrorCode.ATTEMPT_VOIDED: CLOSE_ENDED,
    ErrorCode.SESSION_IDLE: CLOSE_AUTH,
    ErrorCode.TOKEN_INVALID: CLOSE_AUTH,
    ErrorCode.TOKEN_EXPIRED: CLOSE_AUTH,
}


async def _refuse(socket: AnySocket, exc: DomainError) -> None:
    with contextlib.suppress(Exception):
        await _send(socket, {"type": "error", "code": exc.code, "detail": exc.detail})
        await socket.close(code=_CLOSE_FOR.get(exc.code, CLOSE_ENDED), reason=exc.code)


async def _authenticate(socket: AnySocket, c: Container, session_id: str) -> SessionClaims | None:
    try:
        raw = await asyncio.wait_for(socket.receive_text(), timeout=AUTH_TIMEOUT_S)
    except TimeoutError:
        await _refuse(socket, DomainError("authenticate first", code=ErrorCode.TOKEN_INVALID))
        return None
    if len(raw) > MAX_MESSAGE_BYTES:
        await _refuse(socket, DomainError("message too large", code=ErrorCode.TOKEN_INVALID))
        return None
    try:
        msg = msgspec.json.decode(raw, type=AuthMessage)
    except msgspec.DecodeError:
        await _refuse(
            socket,
            DomainError(
                "the first message must be {type: auth, token}", code=ErrorCode.TOKEN_INVALID
            ),
        )
        return None
    if msg.type != "auth":
        not_auth = DomainError("the first message must be auth", code=ErrorCode.TOKEN_INVALID)
        await _refuse(socket, not_auth)
        return None
    try:
        return await c.sessions.authenticate(msg.token, session_id)
    except DomainError as exc:
        await _refuse(socket, exc)
        return None


@websocket("/sessions/{session_id:str}/live")
async def live(socket: AnySocket, session_id: str) -> None:
    c = _container(socket)
    allowed = origin_allowed(socket.headers.get("origin"), socket, c.settings.origin_list())
    # A foreign origin is accepted, then closed with 4403 before anything is
    # read: a page cannot read the status of a refused handshake (a close
    # before the accept is an HTTP 403 under uvicorn), but it can read a close
    # code.
    await socket.accept()
    if not allowed:
        await socket.close(code=CLOSE_ORIGIN, reason="origin")
        return
    claims = await _authenticate(socket, c, session_id)
    if claims is None:
        return
    every = await _welcome(socket, c, claims)
    if every is None:
        return
    # Ticks come from the hub's one timer, counted from the welcome (not from the
    # subscription, which may wait for Redis); a tick that ends the socket
    # (refused, or the socket is gone) sets ``ended``. Ticks and pings use the
    # cached attempt while the subscription's notices flow (``LiveReads``).
    reads = LiveReads(
        c.sessions, claims, c.clock.monotonic, notices_shared=not c.live.process_local
    )
    ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    ticking = c.hub.ticks.add(every, lambda: _tick(socket, reads, ended))
    try:
        subscription = await c.live.subscribe(claims.attempt_id)
    except BaseException:
        ticking.cancel()
        raise
    reads.follow(subscription)

    async def close(code: int, reason: str) -> None:
        await socket.close(code=code, reason=reason)

    async def send(message: dict[str, object]) -> None:
        await _send(socket, message)

    conn = LiveConnection(
        session_id=claims.session_id, attempt_id=claims.attempt_id, send=send, close=close
    )
    c.hub.add(conn)
    tasks = [
        asyncio.create_task(_notices(socket, c, claims, subscription, reads)),
        asyncio.create_task(_reader(socket, c, reads)),
    ]
    try:
        await asyncio.wait([*tasks, ended], return_when=asyncio.FIRST_COMPLETED)
    finally:
        ticking.cancel()
        if not ended.done():
            ended.cancel()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        c.hub.discard(conn)
        await subscription.close()
        with contextlib.suppress(Exception):
            await socket.close()


async def _welcome(socket: AnySocket, c: Container, claims: SessionClaims) -> float | None:
    """The first heartbeat and the ``welcome``; the tick period, or None once
    refused. (A function of its own: the welcome's view is not kept for the
    socket's life.)"""
    try:
        beat = await c.sessions.heartbeat(claims)
    except DomainError as exc:
        await _refuse(socket, exc)
        return None
    await _send(
        socket,
        {
            "type": "welcome",
            "session_token": beat.session_token,
            "lease_ttl_s": beat.lease_ttl_s,
            "attempt": beat.attempt,
        },
    )
    return beat.attempt.heartbeat_s


async def _tick(socket: AnySocket, reads: LiveReads, ended: asyncio.Future[None]) -> None:
    """One tick (from the hub's timer): the time remaining, or the refusal that
    ends the socket (the session was superseded, closed, timed out)."""
    try:
        try:
            tick = await reads.tick()
        except DomainError as exc:
            await _refuse(socket, exc)
        else:
            await _send(socket, tick)
            return
    except Exception:  # noqa: S110 - the socket is gone: the handler cleans up
        pass
    if not ended.done():
        ended.set_result(None)


async def _notices(
    socket: AnySocket,
    c: Container,
    claims: SessionClaims,
    subscription: Subscription,
    reads: LiveReads,
) -> None:
    async for notice in subscription:
        reads.changed()  # the next tick or ping reads the attempt again
        await _forward(socket, c, claims, notice)
        if notice.kind == "takeover" and notice.data.get("session_id") == claims.session_id:
            await socket.close(code=CLOSE_SUPERSEDED, reason="takeover")
            return
        if notice.kind in ("void", "unlock", "end_of_test"):
            await socket.close(code=CLOSE_ENDED, reason=notice.kind)
            return


async def _forward(socket: AnySocket, c: Container, claims: SessionClaims, notice: Notice) -> None:
    if notice.kind == "changed":
        return  # for this instance only: read the attempt again
    message: dict[str, object] = {"type": notice.kind, **notice.data}
    if notice.kind == "takeover" and notice.data.get("session_id") != claims.session_id:
        return  # about some other session of this attempt
    message["server_time"] = c.clock.now()
    await _send(socket, message)


async def _reader(socket: AnySocket, c: Container, reads: LiveReads) -> None:
    window_start = time.monotonic()
    count = 0
    # The welcome carried a new token; the next comes by elapsed time (about
    # once a minute: settings.token_refresh_s), whatever the heartbeat.
    refreshed_at = c.clock.monotonic()
    try:
        while True:
            raw = await socket.receive_text()
            now = time.monotonic()
            if now - window_start >= 1.0:
                window_start, count = now, 0
            count += 1
            if count > FLOOD_LIMIT or len(raw) > MAX_MESSAGE_BYTES:
                await _send(
                    socket,
                    {
                        "type": "error",
                        "code": ErrorCode.RATE_LIMITED,
                        "detail": "too many or too large messages",
                    },
                )
                await socket.close(code=CLOSE_FLOOD, reason="flood")
                return
            try:
                msg = msgspec.json.decode(raw, type=ClientMessage)
            except msgspec.DecodeError:
                await _send(
                    socket,
                    {"type": "error", "code": ErrorCode.MALFORMED_JSON, "detail": "not a message"},
                )
                continue
            if msg.type != "ping":
                await _send(
                    socket,
                    {
                        "type": "error",
                        "code": ErrorCode.VALIDATION,
                        "detail": f"unknown message type {msg.type[:32]!r}",
                    },
                )
                continue
            try:
                refresh = c.clock.monotonic() - refreshed_at >= c.sessions.token_refresh_s
                beat = await reads.ping(msg.question_id, refresh=refresh)
            except DomainError as exc:
                if exc.code == ErrorCode.QUESTION_UNKNOWN:
                    continue
                await _refuse(socket, exc)
                return
            if beat.session_token:
                refreshed_at = c.clock.monotonic()
            pong: dict[str, object] = {
                "type": "pong",
                "echo": msg.sent_at,
                "server_time": beat.server_time,
                "time_remaining_s": beat.time_remaining_s,
                "deadline": beat.deadline,
            }
            if beat.session_token:
                pong["session_token"] = beat.session_token  # refreshed about once a minute
            await _send(socket, pong)
    except WebSocketDisconnect:
        return
