"""Serving the ASGI app with uvicorn: its configuration, the limits of what a
client can make one process hold (``bounded_http``), and the graceful drain on
SIGTERM (``DrainingServer``). ``quizsession serve`` (cli/serve.py) builds the app
and calls ``serve_forever``: in its one process, or in each worker process that
``workers.Supervisor`` forks for ``--workers N`` (they all accept on the socket
the parent bound with ``listen_socket``; one drain per worker)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import os
import resource
import socket
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn

from quizsession.app.live import LiveHub
from quizsession.entrypoints.bounded_http import EdgeLimits, bounded_protocol
from quizsession.settings import Settings

DRAIN_TIMEOUT_S = 10.0
#: uvicorn's own wait for open connections once the drain is over (they are idle
#: by then: this only bounds a request that outlived the drain).
GRACEFUL_SHUTDOWN_S = 5
#: uvicorn's idle time between two requests of a kept-alive connection (its
#: default); the time to send a request's head is ``Settings.head_timeout_s``.
KEEP_ALIVE_S = 5
STARTUP_FAILURE = 3
#: File descriptors kept for everything but client connections (the store, its
#: pool, Redis, logs): the connection cap is lowered to leave them free.
RESERVED_FDS = 256

log = logging.getLogger("uvicorn.error")  # server life-cycle lines go with uvicorn's

#: uvicorn's settings for the live WebSockets (measured with ``bench.live``: 10,000
#: sockets on one process).
#: - ``websockets-sansio``: the protocol ``auto`` picks with ``websockets``
#:   installed, named so that installing ``wsproto`` changes nothing (measured
#:   with ``wsproto``: 3 KiB less per socket, about a third more server CPU).
#: - No permessage-deflate: the channel's messages are mostly 100-300 bytes of JSON,
#:   while each socket's zlib streams cost ~50 KiB of server memory (about half
#:   of all per-socket memory) and ~7% of the server's CPU.
#: - Frames over 64 KiB are refused by the protocol (close 1009) before they are
#:   buffered; the channel's own limit (4 KiB, ``live_socket.MAX_MESSAGE_BYTES``,
#:   close 4429) applies below that. uvicorn's default would buffer 16 MiB.
#: - A listen backlog of 4096 (the kernel caps it at ``net.core.somaxconn``): a
#:   drained or restarted instance's sockets all reconnect at once.
#: - uvicorn's protocol pings (every 20 s, 20 s to answer) stay: they find a
#:   peer that vanished without a FIN, which the channel's pings cannot.
LIVE_SOCKET_CONFIG: dict[str, Any] = {
    "ws": "websockets-sansio",
    "ws_per_message_deflate": False,
    "ws_max_size": 64 * 1024,
    "ws_ping_interval": 20.0,
    "ws_ping_timeout": 20.0,
    "backlog": 4096,
}


def connection_cap(wanted: int) -> int:
    """``wanted`` connections, or fewer if the process's file descriptor limit
    cannot hold them (the soft limit is raised towards the hard one first): past
    the limit, ``accept`` would fail instead of the cap answering 503."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = wanted + RESERVED_FDS
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft - RESERVED_FDS))


def edge_limits(settings: Settings) -> EdgeLimits:
    cap = connection_cap(settings.max_connections)
    if cap < settings.max_connections:
        log.warning(
            "quizsession: at most %d connections (QUIZSESSION_MAX_CONNECTIONS=%d does not "
            "fit the file descriptor limit: raise `ulimit -n`)",
            cap,
            settings.max_connections,
        )
    return EdgeLimits(
        max_header_bytes=settings.max_header_bytes,
        max_header_count=settings.max_header_count,
        head_timeout_s=settings.head_timeout_s,
        max_connections=cap,
    )


def uvicorn_config(asgi: Any, settings: Settings) -> uvicorn.Config:
    return uvicorn.Config(
        asgi,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        # httptools, with the limits on heads, slow heads and connections.
        http=bounded_protocol(edge_limits(settings)),
        log_level=settings.log_level,
        # Logs are JSON lines from the root handler ``serve`` installs; the access
        # log is the app's own (one structured line per request, route template
        # not raw path, with the request id) when QUIZSESSION_ACCESS_LOG is set.
        log_config=None,
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_S,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        **LIVE_SOCKET_CONFIG,
    )


class CannotListen(Exception):
    """The address to listen on is taken (``in_use``) or not ours to take."""

    def __init__(self, message: str, *, in_use: bool) -> None:
        super().__init__(message)
        self.in_use = in_use


def listen_socket(
    host: str, port: int, backlog: int = LIVE_SOCKET_CONFIG["backlog"]
) -> socket.socket:
    """Bind and listen on ``host:port`` now, before anything is printed or opened,
    so that a busy port is one clear error (``CannotListen``) instead of a failure
    after start-up; connections made before the app is ready wait in the backlog.
    The socket is handed to uvicorn (``serve_forever(listener=...)``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        in_use = exc.errno == errno.EADDRINUSE
        raise CannotListen(f"{host}:{port}: {exc.strerror or exc}", in_use=in_use) from exc
    sock.set_inheritable(True)
    return sock


class HeldLogs(logging.Filter):
    """Holds the root handlers' records back until ``release()`` (or until a
    warning or an error, which is shown at once with what was held): the demo's
    banner is printed as one block before the start-up lines."""

    def __init__(self) -> None:
        super().__init__()
        self.held: list[logging.LogRecord] = []
        self.handlers = list(logging.getLogger().handlers)
        for handler in self.handlers:
            handler.addFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        if self.handlers and record.levelno < logging.WARNING:
            self.held.append(record)
            return False
        self.release()
        return True

    def release(self) -> None:
        handlers, self.handlers = self.handlers, []
        for handler in handlers:
            handler.removeFilter(self)
        held, self.held = self.held, []
        for record in held:
            for handler in handlers:
                if record.levelno >= handler.level:
                    handler.handle(record)


class DrainingServer(uvicorn.Server):
    """uvicorn, with a graceful drain on the first SIGTERM/SIGINT:

    1. ``hub.draining``: new requests (but ``/healthz``) get 503 ``draining``
       with ``Connection: close`` and ``/readyz`` says ``draining``, so load
       balancers send everything to the other instances;
    2. every live WebSocket is told ``{type: drain, reconnect: true}`` and
       closed with 1012;
    3. the requests admitted before the drain are waited for (at most
       ``drain_timeout_s``);
    4. uvicorn stops listening and the lifespan closes the store (which
       commits any pending group-commit batch) and the live state.

    A second signal exits at once (like ``kill -9``: nothing acknowledged is
    lost, requests in flight are cut)."""

    def __init__(
        self,
        config: uvicorn.Config,
        hub: LiveHub,
        drain_timeout_s: float,
        on_listening: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(config)
        self.hub = hub
        self.on_listening = on_listening
        self.drain_timeout_s = drain_timeout_s
        self.drain_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.drained = False
        self.signals = 0

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.should_exit:
            return
        for sock in sockets or ():  # uvicorn logs its own address only when it binds
            host, port = sock.getsockname()[:2]
            log.info("quizsession: listening on http://%s:%d (pid %d)", host, port, os.getpid())
        if self.on_listening is not None:
            self.on_listening()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        loop = self._loop
        self.signals += 1
        if self.signals > 1 or loop is None or self.should_exit:
            log.warning("quizsession: second signal %d: exiting now", sig)
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            os._exit(128 + sig)
        loop.call_soon_threadsafe(self._begin_drain, sig)

    def _begin_drain(self, sig: int) -> None:
        if self.drain_task is None:
            self.drain_task = asyncio.create_task(self._drain(sig), name="drain")

    async def _drain(self, sig: int) -> None:
        hub, timeout = self.hub, self.drain_timeout_s
        began = time.monotonic()
        try:
            log.info("quizsession: signal %d: draining (new work refused with 503 draining)", sig)
            hub.draining = True
            told = await asyncio.wait_for(hub.drain(), timeout)
            left = max(0.0, timeout - (time.monotonic() - began))
            idle = await hub.wait_idle(left)
            # Sockets that were still authenticating when the drain began.
            told += await asyncio.wait_for(hub.drain(), 2.0)
            outcome = (
                "in-flight requests finished"
                if idle
                else f"{hub.in_flight} request(s) still running after {timeout:g}s"
            )
            log.info(
                "quizsession: drained in %.2fs: %d live socket(s) told to reconnect, %s",
                time.monotonic() - began,
                told,
                outcome,
            )
            self.drained = True
        except Exception:
            log.exception("quizsession: drain failed; shutting down anyway")
        finally:
            self.should_exit = True


def serve_forever(
    asgi: Any,
    settings: Settings,
    hub: LiveHub,
    *,
    drain_timeout_s: float = DRAIN_TIMEOUT_S,
    listener: socket.socket | None = None,
    on_listening: Callable[[], None] | None = None,
) -> int:
    """Run uvicorn on ``asgi`` until SIGTERM/SIGINT, then drain (see
    ``DrainingServer``). Returns the process's exit code: 0 after a completed
    drain and shutdown, 1 if the shutdown failed, ``STARTUP_FAILURE`` if the
    server never started. ``listener``: a socket from ``listen_socket`` (else
    uvicorn binds ``settings.host:port`` itself); ``on_listening`` is called
    once the app is started and the socket accepts."""
    server = DrainingServer(
        uvicorn_config(asgi, settings), hub, drain_timeout_s, on_listening=on_listening
    )
    # A long-lived server holding thousands of sockets: full collections of a
    # large heap paused the loop for a second at a time (bench.live). Objects
    # alive at start-up are frozen out of collection, and the young generation
    # is collected less often.
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 1000)
    server.run(sockets=None if listener is None else [listener])
    if not server.started:
        return STARTUP_FAILURE
    if getattr(server.lifespan, "shutdown_failed", False):
        log.error("quizsession: shutdown failed (see above)")
        return 1
    log.info(
        "quizsession: shutdown complete (%s, store closed)",
        "drained" if server.drained else "stopped",
    )
    return 0
