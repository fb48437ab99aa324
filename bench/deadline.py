"""Mass deadline: many attempts with the same deadline, submitted by the reaper, as a
ratio to appending one event to each of them through the store directly.

Run from the project root::

    .venv/bin/python -m bench.deadline            # 10,000 attempts
    .venv/bin/python -m bench.deadline --quick    # 2,000 attempts

The attempts are written straight into the SQLite file before the server starts
(``bench.gen``: the domain's ``decide``/``apply`` for a template attempt, one
``SqliteStore.append`` per attempt): logged in, test started, one question
answered, the next one on screen. Every test started at the same instant, so all
deadlines are equal and fall ``--lead`` seconds after the generation began (the
quiz lasts ``--duration`` s with a grace of ``--grace`` s). Before the server
starts, the *baseline* appends one more event (a view of the question on
screen, as the domain decides it) to every attempt through ``SqliteStore``
directly, all in flight together (group commit).

Then a real ``quizsession serve`` (default reaper interval, 0.5 s) runs on the
file; the benchmark polls the file read-only every 10 ms and times, from
deadline + grace, when the first and the last attempt turned ``submitted``
(the index row and the ``submitted`` event are one transaction). Afterwards it
checks every attempt has exactly one ``submitted`` event, by the deadline, with
the deadline as its finish time (else exit 1). Target (reported): all within 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from bench.common import (
    LIMITS_ENV,
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
from bench.gen import Shape, append_one_each, build_template, demo_quiz_definition, populate
from quizsession.adapters.store.sqlite import SqliteStore
from quizsession.domain.quiz_validation import parse_quiz
from testsupport.service import ServerProcess

QUIZ_ID = "bench-deadline"
TARGET_S = 2.0
GIVE_UP_S = 120.0  # after deadline + grace: not all submitted by then is a failure
POLL_S = 0.01


async def _prepare(
    db: Path, count: int, duration: float, grace: float, lead: float
) -> dict[str, float]:
    store = SqliteStore(str(db))
    await store.open()
    try:
        quiz = await store.put_quiz(
            parse_quiz(demo_quiz_definition(QUIZ_ID, duration_s=duration, grace_s=grace))
        )
        began = time.time()
        started_at = began + lead - duration
        templates = [
            build_template(quiz, Shape(started_at=started_at, answered=1, seed=k + 1))
            for k in range(4)
        ]
        assert all(t.state.last_event_at < began for t in templates), "raise --duration"
        t0 = time.perf_counter()
        candidates, attempts, events = await populate(store, quiz, count, templates)
        generate_s = time.perf_counter() - t0
        baseline_s = await append_one_each(
            store, list(zip(attempts, candidates, strict=True)), templates[0]
        )
        return {
            "deadline": started_at + duration,
            "due": started_at + duration + grace,
            "events": events,
            "generate_s": generate_s,
            "baseline_s": baseline_s,
        }
    finally:
        await store.close()


def _open_count(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT count(*) FROM attempts WHERE status = 'open'").fetchone()
    return int(row[0])


def _check(
    conn: sqlite3.Connection, count: int, deadline: float, due: float
) -> tuple[list[str], list[float]]:
    """Problems found in the log, and each submit's decision time - due."""
    problems: list[str] = []
    late: list[float] = []
    rows = conn.execute(
        "SELECT attempt_id, count(*), max(data) FROM events WHERE type = 'submitted' "
        "GROUP BY attempt_id"
    ).fetchall()
    if len(rows) != count:
        problems.append(f"{len(rows)} attempts have a submitted event, not {count}")
    for attempt_id, n, data in rows:
        event = json.loads(data)
        if n != 1:
            problems.append(f"{attempt_id}: {n} submitted events")
        if event["reason"] != "deadline" or event["finished_at"] != deadline:
            problems.append(f"{attempt_id}: {event['reason']} finished at {event['finished_at']}")
        if event["at"] < due:
            problems.append(f"{attempt_id}: submitted at {event['at']}, before deadline + grace")
        late.append(event["at"] - due)
    return problems, late


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="2,000 attempts")
    parser.add_argument("--attempts", type=int)
    parser.add_argument("--duration", type=float, default=30.0, help="quiz duration, s")
    parser.add_argument("--grace", type=float, default=1.0, help="grace after the deadline, s")
    parser.add_argument(
        "--lead", type=float, help="deadline this long after the generation began (s)"
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the server meanwhile")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    count = args.attempts or (2_000 if args.quick else 10_000)
    lead = args.lead or (8.0 if args.quick else 12.0)
    raise_nofile()
    load0 = load_average()
    began = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="quizsession-deadline-"))
    db = workdir / "quizsession.db"
    server = ServerProcess(workdir, env=LIMITS_ENV, db_path=db)
    profile_to = artifacts_dir() / "deadline.pyspy.txt"
    spy = None
    try:
        prep = asyncio.run(_prepare(db, count, args.duration, args.grace, lead))
        due = prep["due"]
        server.start()
        ready_before_due_s = due - time.time()
        if ready_before_due_s < 0.6:
            print(
                f"the server was ready only {ready_before_due_s:.2f} s before deadline + "
                f"grace: the start-up reaper pass may have taken part; raise --lead",
                file=sys.stderr,
            )
        assert server.pid is not None
        reader = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        rss0, _ = proc_memory_mib(server.pid)
        while time.time() < due - 0.3:
            time.sleep(0.05)
        if args.profile:
            spy = start_profile(server.pid, 10, profile_to)
        cpu0, ticks0 = proc_cpu_s(server.pid), machine_ticks()
        first = last = None
        remaining = _open_count(reader)
        while remaining > 0 and time.time() < due + GIVE_UP_S:
            time.sleep(POLL_S)
            remaining = _open_count(reader)
            now = time.time()
            if first is None and remaining < count:
                first = now
            if remaining == 0:
                last = now
        cpu1, ticks1 = proc_cpu_s(server.pid), machine_ticks()
        _, hwm = proc_memory_mib(server.pid)
        problems, late = _check(reader, count, prep["deadline"], due)
        reader.close()
        profile = finish_profile(spy, profile_to) if spy is not None else None
    except BaseException:
        print(server.log_text()[-3000:], file=sys.stderr)
        raise
    finally:
        server.terminate()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    total_s = time.monotonic() - began

    all_s = (last - due) if last is not None else float("nan")
    first_s = (first - due) if first is not None else float("nan")
    window = (last - (first or last)) if last is not None else float("nan")
    baseline_s = prep["baseline_s"]
    busy_pct = 100 * (ticks1[0] - ticks0[0]) / max(1, ticks1[1] - ticks0[1])
    decided = summary_ms(late)
    print(
        f"quizsession bench.deadline: {count} attempts ({prep['events']:.0f} events) with one "
        f"deadline, grace {args.grace:g} s, reaper every 0.5 s (default); attempts written "
        f"straight into SQLite before the server started; {os.cpu_count()} CPUs, "
        f"load average {load0:.1f}"
    )
    print_table(
        ["what", "seconds", "per attempt ms", "attempts/s"],
        [
            ["first submitted (after deadline + grace)", first_s, float("nan"), float("nan")],
            ["all submitted (after deadline + grace)", all_s, all_s / count * 1000, count / all_s],
            ["first -> last submitted", window, window / count * 1000, count / window],
            [
                "baseline: 1 event appended to each",
                baseline_s,
                baseline_s / count * 1000,
                count / baseline_s,
            ],
        ],
    )
    print(
        f"all submitted / baseline x{ratio(all_s, baseline_s)}; first->last / baseline "
        f"x{ratio(window, baseline_s)}\n"
        f"submit decided after deadline + grace (event time): p50 {decided['p50_ms']:.0f} ms, "
        f"p99 {decided['p99_ms']:.0f} ms, max {decided['max_ms']:.0f} ms\n"
        f"server CPU {cpu1 - cpu0:.2f} s over the {all_s + 0.3:.2f} s, machine busy "
        f"{busy_pct:.0f}%; RSS {rss0:.0f} MiB before, peak {hwm:.0f} MiB\n"
        f"target all within {TARGET_S:g} s: {verdict(all_s <= TARGET_S)} ({all_s:.2f} s)\n"
        f"generation (not measured) {prep['generate_s']:.1f} s; server ready "
        f"{ready_before_due_s:.1f} s before deadline + grace; total {total_s:.0f} s"
    )
    if profile is not None:
        print_profile(profile, profile_to)
    for line in problems[:10]:
        print(f"ERROR {line}")
    print(
        json_line(
            {
                "bench": "deadline",
                "quick": args.quick,
                "attempts": count,
                "events": prep["events"],
                "cpus": os.cpu_count(),
                "load_average": load0,
                "grace_s": args.grace,
                "first_submitted_s": round(first_s, 3),
                "all_submitted_s": round(all_s, 3),
                "first_to_last_s": round(window, 3),
                "baseline_append_s": round(baseline_s, 3),
                "ratio_all_baseline": ratio(all_s, baseline_s),
                "ratio_window_baseline": ratio(window, baseline_s),
                "decided_after_due": decided,
                "server_cpu_s": round(cpu1 - cpu0, 2),
                "machine_busy_pct": round(busy_pct, 1),
                "rss_mib": round(rss0, 1),
                "peak_rss_mib": round(hwm, 1),
                "target_met": all_s <= TARGET_S,
                "problems": len(problems),
                "profile": profile,
                "total_s": round(total_s, 1),
            }
        )
    )
    return 1 if problems or last is None else 0


if __name__ == "__main__":
    sys.exit(main())
