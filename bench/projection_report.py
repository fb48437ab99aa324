"""The report of ``bench.projection``: the CPU per operation of each component,
memory per socket, attempt and candidate, the projection table and the
deployments, and the JSON line's fields."""

from __future__ import annotations

import argparse
import os
from typing import Any

from bench.projection_measure import Measured, costs_of
from testsupport import capacity_model as model


def profile_of(args: argparse.Namespace) -> model.Profile:
    return model.Profile(
        candidates=args.candidates,
        save_every_s=args.save_every,
        heartbeat_s=args.heartbeat,
        sockets=not args.no_sockets,
        exam_s=args.exam,
        questions=args.questions,
        start_window_s=args.start_window,
        utilisation=args.utilisation,
    )


def report(m: Measured, args: argparse.Namespace, total_s: float) -> dict[str, Any]:
    cores = os.cpu_count() or 1
    bare = m.windows["bare"]
    print(
        f"quizsession bench.projection: one instance on PostgreSQL + Redis, {args.concurrency} "
        f"connections, {args.live} live candidates, {args.duration:g} s per operation, {cores} "
        f"CPUs shared by the generator, the instance and the servers (loopback)"
    )
    print(
        "idle background, CPU ms per second (taken off every window): "
        + ", ".join(f"{k} {v * 1000:.1f}" for k, v in m.idle_per_s.items())
    )
    header = (
        f"{'operation':<10} {'ops':>7} {'ops/s':>7} {'err':>4} {'instance ms':>11} "
        f"{'pg ms':>7} {'redis ms':>8} {'x bare':>7}"
    )
    print(header)
    print("-" * len(header))
    for op in ("bare", *model.OPS):
        w = m.windows[op]
        print(
            f"{op:<10} {w.count:>7} {w.rate:>7.0f} {w.errors:>4} {w.ms('instances'):>11.3f} "
            f"{w.ms('postgres'):>7.3f} {w.ms('redis'):>8.3f} "
            f"{w.ms('instances') / max(bare.ms('instances'), 1e-9):>7.2f}"
        )
    print(
        "ms: CPU milliseconds per operation of the instance's process, of PostgreSQL "
        "(postmaster and backends) and of redis-server; x bare: the instance's CPU per "
        "operation as a ratio to GET /healthz's in the same run; ping: the tick's CPU of "
        "the window taken off; /proc counts CPU in clock ticks (10 ms): each figure is "
        "within 10 ms / ops"
    )
    print(
        f"memory: {m.socket_bytes / model.KIB:.1f} KiB of instance RSS per live socket, "
        f"{m.attempt_bytes / model.KIB:.1f} KiB per cached attempt, "
        f"{m.redis_bytes:.0f} bytes of Redis per candidate"
    )
    costs = costs_of(m)
    profile = profile_of(args)
    beats = "live sockets: pings and ticks" if profile.sockets else "HTTP heartbeats, no sockets"
    print(
        f"\nprojection: save every {profile.save_every_s:g} s, heartbeat every "
        f"{profile.heartbeat_s:g} s ({beats}), "
        f"{profile.questions} question fetches and one login, start and submit per "
        f"{profile.exam_s:g} s exam, everyone starting within {profile.start_window_s:g} s; "
        f"each component planned at {profile.utilisation:.0%} of its cores"
    )
    for line in model.table_lines(profile, costs):
        print(line)
    # Ticks and pings are served from the cached attempt (no store read while the
    # live state is healthy): "as measured" already shows it. What remains a
    # what-if: the pong standing in for the tick of a socket that just pinged.
    variants = {
        "as measured": costs,
        "what if the pong were the tick": model.pong_as_tick(costs),
    }
    plans = {}
    for name, variant in variants.items():
        plan = model.deployment(profile, variant)
        plans[name] = plan
        print(f"\n{name}:")
        for line in model.deployment_lines(plan):
            print(line)
    print(f"total {total_s:.1f} s")
    return {
        "bench": "projection",
        "concurrency": args.concurrency,
        "live_candidates": args.live,
        "duration_s": args.duration,
        "cpus": cores,
        "idle_cpu_ms_per_s": {k: round(v * 1000, 2) for k, v in m.idle_per_s.items()},
        "ops": {
            op: {
                "count": w.count,
                "rate": round(w.rate, 1),
                "errors": w.errors,
                **{f"{c}_ms": round(w.ms(c), 4) for c in model.COMPONENTS},
            }
            for op, w in m.windows.items()
        },
        "ratio_save_bare_instance_cpu": round(
            m.windows["save"].ms("instances") / max(bare.ms("instances"), 1e-9), 3
        ),
        "socket_kib": round(m.socket_bytes / model.KIB, 2),
        "attempt_kib": round(m.attempt_bytes / model.KIB, 2),
        "redis_bytes_per_candidate": round(m.redis_bytes, 1),
        "profile": vars(profile),
        "table": {
            str(size): {
                "candidates": round(r.candidates),
                "bottleneck": r.bottleneck,
                "with_redis_cluster": round(r.without_redis_ceiling),
                "redis_shards": r.redis_shards,
            }
            for size in model.CORE_SIZES
            for r in [model.row(size, profile, costs)]
        },
        "deployments": {
            name: {
                "instances": d.instances,
                "postgres_cores": d.postgres_cores,
                "redis_shards": d.redis_shards,
                "instance_memory_mib": round(d.instance_memory_bytes / model.MIB),
                "redis_memory_gib": round(d.redis_memory_bytes / model.GIB, 2),
                "busy_cores": {k: round(v, 1) for k, v in d.busy.items()},
            }
            for name, d in plans.items()
        },
        "total_s": round(total_s, 1),
    }
