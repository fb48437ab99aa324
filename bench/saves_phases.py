"""The parent side of ``bench.saves``: the candidates' set-up on a real server, one
measured phase (generator processes started together, the server's and the
machine's CPU read around the window, the figures aggregated), the count of
events in the store, and the phase against ``serve --workers N``."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import multiprocessing as mp
import os
import random
import sys
import time
from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

from bench.common import machine_ticks
from bench.saves_load import Job, Target, WorkerResult, worker_main
from testsupport.scenario import (
    Candidate,
    invite,
    login,
    next_question,
    put_quiz,
    quiz_definition,
    random_answer,
    start_test,
)
from testsupport.service import ServerProcess

SERVER_ENV = {
    "QUIZSESSION_WRITE_LIMIT_PER_SECOND": "1000000",
    "QUIZSESSION_LOGIN_LIMIT_PER_MINUTE": "1000000",
    "QUIZSESSION_LOG_LEVEL": "warning",
}


def _server_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its child processes (Granian serves from a worker
    process it forks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of /proc/PID/stat (1-based).
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return own + sum(_server_cpu(int(child)) for child in children)


def collect_results(
    workers: Sequence[tuple[mp.process.BaseProcess, Connection]], timeout_s: float
) -> list[WorkerResult]:
    """Each generator process's result, in order; ``RuntimeError`` if one does
    not report within ``timeout_s`` (it is killed) or reports a failure."""
    results: list[WorkerResult] = []
    for proc, pipe in workers:
        if not pipe.poll(timeout_s):
            proc.kill()
            raise RuntimeError(f"generator {proc.name} did not report")
        results.append(pipe.recv())
        proc.join(10)
    failures = [r.failure for r in results if r.failure]
    if failures:
        raise RuntimeError(f"generator failed: {failures}")
    return results


@dataclass(frozen=True)
class Phase:
    mode: str
    requests: int
    errors: int
    statuses: dict[int, int]
    rps: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    generator_cpu_s: float
    server_cpu_s: float
    machine_busy_pct: float  # all CPUs, every process on the machine
    window_s: float
    # CPU seconds of run_phase's ``extra_cpu`` counters (e.g. the database's), by name
    extra_cpu_s: dict[str, float] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "mean_ms": round(self.mean_ms, 3),
            "generator_cpu_s": round(self.generator_cpu_s, 2),
            "server_cpu_s": round(self.server_cpu_s, 2),
            "machine_busy_pct": round(self.machine_busy_pct, 1),
        }


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def run_phase(
    server: ServerProcess | Sequence[ServerProcess],
    mode: str,
    targets: list[Target],
    procs: int,
    warmup_s: float,
    duration_s: float,
    extra_cpu: Mapping[str, Callable[[], float]] | None = None,
    rate: float = 0.0,
    sticky: bool = False,
) -> Phase:
    """One measured phase against one server, or several in round robin (their
    CPU is summed; ``sticky``: each session to one of them instead, see
    ``instance_for``); ``extra_cpu`` names other CPU-seconds counters read at the
    same instants (``Phase.extra_cpu_s``); ``rate``: the requests per second all
    workers together offer in the ``open`` mode."""
    extra = dict(extra_cpu or {})
    servers = [server] if isinstance(server, ServerProcess) else list(server)
    pids = [s.pid for s in servers if s.pid is not None]
    assert len(pids) == len(servers), "every server must be running"
    ctx = mp.get_context("spawn")
    start_at = time.time() + 1.5  # time for the workers to start and connect
    workers = []
    for w in range(procs):
        parent, child = ctx.Pipe(duplex=False)
        job = Job(
            worker=w,
            ports=tuple(s.port for s in servers),
            mode=mode,
            targets=tuple(targets[w::procs]),
            start_at=start_at,
            warmup_s=warmup_s,
            duration_s=duration_s,
            rate=rate / procs,
            procs=procs,
            sticky=sticky,
        )
        proc = ctx.Process(target=worker_main, args=(job, child), name=f"bench-{mode}-{w}")
        proc.start()
        child.close()
        workers.append((proc, parent))
    time.sleep(max(0.0, start_at + warmup_s - time.time()))
    cpu0 = sum(_server_cpu(pid) for pid in pids)
    extra0 = {name: read() for name, read in extra.items()}
    busy0, total0 = machine_ticks()
    time.sleep(max(0.0, start_at + warmup_s + duration_s - time.time()))
    cpu1 = sum(_server_cpu(pid) for pid in pids)
    extra1 = {name: read() for name, read in extra.items()}
    busy1, total1 = machine_ticks()
    results = collect_results(workers, duration_s + warmup_s + 30)
    busy_pct = 100.0 * (busy1 - busy0) / max(1, total1 - total0)
    phase = aggregate(mode, results, duration_s, cpu1 - cpu0, busy_pct)
    return dataclasses.replace(phase, extra_cpu_s={k: extra1[k] - extra0[k] for k in extra})


def aggregate(
    mode: str,
    results: Sequence[WorkerResult],
    duration_s: float,
    server_cpu_s: float,
    machine_busy_pct: float,
) -> Phase:
    """One phase's figures from its generator processes' results."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    for r in results:
        values = array("d")
        values.frombytes(r.latencies)
        latencies.extend(values)
        for k, v in r.statuses.items():
            statuses[k] = statuses.get(k, 0) + v
    latencies.sort()
    count = len(latencies)
    return Phase(
        mode=mode,
        requests=count,
        errors=sum(r.errors for r in results),
        statuses=statuses,
        rps=count / duration_s,
        p50_ms=_percentile(latencies, 0.50) * 1000,
        p99_ms=_percentile(latencies, 0.99) * 1000,
        mean_ms=(sum(latencies) / count * 1000) if count else float("nan"),
        generator_cpu_s=sum(r.cpu_s for r in results),
        server_cpu_s=server_cpu_s,
        machine_busy_pct=machine_busy_pct,
        window_s=duration_s,
    )


async def prepare_targets(server: ServerProcess, count: int) -> list[Target]:
    """Quiz, invites, logins, test started, one question delivered per candidate."""
    rng = random.Random(42)
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(base_url=server.url, timeout=60.0, limits=limits) as client:
        await put_quiz(client, server.admin_headers, quiz_definition("bench-saves"))
        tokens = await invite(client, server.admin_headers, "bench-saves", count, "b")
        gate = asyncio.Semaphore(32)

        async def one(token: str) -> Target:
            async with gate:
                c = Candidate(token)
                r = await login(client, c)
                r.raise_for_status()
                await start_test(client, c)
                question = await next_question(client, c)
                assert question is not None
                answers = tuple(json.dumps(random_answer(question, rng)) for _ in range(4))
                return Target(c.attempt_id, c.session_id, c.session_token, question["id"], answers)

        return list(await asyncio.gather(*(one(t) for t in tokens)))


async def saved_events(server: ServerProcess, targets: list[Target]) -> int:
    """How many ``answer_saved`` events the store holds for these attempts."""
    limits = httpx.Limits(max_connections=16)
    async with httpx.AsyncClient(base_url=server.url, timeout=60.0, limits=limits) as client:
        gate = asyncio.Semaphore(16)

        async def one(attempt_id: str) -> int:
            async with gate:
                r = await client.get(
                    f"/admin/attempts/{attempt_id}/events", headers=server.admin_headers
                )
                r.raise_for_status()
                return sum(1 for e in r.json() if e["type"] == "answer_saved")

        return sum(await asyncio.gather(*(one(t.attempt_id) for t in targets)))


@dataclass(frozen=True)
class WorkersRun:
    phase: Phase
    on_disk: int
    per_worker_cpu_s: list[float]


def workers_phase(workdir: Path, args: argparse.Namespace) -> WorkersRun:
    """The save phase against ``serve --workers N`` on a fresh file."""
    env = {**SERVER_ENV, "QUIZSESSION_WORKERS": str(args.workers)}
    server = ServerProcess(workdir / "workers", env=env, asgi_server=args.server)
    try:
        server.start()
        assert server.pid is not None
        # Every worker up (``/healthz`` answers as soon as one is; a worker
        # starts in well under a second once forked).
        deadline = time.monotonic() + 30
        while len(_children(server.pid)) < args.workers:
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not all start")
            time.sleep(0.05)
        time.sleep(1.0)
        targets = asyncio.run(prepare_targets(server, args.concurrency))
        pids = _children(server.pid)
        before = [_server_cpu(pid) for pid in pids]
        phase = run_phase(server, "save", targets, args.procs, args.warmup, args.duration)
        after = [_server_cpu(pid) for pid in pids]
        on_disk = asyncio.run(saved_events(server, targets))
    except BaseException:
        print(server.log_text()[-3000:], file=sys.stderr)
        raise
    finally:
        server.terminate()
    return WorkersRun(phase, on_disk, [b - a for a, b in zip(before, after, strict=True)])


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
