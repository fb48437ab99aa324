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
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.common import (
    LIMITS_ENV,
    artifacts_dir,
    json_line,
    load_average,
    print_profile,
    print_table,
    proc_memory_mib,
    raise_nofile,
    ratio,
    verdict,
)
from bench.live_measure import invite_candidates, measured_run
from testsupport.redis_server import RedisServer, start_redis
from testsupport.service import ServerProcess

TARGET_P99_MS = 50.0
TARGET_RSS_MIB = 1024.0


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
        tokens = asyncio.run(invite_candidates(server, sockets + 1))
        base = measured_run(
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
        load = measured_run(
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
