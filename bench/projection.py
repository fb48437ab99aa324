"""CPU per operation of each component (instance, PostgreSQL, Redis), and the
capacity projection built on it: candidates carried on 8, 32 and 128 cores with
the first bottleneck, and the deployment for a million candidates.

Run from the project root (``make bench`` runs it)::

    .venv/bin/python -m bench.projection              # 4 s per operation
    .venv/bin/python -m bench.projection --quick      # 2 s per operation
    .venv/bin/python -m bench.projection --candidates 1000000 --save-every 30

One run (127.0.0.1 only) starts its own PostgreSQL (fsync on), Redis and one
``quizsession serve`` on them, prepares candidates, then runs each operation
alone (one load generator process: raw HTTP/1.1 keep-alive connections, or
live sockets) and reads, at the instants the window opens and closes, the CPU
of the instance's process, of PostgreSQL (postmaster and every backend) and of
redis-server from ``/proc``:

``idle`` (nothing sent: the background CPU per second, subtracted from every
window), ``bare`` (``GET /healthz``: the baseline), ``save``
(``PUT /progress``), ``heartbeat`` (``POST /heartbeat``), ``question``
(``GET /questions/{id}`` of a delivered question), ``login``
(``POST /sessions`` with an invite, each once), ``start`` (``POST /start``),
``tick`` (live sockets on a quiz ticking every second, nothing sent),
``ping`` (a socket per HTTP connection's candidate, each pinging in a closed
loop; the few ticks of the window taken off at the tick's cost), ``submit`` (``POST /complete``).

Memory: the instance's RSS grows per cached attempt (logins and starts) and per
live socket; Redis's ``used_memory`` per candidate (leases, idle records).

Then ``testsupport.capacity_model`` turns the figures and a load profile into cores
per component. The machine has few CPUs shared by the generator, the instance
and the servers: CPU per operation is what carries over to other machines (to
first order; contention inflates it), throughput here does not. Figures are not
assertions (DESIGN.md, "Benchmarks are not tests").
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.common import json_line
from bench.pg_phases import PgServerProcess
from bench.projection_measure import measure
from bench.projection_report import report
from bench.saves_phases import SERVER_ENV
from testsupport.postgres_server import PostgresServer, start_postgres
from testsupport.redis_server import RedisServer, start_redis


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--concurrency", type=int, default=32, help="HTTP connections")
    parser.add_argument("--live", type=int, default=1000, help="candidates with a live socket")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per operation")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds first")
    parser.add_argument("--quick", action="store_true", help="2 s per operation, 300 sockets")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    profile = parser.add_argument_group("load profile of the projection")
    profile.add_argument("--candidates", type=int, default=1_000_000)
    profile.add_argument("--save-every", type=float, default=30.0, help="seconds")
    profile.add_argument("--heartbeat", type=float, default=5.0, help="seconds")
    profile.add_argument("--no-sockets", action="store_true", help="HTTP heartbeats, no sockets")
    profile.add_argument("--exam", type=float, default=3600.0, help="seconds")
    profile.add_argument("--questions", type=int, default=20, help="fetches per attempt")
    profile.add_argument("--start-window", type=float, default=600.0, help="seconds")
    profile.add_argument("--utilisation", type=float, default=0.7, help="of each component")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.live = min(args.duration, 2.0), min(args.live, 300)
    if min(args.concurrency, args.live) < 1 or args.duration <= 0:
        parser.error("need at least one connection and socket, and a positive duration")
    if not 0 < args.utilisation <= 1:
        parser.error("--utilisation is a share of the cores: 0 < u <= 1")

    began = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="quizsession-bench-projection-"))
    pg: PostgresServer | None = None
    redis: RedisServer | None = None
    server: PgServerProcess | None = None
    try:
        (workdir / "pg").mkdir()
        pg = start_postgres(workdir / "pg")
        redis = start_redis(workdir / "redis")
        env = {
            **SERVER_ENV,
            "QUIZSESSION_REDIS_URL": redis.url,
            "QUIZSESSION_SECRET_KEY": secrets.token_urlsafe(48),
            "QUIZSESSION_API_KEYS": "admin=bench-" + secrets.token_hex(16),
            "QUIZSESSION_FAILED_LOGIN_LIMIT_PER_MINUTE": "1000000",
        }
        server = PgServerProcess(workdir / "instance", dsn=pg.dsn, env=env)
        server.start()
        measured = measure(server, pg, redis, args)
    except BaseException:
        if server is not None:
            print(server.log_text()[-3000:], file=sys.stderr)
        raise
    finally:
        if server is not None:
            server.terminate()
        if redis is not None:
            redis.destroy()
        if pg is not None:
            pg.destroy()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    summary = report(measured, args, time.monotonic() - began)
    print(json_line(summary))
    failed = any(w.errors for w in measured.windows.values())
    lost = measured.saved_in_log < measured.windows["save"].count
    if failed or lost:
        print(f"FAILED: non-2xx answers or dropped sockets ({failed}), saves missing ({lost})")
    return 1 if failed or lost else 0


if __name__ == "__main__":
    sys.exit(main())
