"""Many live candidates on one server: WebSocket ticks and ping round trips, as a
ratio to the same ping on the idle server with one connection.

Run from the project root::

    .venv/bin/python -m bench.live            # 10,000 sockets for 120 s
    .venv/bin/python -m bench.live --quick    # 2,000 sockets for 20 s
    .venv/bin/python -m bench.live --quick --live redis   # the same on Redis

With ``--live redis`` the server's live state is Redis (behind its circuit
breaker, as a multi-instance deployment has it): a ``redis-server`` of the
bench's own is started on loopback (as the tests start theirs) and removed
afterwards; every socket then subscribes to its attempt's notices through Redis.

One real ``quizsession serve`` (one process) on a fresh SQLite file; a quiz and
one invite per candidate (admin API, one roster per 10,000). ``--procs``
generator processes (``bench.live_client``, the ``websockets`` asyncio client on
uvloop) each log their candidates in (``POST /sessions`` with the invite; with
``--in-test`` also start the test and fetch the first question, so pings carry
the question on screen), then, once all are logged in, open
``WS /sessions/{id}/live`` for each, authenticate in the first message and wait
for ``welcome``. Every socket then pings (``{type: ping, question_id, sent_at}``)
every ``--ping`` seconds from a random phase, and the server ticks each one
every heartbeat (5 s).

The two phases have their own budgets: logins are a write each (the store's
throughput, measured by ``bench.saves`` and ``bench.spike``), the sockets are
what this bench is about. Candidates not logged in within ``--login-budget``
seconds, or whose socket is not open within ``--connect-budget`` seconds of the
logins' end, are counted as not connected (a capacity figure) and the run goes
on with the others. The kernel's listen-queue drops during the connect phase
are reported. Measured over ``--duration``
seconds once every socket is up (after 1 s, or one ping period ``--in-test``):
dropped sockets (the server closed or lost one), ping -> pong round trips, tick
delivery (receipt - the tick's ``server_time``) and the gaps between a socket's
ticks, the server's RSS (``VmRSS`` sampled each second, ``VmHWM``) and CPU,
each generator's event-loop lag. *Baseline*, first, on the same server: one
socket pinging every 0.1 s for a few seconds.

Targets (reported): no drops (nor sockets left unopened), ping p99 within 50 ms,
RSS within 1 GiB. Exits 1 on a correctness failure only: a login or handshake
refused, a pong echoing a ping never sent, an unexpected message.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
from array import array
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench.common import (
    JSON,
    LIMITS_ENV,
    HttpConn,
    artifacts_dir,
    finish_profile,
    json_line,
    load_average,
    machine_ticks,
    print_profile,
    print_table,
    proc_cpu_s,
    proc_memory_mib,
    raise_nofile,
    ratio,
    start_profile,
    summary_ms,
    verdict,
)
from bench.live_client import LiveJob, Report, worker_main
from testsupport.redis_server import RedisServer, start_redis
from testsupport.scenario import quiz_definition
from testsupport.service import ServerProcess

QUIZ_ID = "bench-live"
TARGET_P99_MS = 50.0
TARGET_RSS_MIB = 1024.0
STAGE_TIMEOUT_S = float(os.environ.get("BENCH_LIVE_STAGE_TIMEOUT_S", "180"))


class Workers:
    """Generator processes driven stage by stage over pipes."""

    def __init__(self, port: int, shares: list[list[str]], **job: Any) -> None:
        ctx = mp.get_context("spawn")
        self.procs: list[tuple[Any, Connection]] = []
        for w, tokens in enumerate(shares):
            parent, child = ctx.Pipe()
            spec = LiveJob(worker=w, port=port, tokens=tuple(tokens), seed=w, **job)
            proc = ctx.Process(
                target=worker_main, args=(spec, child), name=f"live-{w}", daemon=True
            )
            proc.start()
            child.close()
            self.procs.append((proc, parent))

    def stage(self, *command: object, timeout: float = STAGE_TIMEOUT_S) -> list[tuple[Any, ...]]:
        for _, pipe in self.procs:
            pipe.send(command)
        until = time.monotonic() + timeout
        return [self.answer(proc, pipe, until) for proc, pipe in self.procs]

    @staticmethod
    def answer(proc: Any, pipe: Connection, until: float) -> tuple[Any, ...]:
        if not pipe.poll(max(0.0, until - time.monotonic())):
            raise RuntimeError(f"generator {proc.name} did not answer in time")
        answer: tuple[Any, ...] = pipe.recv()
        if answer[0] == "failed":
            raise RuntimeError(f"generator {proc.name} failed: {answer[1]}")
        return answer

    def close(self) -> None:
        for _, pipe in self.procs:
            with contextlib.suppress(OSError):
                pipe.send(("stop",))
        until = time.monotonic() + 10
        for proc, _ in self.procs:
            proc.join(max(0.1, until - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join(5)


async def _setup(server: ServerProcess, count: int) -> list[str]:
    conn = HttpConn(server.port)
    try:
        definition = quiz_definition(QUIZ_ID, duration_s=3 * 3600.0)
        await conn.json("PUT", f"/admin/quizzes/{QUIZ_ID}", definition, server.admin_headers)
        tokens: list[str] = []
        for begin in range(0, count, 10_000):  # the roster limit of one call
            roster = [
                {"name": f"l{i}", "email": f"l{i}@example.org", "valid_until": "2099-01-01"}
                for i in range(begin, min(count, begin + 10_000))
            ]
            body = await conn.json(
                "POST",
                f"/admin/quizzes/{QUIZ_ID}/invites",
                {"roster": roster},
                server.admin_headers,
                expect=201,
            )
            tokens.extend(item["token"] for item in body["invites"])
        return tokens
    finally:
        conn.close()


def _floats(reports: list[Report], name: str) -> list[float]:
    out: list[float] = []
    for r in reports:
        values = array("d")
        values.frombytes(getattr(r, name))
        out.extend(values)
    return out


def _joined(joined: list[JSON], name: str) -> list[float]:
    out: list[float] = []
    for j in joined:
        values = array("d")
        values.frombytes(j[name])
        out.extend(values)
    return out


def listen_drops() -> int:
    """The kernel's count of connections dropped at a full listen queue
    (``TcpExt ListenOverflows`` + ``ListenDrops``, whole machine), or -1."""
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return -1
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            table = dict(zip(names.split()[1:], values.split()[1:], strict=False))
            return int(table.get("ListenOverflows", 0)) + int(table.get("ListenDrops", 0))
    return -1


def _run(
    server: ServerProcess,
    tokens: list[str],
    procs: int,
    duration: float,
    warmup: float,
    opts: dict[str, Any],
    *,
    sample_rss: bool,
    login_budget: float,
    connect_budget: float,
    profile_to: Path | None = None,
) -> JSON:
    """One measured run: log in, connect, warm up, measure, drop the sockets."""
    assert server.pid is not None
    workers = Workers(server.port, [tokens[w::procs] for w in range(procs)], **opts)
    errors: list[str] = []
    try:
        t, cpu_before = time.perf_counter(), proc_cpu_s(server.pid)
        logged = [a[1] for a in workers.stage("login", login_budget, timeout=login_budget + 30)]
        login_s = time.perf_counter() - t
        login_server_cpu = proc_cpu_s(server.pid) - cpu_before
        errors += [e for j in logged for e in j["errors"]]
        rss_logged_in, _ = proc_memory_mib(server.pid)
        join_spy = None
        join_profile_to = None
        if profile_to is not None:
            join_profile_to = profile_to.with_name(profile_to.name.replace(".", "-join.", 1))
            join_spy = start_profile(server.pid, min(15.0, connect_budget), join_profile_to)
        drops_before = listen_drops()
        t, cpu_before = time.perf_counter(), proc_cpu_s(server.pid)
        joined = [
            a[1] for a in workers.stage("connect", connect_budget, timeout=connect_budget + 30)
        ]
        join_s = time.perf_counter() - t
        join_server_cpu = proc_cpu_s(server.pid) - cpu_before
        listen_dropped = listen_drops() - drops_before if drops_before >= 0 else -1
        errors += [e for j in joined for e in j["errors"]]
        rss_begin, _ = proc_memory_mib(server.pid)
        t0 = time.time() + warmup
        t1 = t0 + duration
        for _, pipe in workers.procs:
            pipe.send(("run", t0, t1))
        time.sleep(max(0.0, t0 - time.time()))
        cpu0, ticks0 = proc_cpu_s(server.pid), machine_ticks()
        spy = None
        if profile_to is not None:
            spy = start_profile(server.pid, min(10.0, duration), profile_to)
        rss_samples = [rss_begin]
        while time.time() < t1:
            time.sleep(min(1.0, max(0.0, t1 - time.time())))
            if sample_rss:
                rss_samples.append(proc_memory_mib(server.pid)[0])
        cpu1, ticks1 = proc_cpu_s(server.pid), machine_ticks()
        until = time.monotonic() + 60
        reports: list[Report] = [workers.answer(p, pipe, until)[1] for p, pipe in workers.procs]
        rss_end, hwm = proc_memory_mib(server.pid)
    finally:
        workers.close()
    drops: dict[str, int] = {}
    for r in reports:
        for k, v in r.drops.items():
            drops[k] = drops.get(k, 0) + v
    result: JSON = {
        "sockets": sum(r.sockets for r in reports),
        "login_s": round(login_s, 1),
        "login_budget_s": login_budget,
        "login": summary_ms(_joined(logged, "logins")),
        "login_server_cpu_s": round(login_server_cpu, 1),
        "login_generator_cpu_s": round(sum(j["cpu_s"] for j in logged), 1),
        "not_logged_in": sum(j["late"] for j in logged),
        "rss_logged_in_mib": round(rss_logged_in, 1),
        "join_s": round(join_s, 1),
        "join_budget_s": connect_budget,
        "handshake": summary_ms(_joined(joined, "handshakes")),
        "join_server_cpu_s": round(join_server_cpu, 1),
        "join_generator_cpu_s": round(sum(j["cpu_s"] for j in joined), 1),
        "listen_queue_drops": listen_dropped,
        "not_connected": sum(j["late"] for j in logged) + sum(j["late"] for j in joined),
        "drops": sum(drops.values()),
        "drop_reasons": drops,
        "pings_in_window": sum(r.pings_sent for r in reports),
        "pongs_missing": sum(r.pongs_missing for r in reports),
        "rtt": summary_ms(_floats(reports, "rtts")),
        "tick_delay": summary_ms(_floats(reports, "tick_delays")),
        "tick_gap": summary_ms(_floats(reports, "tick_gaps")),
        "generator_loop_lag": summary_ms(_floats(reports, "loop_lags")),
        "generator_cpu_pct": round(100 * sum(r.cpu_s for r in reports) / duration, 1),
        "server_cpu_pct": round(100 * (cpu1 - cpu0) / duration, 1),
        "server_cpu_ms_per_socket_minute": round(
            1000 * (cpu1 - cpu0) / max(1, sum(r.sockets for r in reports)) / (duration / 60), 2
        ),
        "load_average_end": load_average(),
        "machine_busy_pct": round(100 * (ticks1[0] - ticks0[0]) / max(1, ticks1[1] - ticks0[1]), 1),
        "rss_begin_mib": round(rss_begin, 1),
        "rss_max_sampled_mib": round(max(rss_samples), 1),
        "rss_end_mib": round(rss_end, 1),
        "vm_hwm_mib": round(hwm, 1),
        "errors": errors[:10],
        "error_count": len(errors),
        "unexpected": [u for r in reports for u in r.unexpected][:10],
    }
    if profile_to is not None and join_profile_to is not None:
        result["profile"] = finish_profile(spy, profile_to)
        result["profile_join"] = finish_profile(join_spy, join_profile_to)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="2,000 sockets for 20 s")
    parser.add_argument("--sockets", type=int)
    parser.add_argument("--duration", type=float, help="measured seconds")
    parser.add_argument("--ping", type=float, default=5.0, help="ping period per socket, s")
    parser.add_argument("--procs", type=int, help="generator processes (default 4, quick 2)")
    parser.add_argument("--in-test", action="store_true", help="start the test before pinging")
    parser.add_argument("--no-compression", action="store_true", help="no permessage-deflate offer")
    parser.add_argument(
        "--login-budget", type=float, help="seconds to log every candidate in (120, quick 40)"
    )
    parser.add_argument(
        "--connect-budget",
        "--join-budget",
        type=float,
        help="seconds to open every socket once logged in (45, quick 20)",
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the server for 10 s")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--live",
        choices=("memory", "redis"),
        default="memory",
        help="the server's live state: in its process, or on a Redis started for the run",
    )
    args = parser.parse_args(argv)
    sockets = args.sockets or (2_000 if args.quick else 10_000)
    duration = args.duration or (20.0 if args.quick else 120.0)
    procs = args.procs or (2 if args.quick else 4)
    nofile = raise_nofile()
    load0 = load_average()
    began = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="quizsession-live-"))
    redis: RedisServer | None = None
    env = dict(LIMITS_ENV)
    if args.live == "redis":
        redis = start_redis(workdir / "redis")
        env["QUIZSESSION_REDIS_URL"] = redis.url
    server = ServerProcess(workdir, env=env)
    opts = {"in_test": args.in_test, "compression": not args.no_compression}
    profile_to = artifacts_dir() / "live.pyspy.txt" if args.profile else None
    try:
        server.start()
        assert server.pid is not None
        rss_idle, _ = proc_memory_mib(server.pid)
        tokens = asyncio.run(_setup(server, sockets + 1))
        base = _run(
            server,
            tokens[:1],
            1,
            duration=2.0 if args.quick else 4.0,
            warmup=1.0,
            opts={**opts, "ping_s": 0.1},
            sample_rss=False,
            login_budget=30.0,
            connect_budget=30.0,
        )
        load = _run(
            server,
            tokens[1:],
            procs,
            duration=duration,
            # In the test, a socket's first ping records the question on screen (a
            # write): the window starts once every socket has sent it.
            warmup=args.ping + 1.0 if args.in_test else 1.0,
            opts={**opts, "ping_s": args.ping},
            sample_rss=True,
            login_budget=args.login_budget or (40.0 if args.quick else 120.0),
            connect_budget=args.connect_budget or (20.0 if args.quick else 45.0),
            profile_to=profile_to,
        )
    except BaseException:
        print(server.log_text()[-3000:], file=sys.stderr)
        raise
    finally:
        server.terminate()
        if redis is not None:
            redis.destroy()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    total_s = time.monotonic() - began

    print(
        f"quizsession bench.live: {sockets} WebSockets on one server process (live state: "
        f"{args.live}), a ping every "
        f"{args.ping:g} s each, tick every 5 s, {duration:g} s measured; {procs} generator "
        f"processes; permessage-deflate {'off' if args.no_compression else 'offered'}; "
        f"{'in the test' if args.in_test else 'logged in, test not started'}; "
        f"{os.cpu_count()} CPUs, load average {load0:.1f}, fd limit {nofile}"
    )
    rows = []
    for label, r in (("baseline (1 socket)", base), (f"load ({sockets} sockets)", load)):
        rows.append(
            [
                label,
                r["sockets"],
                r["drops"],
                r["rtt"]["n"],
                r["rtt"]["p50_ms"],
                r["rtt"]["p99_ms"],
                r["rtt"]["max_ms"],
                r["tick_delay"]["p50_ms"],
                r["tick_delay"]["p99_ms"],
                r["tick_gap"]["p99_ms"] - 5000 if r["tick_gap"]["n"] else float("nan"),
                r["generator_loop_lag"]["p99_ms"],
                r["server_cpu_pct"],
            ]
        )
    print_table(
        [
            "run",
            "sockets",
            "drops",
            "pongs",
            "rtt p50",
            "rtt p99",
            "rtt max",
            "tick p50",
            "tick p99",
            "gap p99-5s",
            "gen lag p99",
            "srv CPU %",
        ],
        rows,
    )
    rss_peak = max(load["vm_hwm_mib"], load["rss_max_sampled_mib"])
    rtt_met = load["rtt"]["p99_ms"] <= TARGET_P99_MS
    rss_met = rss_peak <= TARGET_RSS_MIB
    drops_met = load["drops"] == 0 and load["not_connected"] == 0
    socket_kib = (
        (load["rss_begin_mib"] - load["rss_logged_in_mib"]) * 1024 / max(1, load["sockets"])
    )
    print(
        f"rtt load/baseline: p50 x{ratio(load['rtt']['p50_ms'], base['rtt']['p50_ms'])}, "
        f"p99 x{ratio(load['rtt']['p99_ms'], base['rtt']['p99_ms'])} (ms; tick = receipt - "
        f"server_time; gap = time between a socket's ticks minus 5 s)\n"
        f"server RSS: idle {rss_idle:.0f} MiB, {load['rss_logged_in_mib']:.0f} MiB with every "
        f"candidate logged in, {load['rss_begin_mib']:.0f} MiB with all sockets up, max "
        f"sampled {load['rss_max_sampled_mib']:.0f} MiB, VmHWM {load['vm_hwm_mib']:.0f} MiB "
        f"({rss_peak * 1024 / max(1, sockets):.0f} KiB per candidate at peak, of which "
        f"{socket_kib:.0f} KiB for the socket)\n"
        f"log in: {load['login_s']} s ({load['not_logged_in']} not within the "
        f"{load['login_budget_s']:g} s budget); login p50 {load['login']['p50_ms']:.0f} ms "
        f"p99 {load['login']['p99_ms']:.0f} ms; CPU s server {load['login_server_cpu_s']}, "
        f"generators {load['login_generator_cpu_s']}\n"
        f"connect (open the socket, auth, welcome): {load['join_s']} s; handshake p50 "
        f"{load['handshake']['p50_ms']:.0f} ms p99 {load['handshake']['p99_ms']:.0f} ms; CPU s "
        f"server {load['join_server_cpu_s']}, generators {load['join_generator_cpu_s']}; "
        f"listen queue drops {load['listen_queue_drops']}\n"
        f"pings in window {load['pings_in_window']}, "
        f"pongs missing {load['pongs_missing']}; generators {load['generator_cpu_pct']:.0f}% "
        f"of a core, machine busy {load['machine_busy_pct']:.0f}% (load average "
        f"{load['load_average_end']:.1f} at the end)\n"
        f"server CPU per socket: {load['server_cpu_ms_per_socket_minute']:.1f} ms per minute "
        f"(baseline socket pinging 50x as often: "
        f"{base['server_cpu_ms_per_socket_minute']:.1f})\n"
        f"targets: no drops {verdict(drops_met)} ({load['drops']} dropped "
        f"{load['drop_reasons']}, {load['not_connected']} not connected within the "
        f"budgets); "
        f"rtt p99 <= {TARGET_P99_MS:g} ms {verdict(rtt_met)} ({load['rtt']['p99_ms']:.1f} ms); "
        f"RSS <= 1 GiB {verdict(rss_met)} ({rss_peak:.0f} MiB); total {total_s:.0f} s"
    )
    if "profile" in load and profile_to is not None:
        print("while connecting (the first 15 s):", end=" ")
        print_profile(load["profile_join"], profile_to.with_name("live-join.pyspy.txt"))
        print("steady state (10 s of the window):", end=" ")
        print_profile(load["profile"], profile_to)
    problems = [*base["errors"], *load["errors"], *base["unexpected"], *load["unexpected"]]
    for line in problems:
        print(f"ERROR {line}")
    failed = bool(
        base["error_count"] or load["error_count"] or base["unexpected"] or load["unexpected"]
    )
    print(
        json_line(
            {
                "bench": "live",
                "live": args.live,
                "quick": args.quick,
                "sockets": sockets,
                "duration_s": duration,
                "ping_s": args.ping,
                "generator_procs": procs,
                "compression": not args.no_compression,
                "in_test": args.in_test,
                "cpus": os.cpu_count(),
                "load_average": load0,
                "rss_idle_mib": round(rss_idle, 1),
                "baseline": base,
                "load": load,
                "ratio_rtt_p50": ratio(load["rtt"]["p50_ms"], base["rtt"]["p50_ms"]),
                "ratio_rtt_p99": ratio(load["rtt"]["p99_ms"], base["rtt"]["p99_ms"]),
                "target_drops_met": drops_met,
                "target_rtt_met": rtt_met,
                "target_rss_met": rss_met,
                "failed": failed,
                "total_s": round(total_s, 1),
            }
        )
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
