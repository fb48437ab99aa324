"""Durable save throughput and latency, as a ratio to the same server's bare endpoint.

Run from the project root::

    .venv/bin/python -m bench.saves              # 256 candidates, 10 s per phase
    .venv/bin/python -m bench.saves --duration 5 --concurrency 64

One run starts a real ``quizsession serve`` on a fresh SQLite file (127.0.0.1
only; the default store: WAL, ``synchronous=FULL``, group commit), creates the
candidates (invite, login, start the test, one question delivered), then measures
with the same concurrency and the same load generator:

(a) ``save``: ``PUT /sessions/{id}/progress`` as fast as each candidate can, every
    request a new ``op_id`` (a new event on disk before the 2xx);
(b) ``bare``: ``GET /healthz`` on the same server stack (no store, no auth);
(c) ``open``: saves offered at a fixed rate (latency, no coordinated omission);
(d) ``workers``: a second server, ``serve --workers N`` (default: one per CPU)
    on a fresh file, takes the same save load through all its workers; its
    throughput is compared with the one process's bare endpoint (the target:
    x0.8 or better), and each server's CPU per save is printed (``--workers 0``
    skips it).

The load generator is ``--procs`` separate processes (default 2), each holding
``concurrency / procs`` raw HTTP/1.1 keep-alive connections on uvloop with one
request in flight per connection. Its CPU time is measured and printed next to
the server's, so one can see that it is not the bottleneck. Prints a table and a
final JSON line. Figures are not assertions: see DESIGN.md, "Benchmarks are not
tests".
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import json
import multiprocessing as mp
import os
import random
import shutil
import sys
import tempfile
import time
import zlib
from array import array
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

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

HOST = "127.0.0.1"
SERVER_ENV = {
    "QUIZSESSION_WRITE_LIMIT_PER_SECOND": "1000000",
    "QUIZSESSION_LOGIN_LIMIT_PER_MINUTE": "1000000",
    "QUIZSESSION_LOG_LEVEL": "warning",
}


@dataclass(frozen=True)
class Target:
    """What one connection sends: a save for one candidate, or the bare GET."""

    attempt_id: str
    session_id: str
    token: str
    question_id: str
    answers: tuple[str, ...]  # JSON-encoded valid answers, used in turn


@dataclass(frozen=True)
class Job:
    worker: int
    ports: tuple[int, ...]  # one instance, or several in round robin (request by request)
    mode: str  # "save" | "bare" | "open" (saves at a fixed offered rate)
    targets: tuple[Target, ...]
    start_at: float  # wall clock: all workers start together
    warmup_s: float
    duration_s: float
    rate: float = 0.0  # "open": requests per second this worker offers
    procs: int = 1  # how many workers share the offered load
    # True: each target's requests all go to one instance, ``instance_for`` its
    # session id (a balancer's hash of the session id); False: round robin.
    sticky: bool = False


@dataclass(frozen=True)
class WorkerResult:
    requests: int
    errors: int
    statuses: dict[int, int]
    latencies: bytes  # array('d') of seconds, measured window only
    cpu_s: float
    window_s: float
    failure: str = ""


# -- the load generator (runs in child processes) -------------------------------------


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def request(self, data: bytes) -> int:
        """Send one request, read the whole response; returns its status."""
        self.writer.write(data)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            lower = name.strip().lower()
            if lower == b"content-length":
                length = int(value)
            elif lower == b"transfer-encoding":
                raise RuntimeError("chunked responses are not supported by this generator")
        if length:
            await self.reader.readexactly(length)
        return status


def _save_request(port: int, target: Target, op_id: str, answer: str) -> bytes:
    body = (
        f'{{"question_id":"{target.question_id}","answer":{answer},"op_id":"{op_id}"}}'
    ).encode()
    head = (
        f"PUT /sessions/{target.session_id}/progress HTTP/1.1\r\n"
        f"Host: {HOST}:{port}\r\n"
        f"Authorization: Bearer {target.token}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


def instance_for(session_id: str, instances: int) -> int:
    """The instance a sticky balancer sends a session's requests to: a hash of
    the session id (the same in every process, unlike ``hash``)."""
    return zlib.crc32(session_id.encode()) % instances


async def _drive(job: Job) -> WorkerResult:
    loop = asyncio.get_running_loop()
    # Each connection of the generator holds one keep-alive connection per instance
    # and sends its requests to the instances in turn (a round-robin balancer
    # without sticky sessions), or one to its session's instance (``sticky``).
    routes = [
        (job.ports[instance_for(t.session_id, len(job.ports))],) if job.sticky else job.ports
        for t in job.targets
    ]
    conns = [
        [_Conn(*await asyncio.open_connection(HOST, port)) for port in route] for route in routes
    ]
    bare = {
        port: f"GET /healthz HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode() for port in job.ports
    }
    latencies = array("d")
    statuses: dict[int, int] = {}
    # perf_counter marks for the phases, anchored to the shared wall-clock start
    begin = time.perf_counter() + (job.start_at - time.time())
    measure_from = begin + job.warmup_s
    measure_to = measure_from + job.duration_s
    await asyncio.sleep(max(0.0, job.start_at - time.time()))
    cpu_before: list[float] = []

    async def run(index: int, mine: list[_Conn], target: Target) -> None:
        n = 0
        clock = time.perf_counter
        while True:
            t0 = clock()
            if t0 >= measure_to:
                return
            n += 1
            turn = n % len(mine)
            port = routes[index][turn]
            if job.mode == "save":
                # Unique across phases too (a phase's start time is its own).
                op_id = f"{job.start_at:.3f}-w{job.worker}-c{index}-{n}"
                data = _save_request(port, target, op_id, target.answers[n % len(target.answers)])
            else:
                data = bare[port]
            status = await mine[turn].request(data)
            t1 = clock()
            if measure_from <= t1 <= measure_to:  # completed within the window
                latencies.append(t1 - t0)
                statuses[status] = statuses.get(status, 0) + 1

    async def open_loop() -> None:
        """Saves sent at fixed intervals whatever the answers' pace (open loop):
        each request's latency runs from the instant it was due, so a request that
        waits for a free connection counts its wait (no coordinated omission)."""
        clock = time.perf_counter
        idle = list(range(len(conns)))
        waiting: collections.deque[float] = collections.deque()
        counts = [0] * len(conns)
        tasks: set[asyncio.Task[None]] = set()

        async def serve(index: int, due: float) -> None:
            target = job.targets[index]
            while True:
                counts[index] += 1
                n = counts[index]
                op_id = f"{job.start_at:.3f}-w{job.worker}-o{index}-{n}"
                turn = n % len(routes[index])
                data = _save_request(
                    routes[index][turn], target, op_id, target.answers[n % len(target.answers)]
                )
                status = await conns[index][turn].request(data)
                done = clock()
                if measure_from <= due < measure_to:  # offered within the window
                    latencies.append(done - due)
                    statuses[status] = statuses.get(status, 0) + 1
                if not waiting:
                    idle.append(index)
                    return
                due = waiting.popleft()

        interval = 1.0 / job.rate
        # Workers offset their schedules so that their arrivals interleave.
        due = begin + interval * job.worker / max(1, job.procs)
        while due < measure_to:
            now = clock()
            if due > now:
                await asyncio.sleep(due - now)
                continue
            if idle:
                task = loop.create_task(serve(idle.pop(), due))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            else:
                waiting.append(due)
            due += interval
        while tasks:
            await asyncio.gather(*list(tasks))

    async def mark_cpu() -> None:
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        cpu_before.append(_cpu_self())

    marker = loop.create_task(mark_cpu())
    if job.mode == "open":
        await open_loop()
    else:
        await asyncio.gather(
            *(run(i, c, t) for i, (c, t) in enumerate(zip(conns, job.targets, strict=True)))
        )
    cpu_after = _cpu_self()
    await marker
    for mine in conns:
        for conn in mine:
            conn.writer.close()
    errors = sum(v for k, v in statuses.items() if not 200 <= k < 300)
    return WorkerResult(
        requests=len(latencies),
        errors=errors,
        statuses=statuses,
        latencies=latencies.tobytes(),
        cpu_s=cpu_after - cpu_before[0],
        window_s=job.duration_s,
    )


def _cpu_self() -> float:
    t = os.times()
    return t.user + t.system


def run_worker(
    drive: Callable[[Any], Coroutine[Any, Any, WorkerResult]],
    job: Any,
    out: Connection,
) -> None:
    """A generator process's body: ``drive(job)`` on uvloop, its result (or the
    failure, as an empty result) sent to the parent over ``out``."""
    import uvloop

    try:
        result = uvloop.run(drive(job))
    except Exception as exc:
        result = WorkerResult(0, 0, {}, b"", 0.0, job.duration_s, failure=repr(exc))
    out.send(result)
    out.close()


def _worker_main(job: Job, out: Connection) -> None:
    run_worker(_drive, job, out)


# -- the parent: set-up, phases, report --------------------------------------------------


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


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat (idle and iowait are idle)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(values[:8])  # guest time is already counted in user
    return total - values[3] - values[4], total


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
        proc = ctx.Process(target=_worker_main, args=(job, child), name=f"bench-{mode}-{w}")
        proc.start()
        child.close()
        workers.append((proc, parent))
    time.sleep(max(0.0, start_at + warmup_s - time.time()))
    cpu0 = sum(_server_cpu(pid) for pid in pids)
    extra0 = {name: read() for name, read in extra.items()}
    busy0, total0 = _machine_ticks()
    time.sleep(max(0.0, start_at + warmup_s + duration_s - time.time()))
    cpu1 = sum(_server_cpu(pid) for pid in pids)
    extra1 = {name: read() for name, read in extra.items()}
    busy1, total1 = _machine_ticks()
    results: list[WorkerResult] = []
    for proc, pipe in workers:
        if not pipe.poll(duration_s + warmup_s + 30):
            proc.kill()
            raise RuntimeError(f"generator {proc.name} did not report")
        results.append(pipe.recv())
        proc.join(10)
    failures = [r.failure for r in results if r.failure]
    if failures:
        raise RuntimeError(f"generator failed: {failures}")
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


def report_workers(count: int, save: Phase, bare: Phase, run: WorkersRun) -> dict[str, Any]:
    """Print the workers phase against the one process's phases; its JSON fields."""
    phase = run.phase
    ratio = phase.rps / bare.rps if bare.rps else float("nan")
    scale = phase.rps / save.rps if save.rps else float("nan")
    one_ms = save.server_cpu_s / max(save.requests, 1) * 1000
    many_ms = phase.server_cpu_s / max(phase.requests, 1) * 1000
    share = " ".join(f"{cpu / phase.window_s * 100:.0f}%" for cpu in run.per_worker_cpu_s)
    print(
        f"workers: {count} processes took {phase.rps:.1f} saves/s "
        f"(p50 {phase.p50_ms:.2f} ms, p99 {phase.p99_ms:.2f} ms, {phase.errors} errors): "
        f"x{ratio:.3f} of one process's bare endpoint (target x0.8), x{scale:.2f} of its "
        f"saves; server CPU per save {many_ms:.3f} ms (one process: {one_ms:.3f} ms); "
        f"each worker busy {share} of a core, machine busy {phase.machine_busy_pct:.0f}%, "
        f"load generator {phase.generator_cpu_s / phase.window_s * 100:.0f}% of a core"
    )
    return {
        "workers": {**phase.row(), "processes": count, "answer_saved_events": run.on_disk},
        "ratio_workers_save_bare_rps": round(ratio, 4),
        "ratio_workers_save_one_rps": round(scale, 4),
        "cpu_ms_per_save_one": round(one_ms, 4),
        "cpu_ms_per_save_workers": round(many_ms, 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds first")
    parser.add_argument("--procs", type=int, default=2, help="load generator processes")
    parser.add_argument(
        "--open-fraction",
        type=float,
        default=0.5,
        help="the open-loop phase offers this fraction of the measured save throughput",
    )
    parser.add_argument(
        "--server",
        choices=("uvicorn", "granian"),
        default="uvicorn",
        help="ASGI server: uvicorn (quizsession serve) or granian on the same app",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=len(os.sched_getaffinity(0)),
        help="worker processes of the workers phase (0: skip it; default: one per CPU)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    if args.concurrency < args.procs or args.procs < 1 or args.duration <= 0:
        parser.error("need concurrency >= procs >= 1 and a positive duration")

    began = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="quizsession-bench-"))
    server = ServerProcess(workdir, env=SERVER_ENV, asgi_server=args.server)
    try:
        server.start()
        targets = asyncio.run(prepare_targets(server, args.concurrency))
        setup_s = time.monotonic() - began
        save = run_phase(server, "save", targets, args.procs, args.warmup, args.duration)
        bare = run_phase(server, "bare", targets, args.procs, args.warmup, args.duration)
        offered = save.rps * args.open_fraction
        opened = run_phase(
            server, "open", targets, args.procs, args.warmup, args.duration, rate=offered
        )
        on_disk = asyncio.run(saved_events(server, targets))
        server.terminate()
        workers = None
        if args.workers > 0:
            workers = workers_phase(workdir, args)
    except BaseException:
        print(server.log_text()[-3000:], file=sys.stderr)
        raise
    finally:
        server.terminate()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    total_s = time.monotonic() - began

    cores = os.cpu_count() or 1
    print(
        f"quizsession bench.saves: {args.concurrency} concurrent candidates over "
        f"{args.procs} generator processes, {args.duration:g} s per phase "
        f"(+{args.warmup:g} s warm-up), {cores} CPUs, loopback, SQLite group commit"
    )
    header = (
        f"{'phase':<6} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} "
        f"{'errors':>6} {'gen CPU':>8} {'server CPU':>10} {'machine busy':>12}"
    )
    print(header)
    print("-" * len(header))
    for p in (save, bare, opened):
        gen = p.generator_cpu_s / p.window_s * 100
        srv = p.server_cpu_s / p.window_s * 100
        print(
            f"{p.mode:<6} {p.rps:>9.1f} {p.p50_ms:>8.2f} {p.p99_ms:>8.2f} {p.mean_ms:>8.2f} "
            f"{p.errors:>6} {gen:>7.0f}% {srv:>9.0f}% {p.machine_busy_pct:>11.0f}%"
        )
    ratio_rps = save.rps / bare.rps if bare.rps else float("nan")
    ratio_p50 = save.p50_ms / bare.p50_ms if bare.p50_ms else float("nan")
    print(
        f"save/bare: throughput x{ratio_rps:.3f}, p50 latency x{ratio_p50:.1f}\n"
        f"gen CPU and server CPU are % of one core (the generator summed over its "
        f"{args.procs} processes); machine busy is % of all {cores} CPUs, any process.\n"
        f"load generator: {save.generator_cpu_s:.1f} CPU-s in the {save.window_s:g} s save "
        f"phase and {bare.generator_cpu_s:.1f} CPU-s in the bare phase "
        f"({save.generator_cpu_s / max(save.requests, 1) * 1e6:.0f} and "
        f"{bare.generator_cpu_s / max(bare.requests, 1) * 1e6:.0f} us per request)"
    )
    print(
        f"open loop: saves offered at {offered:.0f}/s ({args.open_fraction:g} x the save "
        f"throughput, fixed intervals, latency from each request's due instant): "
        f"p50 {opened.p50_ms:.2f} ms, p99 {opened.p99_ms:.2f} ms (target p99 <= 20 ms)"
    )
    print(
        f"answer_saved events in the store: {on_disk} (>= the {save.requests} saves measured: "
        f"each 200 was a new event; the rest ran in the warm-up and at the window's edges)"
    )
    if save.errors or bare.errors or opened.errors:
        print(
            f"non-2xx responses: save {save.statuses}, bare {bare.statuses}, open {opened.statuses}"
        )
    workers_row: dict[str, Any] = {}
    if workers is not None:
        workers_row = report_workers(args.workers, save, bare, workers)
    print(f"setup {setup_s:.1f} s, total {total_s:.1f} s")
    print(
        json.dumps(
            {
                "bench": "saves",
                "concurrency": args.concurrency,
                "generator_procs": args.procs,
                "duration_s": args.duration,
                "cpus": cores,
                "save": save.row(),
                "bare": bare.row(),
                "open": {**opened.row(), "offered_rps": round(offered, 1)},
                "ratio_save_bare_rps": round(ratio_rps, 4),
                "ratio_save_bare_p50": round(ratio_p50, 2),
                "answer_saved_events": on_disk,
                **workers_row,
                "total_s": round(total_s, 1),
            }
        )
    )
    failed = save.errors or bare.errors or opened.errors
    if workers is not None:
        failed = failed or workers.phase.errors or workers.on_disk < workers.phase.requests
    return 1 if failed or on_disk < save.requests + opened.requests else 0


if __name__ == "__main__":
    sys.exit(main())
