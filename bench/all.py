"""Every benchmark scenario in turn, with a summary written to
``test-artifacts/bench-results.json`` (git-ignored).

Run from the project root (``make bench`` / ``make bench-quick``)::

    .venv/bin/python -m bench            # full runs (about 20 minutes)
    .venv/bin/python -m bench --quick    # short runs
    .venv/bin/python -m bench --only live,spike

Scenarios, in order: saves, live, live-redis (``bench.live --live redis``), spike,
deadline, coldstart, coldstart-postgres (``bench.coldstart --store postgres``),
reports, postgres (only when ``bench/postgres.py`` exists), capacity (after
postgres, whose PostgreSQL CPU per save it turns into saves/s per core), projection
(CPU per operation of each component and the capacity projection). Each runs as
its own process (``python -m bench.NAME``), one after the other, with its output
shown as it comes; its last JSON line is kept. A scenario whose module does not
accept ``--quick`` gets shorter settings of its own options instead. Every scenario's JSON line is
printed again at the end. Exits 1 if any scenario exited non-zero (a
correctness failure: missed targets are reported, not failures).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import artifacts_dir, load_average

BENCH_DIR = Path(__file__).resolve().parent
SCENARIOS = (
    "saves",
    "live",
    "live-redis",
    "spike",
    "deadline",
    "coldstart",
    "coldstart-postgres",
    "reports",
    "postgres",
    "capacity",
    "projection",
)
OPTIONAL = frozenset({"postgres"})
#: Scenarios that are another's module with options: name -> (module, options)
VARIANTS: dict[str, tuple[str, list[str]]] = {
    "live-redis": ("live", ["--live", "redis"]),
    "coldstart-postgres": ("coldstart", ["--store", "postgres"]),
}
#: --quick equivalents for scenarios that have no --quick of their own
QUICK_FALLBACK = {
    "saves": ["--duration", "3", "--concurrency", "64"],
    "postgres": ["--duration", "3", "--concurrency", "32"],
}
TIMEOUT_S = {"quick": 300.0, "full": 900.0}


def _module(name: str) -> str:
    return VARIANTS[name][0] if name in VARIANTS else name


def _accepts_quick(name: str) -> bool:
    return '"--quick"' in (BENCH_DIR / f"{_module(name)}.py").read_text()


def _args(name: str, quick: bool) -> list[str]:
    fixed = VARIANTS[name][1] if name in VARIANTS else []
    if not quick:
        return fixed
    if _accepts_quick(name):
        return [*fixed, "--quick"]
    return [*fixed, *QUICK_FALLBACK.get(name, [])]


def _run(name: str, quick: bool) -> dict[str, Any]:
    command = [sys.executable, "-m", f"bench.{_module(name)}", *_args(name, quick)]
    print(f"\n=== {' '.join(command[1:])}", flush=True)
    began = time.monotonic()
    last_json: dict[str, Any] | None = None
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    assert proc.stdout is not None
    # Each scenario bounds its own time; this only stops one that hangs.
    watchdog = threading.Timer(TIMEOUT_S["quick" if quick else "full"], proc.kill)
    watchdog.start()
    try:
        for line in proc.stdout:
            print(line, end="", flush=True)
            if line.startswith("{"):
                with contextlib.suppress(json.JSONDecodeError):
                    last_json = json.loads(line)
        code = proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        watchdog.cancel()
    return {
        "command": command[1:],
        "exit_code": code,
        "seconds": round(time.monotonic() - began, 1),
        "result": last_json,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="short runs of every scenario")
    parser.add_argument("--only", help="comma-separated scenario names")
    parser.add_argument("--out", type=Path, help="summary file (test-artifacts/bench-results.json)")
    args = parser.parse_args(argv)
    names = [n for n in SCENARIOS if n not in OPTIONAL or (BENCH_DIR / f"{_module(n)}.py").exists()]
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in SCENARIOS]
        if unknown:
            parser.error(f"unknown scenarios {unknown}; known: {', '.join(SCENARIOS)}")
        names = [n for n in names if n in wanted]
    summary: dict[str, Any] = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "quick": args.quick,
        "cpus": os.cpu_count(),
        "load_average_at_start": load_average(),
        "python": sys.version.split()[0],
        "scenarios": {},
    }
    out = args.out or artifacts_dir() / "bench-results.json"
    for name in names:
        summary["scenarios"][name] = _run(name, args.quick)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(summary, indent=2) + "\n")  # after each: partial runs count
    print("\n=== summary (one JSON line per scenario; written to " + str(out) + ")")
    failed = []
    for name, run in summary["scenarios"].items():
        status = "ok" if run["exit_code"] == 0 else f"FAILED (exit {run['exit_code']})"
        print(f"{name}: {status}, {run['seconds']} s")
        print(json.dumps(run["result"], separators=(",", ":")))
        if run["exit_code"] != 0:
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
