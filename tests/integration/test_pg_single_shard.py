"""A candidate's requests touch one attempt's rows: on the partitioned layout
(``QUIZSESSION_PG_PARTITIONS``), every statement of the hot path (login,
start, question, save, heartbeat, the view, submit, the reaper's submit at the
deadline, and the store-only leases used while Redis is away) reads and writes
one partition of each per-attempt table: the one holding that attempt.

The service runs in process on a real PostgreSQL with a partitioned database.
Every pooled connection logs its statements with their arguments (asyncpg's
query logger) and has ``auto_explain`` send the plan of every statement it runs,
nested ones included (the outbound trigger's insert, the foreign key checks),
as ``EXPLAIN (ANALYZE, FORMAT JSON)`` to the client. A plan node that ran
(loops > 0) on a partition of another attempt fails the test. Run twice: with
custom plans (the planner prunes) and generic ones (the executor prunes at
start or per rescan), the two ways a prepared statement is run.

The statements that are not about one attempt are named in ``CROSS_ATTEMPT``
and must not appear on a candidate's request: the reaper's scan of due
attempts (its own pass, then one attempt at a time), which docs/scaling.md
lists with the other statements off the hot path.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import asyncpg
import httpx
import pytest

from quizsession.adapters.store.postgres import PostgresStore, sql
from quizsession.adapters.store.postgres.partitioning import PARTITIONED_TABLES
from quizsession.app.clock import FakeClock
from quizsession.bootstrap import build
from quizsession.entrypoints.http.app import create_app
from tests.integration.conftest import START, Api, make_settings
from testsupport.postgres_server import PostgresServer, scratch_database

pytestmark = [
    pytest.mark.postgres,
    # The plans' listener is on every pooled connection, on purpose.
    pytest.mark.filterwarnings("ignore:.*released to the pool but has 1 active log listener"),
]

PARTITIONS = 8
#: Statements over many attempts, run by the reaper's own pass (not by a request).
CROSS_ATTEMPT = {"due scan": sql.SELECT_DUE}
_TABLES = "|".join(PARTITIONED_TABLES)
_PART = re.compile(rf"^({_TABLES})_p(\d+)$")


@dataclass
class Step:
    name: str
    attempt_id: str = ""
    queries: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    plans: list[dict[str, Any]] = field(default_factory=list)


class Recorder:
    """What the store's connections ran, step by step."""

    def __init__(self, plan_cache_mode: str) -> None:
        self.plan_cache_mode = plan_cache_mode
        self.steps: list[Step] = [Step("setup")]

    def step(self, name: str) -> None:
        self.steps.append(Step(name))

    def steps_of(self, attempt_id: str) -> None:
        """The steps since the last call were about ``attempt_id``."""
        for step in self.steps[1:]:
            step.attempt_id = step.attempt_id or attempt_id

    async def init(self, conn: asyncpg.Connection[Any]) -> None:
        for statement in (
            "LOAD 'auto_explain'",
            "SET auto_explain.log_min_duration = 0",
            "SET auto_explain.log_analyze = on",
            "SET auto_explain.log_timing = off",
            "SET auto_explain.log_format = json",
            "SET auto_explain.log_nested_statements = on",
            f"SET plan_cache_mode = {self.plan_cache_mode}",
            "SET client_min_messages = log",
        ):
            await conn.execute(statement)
        conn.add_query_logger(self._logged)

    async def setup(self, conn: Any) -> None:
        # The pool drops log listeners on every release: one for every acquire.
        conn.add_log_listener(self._message)

    def _logged(self, record: Any) -> None:
        self.steps[-1].queries.append((record.query, tuple(record.args or ())))

    def _message(self, conn: Any, message: Any) -> None:
        text = str(getattr(message, "message", ""))
        start = text.find("{")
        if "plan:" in text and start >= 0:
            self.steps[-1].plans.append(json.loads(text[start:]))


@pytest.fixture(params=["force_custom_plan", "force_generic_plan"])
def recorder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder(request.param)
    create_pool = asyncpg.create_pool

    def instrumented(*args: Any, **kwargs: Any) -> Any:
        assert "init" not in kwargs
        assert "setup" not in kwargs
        return create_pool(*args, init=recorder.init, setup=recorder.setup, **kwargs)

    monkeypatch.setattr(asyncpg, "create_pool", instrumented)
    return recorder


@pytest.fixture
async def partitioned_dsn(postgres_server: PostgresServer) -> AsyncIterator[str]:
    async with scratch_database(postgres_server, "shard") as dsn:
        yield dsn


@pytest.fixture
async def api(partitioned_dsn: str, recorder: Recorder) -> AsyncIterator[Api]:
    clock = FakeClock(START)
    container = build(
        make_settings(store_url=partitioned_dsn, pg_partitions=PARTITIONS), clock=clock
    )
    await container.start(reaper=False)
    await _seed(partitioned_dsn)
    # httpx's ASGI transport runs the app in this test's event loop, where the
    # store's pool lives (the test client would run it in a thread of its own).
    transport = httpx.ASGITransport(app=cast(Any, create_app(container, manage_lifespan=False)))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Api(cast(Any, client), container, clock)
    finally:
        await container.stop()


#: Attempts already in the database: the plans are those of a database in use.
SEEDED = 40_000


async def _seed(dsn: str) -> None:
    """``SEEDED`` finished attempts of another quiz, and fresh statistics. On
    near-empty partitions a generic plan of the appends' batch statement (its
    arrays estimated at 100 rows) would read every partition in a hash join,
    cheaper there than 100 index probes; from a few thousand rows a partition
    on, it probes the index of the one partition each attempt id prunes to."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO attempts (attempt_id, quiz_id, candidate_id, status, state, version, "
            "updated_at, deadline, due_at) SELECT 'seed-' || g, 'seed', 'seed-' || g, "
            "'submitted', 'test_finished', 1, 0, NULL, NULL FROM generate_series(1, $1) AS g",
            SEEDED,
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def _partition_of(dsn: str, attempt_id: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        part: str = await conn.fetchval(
            "SELECT tableoid::regclass::text FROM attempts WHERE attempt_id = $1", attempt_id
        )
    finally:
        await conn.close()
    return int(part.rsplit("_p", 1)[1])


def _touched(node: dict[str, Any]) -> Iterator[str]:
    """The relations the nodes of a plan that ran (loops > 0) read or wrote. An
    update's or a delete's partitions are those its scans found rows in (its
    list of possible targets holds them all); an insert names the partitioned
    table, each row going to the partition of its attempt id."""
    if node.get("Actual Loops", 1) == 0:
        return
    if "Relation Name" in node:
        yield str(node["Relation Name"])
    for child in node.get("Plans", []):
        yield from _touched(child)


def _partitions_touched(plan: dict[str, Any]) -> set[tuple[str, int]]:
    found = set()
    for relation in _touched(plan["Plan"]):
        match = _PART.match(relation)
        if match:
            found.add((match[1], int(match[2])))
    return found


def _attempt_ids_in(args: tuple[Any, ...], known: set[str]) -> set[str]:
    found: set[str] = set()
    for arg in args:
        values = arg if isinstance(arg, list | tuple) else [arg]
        found |= {v for v in values if isinstance(v, str) and v in known}
    return found


async def test_every_hot_path_statement_touches_one_partition(
    api: Api, recorder: Recorder, partitioned_dsn: str
) -> None:
    await api.load_demo()
    first = (await api.invite())["token"]
    second = (await api.invite())["token"]

    # One candidate through the whole attempt.
    recorder.step("login")
    session = await api.login(first)
    recorder.step("start")
    await api.start(session, "test")
    recorder.step("question")
    await api.question(session)
    recorder.step("save")
    await api.answer_current(session, "op-1")
    recorder.step("heartbeat")
    r = await api.client.post(f"{session.path}/heartbeat", json={}, headers=session.headers)
    assert r.status_code == 200, r.text
    recorder.step("view")
    r = await api.client.get(session.path, headers=session.headers)
    assert r.status_code == 200, r.text
    recorder.step("submit")
    r = await api.client.post(f"{session.path}/complete", json={}, headers=session.headers)
    assert r.status_code == 200, r.text
    recorder.steps_of(session.attempt_id)

    # Another, submitted by the reaper at its deadline.
    recorder.step("login")
    late = await api.login(second)
    recorder.step("start")
    await api.start(late, "test")
    recorder.step("save")
    await api.answer_current(late, "op-2")
    api.clock.advance(24 * 3600)
    recorder.step("reaper submit")
    assert await api.reap() == 1

    # The leases kept in the store while Redis is away.
    store = api.container.store
    assert isinstance(store, PostgresStore)
    recorder.step("store-only leases")
    assert (await store.acquire_lease(late.attempt_id, "s9", 15.0, START)).acquired
    assert (await store.lease_holder(late.attempt_id, START)).holder == "s9"
    await store.release_lease(late.attempt_id, "s9")
    for _ in range(3):
        await asyncio.sleep(0)  # the last notices' callbacks
    recorder.steps_of(late.attempt_id)

    homes = {
        a: await _partition_of(partitioned_dsn, a) for a in (session.attempt_id, late.attempt_id)
    }
    cross = set(CROSS_ATTEMPT.values())
    checked: dict[str, int] = {}
    for step in recorder.steps[1:]:
        home = homes[step.attempt_id]
        assert step.queries, f"{step.name}: no statement recorded"
        for query, args in step.queries:
            if query in cross:
                assert step.name == "reaper submit", (step.name, query)
                continue
            carried = _attempt_ids_in(args, set(homes))
            assert carried <= {step.attempt_id}, (step.name, query, carried)
        for plan in step.plans:
            if plan.get("Query Text") in cross:
                continue
            touched = _partitions_touched(plan)
            assert {p for _, p in touched} <= {home}, (step.name, plan.get("Query Text"), touched)
            if touched:
                checked[step.name] = checked.get(step.name, 0) + 1
    # Every step read or wrote its attempt's partition, seen in the plans that ran.
    assert set(checked) == {s.name for s in recorder.steps[1:]}, checked
    reaped = [q for s in recorder.steps if s.name == "reaper submit" for q, _ in s.queries]
    assert sql.SELECT_DUE in reaped
