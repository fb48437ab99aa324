"""Start spike: thousands of candidates log in within seconds, open loop, as a ratio
to ``GET /healthz`` at the same arrival schedule.

Run from the project root::

    .venv/bin/python -m bench.spike            # 5,000 logins within 10 s
    .venv/bin/python -m bench.spike --quick    # 1,000 logins within 5 s

One real ``quizsession serve`` on a fresh SQLite file; a quiz and one invite per
candidate (admin API). Each phase sends one request per candidate at a
scheduled instant (evenly spaced over ``--window`` seconds, in ``--procs``
generator processes), each on a new connection as separate browsers would,
and times it from its *scheduled* instant to the end of its response: a late
generator or a backlog shows up as latency instead of hiding it (open loop).
Phases: *bare* (``GET /healthz``) first, then *login* (``POST /sessions``
``{invite_token}``: find the invite, create the attempt, take the lease, append
and fsync, issue a token). How late the generators sent (``send lag``) is
reported too.

Every login must answer 201 and the store must then hold one attempt per
candidate (else exit 1). Target (reported): login p99 within 500 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
from array import array
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench.common import (
    JSON,
    LIMITS_ENV,
    HttpConn,
    artifacts_dir,
    finish_profile,
    http_request,
    invite_roster,
    json_line,
    load_average,
    machine_ticks,
    print_profile,
    print_table,
    proc_cpu_s,
    raise_nofile,
    ratio,
    read_response,
    self_cpu_s,
    start_profile,
    summary_ms,
    verdict,
)
from testsupport.scenario import quiz_definition
from testsupport.service import ServerProcess

QUIZ_ID = "bench-spike"
TARGET_P99_MS = 500.0
REQUEST_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Job:
    port: int
    mode: str  # "bare" | "login"
    slots: tuple[int, ...]  # arrival numbers (0..n-1) this process sends
    tokens: tuple[str, ...]  # invite token of each slot (login)
    start_at: float  # wall clock of arrival 0
    spacing_s: float


@dataclass(frozen=True)
class Result:
    latencies: bytes  # array('d'), seconds from the scheduled instant
    lags: bytes  # array('d'), seconds the request was sent after its instant
    statuses: dict[int, int]
    samples: list[str]  # a few bodies of unexpected answers
    cpu_s: float
    failure: str = ""


async def _drive(job: Job) -> Result:
    port = job.port
    latencies = array("d")
    lags = array("d")
    statuses: dict[int, int] = {}
    samples: list[str] = []
    # perf_counter of arrival 0, from the shared wall-clock start
    base = time.perf_counter() + (job.start_at - time.time())
    bare = http_request("GET", "/healthz", port, close=True)

    async def one(slot: int, token: str, due: float) -> None:
        clock = time.perf_counter
        lags.append(clock() - due)
        if job.mode == "bare":
            data = bare
        else:
            body = json.dumps({"invite_token": token}).encode()
            data = http_request("POST", "/sessions", port, body, close=True)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(data)
                status, payload = await asyncio.wait_for(read_response(reader), REQUEST_TIMEOUT_S)
            finally:
                writer.close()
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            status, payload = 0, repr(exc).encode()
        latencies.append(clock() - due)
        statuses[status] = statuses.get(status, 0) + 1
        expected = 200 if job.mode == "bare" else 201
        if status != expected and len(samples) < 5:
            samples.append(f"slot {slot}: {status} {payload[:200]!r}")

    cpu0 = self_cpu_s()
    tasks = []
    for slot, token in zip(job.slots, job.tokens, strict=True):
        due = base + slot * job.spacing_s
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(slot, token, due)))
    await asyncio.gather(*tasks)
    return Result(latencies.tobytes(), lags.tobytes(), statuses, samples, self_cpu_s() - cpu0)


def _worker_main(job: Job, out: Connection) -> None:
    import uvloop

    from bench.common import raise_nofile as _raise

    _raise()
    try:
        result = uvloop.run(_drive(job))
    except Exception as exc:
        result = Result(b"", b"", {}, [], 0.0, failure=repr(exc))
    out.send(result)
    out.close()


def run_phase(
    server: ServerProcess,
    mode: str,
    tokens: list[str],
    window_s: float,
    procs: int,
    profile_to: Path | None = None,
) -> JSON:
    assert server.pid is not None
    n = len(tokens)
    spacing = window_s / n
    ctx = mp.get_context("spawn")
    start_at = time.time() + 2.0  # time for the generators to start
    workers = []
    for w in range(procs):
        slots = tuple(range(w, n, procs))
        job = Job(server.port, mode, slots, tuple(tokens[s] for s in slots), start_at, spacing)
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_worker_main, args=(job, child), name=f"spike-{mode}-{w}")
        proc.start()
        child.close()
        workers.append((proc, parent))
    time.sleep(max(0.0, start_at - time.time()))
    spy = start_profile(server.pid, window_s + 1, profile_to) if profile_to else None
    cpu0, ticks0 = proc_cpu_s(server.pid), machine_ticks()
    results: list[Result] = []
    for proc, pipe in workers:
        if not pipe.poll(window_s + REQUEST_TIMEOUT_S + 30):
            proc.kill()
            raise RuntimeError(f"generator {proc.name} did not report")
        results.append(pipe.recv())
        proc.join(10)
    elapsed = time.time() - start_at
    cpu1, ticks1 = proc_cpu_s(server.pid), machine_ticks()
    failures = [r.failure for r in results if r.failure]
    if failures:
        raise RuntimeError(f"generator failed: {failures}")
    latencies: list[float] = []
    lags: list[float] = []
    statuses: dict[int, int] = {}
    for r in results:
        a = array("d")
        a.frombytes(r.latencies)
        latencies.extend(a)
        b = array("d")
        b.frombytes(r.lags)
        lags.extend(b)
        for k, v in r.statuses.items():
            statuses[k] = statuses.get(k, 0) + v
    phase: JSON = {
        "mode": mode,
        "requests": len(latencies),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "latency": summary_ms(latencies),
        "send_lag": summary_ms(lags),
        "elapsed_s": round(elapsed, 2),
        "server_cpu_s": round(cpu1 - cpu0, 2),
        "generator_cpu_s": round(sum(r.cpu_s for r in results), 2),
        "machine_busy_pct": round(100 * (ticks1[0] - ticks0[0]) / max(1, ticks1[1] - ticks0[1]), 1),
        "samples": [s for r in results for s in r.samples][:5],
    }
    if profile_to is not None:
        phase["profile"] = finish_profile(spy, profile_to)
    return phase


async def _setup(server: ServerProcess, count: int) -> list[str]:
    conn = HttpConn(server.port)
    try:
        await conn.json(
            "PUT", f"/admin/quizzes/{QUIZ_ID}", quiz_definition(QUIZ_ID), server.admin_headers
        )
        return await invite_roster(conn, server, QUIZ_ID, count, "s")
    finally:
        conn.close()


async def _attempts_in_store(server: ServerProcess) -> int:
    conn = HttpConn(server.port)
    try:
        total = 0
        while True:
            page = await conn.json(
                "GET",
                f"/admin/attempts?quiz_id={QUIZ_ID}&limit=1000&offset={total}",
                None,
                server.admin_headers,
            )
            total += len(page["attempts"])
            if len(page["attempts"]) < 1000:
                return total
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="1,000 logins within 5 s")
    parser.add_argument("--candidates", type=int)
    parser.add_argument("--window", type=float, help="seconds over which they arrive")
    parser.add_argument("--procs", type=int, default=2, help="generator processes")
    parser.add_argument("--profile", action="store_true", help="py-spy the server in the spike")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    count = args.candidates or (1_000 if args.quick else 5_000)
    window = args.window or (5.0 if args.quick else 10.0)
    raise_nofile()
    load0 = load_average()
    began = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="quizsession-spike-"))
    server = ServerProcess(workdir, env=LIMITS_ENV)
    profile_to = artifacts_dir() / "spike-login.pyspy.txt" if args.profile else None
    try:
        server.start()
        tokens = asyncio.run(_setup(server, count))
        bare = run_phase(server, "bare", tokens, window, args.procs)
        login = run_phase(server, "login", tokens, window, args.procs, profile_to)
        stored = asyncio.run(_attempts_in_store(server))
    except BaseException:
        print(server.log_text()[-3000:], file=sys.stderr)
        raise
    finally:
        server.terminate()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    total_s = time.monotonic() - began

    ok = login["statuses"].get("201", 0)
    print(
        f"quizsession bench.spike: {count} arrivals evenly over {window:g} s "
        f"({count / window:.0f}/s), open loop, a new connection each, {args.procs} generator "
        f"processes; {os.cpu_count()} CPUs, load average {load0:.1f}"
    )
    rows: list[list[Any]] = []
    for p in (bare, login):
        lat, lag = p["latency"], p["send_lag"]
        rows.append(
            [
                p["mode"],
                p["requests"],
                " ".join(f"{k}:{v}" for k, v in p["statuses"].items()),
                lat["p50_ms"],
                lat["p90_ms"],
                lat["p99_ms"],
                lat["max_ms"],
                lag["p99_ms"],
                p["elapsed_s"],
                p["server_cpu_s"],
                p["generator_cpu_s"],
                p["machine_busy_pct"],
            ]
        )
    print_table(
        [
            "phase",
            "n",
            "statuses",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "lag p99",
            "elapsed s",
            "srv CPU s",
            "gen CPU s",
            "busy %",
        ],
        rows,
    )
    p50_ratio = ratio(login["latency"]["p50_ms"], bare["latency"]["p50_ms"])
    p99_ratio = ratio(login["latency"]["p99_ms"], bare["latency"]["p99_ms"])
    met = login["latency"]["p99_ms"] <= TARGET_P99_MS
    print(
        f"login/bare: p50 x{p50_ratio}, p99 x{p99_ratio}; latencies from the scheduled "
        f"instant; lag = how late the generator sent\n"
        f"logins 201: {ok}/{count}; attempts in the store: {stored}\n"
        f"target login p99 <= {TARGET_P99_MS:g} ms: {verdict(met)} "
        f"({login['latency']['p99_ms']:.1f} ms); total {total_s:.0f} s"
    )
    for sample in login["samples"] + bare["samples"]:
        print(f"ERROR {sample}")
    if "profile" in login and profile_to is not None:
        print_profile(login["profile"], profile_to)
    failed = ok != count or stored != count or bare["statuses"].get("200", 0) != count
    print(
        json_line(
            {
                "bench": "spike",
                "quick": args.quick,
                "candidates": count,
                "window_s": window,
                "cpus": os.cpu_count(),
                "load_average": load0,
                "bare": bare,
                "login": login,
                "ratio_login_bare_p50": p50_ratio,
                "ratio_login_bare_p99": p99_ratio,
                "attempts_in_store": stored,
                "target_met": met,
                "failed": failed,
                "total_s": round(total_s, 1),
            }
        )
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
