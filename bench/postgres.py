"""Save throughput on PostgreSQL, as a ratio to the same database's raw insert rate,
and two instances as a ratio to one.

Run from the project root::

    .venv/bin/python -m bench.postgres                  # C = 64, 8 s per phase
    .venv/bin/python -m bench.postgres --concurrency 32 --duration 5

One run (127.0.0.1 only, about a minute) starts its own PostgreSQL (fsync on,
``synchronous_commit=on``) and Redis, then measures at the same concurrency C:

(a) ``raw``: C tasks (over ``--procs`` generator processes, an asyncpg pool of
    C connections in all), each inserting one ~200-byte row per transaction
    into a plain table: the database's durable-commit rate, the ceiling;
(b) ``one``: ``PUT /sessions/{id}/progress`` through one ``quizsession serve``
    on that database (Redis live state), with ``bench.saves``'s load generator
    (raw HTTP/1.1 keep-alive connections on uvloop, one request in flight each);
(c) ``two``: the same through two instances, each generator connection sending
    its requests to the instances in turn (round robin, no sticky sessions).

Each save is a new event in the attempt's log, committed before the 2xx. Prints a
table, the ratios save/raw and two/one, and a final JSON line. Figures are not
assertions: see DESIGN.md, "Benchmarks are not tests".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import multiprocessing as mp
import os
import secrets
import shutil
import sys
import tempfile
import time
from array import array
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from bench.saves import (
    SERVER_ENV,
    Phase,
    WorkerResult,
    _cpu_self,
    _machine_ticks,
    aggregate,
    prepare_targets,
    run_phase,
    saved_events,
)
from testsupport.postgres_server import PostgresServer, start_postgres
from testsupport.redis_server import RedisServer, start_redis
from testsupport.service import ServerProcess

RAW_CREATE = (
    "CREATE TABLE bench_raw (id bigserial PRIMARY KEY, worker int NOT NULL, "
    "payload text NOT NULL, at timestamptz NOT NULL DEFAULT now())"
)
RAW_INSERT = "INSERT INTO bench_raw (worker, payload) VALUES ($1, $2)"
XACTS = (
    "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
)
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
            cpu_before.append(_cpu_self())

        marker = asyncio.get_running_loop().create_task(mark_cpu())
        await asyncio.gather(*(run() for _ in range(job.tasks)))
        cpu_after = _cpu_self()
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
    import uvloop

    try:
        result = uvloop.run(_raw_drive(job))
    except Exception as exc:
        result = WorkerResult(0, 0, {}, b"", 0.0, job.duration_s, failure=repr(exc))
    out.send(result)
    out.close()


# -- the parent ---------------------------------------------------------------------------


def _proc_cpu(pid: int) -> float:
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
    return _proc_cpu(pid) + sum(_proc_cpu(kid) for kid in _children(pid))


async def _sql(dsn: str, *statements: str) -> list[str]:
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
        _sql(
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
    busy0, total0 = _machine_ticks()
    time.sleep(max(0.0, start_at + warmup_s + duration_s - time.time()))
    db1 = postgres_cpu(pg)
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
        raise RuntimeError(f"raw generator failed: {failures}")
    busy = 100.0 * (busy1 - busy0) / max(1, total1 - total0)
    phase = aggregate("raw", results, duration_s, 0.0, busy)
    return dataclasses.replace(phase, extra_cpu_s={"postgres": db1 - db0, "redis": 0.0})


def _row(p: Phase) -> dict[str, object]:
    return {
        **p.row(),
        "postgres_cpu_s": round(p.extra_cpu_s["postgres"], 2),
        "redis_cpu_s": round(p.extra_cpu_s["redis"], 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per phase")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds first")
    parser.add_argument("--procs", type=int, default=2, help="load generator processes")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    if args.concurrency < args.procs or args.procs < 1 or args.duration <= 0:
        parser.error("need concurrency >= procs >= 1 and a positive duration")

    began = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="quizsession-bench-pg-"))
    pg: PostgresServer | None = None
    redis: RedisServer | None = None
    servers: list[PgServerProcess] = []
    try:
        (workdir / "pg").mkdir()
        pg = start_postgres(workdir / "pg")
        redis = start_redis(workdir / "redis")
        setting, version = asyncio.run(
            _sql(pg.dsn, "SHOW synchronous_commit", "SHOW server_version")
        )
        assert setting == "on", setting
        env = {
            **SERVER_ENV,
            "QUIZSESSION_REDIS_URL": redis.url,
            "QUIZSESSION_SECRET_KEY": secrets.token_urlsafe(48),
            "QUIZSESSION_API_KEYS": "admin=bench-" + secrets.token_hex(16),
        }
        servers = [
            PgServerProcess(workdir / f"instance-{i}", dsn=pg.dsn, env=env) for i in range(2)
        ]
        setup_s = time.monotonic() - began

        raw = run_raw(pg, args.concurrency, args.procs, args.warmup, args.duration)

        servers[0].start()
        targets = asyncio.run(prepare_targets(servers[0], args.concurrency))
        [xacts_before] = asyncio.run(_sql(pg.dsn, XACTS))

        pg_now, redis_pid = pg, redis.pid
        assert redis_pid is not None
        cpus = {"postgres": lambda: postgres_cpu(pg_now), "redis": lambda: _proc_cpu(redis_pid)}
        one = run_phase(
            servers[0], "save", targets, args.procs, args.warmup, args.duration, extra_cpu=cpus
        )
        servers[1].start()
        two = run_phase(
            servers, "save", targets, args.procs, args.warmup, args.duration, extra_cpu=cpus
        )
        time.sleep(1.0)  # backends report their counters at most about once a second
        [xacts_after] = asyncio.run(_sql(pg.dsn, XACTS))
        on_disk = asyncio.run(saved_events(servers[0], targets))
    except BaseException:
        for s in servers:
            print(s.log_text()[-3000:], file=sys.stderr)
        raise
    finally:
        for s in servers:
            s.terminate()
        if redis is not None:
            redis.destroy()
        if pg is not None:
            pg.destroy()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    total_s = time.monotonic() - began

    cores = os.cpu_count() or 1
    print(
        f"quizsession bench.postgres: concurrency {args.concurrency} over {args.procs} "
        f"generator processes, {args.duration:g} s per phase (+{args.warmup:g} s warm-up), "
        f"{cores} CPUs, loopback, PostgreSQL {version} (fsync on, synchronous_commit "
        f"{setting}), Redis live state"
    )
    header = (
        f"{'phase':<5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'errors':>6} "
        f"{'gen CPU':>8} {'app CPU':>8} {'pg CPU':>7} {'redis CPU':>9} {'machine busy':>12}"
    )
    print(header)
    print("-" * len(header))
    for label, p in (("raw", raw), ("one", one), ("two", two)):
        print(
            f"{label:<5} {p.rps:>9.1f} {p.p50_ms:>8.2f} {p.p99_ms:>8.2f} {p.mean_ms:>8.2f} "
            f"{p.errors:>6} {p.generator_cpu_s / p.window_s * 100:>7.0f}% "
            f"{p.server_cpu_s / p.window_s * 100:>7.0f}% "
            f"{p.extra_cpu_s['postgres'] / p.window_s * 100:>6.0f}% "
            f"{p.extra_cpu_s['redis'] / p.window_s * 100:>8.0f}% {p.machine_busy_pct:>11.0f}%"
        )
    save_raw = one.rps / raw.rps if raw.rps else float("nan")
    two_one = two.rps / one.rps if one.rps else float("nan")
    print(
        f"raw: one INSERT per transaction (asyncpg, pool of {args.concurrency}); one/two: "
        f"PUT /progress through 1 or 2 instances (each with an asyncpg pool of at most 20)\n"
        f"save/raw: throughput x{save_raw:.3f} (p50 x{one.p50_ms / raw.p50_ms:.1f}); "
        f"two/one: throughput x{two_one:.3f} (p50 x{two.p50_ms / one.p50_ms:.2f})\n"
        f"CPU columns are % of one core: generator summed over its processes, app = the "
        f"quizsession instance(s), pg = postgres and its backends; machine busy is % of all "
        f"{cores} CPUs, any process\n"
        f"CPU per request (ms): "
        + ", ".join(
            f"{label} app {p.server_cpu_s / max(p.requests, 1) * 1e3:.2f} "
            f"pg {p.extra_cpu_s['postgres'] / max(p.requests, 1) * 1e3:.2f} "
            f"redis {p.extra_cpu_s['redis'] / max(p.requests, 1) * 1e3:.2f}"
            for label, p in (("raw", raw), ("one", one), ("two", two))
        )
    )
    per_save = (int(xacts_after) - int(xacts_before)) / max(on_disk, 1)
    print(
        f"answer_saved events in the store: {on_disk} (>= the {one.requests + two.requests} "
        f"saves measured); PostgreSQL transactions per save, reads included: ~{per_save:.1f} "
        f"(raw: 1)"
    )
    for label, p in (("one", one), ("two", two)):
        if p.errors:
            print(f"non-2xx responses ({label}): {p.statuses}")
    print(f"setup {setup_s:.1f} s, total {total_s:.1f} s")
    print(
        json.dumps(
            {
                "bench": "postgres",
                "concurrency": args.concurrency,
                "generator_procs": args.procs,
                "duration_s": args.duration,
                "cpus": cores,
                "postgres": version,
                "raw": _row(raw),
                "one": _row(one),
                "two": _row(two),
                "ratio_save_raw_rps": round(save_raw, 4),
                "ratio_two_one_rps": round(two_one, 4),
                "answer_saved_events": on_disk,
                "pg_transactions_per_save": round(per_save, 2),
                "total_s": round(total_s, 1),
            }
        )
    )
    bad = one.errors or two.errors or on_disk < one.requests + two.requests
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
