"""The executor's optimistic path on every store: two executors share one store
(two instances on one database, neither trusting its cache) and one of them
writes from a cache the other has moved past.

A write never reads the log first: it appends from its cached version. The store
refuses it; the executor catches up (with the events the refusal carries, on
PostgreSQL; else with a read of the events after its cached version, never the
whole log) and decides again on the fresh state: the save lands after the other
one, a replayed ``op_id`` is recognised, a superseded session is refused.
Memory, SQLite and PostgreSQL (with and without encryption at rest) alike."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest

from quizsession import bootstrap
from quizsession.adapters.store.memory import MemoryStore
from quizsession.adapters.store.postgres import PostgresStore
from quizsession.adapters.store.sqlite import SqliteStore
from quizsession.app.attempts import AttemptExecutor, Loaded, QuizCache
from quizsession.app.clock import FakeClock
from quizsession.app.metrics import NoMetrics
from quizsession.app.ports import AttemptIndexRow, RecordedEvent, Store
from quizsession.domain.attempt import AttemptState, apply
from quizsession.domain.commands import (
    AttemptCommand,
    CreateAttempt,
    DeliverNext,
    OpenSession,
    SaveAnswer,
    SessionRef,
    StartSection,
)
from quizsession.domain.errors import DomainError, ErrorCode
from quizsession.domain.events import AnswerSaved, AttemptEvent
from quizsession.domain.quiz import Quiz
from quizsession.domain.quiz_validation import parse_quiz
from tests.unit.test_app_sessions import demo_raw
from testsupport.postgres_server import PostgresServer

#: A valid encryption key ring (id:base64 of 32 bytes).
KEYS = "k1:" + "A" * 43


class CountingMetrics(NoMetrics):
    def __init__(self) -> None:
        self.conflicts = 0

    def conflict(self) -> None:
        self.conflicts += 1


@dataclass
class CountingLog:
    """The event log an executor sees, counting its calls (``after`` of each read)."""

    inner: Store
    reads: list[int] = field(default_factory=list)
    appends: int = 0

    async def append(
        self,
        attempt_id: str,
        expected_version: int,
        events: Sequence[AttemptEvent],
        index: AttemptIndexRow,
    ) -> int:
        self.appends += 1
        return await self.inner.append(attempt_id, expected_version, events, index)

    async def read(self, attempt_id: str, after: int = 0) -> list[RecordedEvent]:
        self.reads.append(after)
        return await self.inner.read(attempt_id, after)

    async def read_many(self, attempt_ids: Sequence[str]) -> dict[str, list[RecordedEvent]]:
        return await self.inner.read_many(attempt_ids)


@dataclass
class Instance:
    """One instance's executor on the shared store."""

    executor: AttemptExecutor
    log: CountingLog
    metrics: CountingMetrics


@dataclass
class Shared:
    store: Store
    quiz: Quiz
    clock: FakeClock
    #: The store's refusals carry the events the refused writer lacks (PostgreSQL).
    carries: bool

    def instance(self) -> Instance:
        log = CountingLog(self.store)
        metrics = CountingMetrics()
        executor = AttemptExecutor(
            log,
            QuizCache(self.store),
            self.clock,
            authoritative_cache=False,  # a shared store: no instance trusts its cache
            metrics=metrics,
        )
        return Instance(executor, log, metrics)


async def _truncate(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("TRUNCATE events, attempts, quizzes")
    finally:
        await conn.close()


@pytest.fixture(params=["memory", "sqlite", "postgres", "postgres-encrypted"])
async def shared(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Shared]:
    kind: str = request.param
    adapter: Store
    if kind == "memory":
        adapter = MemoryStore()
    elif kind == "sqlite":
        adapter = SqliteStore(str(tmp_path / "quizsession.db"))
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        adapter = PostgresStore(server.dsn)
    await adapter.open()
    try:
        if isinstance(adapter, PostgresStore):
            await _truncate(request.getfixturevalue("postgres_server").dsn)
        # As the services see it: through the encryption decorator (keys or none).
        store = bootstrap.with_encryption(adapter, KEYS if kind.endswith("encrypted") else "")
        quiz = await store.put_quiz(parse_quiz(demo_raw()))
        yield Shared(store, quiz, FakeClock(), carries=isinstance(adapter, PostgresStore))
    finally:
        await adapter.close()


def _const(command: AttemptCommand) -> Callable[[Loaded], AttemptCommand]:
    return lambda _loaded: command


async def started(shared: Shared, at: Instance) -> tuple[str, SessionRef, str]:
    """An attempt in its test section with one question delivered, through ``at``:
    (attempt id, the live session, the question on screen)."""
    attempt_id = f"a-{uuid.uuid4().hex[:8]}"
    quiz = shared.quiz

    def create() -> tuple[Quiz, AttemptCommand]:
        return quiz, CreateAttempt(
            attempt_id=attempt_id, quiz_id=quiz.id, quiz_version=quiz.version, candidate_id="c1"
        )

    opened = await at.executor.execute(
        attempt_id, _const(OpenSession(session_id="s1")), create=create
    )
    ref = SessionRef(session_id="s1", epoch=opened.state.epoch)
    await at.executor.execute(
        attempt_id, _const(StartSection(session=ref, section="test", seed=7, op_id="start"))
    )
    delivered = await at.executor.execute(attempt_id, _const(DeliverNext(session=ref)))
    progress = delivered.state.progress("test")
    assert progress is not None
    question = progress.current_question()
    assert question is not None
    return attempt_id, ref, question


def save(ref: SessionRef, question_id: str, op_id: str, answer: str = "canberra") -> SaveAnswer:
    return SaveAnswer(session=ref, question_id=question_id, answer=answer, op_id=op_id)


async def answers(shared: Shared, attempt_id: str) -> list[str | None]:
    return [
        r.event.op_id
        for r in await shared.store.read(attempt_id)
        if isinstance(r.event, AnswerSaved)
    ]


async def log_state(shared: Shared, attempt_id: str) -> AttemptState:
    state = AttemptState()
    for r in await shared.store.read(attempt_id):
        apply(state, r.event)
    return state


def caught_up(shared: Shared, b: Instance, cached_version: int) -> None:
    """B caught up without reading the whole log: with the events the refusal
    carried (no read at all), or with one read of the events after its cached
    version."""
    assert b.log.reads == ([] if shared.carries else [cached_version])


async def test_a_write_appends_from_the_cache_without_reading_the_log(shared: Shared) -> None:
    a = shared.instance()
    attempt_id, ref, question = await started(shared, a)
    reads = len(a.log.reads)
    appends = a.log.appends
    outcome = await a.executor.execute(attempt_id, _const(save(ref, question, "o1")))
    assert outcome.events
    assert len(a.log.reads) == reads  # no read before the append
    assert a.log.appends == appends + 1
    assert a.metrics.conflicts == 0


async def test_a_stale_cache_meets_a_conflict_then_lands_after_the_other_write(
    shared: Shared,
) -> None:
    a, b = shared.instance(), shared.instance()
    attempt_id, ref, question = await started(shared, a)
    cached = await b.executor.load(attempt_id)  # B's cache, soon behind
    assert cached is not None
    behind = cached.state.version
    await a.executor.execute(attempt_id, _const(save(ref, question, "o1", "sydney")))
    b.log.reads.clear()

    outcome = await b.executor.execute(attempt_id, _const(save(ref, question, "o2")))

    assert b.metrics.conflicts == 1  # refused once, then decided again and landed
    caught_up(shared, b, behind)
    assert outcome.events
    assert outcome.state.version == behind + 2
    assert await answers(shared, attempt_id) == ["o1", "o2"]
    assert outcome.state == await log_state(shared, attempt_id)
    # B's cache is the log's state now: its next write lands at once.
    b.log.reads.clear()
    again = await b.executor.execute(attempt_id, _const(save(ref, question, "o3")))
    assert again.events
    assert b.metrics.conflicts == 1
    assert b.log.reads == []


async def test_a_replayed_op_id_is_recognised_on_an_instance_whose_cache_is_stale(
    shared: Shared,
) -> None:
    a, b = shared.instance(), shared.instance()
    attempt_id, ref, question = await started(shared, a)
    cached = await b.executor.load(attempt_id)
    assert cached is not None
    behind = cached.state.version
    first = await a.executor.execute(attempt_id, _const(save(ref, question, "o1")))
    b.log.reads.clear()

    # The client retries the same save; the balancer sends it to B this time.
    replay = await b.executor.execute(attempt_id, _const(save(ref, question, "o1")))

    assert replay.events == ()  # a replay: nothing appended
    assert b.metrics.conflicts == 1  # B decided on its stale state, the store refused
    caught_up(shared, b, behind)
    record = replay.state.ops.get("o1")
    assert record is not None
    assert record.version == first.state.version
    assert await answers(shared, attempt_id) == ["o1"]


async def test_a_superseded_session_is_refused_on_an_instance_whose_cache_is_stale(
    shared: Shared,
) -> None:
    a, b = shared.instance(), shared.instance()
    attempt_id, old, question = await started(shared, a)
    assert await b.executor.load(attempt_id) is not None  # B still sees s1 live
    takeover = await a.executor.execute(
        attempt_id, _const(OpenSession(session_id="s2", takeover=True))
    )
    assert takeover.state.epoch == old.epoch + 1
    version = takeover.state.version

    with pytest.raises(DomainError) as info:
        await b.executor.execute(attempt_id, _const(save(old, question, "o-late")))

    assert info.value.code == ErrorCode.SESSION_SUPERSEDED
    assert b.metrics.conflicts == 1  # fencing: decided again on the log's state
    assert await answers(shared, attempt_id) == []
    assert (await log_state(shared, attempt_id)).version == version


async def test_a_stale_creator_catches_up_with_the_attempt_another_created(
    shared: Shared,
) -> None:
    a, b = shared.instance(), shared.instance()
    attempt_id, ref, _ = await started(shared, a)
    quiz = shared.quiz

    def create() -> tuple[Quiz, AttemptCommand]:
        return quiz, CreateAttempt(
            attempt_id=attempt_id, quiz_id=quiz.id, quiz_version=quiz.version, candidate_id="c1"
        )

    # B never saw the attempt: its create is refused, it catches up and decides
    # on the attempt as it is (the test is running: starting it again is a no-op).
    outcome = await b.executor.execute(
        attempt_id,
        _const(StartSection(session=ref, section="test", seed=7, op_id="start")),
        create=create,
    )
    assert outcome.events == ()
    assert outcome.state == await log_state(shared, attempt_id)
