"""The parts of ``bench.postgres`` that are not its report: the raw-insert phase
(the database's durable-commit rate, the ceiling), ``quizsession serve`` on a
PostgreSQL database, and the counters read around each phase (PostgreSQL's CPU
and transactions, the answers in the log, the instances' conflicts)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import multiprocessing as mp
import os
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import httpx

from bench.common import machine_ticks, self_cpu_s
from bench.saves_load import WorkerResult, run_worker
from bench.saves_phases import Phase, aggregate, collect_results
from testsupport.postgres_server import PostgresServer
from testsupport.service import ServerProcess

RAW_CREATE = (
    "CREATE TABLE bench_raw (id bigserial PRIMARY KEY, worker int NOT NULL, "
    "payload text NOT NULL, at timestamptz NOT NULL DEFAULT now())"
)
RAW_INSERT = "INSERT INTO bench_raw (worker, payload) VALUES ($1, $2)"
XACTS = (
    "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
)
SAVED = "SELECT count(*) FROM events WHERE type = 'answer_saved'"
RAW_PAYLOAD = json.dumps(
    {"type": "answer_saved", "question_id": "capital-au", "answer": "canberra", "op_id": "x" * 40}
    | {"pad": "p" * 80}
)


class PgServerProcess(ServerProcess):
    """``quizsession serve`` on a PostgreSQL database instead of a SQLite file."""

    def __init__(self, workdir: Path, *, dsn: str, env: dict[str, str]) -> None:
        super().__init__(workdir, env=env)
        self.dsn = dsn

    @property
    def store_url(self) -> str:
        return self.dsn


# -- (a) raw inserts (runs in child processes) -------------------------------------------


@dataclass(frozen=True)
class RawJob:
    worker: int
    dsn: str
    tasks: int
    start_at: float
    warmup_s: float
    duration_s: float


async def _raw_drive(job: RawJob) -> WorkerResult:
    import asyncpg

    pool = await asyncpg.create_pool(
        job.dsn,
        min_size=job.tasks,
        max_size=job.tasks,
        server_settings={"synchronous_commit": "on", "application_name": "bench-raw"},
    )
    latencies = array("d")
    statuses: dict[int, int] = {}
    begin = time.perf_counter() + (job.start_at - time.time())
    measure_from = begin + job.warmup_s
    measure_to = measure_from + job.duration_s
    cpu_before: list[float] = []
    try:
        await asyncio.sleep(max(0.0, job.start_at - time.time()))

        async def run() -> None:
            clock = time.perf_counter
            async with pool.acquire() as conn:
                while True:
                    t0 = clock()
                    if t0 >= measure_to:
                        return
                    # One statement outside a transaction block: its own
                    # transaction, committed (WAL flushed) before it returns.
                    await conn.execute(RAW_INSERT, job.worker, RAW_PAYLOAD)
                    t1 = clock()
                    if measure_from <= t1 <= measure_to:
                        latencies.append(t1 - t0)
                        statuses[200] = statuses.get(200, 0) + 1

        async def mark_cpu() -> None:
            await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
            cpu_before.append(self_cpu_s())

        marker = asyncio.get_running_loop().create_task(mark_cpu())
        await asyncio.gather(*(run() for _ in range(job.tasks)))
        cpu_after = self_cpu_s()
        await marker
    finally:
        await pool.close()
    return WorkerResult(
        requests=len(latencies),
        errors=0,
        statuses=statuses,
        latencies=latencies.tobytes(),
        cpu_s=cpu_after - cpu_before[0],
        window_s=job.duration_s,
    )


def _raw_worker_main(job: RawJob, out: Connection) -> None:
    run_worker(_raw_drive, job, out)


# -- the parent ---------------------------------------------------------------------------


def proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            kids.extend(int(p) for p in task.read_text().split())
    return kids


def postgres_cpu(pg: PostgresServer) -> float:
    """CPU seconds of the postmaster and its live children (backends, WAL writer,
    checkpointer...)."""
    pid = pg.pid
    if pid is None:
        return 0.0
    return proc_cpu(pid) + sum(proc_cpu(kid) for kid in _children(pid))


async def sql(dsn: str, *statements: str) -> list[str]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        return [str(await conn.fetchval(s)) for s in statements]
    finally:
        await conn.close()


def run_raw(
    pg: PostgresServer, concurrency: int, procs: int, warmup_s: float, duration_s: float
) -> Phase:
    asyncio.run(
        sql(
            pg.dsn,
            "DROP TABLE IF EXISTS bench_raw",
            RAW_CREATE,
        )
    )
    ctx = mp.get_context("spawn")
    start_at = time.time() + 2.0  # time for the workers to start and fill their pools
    workers = []
    for w in range(procs):
        parent, child = ctx.Pipe(duplex=False)
        share = concurrency // procs + (1 if w < concurrency % procs else 0)
        job = RawJob(w, pg.dsn, share, start_at, warmup_s, duration_s)
        proc = ctx.Process(target=_raw_worker_main, args=(job, child), name=f"bench-raw-{w}")
        proc.start()
        child.close()
        workers.append((proc, parent))
    time.sleep(max(0.0, start_at + warmup_s - time.time()))
    db0 = postgres_cpu(pg)
    busy0, total0 = machine_ticks()
    time.sleep(max(0.0, start_at + warmup_s + duration_s - time.time()))
    db1 = postgres_cpu(pg)
    busy1, total1 = machine_ticks()
    results = collect_results(workers, duration_s + warmup_s + 30)
    busy = 100.0 * (busy1 - busy0) / max(1, total1 - total0)
    phase = aggregate("raw", results, duration_s, 0.0, busy)
    return dataclasses.replace(phase, extra_cpu_s={"postgres": db1 - db0, "redis": 0.0})


@dataclass(frozen=True)
class Counters:
    """What the database and the instances have counted so far."""

    transactions: int  # committed + rolled back, every client's
    saved: int  # answer_saved events in the log
    conflicts: float  # appends refused by the optimistic lock, all instances


def counters(pg: PostgresServer, servers: Sequence[ServerProcess]) -> Counters:
    """Read after the backends have reported (about once a second: wait first)."""
    xacts, saved = asyncio.run(sql(pg.dsn, XACTS, SAVED))
    return Counters(int(xacts), int(saved), sum(_conflicts(s) for s in servers))


def _conflicts(server: ServerProcess) -> float:
    if not server.running:
        return 0.0
    r = httpx.get(server.url + "/metrics", headers=server.admin_headers, timeout=10.0)
    r.raise_for_status()
    total = 0.0
    for line in r.text.splitlines():
        if line.startswith("quizsession_conflicts_total"):
            total += float(line.split()[-1])
    return total
