"""Cold start on a big store, as a ratio to the same start on an empty one.

Run from the project root::

    .venv/bin/python -m bench.coldstart            # 100,000 attempts, ~1.4 M events
    .venv/bin/python -m bench.coldstart --quick    # 10,000 attempts, ~140,000 events
    .venv/bin/python -m bench.coldstart --attempts 1000000   # 1 M (see below)
    .venv/bin/python -m bench.coldstart --store postgres     # the same on PostgreSQL

Three stores are written straight through the store adapter before any server
runs (``bench.gen``: events decided by the domain, one append per attempt, group
commit; not measured, its rate is printed): *empty* (schema and the quiz only),
*small* (``--small`` attempts) and *big* (``--attempts``). With ``--store
postgres`` a PostgreSQL of the bench's own is started on loopback
(``testsupport.postgres_server``, as the tests start theirs), each store is a
database of it, and the servers run with a configured secret key; PostgreSQL's
own caches are not emptied between starts (only a SQLite file's pages are
evicted), so its figure is a warm-database start. Free disk is checked before
generating (measured: about 240 bytes per event on SQLite, 330 on PostgreSQL;
twice that is asked for); 1 M attempts are 15.4 M events, 3.4 GiB on SQLite.

Attempts are a mix: test running (3 h left), logged out, submitted; 10-18
events each. Then, for each store, a real ``quizsession serve`` is started
``--starts`` times (the file's pages evicted from the page cache first with
``posix_fadvise(DONTNEED)``) and timed from the spawn until ``GET /readyz``
answers 200 (polled every 5 ms on a new connection).
After the last start on the small and on the big store, ``--resumes`` random
candidates resume one after another: a backend login ``POST /sessions``
``{user_id, quiz_id}`` with the API key, then ``GET /sessions/{id}``.

Targets (reported, not asserted): ready within 2 s, resume p99 within 10 ms.
Exits 1 only if a resume fails or returns another attempt than the candidate's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import asyncpg

from bench.common import (
    HOST,
    JSON,
    LIMITS_ENV,
    HttpConn,
    artifacts_dir,
    finish_profile,
    json_line,
    load_average,
    print_profile,
    print_table,
    proc_memory_mib,
    raise_nofile,
    ratio,
    start_profile,
    summary_ms,
    verdict,
)
from bench.gen import Shape, Template, build_template, demo_quiz_definition, populate, put_quiz
from quizsession.adapters.store.postgres import PostgresStore
from quizsession.adapters.store.sqlite import SqliteStore
from quizsession.app.ports import Store
from quizsession.app.sessions.logins import attempt_id_for
from quizsession.domain.quiz import Quiz
from testsupport.postgres_server import PostgresServer, start_postgres
from testsupport.service import PgServerProcess, ServerProcess

QUIZ_ID = "bench-coldstart"
READY_TARGET_S = 2.0
RESUME_TARGET_MS = 10.0
READY_TIMEOUT_S = 60.0


def _templates(quiz: Quiz, now: float) -> list[Template]:
    shapes = [
        Shape(
            started_at=now - 600 - 60 * k,
            answered=2 + k % 4,
            on_screen=k % 5 != 0,
            close=k % 4 == 1,
            submit=k % 5 == 0,
            seed=k + 1,
        )
        for k in range(16)
    ]
    return [build_template(quiz, s) for s in shapes]


#: Bytes of store per event, generously (with indexes and the WAL), for the disk check.
BYTES_PER_EVENT = {"sqlite": 500, "postgres": 700}
EVENTS_PER_ATTEMPT = 15


def _progress(name: str, total: int) -> Callable[[int], None]:
    began = time.perf_counter()
    step = max(100_000, total // 10)
    shown = [0]

    def show(done: int) -> None:
        if done - shown[0] >= step:
            shown[0] = done
            rate = done / max(time.perf_counter() - began, 1e-9)
            print(f"  {name}: {done:,} of {total:,} attempts written ({rate:,.0f}/s)", flush=True)

    return show


async def _generate(
    name: str, target: str, attempts: int
) -> tuple[list[str], list[Template], int, float]:
    """Write the store; (candidates, templates, events, bytes on disk)."""
    store: Store = PostgresStore(target) if target.startswith("postgresql") else SqliteStore(target)
    await store.open()
    try:
        definition = demo_quiz_definition(QUIZ_ID, duration_s=3 * 3600.0, grace_s=5.0)
        quiz = await put_quiz(store, definition)
        templates = _templates(quiz, time.time())
        candidates: list[str] = []
        events = 0
        if attempts:
            progress = _progress(name, attempts)
            candidates, _, events = await populate(
                store, quiz, attempts, templates, progress=progress
            )
    finally:
        await store.close()
    if target.startswith("postgresql"):
        size = await _pg_size(target)
    else:
        size = sum(p.stat().st_size for p in Path(target).parent.glob(f"{Path(target).name}*"))
    return candidates, templates, events, size


async def _pg_size(dsn: str) -> float:
    conn = await asyncpg.connect(dsn)
    try:
        return float(await conn.fetchval("SELECT pg_database_size(current_database())"))
    finally:
        await conn.close()


def _check_disk(workdir: Path, attempts: int, backend: str) -> None:
    need = attempts * EVENTS_PER_ATTEMPT * BYTES_PER_EVENT[backend]
    free = shutil.disk_usage(workdir).free
    if need > free * 0.8:
        raise SystemExit(
            f"bench.coldstart: {attempts:,} attempts need about {need / 2**30:.1f} GiB on "
            f"{backend}; {free / 2**30:.1f} GiB free under {workdir}: not started"
        )


def _evict(path: Path) -> None:
    """Drop the store's clean pages from the page cache (a cold start reads the
    disk, not memory left over from writing it)."""
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(OSError):
            fd = os.open(name, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def _readyz(port: int) -> int | None:
    try:
        with socket.create_connection((HOST, port), timeout=2.0) as sock:
            sock.sendall(f"GET /readyz HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode())
            head = sock.recv(64)
            return int(head[9:12]) if head.startswith(b"HTTP/1.1 ") else None
    except OSError:
        return None


def _timed_start(server: ServerProcess) -> float:
    """Spawn the server and return the seconds until /readyz answered 200."""
    _evict(server.db_path)
    began = time.perf_counter()
    server.spawn()
    while time.perf_counter() - began < READY_TIMEOUT_S:
        if _readyz(server.port) == 200:
            return time.perf_counter() - began
        if not server.running:
            raise RuntimeError(f"server exited while starting:\n{server.log_text()[-2000:]}")
        time.sleep(0.005)
    raise RuntimeError(f"/readyz not 200 within {READY_TIMEOUT_S:.0f} s")


async def _resume(
    server: ServerProcess, candidates: list[str], count: int, seed: int
) -> tuple[list[float], list[float], list[str]]:
    """Resume ``count`` random candidates one at a time: (login s, view s, errors)."""
    rng = random.Random(seed)
    picked = rng.sample(candidates, min(count, len(candidates)))
    conn = HttpConn(server.port)
    logins: list[float] = []
    views: list[float] = []
    errors: list[str] = []
    try:
        for candidate in picked:
            body = json.dumps({"user_id": candidate, "quiz_id": QUIZ_ID}).encode()
            t0 = time.perf_counter()
            status, data = await conn.request("POST", "/sessions", body, server.admin_headers)
            t1 = time.perf_counter()
            if status != 201:
                errors.append(f"POST /sessions for {candidate}: {status} {data[:200]!r}")
                continue
            opened = json.loads(data)
            sid = opened["session_id"]
            auth = {"Authorization": f"Bearer {opened['session_token']}"}
            status, data = await conn.request("GET", f"/sessions/{sid}", None, auth)
            t2 = time.perf_counter()
            if status != 200:
                errors.append(f"GET /sessions/{sid}: {status} {data[:200]!r}")
                continue
            view = json.loads(data)
            if view["attempt_id"] != attempt_id_for(QUIZ_ID, candidate):
                errors.append(f"{candidate} resumed {view['attempt_id']}, not its own attempt")
            logins.append(t1 - t0)
            views.append(t2 - t1)
    finally:
        conn.close()
    return logins, views, errors


class _Store:
    """One generated store and the figures measured on it."""

    def __init__(
        self, name: str, workdir: Path, attempts: int, pg: PostgresServer | None = None
    ) -> None:
        self.name = name
        self.db = workdir / f"{name}.db"
        began = time.perf_counter()
        self.server: ServerProcess
        if pg is not None:
            pg.create_database(f"coldstart_{name}")
            dsn = pg.dsn_for(f"coldstart_{name}")
            self.candidates, _, events, size = asyncio.run(_generate(name, dsn, attempts))
            env = {**LIMITS_ENV, "QUIZSESSION_SECRET_KEY": secrets.token_urlsafe(48)}
            self.server = PgServerProcess(workdir / name, dsn=dsn, env=env)
        else:
            self.candidates, _, events, size = asyncio.run(_generate(name, str(self.db), attempts))
            self.server = ServerProcess(workdir / name, env=LIMITS_ENV, db_path=self.db)
        generate_s = time.perf_counter() - began
        self.ready: list[float] = []
        self.result: JSON = {
            "attempts": attempts,
            "events": events,
            "file_mib": round(size / 2**20, 1),
            "generate_s": round(generate_s, 1),
            "generate_attempts_per_s": round(attempts / generate_s) if attempts else None,
        }

    def start_once(self, resumes: int, profile_to: Path | None) -> None:
        """One timed start; with ``resumes``, resume that many candidates before
        stopping the server."""
        server = self.server
        try:
            self.ready.append(_timed_start(server))
            assert server.pid is not None
            self.result["rss_after_start_mib"] = round(proc_memory_mib(server.pid)[0], 1)
            if resumes and self.candidates:
                spy = None
                if profile_to is not None:
                    spy = start_profile(server.pid, 10, profile_to)
                    time.sleep(0.5)
                logins, views, errors = asyncio.run(
                    _resume(server, self.candidates, resumes, seed=7)
                )
                if profile_to is not None:
                    self.result["profile"] = finish_profile(spy, profile_to)
                totals = [a + b for a, b in zip(logins, views, strict=True)]
                self.result["resume_login"] = summary_ms(logins)
                self.result["resume_view"] = summary_ms(views)
                self.result["resume_total"] = summary_ms(totals)
                self.result["resume_errors"] = errors
        except BaseException:
            print(server.log_text()[-3000:], file=sys.stderr)
            raise
        finally:
            server.terminate()
        self.result["ready_s"] = [round(r, 3) for r in self.ready]
        self.result["ready_median_s"] = round(statistics.median(self.ready), 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="10,000 attempts")
    parser.add_argument("--attempts", type=int, help="attempts in the big store")
    parser.add_argument("--small", type=int, default=1000, help="attempts in the small store")
    parser.add_argument("--starts", type=int, help="timed starts per store (default 3, quick 2)")
    parser.add_argument("--resumes", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="py-spy the big-store resumes")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--store",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="the stores: SQLite files, or databases of a PostgreSQL started for the run",
    )
    args = parser.parse_args(argv)
    attempts = args.attempts or (10_000 if args.quick else 100_000)
    starts = args.starts or (2 if args.quick else 3)
    raise_nofile()
    began = time.monotonic()
    load0 = load_average()
    workdir = Path(tempfile.mkdtemp(prefix="quizsession-coldstart-"))
    profile_to = artifacts_dir() / "coldstart-resume.pyspy.txt" if args.profile else None
    pg: PostgresServer | None = None
    try:
        _check_disk(workdir, attempts + args.small, args.store)
        if args.store == "postgres":
            (workdir / "pg").mkdir()
            pg = start_postgres(workdir / "pg")
        stores = [
            _Store("empty", workdir, 0, pg),
            _Store("small", workdir, args.small, pg),
            _Store("big", workdir, attempts, pg),
        ]
        # Rounds of one start per store, so that a noisy moment on the machine
        # does not land on one store's starts only; the resumes follow the last.
        for n in range(starts):
            last = n == starts - 1
            for store in stores:
                store.start_once(
                    args.resumes if last else 0,
                    profile_to if last and store.name == "big" else None,
                )
    finally:
        if pg is not None:
            pg.destroy()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    empty, small, big = (s.result for s in stores)
    total_s = time.monotonic() - began

    evicted = "page cache of the file evicted" if pg is None else "PostgreSQL's caches warm"
    print(
        f"quizsession bench.coldstart ({args.store}): {attempts} attempts / {big['events']} "
        f"events ({big['file_mib']} MiB) vs an empty and a {args.small}-attempt store; "
        f"{starts} starts each, {evicted} before each; "
        f"{os.cpu_count()} CPUs, load average {load0:.1f}"
    )
    rows = []
    for label, r in (("empty", empty), ("small", small), ("big", big)):
        rows.append(
            [
                label,
                r["attempts"],
                r["events"],
                r["file_mib"],
                " ".join(f"{x:.2f}" for x in r["ready_s"]),
                r["ready_median_s"],
                r.get("resume_login", {}).get("p50_ms", float("nan")),
                r.get("resume_login", {}).get("p99_ms", float("nan")),
                r.get("resume_view", {}).get("p50_ms", float("nan")),
                r.get("resume_total", {}).get("p99_ms", float("nan")),
                r["rss_after_start_mib"],
            ]
        )
    print_table(
        [
            "store",
            "attempts",
            "events",
            "MiB",
            "ready s (each start)",
            "median",
            "login p50",
            "login p99",
            "view p50",
            "resume p99",
            "RSS MiB",
        ],
        rows,
    )
    ready_ratio = ratio(big["ready_median_s"], empty["ready_median_s"])
    resume_p50_ratio = ratio(big["resume_total"]["p50_ms"], small["resume_total"]["p50_ms"])
    resume_p99_ratio = ratio(big["resume_total"]["p99_ms"], small["resume_total"]["p99_ms"])
    ready_met = big["ready_median_s"] <= READY_TARGET_S
    resume_met = big["resume_total"]["p99_ms"] <= RESUME_TARGET_MS
    print(
        f"ready big/empty x{ready_ratio}; resume (login + view) big/small: "
        f"p50 x{resume_p50_ratio}, p99 x{resume_p99_ratio} (ms columns: latency of one "
        f"request at a time)\n"
        f"target ready <= {READY_TARGET_S:g} s: {verdict(ready_met)} "
        f"({big['ready_median_s']:.2f} s); target resume p99 <= {RESUME_TARGET_MS:g} ms: "
        f"{verdict(resume_met)} ({big['resume_total']['p99_ms']:.2f} ms)\n"
        f"generation (not measured): small {small['generate_s']} s, big {big['generate_s']} s "
        f"({big['generate_attempts_per_s']} attempts/s); total {total_s:.0f} s"
    )
    if "profile" in big and profile_to is not None:
        print_profile(big["profile"], profile_to)
    errors = small.get("resume_errors", []) + big.get("resume_errors", [])
    for line in errors[:10]:
        print(f"ERROR {line}")
    print(
        json_line(
            {
                "bench": "coldstart",
                "store": args.store,
                "quick": args.quick,
                "cpus": os.cpu_count(),
                "load_average": load0,
                "empty": empty,
                "small": small,
                "big": big,
                "ratio_ready_big_empty": ready_ratio,
                "ratio_resume_p50_big_small": resume_p50_ratio,
                "ratio_resume_p99_big_small": resume_p99_ratio,
                "target_ready_met": ready_met,
                "target_resume_met": resume_met,
                "errors": len(errors),
                "total_s": round(total_s, 1),
            }
        )
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
