"""The load generator of ``bench.saves`` (and of ``bench.postgres``'s phases): what
each connection sends (``Target``), a generator process's job and result, and its
body: raw HTTP/1.1 keep-alive connections on uvloop, one request in flight per
connection, saves or the bare ``GET /healthz`` as fast as answered (closed loop)
or saves at fixed intervals (open loop). Runs in child processes started by
``bench.saves_phases.run_phase``."""

from __future__ import annotations

import asyncio
import collections
import time
import zlib
from array import array
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from bench.common import read_response, self_cpu_s

HOST = "127.0.0.1"


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
        status, _body = await read_response(self.reader)
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
        cpu_before.append(self_cpu_s())

    marker = loop.create_task(mark_cpu())
    if job.mode == "open":
        await open_loop()
    else:
        await asyncio.gather(
            *(run(i, c, t) for i, (c, t) in enumerate(zip(conns, job.targets, strict=True)))
        )
    cpu_after = self_cpu_s()
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


def worker_main(job: Job, out: Connection) -> None:
    run_worker(_drive, job, out)
