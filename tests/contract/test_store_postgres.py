"""The Store contract on a real PostgreSQL server, plus PostgreSQL-only tests:
migrations (idempotent, concurrent, newer schema refused), durability across a
restart and a crash of the server, and errors translated at the port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import asyncpg
import pytest

from quizsession.adapters.store.postgres import PostgresStore
from quizsession.adapters.store.postgres.schema import MIGRATIONS, SCHEMA_VERSION
from quizsession.app.ports import Store, StoreError, StoreUnavailable, VersionConflict
from quizsession.domain.events import AnswerSaved, AttemptEvent
from tests.contract.test_store import (
    T0,
    StoreContract,
    answer,
    create,
    created,
    invite,
    row,
    sample_quiz,
)
from testsupport.net import free_port
from testsupport.postgres_server import PostgresServer, scratch_database

pytestmark = pytest.mark.postgres

_TABLES = (
    "events, attempts, quizzes, invites, leases, alive, meta, accommodations, "
    "lti_platforms, lti_nonces, lti_links, outbound_deliveries, outbound_destinations, "
    "outbound_backlog"
)


async def _sql(dsn: str, statement: str, *args: object) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(statement, *args)
    finally:
        await conn.close()


async def _fetch(dsn: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(query)
    finally:
        await conn.close()


async def at_schema_1(conn: asyncpg.Connection) -> None:
    """Make the empty database on ``conn`` one that migration 1 made (before
    every later migration and the table layouts)."""
    await conn.execute(MIGRATIONS[0])
    await conn.execute(
        "CREATE TABLE schema_migrations (version integer PRIMARY KEY, "
        "applied_at timestamptz NOT NULL DEFAULT now())"
    )
    await conn.execute("INSERT INTO schema_migrations (version) VALUES (1)")


async def _ensure_running(server: PostgresServer) -> None:
    if not server.running:
        await asyncio.to_thread(server.restart)


class TestPostgresStore(StoreContract):
    #: The layout of the tables under test (0: plain; ``test_store_partitioned.py``
    #: runs this suite again on hash-partitioned tables).
    partitions: ClassVar[int] = 0

    @pytest.fixture
    def pg_dsn(self, postgres_server: PostgresServer) -> str:
        """The database the ``store`` fixture empties and opens."""
        return postgres_server.dsn

    def new_store(self, dsn: str, **options: Any) -> PostgresStore:
        """A store on ``dsn`` with this suite's table layout."""
        return PostgresStore(dsn, partitions=self.partitions, **options)

    @pytest.fixture
    async def store(self, postgres_server: PostgresServer, pg_dsn: str) -> AsyncIterator[Store]:
        await _ensure_running(postgres_server)  # in case an earlier test left it down
        pg = self.new_store(pg_dsn)
        await pg.open()
        try:
            await _sql(pg_dsn, f"TRUNCATE {_TABLES}")
            yield pg
        finally:
            await pg.close()

    @pytest.fixture
    async def fresh_dsn(self, postgres_server: PostgresServer) -> AsyncIterator[str]:
        """A new, empty database (no schema yet), dropped afterwards."""
        async with scratch_database(postgres_server, "fresh") as dsn:
            yield dsn

    async def test_is_durable(self, store: Store) -> None:
        assert store.durable is True

    async def test_declares_itself_shared_with_its_schema(self, store: Store) -> None:
        assert store.shared is True  # so no instance trusts its cache (bootstrap)
        assert store.secret_file is None  # the instances share a configured secret
        assert await store.schema_version() == SCHEMA_VERSION

    async def test_the_encryption_mark_survives_a_server_restart(
        self, store: Store, postgres_server: PostgresServer
    ) -> None:
        await store.mark_encrypted_data()
        await asyncio.to_thread(postgres_server.restart)
        assert await store.holds_encrypted_data() is True

    # -- schema and migrations ------------------------------------------------------------

    async def test_schema(self, store: Store, pg_dsn: str) -> None:
        dsn = pg_dsn
        applied = await _fetch(dsn, "SELECT version, applied_at FROM schema_migrations")
        assert sorted(r["version"] for r in applied) == list(range(1, SCHEMA_VERSION + 1))
        assert all(r["applied_at"] is not None for r in applied)
        indexes = {
            r["indexname"]: r["indexdef"]
            for r in await _fetch(dsn, "SELECT indexname, indexdef FROM pg_indexes")
        }
        assert {"attempts_by_quiz", "attempts_by_status", "attempts_due"} <= set(indexes)
        assert "WHERE (status = 'open'::text)" in indexes["attempts_due"]
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("SET enable_seqscan = off")
            plan = "\n".join(
                r[0]
                for r in await conn.fetch(
                    "EXPLAIN SELECT attempt_id FROM attempts WHERE status = 'open' "
                    "AND due_at <= 1 ORDER BY due_at, attempt_id LIMIT 10"
                )
            )
        finally:
            await conn.close()
        assert "attempts_due" in plan
        assert "Sort" not in plan

    async def test_migrations_are_idempotent(self, fresh_dsn: str) -> None:
        pg = self.new_store(fresh_dsn)
        assert [tuple(r) for r in await _fetch(fresh_dsn, "SELECT to_regclass('attempts')")] == [
            (None,)
        ]
        await pg.open()
        try:
            assert await pg.schema_version() == SCHEMA_VERSION
            await create(pg, "a1", 2)
            await pg.migrate()
            await pg.migrate()
            assert [r.seq for r in await pg.read("a1")] == [1, 2]
        finally:
            await pg.close()
        again = self.new_store(fresh_dsn)
        await again.open()  # migrates again: nothing to do
        try:
            assert await again.schema_version() == SCHEMA_VERSION
            assert [r.seq for r in await again.read("a1")] == [1, 2]
        finally:
            await again.close()
        rows = await _fetch(fresh_dsn, "SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in rows] == list(range(1, SCHEMA_VERSION + 1))

    async def test_concurrent_migrations_from_three_instances(self, fresh_dsn: str) -> None:
        stores = [self.new_store(fresh_dsn, min_size=1, max_size=4) for _ in range(3)]
        outcomes = await asyncio.gather(*(s.open() for s in stores), return_exceptions=True)
        try:
            assert outcomes == [None, None, None]
            rows = await _fetch(fresh_dsn, "SELECT version FROM schema_migrations")
            assert sorted(r["version"] for r in rows) == list(range(1, SCHEMA_VERSION + 1))
            # All three work on the one schema; an identical quiz gets one version.
            quizzes = await asyncio.gather(*(s.put_quiz(sample_quiz()) for s in stores))
            assert {q.version for q in quizzes} == {1}
            await create(stores[0], "a1")
            assert [r.seq for r in await stores[2].read("a1")] == [1]
        finally:
            for s in stores:
                await s.close()

    async def test_a_schema_1_database_gains_the_leases_table(self, fresh_dsn: str) -> None:
        """A database made by the first migration (before leases) is brought up
        to date on open and keeps its data."""
        conn = await asyncpg.connect(fresh_dsn)
        try:
            async with conn.transaction():
                await at_schema_1(conn)
                await conn.execute(
                    "INSERT INTO attempts (attempt_id, quiz_id, candidate_id, status, state, "
                    "version, updated_at) VALUES ('a1', 'quiz-1', 'c1', 'open', 'x', 1, 0)"
                )
        finally:
            await conn.close()
        pg = self.new_store(fresh_dsn)
        await pg.open()
        try:
            assert await pg.schema_version() == SCHEMA_VERSION == 8
            assert (await pg.get_index("a1")) is not None
            assert (await pg.acquire_lease("a1", "s1", 10.0, T0)).acquired
            assert (await pg.acquire_lease("a1", "s2", 10.0, T0 + 1)).holder == "s1"
            assert await pg.last_alive() is None
            await pg.mark_alive("i1", T0)
            assert await pg.last_alive() == T0
        finally:
            await pg.close()

    async def test_a_schema_2_database_gains_the_alive_table(self, fresh_dsn: str) -> None:
        conn = await asyncpg.connect(fresh_dsn)
        try:
            async with conn.transaction():
                await conn.execute(MIGRATIONS[0])
                await conn.execute(MIGRATIONS[1])
                await conn.execute(
                    "CREATE TABLE schema_migrations (version integer PRIMARY KEY, "
                    "applied_at timestamptz NOT NULL DEFAULT now())"
                )
                await conn.execute("INSERT INTO schema_migrations (version) VALUES (1), (2)")
                await conn.execute(
                    "INSERT INTO leases (attempt_id, session_id, expires_at) "
                    "VALUES ('a1', 's1', $1)",
                    T0 + 10,
                )
        finally:
            await conn.close()
        pg = self.new_store(fresh_dsn)
        await pg.open()
        try:
            assert await pg.schema_version() == SCHEMA_VERSION == 8
            assert (await pg.lease_holder("a1", T0)).holder == "s1"
            await pg.mark_alive("i1", T0 + 0.25)
            assert await pg.last_alive() == T0 + 0.25
        finally:
            await pg.close()

    async def test_marks_survive_a_server_restart(
        self, store: Store, postgres_server: PostgresServer
    ) -> None:
        await store.mark_alive("i1", T0 + 2.5)
        await asyncio.to_thread(postgres_server.restart)
        assert await store.last_alive() == T0 + 2.5

    async def test_leases_survive_a_server_restart(
        self, store: Store, postgres_server: PostgresServer
    ) -> None:
        await store.acquire_lease("a1", "s1", 10.0, T0)
        await asyncio.to_thread(postgres_server.restart)
        assert (await store.lease_holder("a1", T0 + 1)).holder == "s1"
        assert (await store.acquire_lease("a1", "s2", 10.0, T0 + 1)).acquired is False

    async def test_a_newer_schema_is_refused(self, fresh_dsn: str) -> None:
        pg = self.new_store(fresh_dsn)
        await pg.open()
        await pg.close()
        await _sql(
            fresh_dsn, "INSERT INTO schema_migrations (version) VALUES ($1)", SCHEMA_VERSION + 1
        )
        newer = self.new_store(fresh_dsn)
        with pytest.raises(StoreUnavailable, match="newer"):
            await newer.open()
        with pytest.raises(StoreUnavailable):
            await newer.read("a1")  # not open

    # -- durability -----------------------------------------------------------------------

    async def test_everything_survives_a_server_restart(
        self, store: Store, postgres_server: PostgresServer, pg_dsn: str
    ) -> None:
        await create(store, "a1", 3, due_at=T0 + 5)
        quiz = await store.put_quiz(sample_quiz())
        await store.add_invites([invite("h1")])
        events, index = await store.read("a1"), await store.get_index("a1")
        await store.close()

        await asyncio.to_thread(postgres_server.restart)

        again = self.new_store(pg_dsn)
        await again.open()
        try:
            assert await again.read("a1") == events
            assert await again.get_index("a1") == index
            assert [r.attempt_id for r in await again.due_attempts(T0 + 5)] == ["a1"]
            assert await again.get_quiz("quiz-1") == quiz
            assert await again.put_quiz(sample_quiz()) == quiz
            assert await again.find_invite("h1") == invite("h1")
            assert await again.append("a1", 3, [answer(9)], row("a1")) == 4
            with pytest.raises(VersionConflict):
                await again.append("a1", 3, [answer(9)], row("a1"))
        finally:
            await again.close()

    async def test_acknowledged_appends_survive_a_server_crash(
        self, store: Store, postgres_server: PostgresServer
    ) -> None:
        async def writer(i: int) -> int:
            attempt_id = f"k{i:02d}"
            version = await store.append(attempt_id, 0, [created(attempt_id)], row(attempt_id))
            for n in range(1, 5):
                version = await store.append(attempt_id, version, [answer(n)], row(attempt_id))
            return version

        assert await asyncio.gather(*(writer(i) for i in range(20))) == [5] * 20
        try:
            await asyncio.to_thread(postgres_server.kill)  # SIGKILL: no shutdown checkpoint
            with pytest.raises(StoreUnavailable):
                await store.read("k00")
        finally:
            await asyncio.to_thread(postgres_server.restart)  # runs crash recovery
        for i in range(20):
            assert [r.seq for r in await store.read(f"k{i:02d}")] == [1, 2, 3, 4, 5]

    # -- errors at the port ---------------------------------------------------------------

    async def test_a_stopped_server_is_unavailable_then_the_store_recovers(
        self, store: Store, postgres_server: PostgresServer
    ) -> None:
        await create(store, "a1")
        try:
            await asyncio.to_thread(postgres_server.stop)
            calls = [
                store.append("a1", 1, [answer(1)], row("a1")),
                store.append("a2", 0, [created("a2")], row("a2")),
                store.read("a1"),
                store.get_index("a1"),
                store.list_attempts(),
                store.due_attempts(T0),
                store.put_quiz(sample_quiz()),
                store.get_quiz("quiz-1"),
                store.list_quizzes(),
                store.add_invites([invite("h1")]),
                store.find_invite("h1"),
                store.acquire_lease("a1", "s1", 10.0, T0),
                store.release_lease("a1", "s1"),
                store.lease_holder("a1", T0),
            ]
            for call in calls:
                with pytest.raises(StoreUnavailable):
                    await asyncio.wait_for(call, 30)
            assert await store.ping() is False
        finally:
            await asyncio.to_thread(postgres_server.restart)
        # The same store object works again: its pool reconnects.
        assert await store.ping() is True
        assert await store.append("a1", 1, [answer(1)], row("a1")) == 2
        assert [r.seq for r in await store.read("a1")] == [1, 2]
        assert await store.get_index("a2") is None  # the refused create left nothing

    async def test_reads_recover_from_connections_dropped_by_a_restart(
        self, store: Store, postgres_server: PostgresServer
    ) -> None:
        await create(store, "a1", 2)
        await asyncio.to_thread(postgres_server.restart)
        assert [r.seq for r in await store.read("a1")] == [1, 2]
        assert await store.append("a1", 2, [answer(5)], row("a1")) == 3

    async def test_calls_survive_their_pooled_connection_being_killed(self, pg_dsn: str) -> None:
        pg = self.new_store(pg_dsn, min_size=1, max_size=1)
        await pg.open()

        async def kill_backends() -> None:
            # Terminate the store's only connection from the server side; the
            # next call meets it at once, before or after the pool noticed.
            await _sql(
                pg_dsn,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'quizsession' AND pid <> pg_backend_pid()",
            )

        try:
            await _sql(pg_dsn, f"TRUNCATE {_TABLES}")
            version = await create(pg, "a1", 2)
            for n in range(3):
                await kill_backends()
                assert [r.seq for r in await pg.read("a1")] == list(range(1, version + 1))
                await kill_backends()
                version = await pg.append("a1", version, [answer(n)], row("a1"))
                await kill_backends()
                assert (await pg.put_quiz(sample_quiz())).version == 1
            assert version == 5
        finally:
            await pg.close()

    async def test_opening_without_a_server_is_unavailable(self) -> None:
        pg = PostgresStore(
            f"postgresql://postgres@127.0.0.1:{free_port()}/quizsession", connect_timeout_s=2
        )
        with pytest.raises(StoreUnavailable):
            await pg.open()
        assert await pg.ping() is False
        await pg.close()

    async def test_data_the_server_refuses_is_a_store_error_and_writes_nothing(
        self, store: Store
    ) -> None:
        # PostgreSQL text cannot hold NUL: refused as bad data, not as an outage.
        with pytest.raises(StoreError) as info:
            await store.add_invites([invite("ok"), invite("bad", name="Ada\x00")])
        assert not isinstance(info.value, StoreUnavailable | VersionConflict)
        assert await store.find_invite("ok") is None
        with pytest.raises(StoreError) as again:
            await store.append("a\x00", 0, [created("a\x00")], row("a\x00"))
        assert not isinstance(again.value, StoreUnavailable | VersionConflict)
        assert await store.list_attempts() == []

    async def test_events_keep_nul_and_stay_queryable_as_json(
        self, store: Store, pg_dsn: str
    ) -> None:
        """``json`` keeps ``\\u0000`` (``jsonb`` would refuse the whole write); only
        the JSON operators cannot read such a record."""
        saved = AnswerSaved(
            at=T0, section="test", question_id="q1", answer="a\x00b", op_id="o", session_id="s"
        )
        events: list[AttemptEvent] = [created("a1"), saved]
        await store.append("a1", 0, events, row("a1"))
        assert [r.event for r in await store.read("a1")] == events
        rows = await _fetch(
            pg_dsn,
            "SELECT data->>'attempt_id' AS a FROM events WHERE type = 'attempt_created'",
        )
        assert [r["a"] for r in rows] == ["a1"]

    async def test_closed_store(self, store: Store) -> None:
        await store.close()
        await store.close()  # idempotent
        with pytest.raises(StoreUnavailable):
            await store.read("a1")
        with pytest.raises(StoreUnavailable):
            await store.append("a1", 0, [created("a1")], row("a1"))
        assert await store.ping() is False

    # -- group commit (postgres/appends.py) -------------------------------------------------

    async def test_concurrent_appends_are_written_in_batches_each_with_its_answer(
        self, store: Store
    ) -> None:
        assert isinstance(store, PostgresStore)
        for n in range(40):
            await create(store, f"old{n}", 2)
        batches = store._appends.batches
        outcomes = await asyncio.gather(
            *(
                store.append(f"new{n}", 0, [created(f"new{n}"), answer(n)], row(f"new{n}"))
                for n in range(200)
            ),
            *(
                store.append(f"old{n}", 2, [answer(n)], row(f"old{n}", status="submitted"))
                for n in range(40)
            ),
            # stale: refused alone, the rest of its batch lands
            store.append("old0", 1, [answer(99)], row("old0")),
            return_exceptions=True,
        )
        # The stale append expects version 1: whichever order, old0 is at 2 or 3
        # then, so it is refused and every other append lands.
        assert outcomes[:240] == [2] * 200 + [3] * 40
        stale = outcomes[240]
        assert isinstance(stale, VersionConflict)
        assert stale.expected == 1
        assert stale.actual in (2, 3)
        assert store._appends.batches > batches  # at least one multi-row batch
        for n in (0, 199):
            got = await store.read(f"new{n}")
            assert [r.event for r in got] == [created(f"new{n}"), answer(n)]
        for n in (0, 39):
            assert [r.event for r in await store.read(f"old{n}", after=2)] == [answer(n)]
            index = await store.get_index(f"old{n}")
            assert index is not None
            assert (index.status, index.version) == ("submitted", 3)

    async def test_a_batch_that_fails_is_written_one_append_at_a_time(
        self, store: Store, pg_dsn: str
    ) -> None:
        assert isinstance(store, PostgresStore)
        await create(store, "moved", 2)
        # The log moved on without the attempts row: seq 3 is taken.
        await _sql(
            pg_dsn,
            "INSERT INTO events (attempt_id, seq, type, at, data) "
            "SELECT attempt_id, 3, type, at, data FROM events "
            "WHERE attempt_id = 'moved' AND seq = 2",
        )
        fallbacks = store._appends.fallbacks
        outcomes = await asyncio.gather(
            *(store.append(f"y{n}", 0, [created(f"y{n}")], row(f"y{n}")) for n in range(20)),
            store.append("moved", 2, [answer(7)], row("moved")),
            return_exceptions=True,
        )
        assert outcomes[:20] == [1] * 20
        assert isinstance(outcomes[20], VersionConflict)
        assert store._appends.fallbacks > fallbacks
        index = await store.get_index("moved")
        assert index is not None
        assert index.version == 2
        assert [r.seq for r in await store.read("y19")] == [1]

    async def test_a_refusal_carries_the_events_its_writer_lacks(self, store: Store) -> None:
        await create(store, "behind", 3)
        await create(store, "ahead", 2)
        outcomes = await asyncio.gather(
            *(store.append(f"w{n}", 0, [created(f"w{n}")], row(f"w{n}")) for n in range(10)),
            store.append("behind", 1, [answer(7)], row("behind")),  # two events behind
            store.append("ahead", 5, [answer(8)], row("ahead")),  # ahead of the log
            return_exceptions=True,
        )
        assert outcomes[:10] == [1] * 10
        behind, ahead = outcomes[10:]
        assert isinstance(behind, VersionConflict)
        assert behind.actual == 3
        assert behind.after == await store.read("behind", after=1)
        assert isinstance(ahead, VersionConflict)
        assert (ahead.actual, ahead.after) == (2, None)  # nothing to catch up with
        # Alone (a batch of one) as in a batch; a second creator gets the log.
        with pytest.raises(VersionConflict) as info:
            await store.append("behind", 2, [answer(9)], row("behind"))
        assert info.value.after == await store.read("behind", after=2)
        with pytest.raises(VersionConflict) as info:
            await store.append("w0", 0, [created("w0")], row("w0"))
        assert info.value.after == await store.read("w0")

    async def test_two_appends_to_one_attempt_never_share_a_batch(self, store: Store) -> None:
        outcomes = await asyncio.gather(
            *(store.append(f"z{n}", 0, [created(f"z{n}")], row(f"z{n}")) for n in range(10)),
            store.append("z0", 0, [created("z0")], row("z0")),  # a second creator
            return_exceptions=True,
        )
        firsts = [outcomes[0], outcomes[10]]
        assert sorted(map(type, firsts), key=str) == sorted([int, VersionConflict], key=str)
        assert outcomes[1:10] == [1] * 9
        assert [r.seq for r in await store.read("z0")] == [1]
