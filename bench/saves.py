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
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.saves_phases import (
    SERVER_ENV,
    Phase,
    WorkersRun,
    prepare_targets,
    run_phase,
    saved_events,
    workers_phase,
)
from testsupport.service import ServerProcess


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
