"""How far one PostgreSQL primary carries the service: rows and bytes per attempt,
the cost of vacuuming the log, and saves per second per PostgreSQL core.

Run from the project root (``make bench`` runs it after ``bench.postgres``)::

    .venv/bin/python -m bench.capacity              # 20,000 attempts per layout
    .venv/bin/python -m bench.capacity --quick      # 5,000
    .venv/bin/python -m bench.capacity --attempts 50000 --partitions 32

One run starts its own PostgreSQL (127.0.0.1, fsync on) and, for each layout
(plain tables; the per-attempt tables hash-partitioned, ``--partitions``),
creates the schema with the store's own migrations, then loads ``--attempts``
finished attempts of 16 events each (created, session opened, test started,
five questions delivered and answered, one answer changed, submitted, session
closed: the store's own event encoding, an attempt id of the service's shape)
with COPY, the outbound trigger firing as on every append. Then, per layout:

``rows and bytes per attempt``
    each table's rows, heap and index bytes (``pg_relation_size``,
    ``pg_indexes_size``, ``pg_total_relation_size``: TOAST and free space map
    included) divided by the attempts, and the same times 10 million (linear:
    every table here grows with attempts; B-tree depth grows by one level per
    ~300x, which the arithmetic ignores);
``vacuum``
    ``VACUUM (ANALYZE)`` of the events table right after the load (the pass
    autovacuum makes over an insert-only table: visibility map, statistics),
    in seconds per million rows, as a ratio to the same VACUUM of a baseline
    table holding the same number of rows of the same width without indexes,
    measured in the same run;
``saves/s per PostgreSQL core``
    1000 / (PostgreSQL CPU ms per save) from ``bench.postgres``'s one-instance
    phase, read from ``test-artifacts/bench-results.json`` when ``make bench``
    ran it earlier in this run, or given with ``--pg-cpu-ms``.

Sizes are deterministic for a PostgreSQL version; seconds are this machine's
and only their ratio to the baseline says something elsewhere. Figures are not
assertions (DESIGN.md, "Benchmarks are not tests").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench.common import artifacts_dir
from quizsession.adapters.store.postgres import PostgresStore
from quizsession.domain.events import (
    AnswerSaved,
    AttemptCreated,
    AttemptEvent,
    QuestionDelivered,
    SectionStarted,
    SessionClosed,
    SessionOpened,
    Submitted,
    encode_event,
    event_type,
)
from testsupport.postgres_server import PostgresServer, start_postgres

TARGET_ATTEMPTS = 10_000_000
TABLES = ("events", "attempts", "outbound_backlog")
T0 = 1_800_000_000.0


def attempt_events(attempt_id: str, n: int) -> list[AttemptEvent]:
    """One finished attempt as the service writes it (16 events)."""
    at = T0 + n
    plan = [f"q-{i:02d}" for i in range(10)]
    session = f"s-{n:08d}-5c2a9e0f"
    events: list[AttemptEvent] = [
        AttemptCreated(
            at=at,
            attempt_id=attempt_id,
            quiz_id="final-exam",
            quiz_version=3,
            candidate_id=f"cand-{n:08d}",
            candidate_name="Ann Example",
        ),
        SessionOpened(at=at + 1, session_id=session, epoch=1),
        SectionStarted(at=at + 2, section="test", seed=n * 7919, plan=plan, op_id=f"op-{n}-s"),
    ]
    for i, question in enumerate(plan[:5]):
        events.append(QuestionDelivered(at=at + 10 + i * 60, section="test", question_id=question))
        events.append(
            AnswerSaved(
                at=at + 40 + i * 60,
                section="test",
                question_id=question,
                answer=["b", "d"] if i % 2 else "c",
                op_id=f"op-{n}-{i}",
                session_id=session,
            )
        )
    events.append(
        AnswerSaved(
            at=at + 400,
            section="test",
            question_id=plan[4],
            answer="a",
            op_id=f"op-{n}-x",
            session_id=session,
        )
    )
    events.append(
        Submitted(
            at=at + 600,
            reason="candidate",
            finished_at=at + 600,
            score=4.0,
            max_score=10.0,
            op_id=f"op-{n}-end",
        )
    )
    events.append(SessionClosed(at=at + 601, session_id=session, reason="submitted"))
    return events


def attempt_id_of(n: int) -> str:
    return f"a-{n:08d}-{(n * 2654435761) % 2**32:08x}{(n * 40503) % 2**16:04x}"


async def load(dsn: str, attempts: int) -> int:
    """``attempts`` finished attempts; the number of events written."""
    conn = await asyncpg.connect(dsn)
    written = 0
    try:
        batch = 2_000
        for start in range(0, attempts, batch):
            rows: list[tuple[Any, ...]] = []
            index: list[tuple[Any, ...]] = []
            for n in range(start, min(start + batch, attempts)):
                attempt_id = attempt_id_of(n)
                events = attempt_events(attempt_id, n)
                index.append(
                    (
                        attempt_id,
                        "final-exam",
                        f"cand-{n:08d}",
                        "submitted",
                        "test_finished",
                        len(events),
                        events[-1].at,
                        T0 + n + 3600,
                        None,
                    )
                )
                rows += [
                    (attempt_id, seq, event_type(e), e.at, encode_event(e).decode())
                    for seq, e in enumerate(events, 1)
                ]
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "attempts",
                    records=index,
                    columns=[
                        "attempt_id",
                        "quiz_id",
                        "candidate_id",
                        "status",
                        "state",
                        "version",
                        "updated_at",
                        "deadline",
                        "due_at",
                    ],
                )
                await conn.copy_records_to_table(
                    "events", records=rows, columns=["attempt_id", "seq", "type", "at", "data"]
                )
            written += len(rows)
    finally:
        await conn.close()
    return written


async def sizes(dsn: str, attempts: int) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        found: dict[str, Any] = {}
        for table in TABLES:
            # A partitioned table's sizes are its partitions' (pg_partition_tree;
            # a plain table is alone).
            r = await conn.fetchrow(
                "SELECT sum(pg_relation_size(relid))::bigint AS heap, "
                "sum(pg_indexes_size(relid))::bigint AS indexes, "
                "sum(pg_total_relation_size(relid))::bigint AS total "
                "FROM (SELECT relid FROM pg_partition_tree($1::regclass) "
                "UNION SELECT $1::regclass) AS t",
                table,
            )
            rows = await conn.fetchval(f"SELECT count(*) FROM {table}")  # noqa: S608
            assert r is not None
            found[table] = {
                "rows_per_attempt": round(rows / attempts, 2),
                "heap_bytes_per_attempt": round(r["heap"] / attempts),
                "index_bytes_per_attempt": round(r["indexes"] / attempts),
                "total_bytes_per_attempt": round(r["total"] / attempts),
                "total_gb_at_10m": round(r["total"] / attempts * TARGET_ATTEMPTS / 1e9, 2),
                "index_gb_at_10m": round(r["indexes"] / attempts * TARGET_ATTEMPTS / 1e9, 2),
            }
        total = sum(t["total_bytes_per_attempt"] for t in found.values())
        found["all"] = {
            "total_bytes_per_attempt": total,
            "total_gb_at_10m": round(total * TARGET_ATTEMPTS / 1e9, 2),
        }
        return found
    finally:
        await conn.close()


async def timed(dsn: str, statement: str) -> float:
    conn = await asyncpg.connect(dsn)
    try:
        began = time.perf_counter()
        await conn.execute(statement)
        return time.perf_counter() - began
    finally:
        await conn.close()


async def baseline_vacuum(dsn: str, rows: int, width: int) -> float:
    """VACUUM (ANALYZE) seconds of a table of ``rows`` rows of ``width`` bytes, no index."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "CREATE TABLE baseline AS SELECT g AS id, repeat('x', $2::integer) AS data "
            "FROM generate_series(1, $1::integer) AS g",
            rows,
            width,
        )
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()
    return await timed(dsn, "VACUUM (ANALYZE) baseline")


async def one_layout(
    pg: PostgresServer, name: str, partitions: int, attempts: int
) -> dict[str, Any]:
    await asyncio.to_thread(pg.create_database, name)
    dsn = pg.dsn_for(name)
    store = PostgresStore(dsn, partitions=partitions, min_size=1, max_size=2)
    await store.open()
    await store.close()
    began = time.perf_counter()
    events = await load(dsn, attempts)
    load_s = time.perf_counter() - began
    await timed(dsn, "CHECKPOINT")
    vacuum_s = await timed(dsn, "VACUUM (ANALYZE) events")
    conn = await asyncpg.connect(dsn)
    try:
        width = int(
            await conn.fetchval("SELECT avg(pg_column_size(e.*))::integer FROM events AS e")
        )
    finally:
        await conn.close()
    base_s = await baseline_vacuum(dsn, events, width)
    return {
        "layout": "plain" if partitions == 0 else f"hash {partitions}",
        "attempts": attempts,
        "events": events,
        "event_row_bytes": width,
        "load_s": round(load_s, 2),
        "tables": await sizes(dsn, attempts),
        "vacuum_events_s_per_million_rows": round(vacuum_s / events * 1e6, 3),
        "vacuum_baseline_s_per_million_rows": round(base_s / events * 1e6, 3),
        "ratio_vacuum_to_baseline": round(vacuum_s / base_s, 2) if base_s else None,
    }


def pg_cpu_ms_per_save(given: float | None) -> tuple[float | None, str]:
    if given is not None:
        return given, "--pg-cpu-ms"
    path = artifacts_dir() / "bench-results.json"
    try:
        summary = json.loads(path.read_text())
        ms = summary["scenarios"]["postgres"]["result"]["phases"]["one"]["pg_cpu_ms_per_save"]
        return float(ms), f"{path} (bench.postgres, one instance)"
    except (OSError, KeyError, TypeError, ValueError):
        return None, "not measured: run bench.postgres first (make bench does) or pass --pg-cpu-ms"


def report(layouts: list[dict[str, Any]], pg_ms: float | None, source: str) -> dict[str, Any]:
    print(
        f"{'layout':<10} {'table':<17} {'rows/att':>8} {'heap B':>7} {'index B':>8} "
        f"{'total B':>8} {'GB@10M':>7} {'idx GB@10M':>10}"
    )
    for layout in layouts:
        for table, t in layout["tables"].items():
            if table == "all":
                continue
            print(
                f"{layout['layout']:<10} {table:<17} {t['rows_per_attempt']:>8} "
                f"{t['heap_bytes_per_attempt']:>7} {t['index_bytes_per_attempt']:>8} "
                f"{t['total_bytes_per_attempt']:>8} {t['total_gb_at_10m']:>7} "
                f"{t['index_gb_at_10m']:>10}"
            )
        everything = layout["tables"]["all"]
        print(
            f"{layout['layout']:<10} {'all':<17} {'':>8} {'':>7} {'':>8} "
            f"{everything['total_bytes_per_attempt']:>8} {everything['total_gb_at_10m']:>7}"
        )
    for layout in layouts:
        print(
            f"{layout['layout']}: VACUUM (ANALYZE) events "
            f"{layout['vacuum_events_s_per_million_rows']} s per million rows, "
            f"x{layout['ratio_vacuum_to_baseline']} of a table of as many "
            f"{layout['event_row_bytes']}-byte rows without indexes; load "
            f"{layout['attempts']} attempts ({layout['events']} events) in {layout['load_s']} s"
        )
    per_core = round(1000.0 / pg_ms) if pg_ms else None
    print("GB@10M: bytes per attempt x 10,000,000 / 1e9 (linear)")
    if per_core is None:
        print(f"saves/s per PostgreSQL core: {source}")
    else:
        print(f"saves/s per PostgreSQL core: 1000 / {pg_ms} ms = {per_core} ({source})")
    return {
        "bench": "capacity",
        "layouts": layouts,
        "pg_cpu_ms_per_save": pg_ms,
        "saves_per_s_per_pg_core": per_core,
        "pg_cpu_source": source,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="quizsession-capacity-") as tmp:
        pg = await asyncio.to_thread(start_postgres, Path(tmp))
        try:
            layouts = [await one_layout(pg, "plain_layout", 0, args.attempts)]
            if args.partitions:
                layouts.append(await one_layout(pg, "hash_layout", args.partitions, args.attempts))
        finally:
            await asyncio.to_thread(pg.destroy)
    pg_ms, source = pg_cpu_ms_per_save(args.pg_cpu_ms)
    return report(layouts, pg_ms, source)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--attempts", type=int, default=20_000)
    parser.add_argument("--partitions", type=int, default=16, help="0: the plain layout only")
    parser.add_argument("--pg-cpu-ms", type=float, help="PostgreSQL CPU ms per save")
    parser.add_argument("--quick", action="store_true", help="5,000 attempts")
    args = parser.parse_args(argv)
    if args.quick:
        args.attempts = min(args.attempts, 5_000)
    if args.attempts < 100:
        parser.error("--attempts: at least 100")
    began = time.monotonic()
    result = asyncio.run(run(args))
    result["total_s"] = round(time.monotonic() - began, 1)
    result["cpus"] = os.cpu_count()
    print(json.dumps(result, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
