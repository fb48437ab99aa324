"""The Store contract and the PostgreSQL suite again, on the partitioned layout
(``QUIZSESSION_PG_PARTITIONS``: the per-attempt tables hash-partitioned on
``attempt_id``), plus what only that layout has: the same schema as the plain
one but for the partitioning, one attempt's rows in one partition of each
table, and a database that keeps the layout it was created with."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from quizsession.adapters.store.postgres import PostgresStore
from quizsession.adapters.store.postgres.partitioning import PARTITIONED_TABLES
from quizsession.adapters.store.postgres.schema import SCHEMA_VERSION
from quizsession.app.ports import LtiLaunchLink, Store, StoreUnavailable
from quizsession.domain.events import Submitted
from quizsession.settings import load_settings
from tests.contract import test_store_postgres as plain
from tests.contract.test_store import T0, create, row
from testsupport.postgres_server import PostgresServer, scratch_database

pytestmark = pytest.mark.postgres

PARTITIONS = 8


async def _fetch(dsn: str, query: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def partitioned_dsn(postgres_server: PostgresServer) -> str:
    """One database for the module, its schema created partitioned by the first
    store opened on it (the ``store`` fixture empties it for every test)."""
    name = f"hash_{uuid.uuid4().hex[:12]}"
    postgres_server.create_database(name)
    return postgres_server.dsn_for(name)


@pytest.fixture
async def empty_dsn(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """A new database without a schema, dropped afterwards."""
    async with scratch_database(postgres_server, "empty") as dsn:
        yield dsn


async def _opened(dsn: str, partitions: int) -> None:
    store = PostgresStore(dsn, partitions=partitions, min_size=1, max_size=2)
    await store.open()
    await store.close()


class TestPartitionedPostgresStore(plain.TestPostgresStore):
    partitions = PARTITIONS

    @pytest.fixture
    def pg_dsn(self, partitioned_dsn: str) -> str:
        return partitioned_dsn

    # Built by hand with the plain migrations: a plain database, which a store
    # asking for partitions refuses (test_an_old_plain_database_stays_plain).
    test_a_schema_1_database_gains_the_leases_table = None  # type: ignore[assignment]
    test_a_schema_2_database_gains_the_alive_table = None  # type: ignore[assignment]

    async def test_schema(self, store: Store, pg_dsn: str) -> None:
        applied = await _fetch(pg_dsn, "SELECT version FROM schema_migrations")
        assert sorted(r["version"] for r in applied) == list(range(1, SCHEMA_VERSION + 1))
        for table in PARTITIONED_TABLES:
            parts = await _fetch(
                pg_dsn,
                "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound "
                "FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = $1::regclass ORDER BY c.relname",
                table,
            )
            assert sorted(r["bound"] for r in parts) == sorted(
                f"FOR VALUES WITH (modulus {PARTITIONS}, remainder {i})" for i in range(PARTITIONS)
            )
            assert {r["relname"] for r in parts} == {f"{table}_p{i}" for i in range(PARTITIONS)}
        conn = await asyncpg.connect(pg_dsn)
        try:
            await conn.execute("SET enable_seqscan = off")
            plan = await conn.fetchval(
                "EXPLAIN (FORMAT JSON) SELECT attempt_id FROM attempts WHERE status = 'open' "
                "AND due_at <= 1 ORDER BY due_at, attempt_id LIMIT 10"
            )
        finally:
            await conn.close()
        nodes = _node_types(_json(plan)[0]["Plan"])
        assert "Merge Append" in nodes  # each partition's attempts_due, merged in order
        assert "Sort" not in nodes

    async def test_the_schema_is_the_plain_one_but_for_the_partitions(
        self, store: Store, pg_dsn: str, empty_dsn: str
    ) -> None:
        await _opened(empty_dsn, 0)
        assert await _catalog(pg_dsn) == await _catalog(empty_dsn)

    async def test_one_attempts_rows_are_in_one_partition_of_each_table(
        self, store: Store, pg_dsn: str
    ) -> None:
        for n in range(20):
            attempt_id = f"att-{n}"
            version = await create(store, attempt_id, 3)
            done = Submitted(
                at=T0 + 9, reason="candidate", finished_at=T0 + 9, score=1.0, max_score=2.0
            )
            await store.append(attempt_id, version, [done], row(attempt_id, status="submitted"))
            await store.acquire_lease(attempt_id, "s1", 10.0, T0)
            await store.put_lti_link(
                LtiLaunchLink(attempt_id=attempt_id, platform_id="p", subject="u")
            )
        homes: dict[str, set[str]] = {}
        for r in await _fetch(pg_dsn, _HOMES):
            homes.setdefault(r["attempt_id"], set()).add(r["part"].rsplit("_p", 1)[1])
        assert {r["part"].rsplit("_p", 1)[0] for r in await _fetch(pg_dsn, _HOMES)} == set(
            PARTITIONED_TABLES
        )
        assert len(homes) == 20
        assert all(len(parts) == 1 for parts in homes.values()), homes
        assert len({next(iter(p)) for p in homes.values()}) > 1  # spread over partitions

    async def test_the_layout_is_recorded_and_another_setting_refused(self, empty_dsn: str) -> None:
        await _opened(empty_dsn, PARTITIONS)
        layout = await _fetch(empty_dsn, "SELECT value FROM meta WHERE key = 'table_layout'")
        assert [r["value"] for r in layout] == [f"hash {PARTITIONS}"]
        before = await _catalog(empty_dsn)
        for other in (0, PARTITIONS // 2, PARTITIONS * 2):
            with pytest.raises(StoreUnavailable, match=f"QUIZSESSION_PG_PARTITIONS={PARTITIONS}"):
                await _opened(empty_dsn, other)
        assert await _catalog(empty_dsn) == before
        await _opened(empty_dsn, PARTITIONS)  # the same setting still opens it

    async def test_an_old_plain_database_stays_plain(self, empty_dsn: str) -> None:
        """A database made by migration 1 before the layouts existed is plain:
        a store asking for partitions refuses it, a plain one upgrades it."""
        conn = await asyncpg.connect(empty_dsn)
        try:
            async with conn.transaction():
                await plain.at_schema_1(conn)
        finally:
            await conn.close()
        with pytest.raises(StoreUnavailable, match="QUIZSESSION_PG_PARTITIONS=0"):
            await _opened(empty_dsn, PARTITIONS)
        await _opened(empty_dsn, 0)
        layout = await _fetch(empty_dsn, "SELECT value FROM meta WHERE key = 'table_layout'")
        assert [r["value"] for r in layout] == ["plain"]
        with pytest.raises(StoreUnavailable, match="'plain'"):
            await _opened(empty_dsn, PARTITIONS)


# Where each row of the per-attempt tables is.
_HOMES = (
    "SELECT attempt_id, tableoid::regclass::text AS part FROM attempts UNION ALL "
    "SELECT attempt_id, tableoid::regclass::text FROM events UNION ALL "
    "SELECT attempt_id, tableoid::regclass::text FROM leases UNION ALL "
    "SELECT attempt_id, tableoid::regclass::text FROM lti_links UNION ALL "
    "SELECT attempt_id, tableoid::regclass::text FROM outbound_backlog"
)


def test_the_setting_is_bounded() -> None:
    assert load_settings({}).pg_partitions == 0
    assert load_settings({"QUIZSESSION_PG_PARTITIONS": "32"}).pg_partitions == 32
    for bad in ("-1", "257", "many"):
        with pytest.raises(ValueError, match="QUIZSESSION_PG_PARTITIONS"):
            load_settings({"QUIZSESSION_PG_PARTITIONS": bad})


# -- the catalog, partitions left out ------------------------------------------------------


async def _catalog(dsn: str) -> dict[str, Any]:
    """Tables' columns, constraints, indexes, triggers and functions of the
    public schema, without the partitions and the partitioning clauses."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "CREATE TEMPORARY TABLE parents AS SELECT c.oid FROM pg_class AS c "
            "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
        )
        found = {
            name: sorted(tuple(r) for r in await conn.fetch(query))
            for name, query in _CATALOG.items()
        }
    finally:
        await conn.close()
    return found


_CATALOG = {
    "tables": "SELECT oid::regclass::text FROM parents",
    "columns": (
        "SELECT a.attrelid::regclass::text, a.attname, format_type(a.atttypid, a.atttypmod), "
        "a.attnotnull, coalesce(co.collname, ''), "
        "coalesce(pg_get_expr(d.adbin, d.adrelid), '') "
        "FROM pg_attribute AS a LEFT JOIN pg_collation AS co ON co.oid = a.attcollation "
        "LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE a.attrelid IN (SELECT oid FROM parents) AND a.attnum > 0 AND NOT a.attisdropped"
    ),
    "constraints": (
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
        "FROM pg_constraint WHERE conrelid IN (SELECT oid FROM parents) AND conparentid = 0"
    ),
    "indexes": (
        "SELECT x.indrelid::regclass::text, x.indexrelid::regclass::text, "
        "replace(pg_get_indexdef(x.indexrelid), ' ONLY ', ' ') FROM pg_index AS x "
        "WHERE x.indrelid IN (SELECT oid FROM parents)"
    ),
    "triggers": (
        "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger "
        "WHERE NOT tgisinternal AND tgrelid IN (SELECT oid FROM parents)"
    ),
    "functions": (
        "SELECT p.proname, p.prosrc FROM pg_proc AS p "
        "JOIN pg_namespace AS n ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
    ),
}


def _json(plan: Any) -> Any:
    return json.loads(plan) if isinstance(plan, str) else plan


def _node_types(node: dict[str, Any]) -> list[str]:
    found = [str(node["Node Type"])]
    for child in node.get("Plans", []):
        found += _node_types(child)
    return found
