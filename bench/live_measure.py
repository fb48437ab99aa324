"""The measuring side of ``bench.live``: the quiz and the invites, the generator
processes (``bench.live_client``) driven stage by stage over pipes, and one
measured run (log in, connect, warm up, measure, drop the sockets) with the
server's CPU, RSS and the kernel's listen-queue drops read around each stage."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import time
from array import array
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench.common import (
    JSON,
    HttpConn,
    finish_profile,
    invite_roster,
    load_average,
    machine_ticks,
    proc_cpu_s,
    proc_memory_mib,
    start_profile,
    summary_ms,
)
from bench.live_client import LiveJob, Report, worker_main
from testsupport.scenario import quiz_definition
from testsupport.service import ServerProcess

QUIZ_ID = "bench-live"
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


async def invite_candidates(server: ServerProcess, count: int) -> list[str]:
    conn = HttpConn(server.port)
    try:
        definition = quiz_definition(QUIZ_ID, duration_s=3 * 3600.0)
        await conn.json("PUT", f"/admin/quizzes/{QUIZ_ID}", definition, server.admin_headers)
        return await invite_roster(conn, server, QUIZ_ID, count, "l")
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


def measured_run(
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
