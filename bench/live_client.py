"""The load generator of ``bench.live``: one process holding many live sockets.

Runs in a child process (``worker_main``) and talks to the parent over a pipe,
one stage at a time:

1. ``("login",)``: log its candidates in (``POST /sessions`` with the invite on a
   few raw keep-alive connections; with ``in_test`` also start the test and get
   the first question) -> ``("logged_in", count, seconds, errors)``;
2. ``("connect", budget_s)``: open every candidate's ``WS /sessions/{id}/live``
   (bounded concurrency, all within ``budget_s``), authenticate in the first
   message, wait for ``welcome``; each socket then pings every ``ping_s`` from a
   random phase -> ``("connected", count, latencies, refusals, cpu_s, late)``;
3. ``("run", t0, t1)``: keep going until wall time ``t1``, recording what falls
   in ``[t0, t1]`` -> ``Report``.

A socket the server closes (or that fails) before the end counts as dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
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

from bench.common import HttpConn, raise_nofile, self_cpu_s

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

    # -- stage 1 ----------------------------------------------------------------------

    async def login(self) -> tuple[int, list[str]]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        for token in self.job.tokens:
            queue.put_nowait(token)
        errors: list[str] = []

        async def run() -> None:
            conn = HttpConn(self.job.port)
            try:
                while not queue.empty():
                    token = queue.get_nowait()
                    try:
                        self.live.append(await self._login_one(conn, token))
                    except Exception as exc:
                        errors.append(repr(exc)[:300])
            finally:
                conn.close()

        await asyncio.gather(*(run() for _ in range(LOGIN_CONNS)))
        return len(self.live), errors

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

    # -- stage 2 ----------------------------------------------------------------------

    async def connect_all(self, budget_s: float) -> tuple[list[float], list[str], int]:
        """Open every socket within ``budget_s`` seconds: (handshake latencies,
        refusals, sockets not connected in time). A refusal (an HTTP status
        instead of the upgrade, a close, a message other than ``welcome``) is a
        correctness failure; a socket still waiting when the budget is spent is
        a capacity figure."""
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        latencies: list[float] = []
        errors: list[str] = []
        late = 0
        rng = random.Random(self.job.seed)
        until = time.monotonic() + budget_s

        async def one(live: _Live) -> None:
            nonlocal late
            async with gate:
                t0 = time.perf_counter()
                left = until - time.monotonic()
                try:
                    if left <= 0:
                        raise TimeoutError
                    await asyncio.wait_for(self._open(live), left)
                except (TimeoutError, OSError):
                    late += 1
                    return
                except Exception as exc:
                    errors.append(repr(exc)[:300])
                    return
                latencies.append(time.perf_counter() - t0)
            phase = rng.uniform(0, self.job.ping_s)
            self.tasks.append(asyncio.create_task(self._reader(live)))
            self.tasks.append(asyncio.create_task(self._pinger(live, phase)))

        self.tasks.append(asyncio.create_task(self._lag_monitor()))
        await asyncio.gather(*(one(live) for live in self.live))
        return latencies, errors, late

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
        gate = asyncio.Semaphore(256)

        async def close(ws: ClientConnection) -> None:
            async with gate:
                with contextlib.suppress(TimeoutError, OSError, ConnectionClosed):
                    await asyncio.wait_for(ws.close(), 10)

        await asyncio.gather(*(close(live.ws) for live in self.live if live.ws is not None))
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def _serve(job: LiveJob, pipe: Connection) -> None:
    loop = asyncio.get_running_loop()
    gen = Generator(job)
    while True:
        command: tuple[Any, ...] = await loop.run_in_executor(None, pipe.recv)
        if command[0] == "login":
            t = time.perf_counter()
            count, errors = await gen.login()
            pipe.send(("logged_in", count, time.perf_counter() - t, errors))
        elif command[0] == "connect":
            cpu0 = self_cpu_s()
            latencies, errors, late = await gen.connect_all(command[1])
            cpu_s = self_cpu_s() - cpu0
            handshakes = array("d", latencies).tobytes()
            pipe.send(("connected", len(latencies), handshakes, errors, cpu_s, late))
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
