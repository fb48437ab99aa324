"""What the executor does with a refusal's events (``VersionConflict.after``): it
catches up with them when they lead on from the version it decided on, and reads
the events after that version otherwise; either way it decides again on the
log's state. The store here is the memory store behind a wrapper that refuses
one append the way a store that carries events would, or with wrong ones."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from quizsession.adapters.store.memory import MemoryStore
from quizsession.app.attempts import AttemptExecutor, Loaded, QuizCache
from quizsession.app.clock import FakeClock
from quizsession.app.ports import AttemptIndexRow, RecordedEvent, VersionConflict
from quizsession.domain.commands import (
    AttemptCommand,
    CreateAttempt,
    DeliverNext,
    OpenSession,
    SaveAnswer,
    SessionRef,
    StartSection,
)
from quizsession.domain.events import AnswerSaved, AttemptEvent
from quizsession.domain.quiz import Quiz
from quizsession.domain.quiz_validation import parse_quiz
from tests.unit.test_app_sessions import demo_raw


@dataclass
class Refusing:
    """The memory store; ``refuse_with``: the next append is refused (nothing
    written) with a conflict carrying what ``refuse_with`` returns."""

    inner: MemoryStore
    refuse_with: object = None
    reads: list[int] = field(default_factory=list)

    async def append(
        self,
        attempt_id: str,
        expected_version: int,
        events: Sequence[AttemptEvent],
        index: AttemptIndexRow,
    ) -> int:
        make, self.refuse_with = self.refuse_with, None
        if callable(make):
            after = await make(attempt_id, expected_version)
            raise VersionConflict(attempt_id, expected_version, None, after=after)
        return await self.inner.append(attempt_id, expected_version, events, index)

    async def read(self, attempt_id: str, after: int = 0) -> list[RecordedEvent]:
        self.reads.append(after)
        return await self.inner.read(attempt_id, after)

    async def read_many(self, attempt_ids: Sequence[str]) -> dict[str, list[RecordedEvent]]:
        return await self.inner.read_many(attempt_ids)


async def setup() -> tuple[Refusing, AttemptExecutor, AttemptExecutor, SessionRef, str]:
    """Two executors on one store (neither trusting its cache), an attempt in its
    test section with a question on screen, written by the first."""
    memory = MemoryStore()
    await memory.open()
    quiz = await memory.put_quiz(parse_quiz(demo_raw()))
    store = Refusing(memory)
    clock = FakeClock()
    a, b = (
        AttemptExecutor(store, QuizCache(memory), clock, authoritative_cache=False)
        for _ in range(2)
    )

    def create() -> tuple[Quiz, AttemptCommand]:
        return quiz, CreateAttempt(
            attempt_id="a1", quiz_id=quiz.id, quiz_version=quiz.version, candidate_id="c1"
        )

    opened = await a.execute("a1", lambda _l: OpenSession(session_id="s1"), create=create)
    ref = SessionRef(session_id="s1", epoch=opened.state.epoch)
    await a.execute("a1", lambda _l: StartSection(session=ref, section="test", seed=3))
    delivered = await a.execute("a1", lambda _l: DeliverNext(session=ref))
    progress = delivered.state.progress("test")
    assert progress is not None
    question = progress.current_question()
    assert question is not None
    return store, a, b, ref, question


def saving(ref: SessionRef, question: str, op_id: str) -> Callable[[Loaded], AttemptCommand]:
    return lambda _l: SaveAnswer(session=ref, question_id=question, answer="canberra", op_id=op_id)


async def answers(store: Refusing) -> list[str | None]:
    log = await store.inner.read("a1")
    return [r.event.op_id for r in log if isinstance(r.event, AnswerSaved)]


async def test_events_that_lead_on_from_the_cached_version_spare_the_read() -> None:
    store, a, b, ref, question = await setup()
    cached = await b.load("a1")
    assert cached is not None
    await a.execute("a1", saving(ref, question, "o1"))
    store.reads.clear()

    async def the_log_after(attempt_id: str, expected: int) -> list[RecordedEvent]:
        return await store.inner.read(attempt_id, expected)

    store.refuse_with = the_log_after
    outcome = await b.execute("a1", saving(ref, question, "o2"))
    assert store.reads == []  # caught up with the refusal's events
    assert outcome.events
    assert await answers(store) == ["o1", "o2"]


async def test_events_that_do_not_lead_on_from_it_mean_a_read_after_it() -> None:
    store, a, b, ref, question = await setup()
    cached: Loaded | None = await b.load("a1")
    assert cached is not None
    version = cached.state.version
    await a.execute("a1", saving(ref, question, "o1"))
    store.reads.clear()

    async def a_gap(attempt_id: str, expected: int) -> list[RecordedEvent]:
        return (await store.inner.read(attempt_id, expected))[1:]  # seq expected+1 missing

    store.refuse_with = a_gap
    outcome = await b.execute("a1", saving(ref, question, "o2"))
    # The carried events were out of step: B read the events after its version,
    # decided again and landed after o1.
    assert store.reads == [version]
    assert outcome.events
    assert await answers(store) == ["o1", "o2"]
    assert outcome.state.version == (await store.inner.read("a1"))[-1].seq


async def test_a_refusal_without_events_means_a_read_of_the_events_after_the_cached_version() -> (
    None
):
    store, a, b, ref, question = await setup()
    cached = await b.load("a1")
    assert cached is not None
    version = cached.state.version
    await a.execute("a1", saving(ref, question, "o1"))
    store.reads.clear()

    async def nothing(attempt_id: str, expected: int) -> None:
        return None

    store.refuse_with = nothing
    outcome = await b.execute("a1", saving(ref, question, "o1"))  # the same op, replayed
    assert store.reads == [version]  # never the whole log
    assert outcome.events == ()  # recognised as a replay on the fresh state
    assert await answers(store) == ["o1"]
