"""The measurements of ``bench.projection``: the phases run one after the other
against one instance on PostgreSQL + Redis, each component's CPU read from
``/proc`` at the instants the generator (``bench.projection_load``) opens and
closes a window, the idle background taken off, and the memory figures."""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import httpx

from bench.common import proc_memory_mib
from bench.pg_phases import PgServerProcess, postgres_cpu, proc_cpu, sql
from bench.projection_load import OP_ID, HttpResult, HttpStage, Request, WsResult, generator_main
from bench.saves_load import Target
from bench.saves_phases import prepare_targets
from testsupport import capacity_model as model
from testsupport.postgres_server import PostgresServer
from testsupport.redis_server import RedisServer
from testsupport.scenario import invite, put_quiz, quiz_definition

LIVE_QUIZ = "bench-projection-live"
SAVED = "SELECT count(*) FROM events WHERE type = 'answer_saved'"


@dataclass(frozen=True)
class Window:
    """One measured operation: how many completed, and each component's CPU
    seconds over the window (the idle background already taken off)."""

    op: str
    count: int
    window_s: float
    cpu_s: dict[str, float]
    errors: int = 0

    def ms(self, component: str) -> float:
        return max(0.0, self.cpu_s[component]) / max(self.count, 1) * 1000

    @property
    def rate(self) -> float:
        return self.count / self.window_s if self.window_s else 0.0


class Bench:
    def __init__(self, pipe: Connection, cpu: dict[str, Callable[[], float]]) -> None:
        self.pipe = pipe
        self.cpu = cpu
        self.idle_per_s = dict.fromkeys(cpu, 0.0)

    def read_cpu(self) -> dict[str, float]:
        return {name: read() for name, read in self.cpu.items()}

    def ask(self, command: tuple[Any, ...]) -> tuple[Any, dict[str, float]]:
        """Send a command; read the CPU at its marks; its answer and the CPU
        seconds between the marks (zeros when it has none)."""
        self.pipe.send(command)
        before = after = None
        while True:
            if not self.pipe.poll(300):
                raise RuntimeError(f"the generator did not answer {command[0]}")
            message = self.pipe.recv()
            if message[0] == "start":
                before = self.read_cpu()
            elif message[0] == "stop":
                after = self.read_cpu()
            elif message[0] == "failed":
                raise RuntimeError(f"generator: {message[1]}")
            else:
                spent = {k: (after[k] - before[k]) if before and after else 0.0 for k in self.cpu}
                return message[1] if len(message) > 1 else None, spent

    def net(self, spent: dict[str, float], window_s: float) -> dict[str, float]:
        return {k: spent[k] - self.idle_per_s[k] * window_s for k in spent}

    def idle(self, seconds: float) -> None:
        before = self.read_cpu()
        time.sleep(seconds)
        after = self.read_cpu()
        self.idle_per_s = {k: (after[k] - before[k]) / seconds for k in after}

    def http(self, stage: HttpStage) -> tuple[Window, HttpResult]:
        result, spent = self.ask(("http", stage))
        assert isinstance(result, HttpResult)
        errors = sum(v for k, v in result.statuses.items() if not 200 <= k < 300)
        window = Window(
            stage.name, result.ok, result.window_s, self.net(spent, result.window_s), errors
        )
        return window, result


def _auth(token: str) -> tuple[tuple[str, str], ...]:
    return (("Authorization", f"Bearer {token}"),)


def _save(t: Target) -> Request:
    body = f'{{"question_id":"{t.question_id}","answer":{t.answers[0]},"op_id":"{OP_ID}"}}'
    return Request("PUT", f"/sessions/{t.session_id}/progress", _auth(t.token), body)


def _live_quiz() -> dict[str, Any]:
    quiz = quiz_definition(LIVE_QUIZ)
    quiz["policies"] = {**quiz["policies"], "heartbeat_s": 1.0, "lease_ttl_s": 15.0}
    return quiz


async def _live_invites(server: PgServerProcess, count: int) -> list[str]:
    async with httpx.AsyncClient(base_url=server.url, timeout=60.0) as client:
        await put_quiz(client, server.admin_headers, _live_quiz())
        return await invite(client, server.admin_headers, LIVE_QUIZ, count, "live")


def _redis_used(url: str) -> int:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return int(client.info("memory")["used_memory"])
    finally:
        client.close()


def _rss_bytes(pid: int) -> float:
    return proc_memory_mib(pid)[0] * model.MIB


@dataclass(frozen=True)
class Measured:
    windows: dict[str, Window]
    idle_per_s: dict[str, float]
    socket_bytes: float
    attempt_bytes: float
    redis_bytes: float
    saved_in_log: int


def measure(
    server: PgServerProcess, pg: PostgresServer, redis: RedisServer, args: argparse.Namespace
) -> Measured:
    assert server.pid is not None
    assert redis.pid is not None
    pid, redis_pid = server.pid, redis.pid
    cpu = {
        "instances": lambda: proc_cpu(pid),
        "postgres": lambda: postgres_cpu(pg),
        "redis": lambda: proc_cpu(redis_pid),
    }
    targets = asyncio.run(prepare_targets(server, args.concurrency))
    tokens = asyncio.run(_live_invites(server, args.live))
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=True)
    proc = ctx.Process(target=generator_main, args=(child,), name="bench-projection-load")
    proc.start()
    child.close()
    bench = Bench(parent, cpu)
    windows: dict[str, Window] = {}
    port, c = server.port, args.concurrency

    def timed(name: str, requests: list[Request]) -> None:
        stage = HttpStage(name, port, tuple(requests), c, True, args.warmup, args.duration)
        windows[name], _ = bench.http(stage)

    try:
        bench.idle(args.duration)
        timed("bare", [Request("GET", "/healthz")])
        saved0 = int(asyncio.run(sql(pg.dsn, SAVED))[0])
        timed("save", [_save(t) for t in targets])
        saved = int(asyncio.run(sql(pg.dsn, SAVED))[0]) - saved0
        timed(
            "heartbeat",
            [
                Request("POST", f"/sessions/{t.session_id}/heartbeat", _auth(t.token))
                for t in targets
            ],
        )
        timed(
            "question",
            [
                Request(
                    "GET", f"/sessions/{t.session_id}/questions/{t.question_id}", _auth(t.token)
                )
                for t in targets
            ],
        )
        # Logins, starts and submits: once per candidate each.
        rss0, redis0 = _rss_bytes(pid), _redis_used(redis.url)
        logins = [
            Request("POST", "/sessions", body=json.dumps({"invite_token": t})) for t in tokens
        ]
        windows["login"], result = bench.http(
            HttpStage("login", port, tuple(logins), c, False, keep_bodies=True)
        )
        sessions = [(b["session_id"], b["session_token"]) for b in map(json.loads, result.bodies)]
        starts = [
            Request("POST", f"/sessions/{s}/start", _auth(tok), '{"section":"test"}')
            for s, tok in sessions
        ]
        windows["start"], _ = bench.http(HttpStage("start", port, tuple(starts), c, False))
        rss1 = _rss_bytes(pid)
        opened, _ = bench.ask(("ws_open", port, sessions))
        rss2, redis1 = _rss_bytes(pid), _redis_used(redis.url)  # every lease held
        ticked, spent = bench.ask(("ws_ticks", args.warmup, args.duration))
        assert isinstance(ticked, WsResult)
        windows["tick"] = tick = Window(
            "tick", ticked.ticks, ticked.window_s, bench.net(spent, ticked.window_s), ticked.dropped
        )
        bench.ask(("ws_close",))
        # Pings on the first candidates' sockets (a quiz ticking every 5 s: few
        # ticks in the window, taken off at the tick's cost).
        bench.ask(("ws_open", port, [(t.session_id, t.token) for t in targets]))
        pinged, spent = bench.ask(("ws_pings", len(targets), args.warmup, args.duration))
        assert isinstance(pinged, WsResult)
        less_ticks = {
            k: v - pinged.ticks * tick.cpu_s[k] / max(tick.count, 1)
            for k, v in bench.net(spent, pinged.window_s).items()
        }
        windows["ping"] = Window("ping", pinged.pongs, pinged.window_s, less_ticks, pinged.dropped)
        bench.ask(("ws_close",))
        submits = [
            Request("POST", f"/sessions/{s}/complete", _auth(tok), "{}") for s, tok in sessions
        ]
        windows["submit"], _ = bench.http(HttpStage("submit", port, tuple(submits), c, False))
        parent.send(("exit",))
        proc.join(30)
    finally:
        if proc.is_alive():
            proc.kill()
            proc.join(5)
    n = max(len(sessions), 1)
    return Measured(
        windows=windows,
        idle_per_s=bench.idle_per_s,
        socket_bytes=(rss2 - rss1) / max(int(opened), 1),
        attempt_bytes=(rss1 - rss0) / n,
        redis_bytes=(redis1 - redis0) / n,
        saved_in_log=saved,
    )


def costs_of(m: Measured) -> model.Costs:
    ms = {op: {c: m.windows[op].ms(c) for c in model.COMPONENTS} for op in model.OPS}
    return model.Costs(
        ms, max(0.0, m.socket_bytes), max(0.0, m.attempt_bytes), max(0.0, m.redis_bytes)
    )
