"""The results of a quiz with 100,000 finished attempts, as JSON and as CSV, as a
ratio to the same report of 10,000 attempts in the same run (linear time and
flat memory read as x10 and x1).

Run from the project root::

    .venv/bin/python -m bench.reports              # 100,000 vs 10,000, SQLite and PostgreSQL
    .venv/bin/python -m bench.reports --quick      # 10,000 vs 1,000
    .venv/bin/python -m bench.reports --store sqlite

For each store (a SQLite file; a database of a PostgreSQL started for the run on
loopback, ``testsupport.postgres_server``), two quizzes are written straight
through the store adapter before any server runs (``bench.gen``: events decided
by the domain; every attempt submitted, 1-5 questions answered, ~12 events
each): *baseline* (``--baseline`` attempts) and *big* (``--attempts``). Then,
for each quiz and format, a fresh ``quizsession serve`` (one process) answers
``GET /admin/quizzes/{id}/results?format=json|csv`` once; the body is read as
it comes and counted, not kept. Measured: the time to the first byte and to the
last, the server's CPU, and its peak resident memory (``VmHWM``, fresh process
each time) against its memory once ready. Target (reported, not asserted): the
big report within 60 s, its peak memory growth within twice the baseline's.
Exits 1 if a response is not 200 or its body is not the report of every attempt.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.common import (
    HOST,
    JSON,
    LIMITS_ENV,
    json_line,
    load_average,
    print_table,
    proc_cpu_s,
    proc_memory_mib,
    ratio,
    verdict,
)
from bench.gen import Shape, build_template, demo_quiz_definition, populate, put_quiz
from quizsession.adapters.store.postgres import PostgresStore
from quizsession.adapters.store.sqlite import SqliteStore
from quizsession.app.ports import Store
from testsupport.postgres_server import PostgresServer, start_postgres
from testsupport.service import PgServerProcess, ServerProcess

TARGET_S = 60.0
BASE_QUIZ, BIG_QUIZ = "bench-report-base", "bench-report-big"


async def _generate(target: str, counts: dict[str, int]) -> float:
    """Write each quiz's finished attempts; returns the seconds it took."""
    store: Store = PostgresStore(target) if target.startswith("postgresql") else SqliteStore(target)
    began = time.perf_counter()
    await store.open()
    try:
        for quiz_id, count in counts.items():
            definition = demo_quiz_definition(quiz_id, duration_s=3600.0, grace_s=5.0)
            quiz = await put_quiz(store, definition)
            now = time.time() - 7200
            templates = [
                build_template(
                    quiz,
                    Shape(
                        started_at=now + k, answered=1 + k % 5, on_screen=False, submit=True, seed=k
                    ),
                )
                for k in range(16)
            ]
            await populate(store, quiz, count, templates, prefix=f"{quiz_id}-")
    finally:
        await store.close()
    return time.perf_counter() - began


def _fetch(server: ServerProcess, quiz_id: str, fmt: str) -> JSON:
    """One report request on a fresh server: times, CPU, memory, body size."""
    server.start()
    assert server.pid is not None
    try:
        rss_ready, _ = proc_memory_mib(server.pid)
        cpu0 = proc_cpu_s(server.pid)
        conn = http.client.HTTPConnection(HOST, server.port, timeout=600)
        began = time.perf_counter()
        conn.request(
            "GET", f"/admin/quizzes/{quiz_id}/results?format={fmt}", headers=server.admin_headers
        )
        response = conn.getresponse()
        first = time.perf_counter() - began
        size = rows = 0
        tail = b""
        marker = b"\n" if fmt == "csv" else b'"attempt_id":'
        while chunk := response.read(1 << 16):
            size += len(chunk)
            # With the last bytes of the previous chunk: a marker split between
            # two chunks counts once (the overlap is too short to hold a whole one).
            overlap = tail[len(tail) - len(marker) + 1 :] if len(marker) > 1 else b""
            rows += (overlap + chunk).count(marker)
            tail = (tail + chunk)[-64:]
        total = time.perf_counter() - began
        conn.close()
        cpu = proc_cpu_s(server.pid) - cpu0
        _, hwm = proc_memory_mib(server.pid)
        return {
            "status": response.status,
            "first_byte_s": round(first, 3),
            "total_s": round(total, 3),
            "server_cpu_s": round(cpu, 2),
            "bytes": size,
            "rows": rows - 1 if fmt == "csv" else rows,
            "complete": tail.endswith(b"]}") if fmt == "json" else tail.endswith(b"\r\n"),
            "rss_ready_mib": round(rss_ready, 1),
            "peak_mib": round(hwm, 1),
            "growth_mib": round(hwm - rss_ready, 1),
        }
    finally:
        server.terminate()


def _run_store(
    backend: str, workdir: Path, counts: dict[str, int], pg: PostgresServer | None
) -> JSON:
    env = dict(LIMITS_ENV)
    target: str
    if pg is not None:
        pg.create_database("reports")
        target = pg.dsn_for("reports")
        env["QUIZSESSION_SECRET_KEY"] = secrets.token_urlsafe(48)
    else:
        target = str(workdir / "reports.db")
    generate_s = asyncio.run(_generate(target, counts))
    attempts = sum(counts.values())
    print(
        f"  {backend}: {attempts:,} attempts written in {generate_s:.0f} s "
        f"({attempts / generate_s:,.0f}/s)",
        flush=True,
    )
    out: JSON = {"generate_s": round(generate_s, 1)}
    for quiz_id, label in ((BASE_QUIZ, "baseline"), (BIG_QUIZ, "big")):
        for fmt in ("json", "csv"):
            if pg is not None:
                server: ServerProcess = PgServerProcess(
                    workdir / f"{backend}-{label}-{fmt}", dsn=target, env=env
                )
            else:
                server = ServerProcess(
                    workdir / f"{backend}-{label}-{fmt}", env=env, db_path=Path(target)
                )
            result = _fetch(server, quiz_id, fmt)
            result["attempts"] = counts[quiz_id]
            out[f"{label}_{fmt}"] = result
            print(
                f"  {backend} {label} {fmt}: {result['total_s']} s, "
                f"peak +{result['growth_mib']} MiB",
                flush=True,
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="10,000 vs 1,000 attempts")
    parser.add_argument("--attempts", type=int, help="attempts of the big quiz")
    parser.add_argument("--baseline", type=int, help="attempts of the baseline quiz")
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    big = args.attempts or (10_000 if args.quick else 100_000)
    base = args.baseline or big // 10
    counts = {BASE_QUIZ: base, BIG_QUIZ: big}
    backends = ["sqlite", "postgres"] if args.store == "both" else [args.store]
    load0 = load_average()
    began = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="quizsession-reports-"))
    results: dict[str, JSON] = {}
    pg: PostgresServer | None = None
    try:
        for backend in backends:
            if backend == "postgres":
                (workdir / "pg").mkdir()
                pg = start_postgres(workdir / "pg")
            results[backend] = _run_store(backend, workdir, counts, pg)
            if pg is not None:
                pg.destroy()
                pg = None
    finally:
        if pg is not None:
            pg.destroy()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    total_s = time.monotonic() - began

    print(
        f"quizsession bench.reports: the results of {big:,} finished attempts vs "
        f"{base:,}, JSON and CSV, one fresh server process per request; "
        f"{os.cpu_count()} CPUs, load average {load0:.1f}"
    )
    rows = []
    failed = False
    figures: JSON = {}
    for backend, r in results.items():
        for fmt in ("json", "csv"):
            b, g = r[f"baseline_{fmt}"], r[f"big_{fmt}"]
            for label, x in (("baseline", b), ("big", g)):
                ok = x["status"] == 200 and x["complete"] and x["rows"] == x["attempts"]
                failed = failed or not ok
                rows.append(
                    [
                        f"{backend} {fmt} {label}",
                        x["attempts"],
                        x["status"],
                        x["rows"],
                        round(x["bytes"] / 2**20, 1),
                        x["first_byte_s"],
                        x["total_s"],
                        x["server_cpu_s"],
                        x["rss_ready_mib"],
                        x["peak_mib"],
                        x["growth_mib"],
                    ]
                )
            figures[f"{backend}_{fmt}"] = {
                "ratio_time": ratio(g["total_s"], b["total_s"]),
                "ratio_cpu": ratio(g["server_cpu_s"], b["server_cpu_s"]),
                "ratio_growth": ratio(g["growth_mib"], max(b["growth_mib"], 1.0)),
                "cpu_ms_per_attempt": round(1000 * g["server_cpu_s"] / g["attempts"], 3),
                "target_time_met": g["total_s"] <= TARGET_S,
                "target_memory_met": g["growth_mib"] <= 2 * max(b["growth_mib"], 1.0),
            }
    print_table(
        [
            "report",
            "attempts",
            "status",
            "rows",
            "MiB out",
            "1st byte s",
            "total s",
            "srv CPU s",
            "RSS ready",
            "peak MiB",
            "growth MiB",
        ],
        rows,
    )
    for name, f in figures.items():
        print(
            f"{name}: big/baseline time x{f['ratio_time']}, CPU x{f['ratio_cpu']} "
            f"({f['cpu_ms_per_attempt']} ms per attempt), memory growth "
            f"x{f['ratio_growth']}; within {TARGET_S:g} s {verdict(f['target_time_met'])}, "
            f"memory flat (<= x2) {verdict(f['target_memory_met'])}"
        )
    print(f"total {total_s:.0f} s")
    print(
        json_line(
            {
                "bench": "reports",
                "quick": args.quick,
                "attempts": big,
                "baseline": base,
                "cpus": os.cpu_count(),
                "load_average": load0,
                "stores": results,
                "figures": figures,
                "failed": failed,
                "total_s": round(total_s, 1),
            }
        )
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
