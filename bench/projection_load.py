"""The load generator of ``bench.projection``: one child process that runs one
operation mix at a time on command from the parent, over a pipe.

Each measured stage sends two marks to the parent, ``("start",)`` and
``("stop",)``, at the instants its window opens and closes; the parent reads
the CPU counters of the instance, PostgreSQL and Redis when each mark arrives,
and the stage's answer counts what completed between the two marks:

``("http", HttpStage)``
    HTTP/1.1 requests on ``concurrency`` raw keep-alive connections, one in
    flight each. ``timed``: every connection repeats its own request (a new
    ``op_id`` each time) for ``warmup_s`` unmeasured then ``duration_s``
    measured seconds; otherwise each request of the list is sent once and the
    window is the whole list (logins, starts, submits: each can happen once per
    candidate). Answers ``("http", HttpResult)``.
``("ws_open", port, sessions)``
    a live socket per ``(session_id, token)``, authenticated, ``welcome``
    read; every socket counts the ticks it receives. Answers ``("opened", n)``.
``("ws_ticks", warmup_s, duration_s)``
    nothing sent: the window counts the ticks the server pushed.
``("ws_pings", pingers, warmup_s, duration_s)``
    the first ``pingers`` sockets each ping, wait for the pong, ping again
    (closed loop); the window counts the pongs and the ticks (the parent
    subtracts the ticks' CPU). Both answer ``("ws", WsResult)``.
``("ws_close",)`` closes every socket; ``("exit",)`` ends the process.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.common import HOST, http_request, raise_nofile, read_response

OP_ID = "{op_id}"  # replaced in a request body by a fresh operation id


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None  # JSON text; ``OP_ID`` inside is replaced per request

    def encode(self, port: int, op_id: str) -> bytes:
        body = None if self.body is None else self.body.replace(OP_ID, op_id).encode()
        return http_request(self.method, self.path, port, body, dict(self.headers))


@dataclass(frozen=True)
class HttpStage:
    name: str
    port: int
    requests: tuple[Request, ...]
    concurrency: int
    timed: bool
    warmup_s: float = 0.0
    duration_s: float = 0.0
    keep_bodies: bool = False  # return the answers' bodies (once-each stages)


@dataclass
class HttpResult:
    name: str
    ok: int = 0  # 2xx answers completed in the window
    statuses: dict[int, int] = field(default_factory=dict)
    window_s: float = 0.0
    bodies: list[bytes] = field(default_factory=list)
    failure: str = ""


@dataclass
class WsResult:
    ticks: int = 0
    pongs: int = 0
    window_s: float = 0.0
    dropped: int = 0
    failure: str = ""


class _Conn:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, data: bytes) -> tuple[int, bytes]:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        self.writer.write(data)
        return await read_response(self.reader)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class Generator:
    def __init__(self, pipe: Connection) -> None:
        self.pipe = pipe
        self.measuring = False
        self.sockets: list[ClientConnection] = []
        self.readers: list[asyncio.Task[None]] = []
        self.ticks = 0
        self.pongs: dict[int, asyncio.Future[None]] = {}
        self.dropped = 0
        self.closing = False

    def mark(self, what: str) -> float:
        self.pipe.send((what,))
        return time.perf_counter()

    # -- HTTP -------------------------------------------------------------------------

    async def http(self, stage: HttpStage) -> HttpResult:
        result = HttpResult(stage.name)
        conns = [_Conn(stage.port) for _ in range(stage.concurrency)]
        statuses: Counter[int] = Counter()
        stop = False
        seq = 0

        def record(status: int, body: bytes) -> None:
            if not self.measuring:
                return
            statuses[status] += 1
            if 200 <= status < 300:
                result.ok += 1
                if stage.keep_bodies:
                    result.bodies.append(body)

        async def repeat(conn: _Conn, request: Request) -> None:
            nonlocal seq
            while not stop:
                seq += 1
                status, body = await conn.send(
                    request.encode(stage.port, f"p{time.time():.3f}-{seq}")
                )
                record(status, body)

        queue = list(reversed(stage.requests))

        async def drain(conn: _Conn) -> None:
            nonlocal seq
            while queue:
                seq += 1
                status, body = await conn.send(queue.pop().encode(stage.port, f"o{seq}"))
                record(status, body)

        try:
            if stage.timed:
                tasks = [
                    asyncio.create_task(repeat(c, stage.requests[i % len(stage.requests)]))
                    for i, c in enumerate(conns)
                ]
                await asyncio.sleep(stage.warmup_s)
                self.measuring = True
                t0 = self.mark("start")
                await asyncio.sleep(stage.duration_s)
                t1 = self.mark("stop")
                self.measuring = False
                stop = True
                await asyncio.gather(*tasks)
            else:
                for c in conns:  # connected before the window opens
                    c.reader, c.writer = await asyncio.open_connection(HOST, stage.port)
                self.measuring = True
                t0 = self.mark("start")
                await asyncio.gather(*(drain(c) for c in conns))
                t1 = self.mark("stop")
                self.measuring = False
        finally:
            for c in conns:
                c.close()
        result.statuses = dict(statuses)
        result.window_s = t1 - t0
        return result

    # -- live sockets -------------------------------------------------------------------

    async def ws_open(self, port: int, sessions: list[tuple[str, str]]) -> int:
        gate = asyncio.Semaphore(32)

        async def one(session_id: str, token: str) -> None:
            async with gate:
                ws = await connect(
                    f"ws://{HOST}:{port}/sessions/{session_id}/live",
                    compression=None,
                    proxy=None,
                    open_timeout=60,
                    ping_interval=None,
                    max_queue=64,
                )
                await ws.send(json.dumps({"type": "auth", "token": token}))
                welcome = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if welcome.get("type") != "welcome":
                    raise RuntimeError(f"expected welcome, got {str(welcome)[:200]}")
                index = len(self.sockets)
                self.sockets.append(ws)
                self.readers.append(asyncio.create_task(self._read(index, ws)))

        await asyncio.gather(*(one(s, t) for s, t in sessions))
        return len(self.sockets)

    async def _read(self, index: int, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                kind = json.loads(raw).get("type")
                if kind == "tick":
                    if self.measuring:
                        self.ticks += 1
                elif kind == "pong":
                    waiter = self.pongs.pop(index, None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(None)
        except ConnectionClosed:
            pass
        if not self.closing:
            self.dropped += 1

    async def ws_window(self, pingers: int, warmup_s: float, duration_s: float) -> WsResult:
        result = WsResult()
        stop = False
        loop = asyncio.get_running_loop()

        async def ping(index: int) -> None:
            ws = self.sockets[index]
            while not stop:
                waiter: asyncio.Future[None] = loop.create_future()
                self.pongs[index] = waiter
                await ws.send(json.dumps({"type": "ping", "sent_at": time.time()}))
                await asyncio.wait_for(waiter, 30)
                if self.measuring:
                    result.pongs += 1
                # The server allows 20 messages per second per socket.
                await asyncio.sleep(0.06)

        tasks = [asyncio.create_task(ping(i)) for i in range(min(pingers, len(self.sockets)))]
        await asyncio.sleep(warmup_s)
        self.ticks = 0
        self.measuring = True
        t0 = self.mark("start")
        await asyncio.sleep(duration_s)
        t1 = self.mark("stop")
        self.measuring = False
        stop = True
        await asyncio.gather(*tasks)
        result.ticks = self.ticks
        result.window_s = t1 - t0
        result.dropped = self.dropped
        return result

    async def ws_close(self) -> None:
        self.closing = True
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)
        for task in self.readers:
            task.cancel()
        self.sockets, self.readers = [], []
        self.closing = False
        self.dropped = 0

    # -- the command loop -------------------------------------------------------------

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            command: tuple[Any, ...] = await loop.run_in_executor(None, self.pipe.recv)
            kind = command[0]
            try:
                if kind == "exit":
                    await self.ws_close()
                    return
                if kind == "http":
                    self.pipe.send(("http", await self.http(command[1])))
                elif kind == "ws_open":
                    self.pipe.send(("opened", await self.ws_open(command[1], command[2])))
                elif kind == "ws_ticks":
                    self.pipe.send(("ws", await self.ws_window(0, command[1], command[2])))
                elif kind == "ws_pings":
                    window = await self.ws_window(command[1], command[2], command[3])
                    self.pipe.send(("ws", window))
                elif kind == "ws_close":
                    await self.ws_close()
                    self.pipe.send(("closed",))
            except Exception as exc:
                self.measuring = False
                self.pipe.send(("failed", f"{kind}: {exc!r}"[:500]))


def generator_main(pipe: Connection) -> None:
    import uvloop

    raise_nofile()
    uvloop.run(Generator(pipe).serve())
