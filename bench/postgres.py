"""Save throughput and cost per save on PostgreSQL: one instance as a ratio to the
database's raw insert rate, and 2 and 4 instances (sticky and round robin) as
ratios to one.

Run from the project root::

    .venv/bin/python -m bench.postgres              # C = 64, 8 s per phase
    .venv/bin/python -m bench.postgres --quick      # 3 s per phase (about a minute)
    .venv/bin/python -m bench.postgres --concurrency 32 --duration 5

One run (127.0.0.1 only) starts its own PostgreSQL (fsync on,
``synchronous_commit=on``), Redis and four ``quizsession serve`` instances on that
database, then measures at the same concurrency C:

``raw``
    C tasks (over ``--procs`` generator processes, an asyncpg pool of C
    connections in all), each inserting one ~200-byte row per transaction into a
    plain table: the database's durable-commit rate, the ceiling;
``one``
    ``PUT /sessions/{id}/progress`` through one instance, with ``bench.saves``'s
    load generator (raw HTTP/1.1 keep-alive connections on uvloop, one request in
    flight each); every save a new event in the attempt's log, committed before
    the 2xx;
``N sticky`` (N = 2, 4)
    the same through N instances, each session's requests all to the instance
    ``crc32(session id) % N`` (what a balancer's hash of the session id does,
    deploy/nginx.conf);
``N round robin``
    the same, each generator connection sending its requests to the N
    instances in turn (no affinity: every save lands on an instance whose cache
    of the attempt is behind the log).

For each phase: saves/s and latency, then per acknowledged save the instances'
CPU (summed), PostgreSQL's CPU (postmaster and backends), PostgreSQL
transactions (``pg_stat_database`` xact_commit + xact_rollback, every client,
over the whole phase, divided by the answers it added to the log) and the appends
the optimistic lock refused; each as a ratio to one instance. CPU per save is the
figure to compare across machines; saves/s on a 2-CPU machine shared by the
generator, the instances and the database says little about N instances on N
machines. The instances not in a phase idle. Figures are not assertions: see
DESIGN.md, "Benchmarks are not tests".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.pg_phases import (
    Counters,
    PgServerProcess,
    counters,
    postgres_cpu,
    proc_cpu,
    run_raw,
    sql,
)
from bench.saves_load import Target
from bench.saves_phases import SERVER_ENV, Phase, prepare_targets, run_phase
from testsupport.postgres_server import PostgresServer, start_postgres
from testsupport.redis_server import RedisServer, start_redis

#: (label, instances, sticky) in the order they run.
PHASES: tuple[tuple[str, int, bool], ...] = (
    ("one", 1, False),
    ("2 sticky", 2, True),
    ("2 round robin", 2, False),
    ("4 sticky", 4, True),
    ("4 round robin", 4, False),
)
#: Backends report their counters to pg_stat_database at most about once a second.
STATS_DELAY_S = 1.2


@dataclass(frozen=True)
class Measured:
    label: str
    instances: int
    sticky: bool
    phase: Phase
    transactions: int  # over the whole phase (warm-up and tail included)
    saved: int  # answer_saved events the phase added to the log
    conflicts: float

    @property
    def app_ms(self) -> float:
        return self.phase.server_cpu_s / max(self.phase.requests, 1) * 1e3

    @property
    def pg_ms(self) -> float:
        return self.phase.extra_cpu_s["postgres"] / max(self.phase.requests, 1) * 1e3

    @property
    def xacts_per_save(self) -> float:
        return self.transactions / max(self.saved, 1)

    @property
    def conflicts_per_save(self) -> float:
        return self.conflicts / max(self.saved, 1)

    def row(self, one: Measured) -> dict[str, Any]:
        return {
            **self.phase.row(),
            "instances": self.instances,
            "routing": "sticky" if self.sticky else "round robin",
            "app_cpu_ms_per_save": round(self.app_ms, 4),
            "pg_cpu_ms_per_save": round(self.pg_ms, 4),
            "pg_transactions_per_save": round(self.xacts_per_save, 3),
            "conflicts_per_save": round(self.conflicts_per_save, 3),
            "answer_saved_events": self.saved,
            "ratio_rps_to_one": round(self.phase.rps / one.phase.rps, 4),
            "ratio_app_cpu_to_one": round(self.app_ms / one.app_ms, 3),
            "ratio_pg_cpu_to_one": round(self.pg_ms / one.pg_ms, 3),
        }


def measure(
    label: str,
    instances: list[PgServerProcess],
    sticky: bool,
    everyone: list[PgServerProcess],
    pg: PostgresServer,
    targets: list[Target],
    args: argparse.Namespace,
    cpus: dict[str, Callable[[], float]],
) -> Measured:
    before: Counters = counters(pg, everyone)
    phase = run_phase(
        instances,
        "save",
        targets,
        args.procs,
        args.warmup,
        args.duration,
        extra_cpu=cpus,
        sticky=sticky,
    )
    time.sleep(STATS_DELAY_S)
    after = counters(pg, everyone)
    return Measured(
        label,
        len(instances),
        sticky,
        phase,
        after.transactions - before.transactions,
        after.saved - before.saved,
        after.conflicts - before.conflicts,
    )


def report(
    args: argparse.Namespace,
    raw: Phase,
    runs: list[Measured],
    version: str,
    setting: str,
    setup_s: float,
    total_s: float,
) -> dict[str, Any]:
    one = runs[0]
    cores = os.cpu_count() or 1
    print(
        f"quizsession bench.postgres: concurrency {args.concurrency} over {args.procs} "
        f"generator processes, {args.duration:g} s per phase (+{args.warmup:g} s warm-up), "
        f"{cores} CPUs, loopback, PostgreSQL {version} (fsync on, synchronous_commit "
        f"{setting}), Redis live state"
    )
    header = (
        f"{'phase':<14} {'saves/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'err':>4} "
        f"{'app ms':>7} {'pg ms':>6} {'xact':>5} {'confl':>5} "
        f"{'app x1':>6} {'pg x1':>6} {'busy':>5}"
    )
    print(header)
    print("-" * len(header))
    raw_pg_ms = raw.extra_cpu_s["postgres"] / max(raw.requests, 1) * 1e3
    print(
        f"{'raw':<14} {raw.rps:>8.0f} {raw.p50_ms:>7.2f} {raw.p99_ms:>7.2f} {raw.errors:>4} "
        f"{'':>7} {raw_pg_ms:>6.3f} {1.0:>5.2f} {'':>5} {'':>6} {'':>6} "
        f"{raw.machine_busy_pct:>4.0f}%"
    )
    for m in runs:
        p = m.phase
        print(
            f"{m.label:<14} {p.rps:>8.0f} {p.p50_ms:>7.2f} {p.p99_ms:>7.2f} {p.errors:>4} "
            f"{m.app_ms:>7.3f} {m.pg_ms:>6.3f} {m.xacts_per_save:>5.2f} "
            f"{m.conflicts_per_save:>5.2f} {m.app_ms / one.app_ms:>6.2f} "
            f"{m.pg_ms / one.pg_ms:>6.2f} {p.machine_busy_pct:>4.0f}%"
        )
    save_raw = one.phase.rps / raw.rps if raw.rps else float("nan")
    print(
        "app ms / pg ms: CPU per acknowledged save of the instances (summed) and of "
        "PostgreSQL; xact: PostgreSQL transactions per save (whole phase, every "
        "client); confl: appends refused by the optimistic lock per save; x1: per-save "
        f"CPU as a ratio to one instance; busy: all {cores} CPUs, any process\n"
        f"one instance / raw: throughput x{save_raw:.3f} (raw: one INSERT per transaction, "
        f"asyncpg pool of {args.concurrency})\n"
        "targets (design): sticky x1.1 or less, round robin x1.5 or less, 1 transaction "
        "per save or less; one instance x0.5 of raw or more"
    )
    for m in runs:
        if m.phase.errors:
            print(f"non-2xx responses ({m.label}): {m.phase.statuses}")
    print(f"setup {setup_s:.1f} s, total {total_s:.1f} s")
    return {
        "bench": "postgres",
        "concurrency": args.concurrency,
        "generator_procs": args.procs,
        "duration_s": args.duration,
        "cpus": cores,
        "postgres": version,
        "raw": {**raw.row(), "pg_cpu_ms_per_insert": round(raw_pg_ms, 4)},
        "phases": {m.label: m.row(one) for m in runs},
        "ratio_save_raw_rps": round(save_raw, 4),
        "total_s": round(total_s, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per phase")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds first")
    parser.add_argument("--procs", type=int, default=2, help="load generator processes")
    parser.add_argument("--quick", action="store_true", help="3 s per phase")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration = min(args.duration, 3.0)
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
            sql(pg.dsn, "SHOW synchronous_commit", "SHOW server_version")
        )
        assert setting == "on", setting
        env = {
            **SERVER_ENV,
            "QUIZSESSION_REDIS_URL": redis.url,
            "QUIZSESSION_SECRET_KEY": secrets.token_urlsafe(48),
            "QUIZSESSION_API_KEYS": "admin=bench-" + secrets.token_hex(16),
        }
        most = max(n for _, n, _ in PHASES)
        servers = [
            PgServerProcess(workdir / f"instance-{i}", dsn=pg.dsn, env=env) for i in range(most)
        ]
        for server in servers:
            server.start()
        targets = asyncio.run(prepare_targets(servers[0], args.concurrency))
        setup_s = time.monotonic() - began

        raw = run_raw(pg, args.concurrency, args.procs, args.warmup, args.duration)
        pg_now, redis_pid = pg, redis.pid
        assert redis_pid is not None
        cpus = {"postgres": lambda: postgres_cpu(pg_now), "redis": lambda: proc_cpu(redis_pid)}
        runs = [
            measure(label, servers[:n], sticky, servers, pg, targets, args, cpus)
            for label, n, sticky in PHASES
        ]
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
    summary = report(args, raw, runs, version, setting, setup_s, time.monotonic() - began)
    print(json.dumps(summary))
    # Every acknowledged save is in the log (each phase added at least as many
    # answers as it measured 2xx responses).
    bad = any(m.phase.errors or m.saved < m.phase.requests for m in runs)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
