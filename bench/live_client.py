"""The load generator of ``bench.live``: one process holding many live sockets.

Runs in a child process (``worker_main``) and talks to the parent over a pipe,
one stage at a time:

1. ``("login", budget_s)``: each candidate logs in (``POST /sessions`` with the
   invite on a few raw keep-alive connections; with ``in_test`` also starts the
   test and gets the first question), all within ``budget_s`` ->
   ``("logged_in", figures)``;
2. ``("connect", budget_s)``: each logged-in candidate opens
   ``WS /sessions/{id}/live``, authenticates in the first message and waits for
   ``welcome`` (bounded concurrency, all within ``budget_s``); each socket then
   pings every ``ping_s`` from a random phase -> ``("connected", figures)``;
3. ``("run", t0, t1)``: keep going until wall time ``t1``, recording what falls
   in ``[t0, t1]``, then drop every socket -> ``("report", Report)``.

A socket the server closes (or that fails) before the end counts as dropped.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.common import JSON, HttpConn, raise_nofile, self_cpu_s

LOGIN_CONNS = 8  # keep-alive HTTP connections per process for the logins
CONNECT_CONCURRENCY = 64  # WebSocket handshakes in flight per process


@dataclass(frozen=True)
class LiveJob:
    worker: int
    port: int
    tokens: tuple[str, ...]
    ping_s: float
    in_test: bool
    compression: bool
    seed: int


@dataclass
class Report:
    worker: int
    sockets: int
    rtts: bytes  # array('d') seconds, pings sent in the window and answered
    tick_delays: bytes  # array('d') seconds, receipt - the tick's server_time
    tick_gaps: bytes  # array('d') seconds between consecutive ticks of a socket
    loop_lags: bytes  # array('d') seconds this process's event loop was late
    pings_sent: int
    pongs_missing: int
    drops: dict[str, int]
    unexpected: list[str]
    cpu_s: float  # this process, during the window
    failure: str = ""


@dataclass
class _Live:
    session_id: str
    token: str
    question_id: str | None = None
    ws: ClientConnection | None = None
    last_tick: float = 0.0
    pending: dict[float, bool] = field(default_factory=dict)


class Generator:
    def __init__(self, job: LiveJob) -> None:
        self.job = job
        self.live: list[_Live] = []
        self.window = (float("inf"), float("inf"))
        self.stopping = False
        self.rtts = array("d")
        self.tick_delays = array("d")
        self.tick_gaps = array("d")
        self.loop_lags = array("d")
        self.pings_sent = 0
        self.pongs_missing = 0
        self.drops: Counter[str] = Counter()
        self.unexpected: list[str] = []
        self.tasks: list[asyncio.Task[None]] = []

    # -- stages 1 and 2 --------------------------------------------------------------

    async def login(self, budget_s: float) -> JSON:
        """Every candidate logs in (``POST /sessions``; ``in_test``: also starts
        the test and gets the first question) on ``LOGIN_CONNS`` keep-alive
        connections, within ``budget_s`` seconds.

        A refusal (an HTTP error status) is a correctness failure; a candidate
        not through when the budget is spent is a capacity figure (no socket)."""
        until = time.monotonic() + budget_s
        queue: asyncio.Queue[str] = asyncio.Queue()
        for token in self.job.tokens:
            queue.put_nowait(token)
        logins: list[float] = []
        errors: list[str] = []
        late = 0

        async def log_in() -> None:
            nonlocal late
            conn = HttpConn(self.job.port)
            try:
                while not queue.empty():
                    token = queue.get_nowait()
                    t0 = time.perf_counter()
                    try:
                        left = until - time.monotonic()
                        if left <= 0:
                            raise TimeoutError
                        live = await asyncio.wait_for(self._login_one(conn, token), left)
                    except (TimeoutError, OSError):
                        late += 1
                        conn.close()  # a request may be half done: start afresh
                        continue
                    except Exception as exc:
                        errors.append(f"login: {exc!r}"[:300])
                        continue
                    logins.append(time.perf_counter() - t0)
                    self.live.append(live)
            finally:
                conn.close()

        cpu0 = self_cpu_s()
        await asyncio.gather(*(log_in() for _ in range(LOGIN_CONNS)))
        return {
            "logins": array("d", logins).tobytes(),
            "errors": errors,
            "late": late,
            "cpu_s": self_cpu_s() - cpu0,
        }

    async def connect(self, budget_s: float) -> JSON:
        """Every logged-in candidate opens ``WS /sessions/{id}/live``,
        authenticates in the first message and waits for ``welcome``, at most
        ``CONNECT_CONCURRENCY`` handshakes in flight, all within ``budget_s``
        seconds; each socket then pings every ``ping_s`` from a random phase.

        A refusal (a WebSocket upgrade refused or closed, a first message other
        than ``welcome``) is a correctness failure; a socket not open when the
        budget is spent is a capacity figure."""
        until = time.monotonic() + budget_s
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        rng = random.Random(self.job.seed)
        handshakes: list[float] = []
        errors: list[str] = []
        late = 0

        async def open_socket(live: _Live) -> None:
            nonlocal late
            async with gate:
                t0 = time.perf_counter()
                try:
                    left = until - time.monotonic()
                    if left <= 0:
                        raise TimeoutError
                    await asyncio.wait_for(self._open(live), left)
                except (TimeoutError, OSError):
                    late += 1
                    return
                except Exception as exc:
                    errors.append(f"socket: {exc!r}"[:300])
                    return
                handshakes.append(time.perf_counter() - t0)
            self.tasks.append(asyncio.create_task(self._reader(live)))
            self.tasks.append(
                asyncio.create_task(self._pinger(live, rng.uniform(0, self.job.ping_s)))
            )

        self.tasks.append(asyncio.create_task(self._lag_monitor()))
        cpu0 = self_cpu_s()
        await asyncio.gather(*(open_socket(live) for live in self.live))
        return {
            "handshakes": array("d", handshakes).tobytes(),
            "errors": errors,
            "late": late,
            "cpu_s": self_cpu_s() - cpu0,
        }

    async def _login_one(self, conn: HttpConn, token: str) -> _Live:
        opened = await conn.json("POST", "/sessions", {"invite_token": token}, expect=201)
        live = _Live(opened["session_id"], opened["session_token"])
        if self.job.in_test:
            auth = {"Authorization": f"Bearer {live.token}"}
            sid = live.session_id
            await conn.json("POST", f"/sessions/{sid}/start", {"section": "test"}, auth)
            question = await conn.json("GET", f"/sessions/{sid}/question", None, auth)
            live.question_id = question["question"]["id"]
        return live

    async def _open(self, live: _Live) -> None:
        ws = await connect(
            f"ws://127.0.0.1:{self.job.port}/sessions/{live.session_id}/live",
            compression="deflate" if self.job.compression else None,
            proxy=None,
            open_timeout=60,
            ping_interval=None,  # the server pings (uvicorn); the client answers
            close_timeout=5,
            max_queue=64,
        )
        await ws.send(json.dumps({"type": "auth", "token": live.token}))
        welcome = json.loads(await asyncio.wait_for(ws.recv(), 60))
        if welcome.get("type") != "welcome":
            await ws.close()
            raise RuntimeError(f"expected welcome, got {str(welcome)[:200]}")
        live.ws = ws
        live.last_tick = time.monotonic()

    # -- per socket -------------------------------------------------------------------

    async def _reader(self, live: _Live) -> None:
        ws = live.ws
        assert ws is not None
        t0, t1 = 0.0, 0.0
        try:
            async for raw in ws:
                now = time.time()
                t0, t1 = self.window
                message: dict[str, Any] = json.loads(raw)
                kind = message.get("type")
                if kind == "pong":
                    sent = message.get("echo")
                    if not isinstance(sent, float) or live.pending.pop(sent, None) is None:
                        self._unexpected(f"pong echoing {sent!r} that was not sent")
                    elif t0 <= sent <= t1:
                        self.rtts.append(now - sent)
                elif kind == "tick":
                    mono = time.monotonic()
                    if t0 <= now <= t1:
                        self.tick_delays.append(now - float(message["server_time"]))
                        self.tick_gaps.append(mono - live.last_tick)
                    live.last_tick = mono
                else:
                    self._unexpected(f"{kind}: {str(message)[:200]}")
        except ConnectionClosed:
            pass
        if not self.stopping:
            rcvd = ws.close_code
            self.drops[f"{rcvd} {ws.close_reason or ''}".strip()] += 1

    def halted(self) -> bool:
        return self.stopping

    def _unexpected(self, what: str) -> None:
        if len(self.unexpected) < 20:
            self.unexpected.append(what)
        else:
            self.unexpected[-1] = f"... and more, last: {what}"

    async def _pinger(self, live: _Live, phase: float) -> None:
        ws = live.ws
        assert ws is not None
        every = self.job.ping_s
        due = time.monotonic() + phase
        while not self.stopping:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if self.halted():
                return
            sent = time.time()
            t0, t1 = self.window
            if t0 <= sent <= t1:
                self.pings_sent += 1
            live.pending[sent] = True
            message = {"type": "ping", "question_id": live.question_id, "sent_at": sent}
            try:
                await ws.send(json.dumps(message))
            except ConnectionClosed:
                return
            due += every

    async def _lag_monitor(self) -> None:
        step = 0.1
        while not self.stopping:
            t = time.monotonic()
            await asyncio.sleep(step)
            now = time.time()
            if self.window[0] <= now <= self.window[1]:
                self.loop_lags.append(time.monotonic() - t - step)

    # -- stage 3 ----------------------------------------------------------------------

    async def run_until(self, t0: float, t1: float) -> Report:
        self.window = (t0, t1)
        await asyncio.sleep(max(0.0, t0 - time.time()))
        cpu0 = self_cpu_s()
        await asyncio.sleep(max(0.0, t1 - time.time()))
        cpu_s = self_cpu_s() - cpu0
        await asyncio.sleep(min(1.0, self.job.ping_s))  # the last pongs
        self.stopping = True
        for live in self.live:
            self.pongs_missing += sum(1 for sent in live.pending if t0 <= sent <= t1)
        await self._close_all()
        return Report(
            worker=self.job.worker,
            sockets=sum(1 for live in self.live if live.ws is not None),
            rtts=self.rtts.tobytes(),
            tick_delays=self.tick_delays.tobytes(),
            tick_gaps=self.tick_gaps.tobytes(),
            loop_lags=self.loop_lags.tobytes(),
            pings_sent=self.pings_sent,
            pongs_missing=self.pongs_missing,
            drops=dict(self.drops),
            unexpected=self.unexpected,
            cpu_s=cpu_s,
        )

    async def _close_all(self) -> None:
        """Drop every socket at once (the measurement is over; a close handshake
        per socket with a lagging server would only make the run longer)."""
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for live in self.live:
            if live.ws is not None:
                live.ws.transport.abort()
        await asyncio.sleep(0.5)


async def _serve(job: LiveJob, pipe: Connection) -> None:
    loop = asyncio.get_running_loop()
    gen = Generator(job)
    while True:
        command: tuple[Any, ...] = await loop.run_in_executor(None, pipe.recv)
        if command[0] == "login":
            pipe.send(("logged_in", await gen.login(command[1])))
        elif command[0] == "connect":
            pipe.send(("connected", await gen.connect(command[1])))
        elif command[0] == "run":
            pipe.send(("report", await gen.run_until(command[1], command[2])))
            return
        else:
            return  # "stop"


def worker_main(job: LiveJob, pipe: Connection) -> None:
    import uvloop

    raise_nofile()
    try:
        uvloop.run(_serve(job, pipe))
    except Exception as exc:
        pipe.send(("failed", repr(exc)))
    finally:
        pipe.close()
