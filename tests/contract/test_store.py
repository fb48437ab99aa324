"""The ``Store`` contract: one suite, run against every adapter.

``StoreContract`` holds the tests; it is not collected on its own (no ``Test``
prefix). An adapter's suite subclasses it and overrides ONE fixture, ``store``,
which must yield an opened, EMPTY store (fresh for every test) and close it
afterwards::

    from tests.contract.test_store import StoreContract

    class TestPostgresStore(StoreContract):
        @pytest.fixture
        async def store(self, pg_dsn: str) -> AsyncIterator[Store]:
            ...

Every adapter must pass every test here unchanged; adapter-specific tests (e.g.
durability across a reopen) go in the subclass.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any, get_args

import msgspec
import pytest

from quizsession import bootstrap
from quizsession.adapters.store.memory import MemoryStore
from quizsession.adapters.store.sqlite import SqliteStore
from quizsession.adapters.store.sqlite.schema import MIGRATIONS, SCHEMA_VERSION
from quizsession.app.ports import (
    AttemptIndexRow,
    AttemptStatus,
    Invite,
    LeaseGrant,
    QuizSummary,
    RecordedEvent,
    Store,
    StoreError,
    StoreUnavailable,
    VersionConflict,
)
from quizsession.domain.events import (
    AnswerGraded,
    AnswerSaved,
    AttemptCreated,
    AttemptEvent,
    DurationChanged,
    PracticeFinished,
    QuestionDelivered,
    QuestionFlagged,
    QuestionViewed,
    Regraded,
    Reopened,
    SectionStarted,
    SessionClosed,
    SessionOpened,
    SessionSuperseded,
    Submitted,
    TimeAccommodated,
    TimeExtended,
    Voided,
)
from quizsession.domain.quiz import Choice, Policies, Question, Quiz, Section, Selection
from quizsession.settings import load_settings
from tests.contract.store_accommodations import AccommodationContract
from tests.contract.store_lti import LtiContract
from tests.contract.store_outbound import OutboundContract
from tests.contract.store_paging import PagingContract

T0 = 1_700_000_000.0


def row(
    attempt_id: str,
    *,
    quiz_id: str = "quiz-1",
    candidate_id: str = "cand-1",
    status: AttemptStatus = "open",
    state: str = "test_started",
    version: int = 0,
    updated_at: float = T0,
    deadline: float | None = None,
    due_at: float | None = None,
) -> AttemptIndexRow:
    return AttemptIndexRow(
        attempt_id=attempt_id,
        quiz_id=quiz_id,
        candidate_id=candidate_id,
        status=status,
        state=state,
        version=version,
        updated_at=updated_at,
        deadline=deadline,
        due_at=due_at,
    )


def created(attempt_id: str, quiz_id: str = "quiz-1") -> AttemptCreated:
    return AttemptCreated(
        at=T0, attempt_id=attempt_id, quiz_id=quiz_id, quiz_version=1, candidate_id="cand-1"
    )


def answer(n: int, value: str = "a") -> AnswerSaved:
    return AnswerSaved(
        at=T0 + n,
        section="test",
        question_id=f"q{n}",
        answer=value,
        op_id=f"op-{n}",
        session_id="s1",
    )


def every_event() -> list[AttemptEvent]:
    """One event of each type, every field away from its default."""
    return [
        AttemptCreated(
            at=T0 + 0.125,
            attempt_id="every",
            quiz_id="quiz-ü",
            quiz_version=3,
            candidate_id="cand-7",
            candidate_name='Zoë O\'Brien "ZO"',
        ),
        SessionOpened(at=T0 + 1.5, session_id="s1", epoch=4, takeover=True),
        SessionSuperseded(at=T0 + 2, session_id="s1", by_session_id="s2"),
        SessionClosed(at=T0 + 3, session_id="s2", reason="idle", by="system"),
        SectionStarted(
            at=T0 + 4, section="test", seed=2**62 + 1, plan=["q1", "q2", "q3"], op_id="op-s"
        ),
        PracticeFinished(at=T0 + 5, op_id="op-p"),
        QuestionDelivered(at=T0 + 6, section="practice", question_id="q1"),
        QuestionDelivered(at=T0 + 6.5, section="test", question_id="d1", needs_answer=False),
        QuestionViewed(at=T0 + 7, question_id="q1"),
        QuestionFlagged(at=T0 + 7.25, question_id="q1", flagged=True, op_id="op-f"),
        AnswerSaved(
            at=T0 + 8, section="test", question_id="q1", answer="x", op_id="o1", session_id="s"
        ),
        AnswerSaved(
            at=T0 + 9, section="test", question_id="q2", answer=True, op_id="o2", session_id="s"
        ),
        AnswerSaved(
            at=T0 + 10, section="test", question_id="q3", answer=-2.75, op_id="o3", session_id="s"
        ),
        AnswerSaved(
            at=T0 + 11,
            section="test",
            question_id="q4",
            answer=["b", "a", "😀"],
            op_id="o4",
            session_id="s",
        ),
        AnswerSaved(
            at=T0 + 12, section="test", question_id="q5", answer=None, op_id="o5", session_id="s"
        ),
        AnswerSaved(
            at=T0 + 12.25,
            section="test",
            question_id="q6",
            answer={"g1": "b", "g2": -0.5, "ü": "😀 text"},
            op_id="o6",
            session_id="s",
        ),
        TimeExtended(at=T0 + 13, seconds=90.5, by="admin:ops", reason="fire alarm"),
        TimeAccommodated(
            at=T0 + 13.5, seconds=450.25, multiplier=1.75, extra_seconds=0.25, by="admin:dean"
        ),
        DurationChanged(at=T0 + 14, duration_s=1800.0, quiz_version=4, by="admin:ops"),
        Submitted(
            at=T0 + 15,
            reason="deadline",
            finished_at=T0 + 14.999,
            score=-1.5,
            max_score=10.0,
            op_id="op-sub",
            by="deadline",
            pending=2,
        ),
        AnswerGraded(
            at=T0 + 15.5,
            question_id="e1",
            points=2.5,
            comment="line 1\nline 2",
            by="admin:grader",
            score=1.0,
            max_score=10.0,
            pending=1,
        ),
        Regraded(
            at=T0 + 15.75,
            quiz_version=5,
            old_score=1.0,
            new_score=2.25,
            changes={"q1": [0.0, 1.25]},
            by="admin:author",
            max_score=11.0,
            pending=1,
        ),
        Voided(at=T0 + 16, by="admin:ops", reason="cheating"),
        Reopened(at=T0 + 17.000001, by="admin:ops", reason="appeal", extra_seconds=300.0),
    ]


def sample_quiz(quiz_id: str = "quiz-1", title: str = "Algebra") -> Quiz:
    return Quiz(
        id=quiz_id,
        title=title,
        duration_s=600.0,
        test=Section(
            kind="test",
            questions=(
                Question(
                    id="q1",
                    kind="single",
                    text="2 + 2?",
                    choices=(Choice(id="a", text="4", correct=True), Choice(id="b", text="5")),
                ),
                Question(id="q2", kind="numeric", text="pi?", value=3.14159, tolerance=0.01),
            ),
            selection=Selection(mode="shuffled"),
        ),
        practice=Section(
            kind="practice",
            questions=(Question(id="p1", kind="true_false", text="?", correct=True),),
        ),
        policies=Policies(second_login="takeover", grace_s=3.0),
    )


def invite(token_hash: str, name: str = "Ada") -> Invite:
    return Invite(
        token_hash=token_hash,
        quiz_id="quiz-1",
        candidate_id=f"cand-{token_hash}",
        name=name,
        email=f"{token_hash}@example.org",
        valid_until=T0 + 86400,
        created_at=T0,
    )


async def create(store: Store, attempt_id: str, n_events: int = 1, **fields: Any) -> int:
    """A new attempt with ``n_events`` events (created + answers)."""
    events: list[AttemptEvent] = [created(attempt_id)]
    events += [answer(i) for i in range(1, n_events)]
    return await store.append(attempt_id, 0, events, row(attempt_id, **fields))


class StoreContract(AccommodationContract, LtiContract, OutboundContract, PagingContract):
    """The behaviour every ``Store`` adapter shares. Override ``store``. (The
    accommodations' part: ``store_accommodations.py``.)"""

    @pytest.fixture
    async def store(self) -> AsyncIterator[Store]:
        raise NotImplementedError("a StoreContract subclass provides an opened, empty store")

    # -- append and read ------------------------------------------------------------------

    async def test_append_returns_versions_and_read_returns_events_in_order(
        self, store: Store
    ) -> None:
        first: list[AttemptEvent] = [created("a1")]
        more: list[AttemptEvent] = [answer(1), answer(2, "b"), answer(3)]
        assert await store.append("a1", 0, first, row("a1")) == 1
        assert await store.append("a1", 1, more, row("a1")) == 4

        got = await store.read("a1")
        assert [r.seq for r in got] == [1, 2, 3, 4]
        assert [r.event for r in got] == first + more
        assert all(isinstance(r, RecordedEvent) and r.attempt_id == "a1" for r in got)

    async def test_read_after(self, store: Store) -> None:
        await create(store, "a1", 5)
        assert [r.seq for r in await store.read("a1", after=2)] == [3, 4, 5]
        assert [r.seq for r in await store.read("a1", after=0)] == [1, 2, 3, 4, 5]
        assert [r.seq for r in await store.read("a1", after=4)] == [5]
        assert await store.read("a1", after=5) == []
        assert await store.read("a1", after=99) == []
        assert [r.event for r in await store.read("a1", after=3)] == [answer(3), answer(4)]

    async def test_reading_an_unknown_attempt_gives_nothing(self, store: Store) -> None:
        assert await store.read("nobody") == []
        assert await store.read("nobody", after=3) == []
        assert await store.get_index("nobody") is None

    async def test_logs_of_attempts_are_separate(self, store: Store) -> None:
        await create(store, "a1", 2)
        await create(store, "a2", 3)
        assert [r.seq for r in await store.read("a1")] == [1, 2]
        assert [r.seq for r in await store.read("a2")] == [1, 2, 3]
        assert {r.attempt_id for r in await store.read("a2")} == {"a2"}

    async def test_every_event_type_round_trips_exactly(self, store: Store) -> None:
        events = every_event()
        assert {type(e) for e in events} == set(get_args(AttemptEvent))
        assert await store.append("every", 0, events, row("every")) == len(events)
        got = [r.event for r in await store.read("every")]
        assert got == events
        assert [type(e) for e in got] == [type(e) for e in events]
        assert [msgspec.json.encode(e) for e in got] == [msgspec.json.encode(e) for e in events]

    # -- read_many ------------------------------------------------------------------------

    async def test_read_many_gives_each_distinct_attempt_its_whole_log(self, store: Store) -> None:
        await create(store, "a1", 3)
        await create(store, "a2", 7)
        await store.append("a2", 7, [answer(n) for n in range(7, 13)], row("a2"))  # seq 8-13
        await create(store, "a3", 1)

        got = await store.read_many(["a2", "nobody", "a1", "a2"])
        assert set(got) == {"a2", "nobody", "a1"}
        assert got["a1"] == await store.read("a1")
        assert got["a2"] == await store.read("a2")
        assert [r.seq for r in got["a2"]] == list(range(1, 14))
        assert all(r.attempt_id == "a2" for r in got["a2"])
        assert got["nobody"] == []

    async def test_read_many_of_nothing_is_empty(self, store: Store) -> None:
        await create(store, "a1", 2)
        assert await store.read_many([]) == {}
        assert await store.read_many(["nobody"]) == {"nobody": []}

    async def test_read_many_round_trips_every_event_type_exactly(self, store: Store) -> None:
        events = every_event()
        await store.append("every", 0, events, row("every"))
        got = await store.read_many(["every"])
        assert [r.event for r in got["every"]] == events
        assert [type(r.event) for r in got["every"]] == [type(e) for e in events]
        encoded = [msgspec.json.encode(r.event) for r in got["every"]]
        assert encoded == [msgspec.json.encode(e) for e in events]

    async def test_read_many_of_more_attempts_than_one_statement_takes(self, store: Store) -> None:
        # Ids with the characters a query built from text would trip on.
        ids = [f'a,"{n}"]\'ü' for n in range(901)]
        await asyncio.gather(*(create(store, a, 1 + n % 4) for n, a in enumerate(ids)))
        got = await store.read_many(list(reversed(ids)))
        assert set(got) == set(ids)
        for n, attempt_id in enumerate(ids):
            records = got[attempt_id]
            assert [r.seq for r in records] == list(range(1, 2 + n % 4))
            assert {r.attempt_id for r in records} == {attempt_id}
            assert records[0].event == created(attempt_id)

    async def test_a_multi_event_append_is_atomic(self, store: Store) -> None:
        await create(store, "a1", 2)
        batch: list[AttemptEvent] = [answer(i) for i in range(10, 20)]
        assert await store.append("a1", 2, batch, row("a1")) == 12
        assert [r.seq for r in await store.read("a1")] == list(range(1, 13))
        # A conflicting batch writes none of its events.
        with pytest.raises(VersionConflict):
            await store.append("a1", 2, [answer(i) for i in range(30, 40)], row("a1"))
        assert [r.event for r in await store.read("a1", after=2)] == batch

    async def test_bad_arguments_are_refused_and_write_nothing(self, store: Store) -> None:
        with pytest.raises(ValueError, match="event"):
            await store.append("a1", 0, [], row("a1"))
        with pytest.raises(ValueError, match="expected_version"):
            await store.append("a1", -1, [created("a1")], row("a1"))
        with pytest.raises(ValueError, match="index row"):
            await store.append("a1", 0, [created("a1")], row("other"))
        assert await store.read("a1") == []
        assert await store.get_index("a1") is None
        assert await store.get_index("other") is None

    # -- the optimistic lock --------------------------------------------------------------

    async def _assert_untouched(
        self,
        store: Store,
        attempt_id: str,
        events: list[RecordedEvent],
        index: AttemptIndexRow | None,
    ) -> None:
        assert await store.read(attempt_id) == events
        assert await store.get_index(attempt_id) == index

    async def test_a_stale_expected_version_conflicts_and_writes_nothing(
        self, store: Store
    ) -> None:
        await create(store, "a1", 3)
        events, index = await store.read("a1"), await store.get_index("a1")
        with pytest.raises(VersionConflict) as info:
            await store.append("a1", 2, [answer(7), answer(8)], row("a1", status="submitted"))
        assert (info.value.attempt_id, info.value.expected, info.value.actual) == ("a1", 2, 3)
        await self._assert_untouched(store, "a1", events, index)

    async def test_a_refusal_carries_nothing_or_the_events_after_the_expected_version(
        self, store: Store
    ) -> None:
        await create(store, "a1", 4)
        with pytest.raises(VersionConflict) as info:
            await store.append("a1", 2, [answer(7)], row("a1"))
        after = info.value.after
        assert after is None or list(after) == await store.read("a1", after=2)

    async def test_an_expected_version_ahead_conflicts_and_writes_nothing(
        self, store: Store
    ) -> None:
        await create(store, "a1", 3)
        events, index = await store.read("a1"), await store.get_index("a1")
        with pytest.raises(VersionConflict) as info:
            await store.append("a1", 5, [answer(7)], row("a1", status="voided"))
        assert (info.value.expected, info.value.actual) == (5, 3)
        await self._assert_untouched(store, "a1", events, index)

    async def test_creating_an_existing_attempt_conflicts_and_writes_nothing(
        self, store: Store
    ) -> None:
        await create(store, "a1", 2)
        events, index = await store.read("a1"), await store.get_index("a1")
        with pytest.raises(VersionConflict) as info:
            await store.append("a1", 0, [created("a1", quiz_id="quiz-2")], row("a1", quiz_id="z"))
        assert (info.value.expected, info.value.actual) == (0, 2)
        await self._assert_untouched(store, "a1", events, index)

    async def test_appending_to_an_unknown_attempt_conflicts(self, store: Store) -> None:
        with pytest.raises(VersionConflict) as info:
            await store.append("ghost", 3, [answer(4)], row("ghost"))
        assert (info.value.expected, info.value.actual) == (3, 0)
        assert await store.read("ghost") == []
        assert await store.get_index("ghost") is None
        assert await store.list_attempts() == []

    async def test_many_concurrent_appends_to_distinct_attempts(self, store: Store) -> None:
        n = 256

        async def one(i: int) -> int:
            attempt_id = f"c{i:04d}"
            version = await store.append(
                attempt_id, 0, [created(attempt_id), answer(i)], row(attempt_id)
            )
            return await store.append(
                attempt_id, version, [answer(i + 1), answer(i + 2)], row(attempt_id)
            )

        assert await asyncio.gather(*(one(i) for i in range(n))) == [4] * n
        for i in range(n):
            attempt_id = f"c{i:04d}"
            got = await store.read(attempt_id)
            assert [r.seq for r in got] == [1, 2, 3, 4]
            assert [r.event for r in got] == [
                created(attempt_id),
                answer(i),
                answer(i + 1),
                answer(i + 2),
            ]
        rows = await store.list_attempts(limit=n + 10)
        assert [r.attempt_id for r in rows] == [f"c{i:04d}" for i in range(n)]
        assert {r.version for r in rows} == {4}

    async def test_racing_appends_to_one_attempt_have_one_winner_per_version(
        self, store: Store
    ) -> None:
        await create(store, "race")
        remaining = set(range(1, 21))
        version = 1
        while remaining:
            ids = sorted(remaining)
            outcomes = await asyncio.gather(
                *(store.append("race", version, [answer(i)], row("race")) for i in ids),
                return_exceptions=True,
            )
            winners = [i for i, o in zip(ids, outcomes, strict=True) if o == version + 1]
            assert len(winners) == 1, outcomes
            for i, outcome in zip(ids, outcomes, strict=True):
                if i != winners[0]:
                    assert isinstance(outcome, VersionConflict), outcome
                    assert (outcome.expected, outcome.actual) == (version, version + 1)
            remaining.discard(winners[0])
            version += 1
        got = await store.read("race")
        assert [r.seq for r in got] == list(range(1, 22))
        answered = [r.event.question_id for r in got if isinstance(r.event, AnswerSaved)]
        assert sorted(answered) == sorted(f"q{i}" for i in range(1, 21))
        index = await store.get_index("race")
        assert index is not None
        assert index.version == 21

    async def test_writers_retrying_on_conflict_each_land_exactly_once(self, store: Store) -> None:
        await create(store, "race")
        stale: list[tuple[int, int | None]] = []  # (version tried, version found)

        async def writer(i: int) -> None:
            while True:
                version = len(await store.read("race"))
                try:
                    await store.append("race", version, [answer(i)], row("race"))
                except VersionConflict as exc:
                    stale.append((version, exc.actual))
                else:
                    return

        await asyncio.gather(*(writer(i) for i in range(1, 41)))
        assert all(found is not None and found > tried for tried, found in stale), stale
        got = await store.read("race")
        assert [r.seq for r in got] == list(range(1, 42))
        answered = [r.event.question_id for r in got if isinstance(r.event, AnswerSaved)]
        assert sorted(answered) == sorted(f"q{i}" for i in range(1, 41))

    # -- the index ------------------------------------------------------------------------

    async def test_the_index_row_is_upserted_with_the_events(self, store: Store) -> None:
        assert await store.get_index("a1") is None
        first = row("a1", state="test_not_started", updated_at=T0 + 0.5)
        await store.append("a1", 0, [created("a1")], first)
        assert await store.get_index("a1") == msgspec.structs.replace(first, version=1)

        second = row(
            "a1",
            status="submitted",
            state="test_finished",
            updated_at=T0 + 99.25,
            deadline=T0 + 600.125,
            due_at=None,
        )
        await store.append("a1", 1, [answer(1), answer(2)], second)
        assert await store.get_index("a1") == msgspec.structs.replace(second, version=3)

        third = row("a1", deadline=T0 + 1.0, due_at=T0 + 6.0, candidate_id="cand-9")
        await store.append("a1", 3, [answer(3)], third)
        assert await store.get_index("a1") == msgspec.structs.replace(third, version=4)

    async def test_the_index_version_is_the_stores_version(self, store: Store) -> None:
        await store.append("a1", 0, [created("a1"), answer(1)], row("a1", version=99))
        index = await store.get_index("a1")
        assert index is not None
        assert index.version == 2
        listed = await store.list_attempts()
        assert [r.version for r in listed] == [2]

    async def test_list_attempts_filters_orders_and_pages(self, store: Store) -> None:
        specs: list[tuple[str, str, AttemptStatus]] = [
            ("a-3", "q1", "open"),
            ("a-1", "q1", "submitted"),
            ("ä-6", "q1", "open"),
            ("a-2", "q2", "open"),
            ("B-4", "q1", "voided"),
            ("a-5", "q2", "submitted"),
        ]
        for attempt_id, quiz_id, status in specs:
            await create(store, attempt_id, quiz_id=quiz_id, status=status)

        async def ids(**kw: Any) -> list[str]:
            return [r.attempt_id for r in await store.list_attempts(**kw)]

        # Ordered by attempt_id in code point (binary) order, the same in every store.
        assert await ids() == ["B-4", "a-1", "a-2", "a-3", "a-5", "ä-6"]
        assert await ids(quiz_id="q1") == ["B-4", "a-1", "a-3", "ä-6"]
        assert await ids(status="open") == ["a-2", "a-3", "ä-6"]
        assert await ids(status="submitted") == ["a-1", "a-5"]
        assert await ids(quiz_id="q1", status="open") == ["a-3", "ä-6"]
        assert await ids(quiz_id="q2", status="voided") == []
        assert await ids(quiz_id="nope") == []
        assert await ids(limit=2) == ["B-4", "a-1"]
        assert await ids(limit=2, offset=1) == ["a-1", "a-2"]
        assert await ids(quiz_id="q1", limit=2, offset=2) == ["a-3", "ä-6"]
        assert await ids(offset=5) == ["ä-6"]
        assert await ids(offset=6) == []
        assert await ids(limit=0) == []
        rows = await store.list_attempts(quiz_id="q2")
        assert rows == [await store.get_index("a-2"), await store.get_index("a-5")]
        with pytest.raises(ValueError, match="limit"):
            await store.list_attempts(limit=-1)

    async def test_due_attempts(self, store: Store) -> None:
        await create(store, "d1", due_at=T0 + 100)
        await create(store, "d2", due_at=T0 + 50)
        await create(store, "d3", due_at=T0 + 100)  # same due_at as d1: by id
        await create(store, "d4", status="submitted", due_at=T0 + 10)
        await create(store, "d5", due_at=None)
        await create(store, "d6", due_at=T0 + 200)
        await create(store, "d7", status="voided", due_at=T0 + 20)

        async def due(now: float, limit: int = 500) -> list[str]:
            return [r.attempt_id for r in await store.due_attempts(now, limit)]

        assert await due(T0 + 49.999) == []
        assert await due(T0 + 50) == ["d2"]
        assert await due(T0 + 100) == ["d2", "d1", "d3"]
        assert await due(T0 + 100, limit=2) == ["d2", "d1"]
        assert await due(T0 + 10_000) == ["d2", "d1", "d3", "d6"]
        assert await due(T0 + 10_000, limit=0) == []
        rows = await store.due_attempts(T0 + 50)
        assert rows == [await store.get_index("d2")]

        # Submitting d2 (status and due_at move with the index row) takes it off.
        await store.append("d2", 1, [answer(1)], row("d2", status="submitted", due_at=None))
        assert await due(T0 + 100) == ["d1", "d3"]
        # An extension moves d3 later.
        await store.append("d3", 1, [answer(1)], row("d3", due_at=T0 + 150))
        assert await due(T0 + 10_000) == ["d1", "d3", "d6"]

    # -- quizzes --------------------------------------------------------------------------

    async def test_put_quiz_versions(self, store: Store) -> None:
        quiz = sample_quiz()
        v1 = await store.put_quiz(msgspec.structs.replace(quiz, version=42))
        assert v1 == msgspec.structs.replace(quiz, version=1)

        # The same definition again (whatever version it says) changes nothing.
        assert await store.put_quiz(quiz) == v1
        assert await store.put_quiz(msgspec.structs.replace(quiz, version=7)) == v1
        assert await store.put_quiz(msgspec.structs.replace(quiz, duration_s=600)) == v1

        changed = msgspec.structs.replace(quiz, title="Algebra II", duration_s=900.0)
        v2 = await store.put_quiz(changed)
        assert v2 == msgspec.structs.replace(changed, version=2)
        assert await store.put_quiz(changed) == v2

        assert await store.get_quiz("quiz-1") == v2
        assert await store.get_quiz("quiz-1", 1) == v1
        assert await store.get_quiz("quiz-1", 2) == v2
        assert await store.get_quiz("quiz-1", 3) is None
        assert await store.get_quiz("quiz-1", 0) is None
        assert await store.get_quiz("nope") is None
        assert await store.get_quiz("nope", 1) is None

        # Going back to the first definition is a new version: only the latest counts.
        v3 = await store.put_quiz(quiz)
        assert v3 == msgspec.structs.replace(quiz, version=3)

    async def test_list_quizzes_gives_the_latest_version_of_each(self, store: Store) -> None:
        assert await store.list_quizzes() == []
        await store.put_quiz(sample_quiz("zeta", "Z1"))
        await store.put_quiz(sample_quiz("alpha", "A1"))
        await store.put_quiz(sample_quiz("zeta", "Z2"))
        await store.put_quiz(sample_quiz("zeta", "Z3"))
        await store.put_quiz(sample_quiz("Mid", "M1"))
        assert await store.list_quizzes() == [
            QuizSummary(id="Mid", version=1, title="M1"),
            QuizSummary(id="alpha", version=1, title="A1"),
            QuizSummary(id="zeta", version=3, title="Z3"),
        ]

    async def test_concurrent_puts_of_one_quiz_make_distinct_versions(self, store: Store) -> None:
        quizzes = [sample_quiz(title=f"T{i}") for i in range(10)]
        stored = await asyncio.gather(*(store.put_quiz(q) for q in quizzes))
        assert sorted(q.version for q in stored) == list(range(1, 11))
        for q in stored:
            assert await store.get_quiz("quiz-1", q.version) == q

    # -- invites --------------------------------------------------------------------------

    async def test_invites(self, store: Store) -> None:
        assert await store.find_invite("h1") is None
        await store.add_invites([invite("h1"), invite("h2", "Bob")])
        assert await store.find_invite("h1") == invite("h1")
        assert await store.find_invite("h2") == invite("h2", "Bob")
        assert await store.find_invite("h3") is None

        await store.add_invites([invite("h2", "Robert"), invite("h3")])
        assert await store.find_invite("h1") == invite("h1")
        assert await store.find_invite("h2") == invite("h2", "Robert")
        assert await store.find_invite("h3") == invite("h3")

        await store.add_invites([])
        await store.add_invites([invite("h4", "first"), invite("h4", "last")])
        assert await store.find_invite("h4") == invite("h4", "last")

    async def test_events_are_copied_in_and_out(self, store: Store) -> None:
        plan = ["q1", "q2"]
        await store.append(
            "a1", 0, [SectionStarted(at=T0, section="test", seed=1, plan=plan)], row("a1")
        )
        plan.append("q3")
        got = (await store.read("a1"))[0].event
        assert isinstance(got, SectionStarted)
        assert got.plan == ["q1", "q2"]
        got.plan.append("q9")
        again = (await store.read("a1"))[0].event
        assert isinstance(again, SectionStarted)
        assert again.plan == ["q1", "q2"]

    # -- leases (the store-only fallback of the live state) -------------------------------

    async def test_a_free_lease_is_acquired(self, store: Store) -> None:
        grant = await store.acquire_lease("a1", "s1", 10.0, T0)
        assert grant == LeaseGrant(acquired=True, holder="s1", expires_in=10.0)
        holder = await store.lease_holder("a1", T0 + 1)
        assert holder.acquired is False
        assert holder.holder == "s1"
        assert holder.expires_in == pytest.approx(9.0, abs=1e-6)

    async def test_a_free_lease_has_no_holder(self, store: Store) -> None:
        assert await store.lease_holder("a1", T0) == LeaseGrant(
            acquired=False, holder=None, expires_in=0.0
        )

    async def test_a_second_session_is_refused_with_holder_and_expiry(self, store: Store) -> None:
        await store.acquire_lease("a1", "s1", 10.0, T0)
        refused = await store.acquire_lease("a1", "s2", 10.0, T0 + 4)
        assert refused.acquired is False
        assert refused.holder == "s1"
        assert refused.expires_in == pytest.approx(6.0, abs=1e-6)
        assert (await store.lease_holder("a1", T0 + 4)).holder == "s1"

    async def test_the_holder_renews(self, store: Store) -> None:
        await store.acquire_lease("a1", "s1", 10.0, T0)
        renewed = await store.acquire_lease("a1", "s1", 10.0, T0 + 8)
        assert renewed == LeaseGrant(acquired=True, holder="s1", expires_in=10.0)
        refused = await store.acquire_lease("a1", "s2", 10.0, T0 + 15)  # past the first TTL
        assert refused.acquired is False
        assert refused.holder == "s1"
        assert refused.expires_in == pytest.approx(3.0, abs=1e-6)

    async def test_force_takes_over(self, store: Store) -> None:
        await store.acquire_lease("a1", "s1", 10.0, T0)
        grant = await store.acquire_lease("a1", "s2", 5.0, T0 + 1, force=True)
        assert grant == LeaseGrant(acquired=True, holder="s2", expires_in=5.0)
        old = await store.acquire_lease("a1", "s1", 10.0, T0 + 2)
        assert old.acquired is False
        assert old.holder == "s2"
        assert old.expires_in == pytest.approx(4.0, abs=1e-6)

    async def test_release_by_a_non_holder_is_a_no_op(self, store: Store) -> None:
        await store.acquire_lease("a1", "s1", 10.0, T0)
        await store.release_lease("a1", "s2")
        await store.release_lease("a9", "s1")  # an attempt without a lease
        assert (await store.lease_holder("a1", T0)).holder == "s1"
        assert (await store.acquire_lease("a1", "s2", 10.0, T0)).acquired is False

    async def test_release_by_the_holder_frees(self, store: Store) -> None:
        await store.acquire_lease("a1", "s1", 10.0, T0)
        await store.release_lease("a1", "s1")
        assert (await store.lease_holder("a1", T0)).holder is None
        assert (await store.acquire_lease("a1", "s2", 10.0, T0)).acquired

    async def test_a_lease_lapses_after_its_ttl(self, store: Store) -> None:
        await store.acquire_lease("a1", "s1", 10.0, T0)
        assert (await store.lease_holder("a1", T0 + 9.5)).holder == "s1"
        lapsed = await store.lease_holder("a1", T0 + 10)  # expires_at <= now: free
        assert lapsed == LeaseGrant(acquired=False, holder=None, expires_in=0.0)
        grant = await store.acquire_lease("a1", "s2", 10.0, T0 + 10.5)
        assert grant == LeaseGrant(acquired=True, holder="s2", expires_in=10.0)
        refused = await store.acquire_lease("a1", "s1", 10.0, T0 + 11)
        assert refused.holder == "s2"
        assert refused.expires_in == pytest.approx(9.5, abs=1e-6)

    async def test_leases_of_attempts_are_separate(self, store: Store) -> None:
        assert (await store.acquire_lease("a1", "s1", 10.0, T0)).acquired
        assert (await store.acquire_lease("a2", "s2", 10.0, T0)).acquired
        await store.release_lease("a2", "s1")
        assert (await store.lease_holder("a1", T0)).holder == "s1"
        assert (await store.lease_holder("a2", T0)).holder == "s2"

    async def test_concurrent_acquirers_of_a_free_lease_one_wins(self, store: Store) -> None:
        sessions = [f"s{i:02d}" for i in range(30)]
        grants = await asyncio.gather(*(store.acquire_lease("a1", s, 10.0, T0) for s in sessions))
        winners = [g.holder for g in grants if g.acquired]
        assert len(winners) == 1
        assert winners[0] in sessions
        assert all(g.holder == winners[0] for g in grants)
        assert (await store.lease_holder("a1", T0)).holder == winners[0]
        # Of racing acquirers of a lapsed lease, again exactly one wins.
        later = T0 + 20
        grants = await asyncio.gather(
            *(store.acquire_lease("a1", s, 10.0, later) for s in reversed(sessions))
        )
        assert len([g for g in grants if g.acquired]) == 1

    # -- liveness marks (the outage credit) -----------------------------------------------

    async def test_no_mark_means_no_last_alive(self, store: Store) -> None:
        assert await store.last_alive() is None
        assert await store.prune_alive(T0) == 0

    async def test_last_alive_is_the_newest_mark_of_any_instance(self, store: Store) -> None:
        await store.mark_alive("i1", T0)
        assert await store.last_alive() == T0
        await store.mark_alive("i2", T0 + 5.25)
        await store.mark_alive("i1", T0 + 3)
        assert await store.last_alive() == T0 + 5.25
        # An instance's mark replaces its previous one, even an older time.
        await store.mark_alive("i2", T0 + 1)
        assert await store.last_alive() == T0 + 3

    async def test_marks_keep_their_time_exactly(self, store: Store) -> None:
        at = T0 + 0.123456789
        await store.mark_alive("host:42:ab", at)
        got = await store.last_alive()
        assert got == at
        assert isinstance(got, float)

    async def test_prune_forgets_old_marks_only(self, store: Store) -> None:
        await store.mark_alive("old", T0)
        await store.mark_alive("older", T0 - 100)
        await store.mark_alive("new", T0 + 10)
        assert await store.prune_alive(T0 + 10) == 2  # strictly older than ``before``
        assert await store.last_alive() == T0 + 10
        assert await store.prune_alive(T0 + 10) == 0
        assert await store.prune_alive(T0 + 11) == 1
        assert await store.last_alive() is None

    async def test_concurrent_marks_of_many_instances(self, store: Store) -> None:
        times = [T0 + i * 0.5 for i in range(30)]
        await asyncio.gather(*(store.mark_alive(f"i{i:02d}", at) for i, at in enumerate(times)))
        assert await store.last_alive() == max(times)
        await asyncio.gather(*(store.mark_alive(f"i{i:02d}", T0 - i) for i in range(30)))
        assert await store.last_alive() == T0

    async def test_marks_are_separate_from_attempts_and_leases(self, store: Store) -> None:
        await create(store, "a1")
        await store.acquire_lease("a1", "s1", 10.0, T0)
        assert await store.last_alive() is None
        await store.mark_alive("a1", T0 + 7)
        assert (await store.lease_holder("a1", T0)).holder == "s1"
        assert [r.seq for r in await store.read("a1")] == [1]

    # -- the rest of the port -------------------------------------------------------------

    async def test_ping(self, store: Store) -> None:
        assert await store.ping() is True
        assert isinstance(store.durable, bool)

    # -- declared capabilities (each adapter checks its own values below) ---------------

    async def test_capabilities_are_declared(self, store: Store) -> None:
        assert isinstance(store.durable, bool)
        assert isinstance(store.shared, bool)
        assert store.secret_file is None or isinstance(store.secret_file, str)
        if store.shared:  # instances must share a configured secret, never a file's
            assert store.secret_file is None
            assert store.durable
        version = await store.schema_version()
        assert version is None or (isinstance(version, int) and version >= 1)

    async def test_the_encryption_mark_is_recorded_once_and_for_all(self, store: Store) -> None:
        assert await store.holds_encrypted_data() is False
        await store.mark_encrypted_data()
        assert await store.holds_encrypted_data() is True
        await asyncio.gather(*(store.mark_encrypted_data() for _ in range(5)))  # idempotent
        assert await store.holds_encrypted_data() is True
        # Nothing else moved.
        assert await store.list_attempts() == []
        assert await store.last_alive() is None


# --------------------------------------------------------------------------------------
# The adapters
# --------------------------------------------------------------------------------------


class TestMemoryStore(StoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[Store]:
        memory = MemoryStore()
        await memory.open()
        yield memory
        await memory.close()

    async def test_is_not_durable(self, store: Store) -> None:
        assert store.durable is False

    async def test_declares_one_process_no_schema_no_secret_file(self, store: Store) -> None:
        assert store.shared is False
        assert store.secret_file is None
        assert await store.schema_version() is None


async def _in_one_batch(store: SqliteStore, *calls: Awaitable[Any]) -> list[Any]:
    """Run ``calls`` so that the writer takes them as one batch: hold the writer
    thread with a blocking request until every call has queued its write."""
    started, release = threading.Event(), threading.Event()

    def hold(cur: sqlite3.Cursor) -> None:
        started.set()
        release.wait(30)

    batches = store.batches
    held = store._submit(hold)
    try:
        await asyncio.to_thread(started.wait, 30)
        tasks = [asyncio.ensure_future(c) for c in calls]
        # Runs after the first step of every task, i.e. once each has queued its write.
        asyncio.get_running_loop().call_soon(release.set)
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        release.set()
    await held
    assert store.batches == batches + 2  # the holding batch, then all of ``calls``
    return outcomes


def _raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


class TestSqliteStore(StoreContract):
    @pytest.fixture
    def path(self, tmp_path: Path) -> Path:
        return tmp_path / "quizsession.db"

    @pytest.fixture
    async def store(self, path: Path) -> AsyncIterator[Store]:
        sqlite = SqliteStore(str(path))
        await sqlite.open()
        try:
            yield sqlite
        finally:
            await sqlite.close()

    @pytest.fixture
    def sqlite(self, store: Store) -> SqliteStore:
        assert isinstance(store, SqliteStore)
        return store

    async def test_is_durable(self, store: Store) -> None:
        assert store.durable is True

    async def test_declares_one_instance_its_schema_and_a_secret_beside_it(
        self, store: Store, path: Path
    ) -> None:
        assert store.shared is False
        assert store.secret_file == str(path) + ".secret"
        assert await store.schema_version() == SCHEMA_VERSION

    async def test_the_encryption_mark_survives_a_reopen(
        self, sqlite: SqliteStore, path: Path
    ) -> None:
        await sqlite.mark_encrypted_data()
        await sqlite.close()
        again = SqliteStore(str(path))
        await again.open()
        try:
            assert await again.holds_encrypted_data() is True
        finally:
            await again.close()

    async def test_schema_and_settings(self, sqlite: SqliteStore, path: Path) -> None:
        raw = _raw(path)
        try:
            assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
            tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master")}
            assert {
                "attempts",
                "events",
                "quizzes",
                "invites",
                "leases",
                "alive",
                "attempts_due",
            } <= tables
            plan = " ".join(
                str(r[-1])
                for r in raw.execute(
                    "EXPLAIN QUERY PLAN SELECT attempt_id FROM attempts INDEXED BY attempts_due "
                    "WHERE status = 'open' AND due_at <= ? ORDER BY due_at, attempt_id LIMIT ?",
                    (T0, 10),
                )
            )
            assert "attempts_due" in plan
            assert "TEMP B-TREE" not in plan
        finally:
            raw.close()

    async def test_a_schema_1_database_is_migrated(self, tmp_path: Path) -> None:
        """A file made by the first schema (no leases table) gains it on open and
        keeps its data."""
        old = tmp_path / "v1.db"
        raw = _raw(old)
        try:
            for statement in MIGRATIONS[0]:
                raw.execute(statement)
            raw.execute("PRAGMA user_version = 1")
        finally:
            raw.close()
        first = SqliteStore(str(old))
        await first.open()
        try:
            await create(first, "a1", 2)
        finally:
            await first.close()
        again = SqliteStore(str(old))
        await again.open()
        try:
            assert [r.seq for r in await again.read("a1")] == [1, 2]
            assert (await again.acquire_lease("a1", "s1", 10.0, T0)).acquired
            assert (await again.lease_holder("a1", T0)).holder == "s1"
        finally:
            await again.close()
        raw = _raw(old)
        try:
            assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        finally:
            raw.close()

    async def test_a_schema_2_database_gains_the_alive_table(self, tmp_path: Path) -> None:
        """A file made before liveness marks (schema 2) gains them on open and keeps
        its data."""
        old = tmp_path / "v2.db"
        raw = _raw(old)
        try:
            for step in MIGRATIONS[:2]:
                for statement in step:
                    raw.execute(statement)
            raw.execute("PRAGMA user_version = 2")
        finally:
            raw.close()
        first = SqliteStore(str(old))
        await first.open()
        try:
            await create(first, "a1", 2)
            assert await first.last_alive() is None
            await first.mark_alive("i1", T0)
        finally:
            await first.close()
        again = SqliteStore(str(old))
        await again.open()
        try:
            assert [r.seq for r in await again.read("a1")] == [1, 2]
            assert await again.last_alive() == T0
        finally:
            await again.close()
        raw = _raw(old)
        try:
            assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 7
        finally:
            raw.close()

    async def test_marks_survive_a_reopen(self, sqlite: SqliteStore, path: Path) -> None:
        await sqlite.mark_alive("i1", T0 + 1.5)
        await sqlite.close()
        again = SqliteStore(str(path))
        await again.open()
        try:
            assert await again.last_alive() == T0 + 1.5
        finally:
            await again.close()

    async def test_leases_survive_a_reopen(self, sqlite: SqliteStore, path: Path) -> None:
        await sqlite.acquire_lease("a1", "s1", 10.0, T0)
        await sqlite.close()
        again = SqliteStore(str(path))
        await again.open()
        try:
            assert (await again.lease_holder("a1", T0 + 1)).holder == "s1"
            assert (await again.acquire_lease("a1", "s2", 10.0, T0 + 1)).acquired is False
        finally:
            await again.close()

    async def test_everything_survives_a_reopen(self, sqlite: SqliteStore, path: Path) -> None:
        await create(sqlite, "a1", 3, due_at=T0 + 5)
        quiz = await sqlite.put_quiz(sample_quiz())
        await sqlite.add_invites([invite("h1")])
        events, index = await sqlite.read("a1"), await sqlite.get_index("a1")
        await sqlite.close()

        again = SqliteStore(str(path))
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

    async def test_a_conflict_in_a_batch_does_not_stop_the_others(
        self, sqlite: SqliteStore
    ) -> None:
        await create(sqlite, "old", 2)
        outcomes = await _in_one_batch(
            sqlite,
            sqlite.append("new1", 0, [created("new1")], row("new1")),
            sqlite.append("old", 1, [answer(5)], row("old", status="voided")),
            sqlite.append("new2", 0, [created("new2"), answer(1)], row("new2")),
            sqlite.append("old", 2, [answer(6)], row("old")),
        )
        assert outcomes[0] == 1
        assert isinstance(outcomes[1], VersionConflict)
        assert (outcomes[1].expected, outcomes[1].actual) == (1, 2)
        assert outcomes[2:] == [2, 3]
        assert [r.seq for r in await sqlite.read("new1")] == [1]
        assert [r.seq for r in await sqlite.read("new2")] == [1, 2]
        assert [r.event for r in await sqlite.read("old", after=2)] == [answer(6)]
        old = await sqlite.get_index("old")
        assert old is not None
        assert (old.status, old.version) == ("open", 3)

    async def test_appends_to_one_attempt_in_one_batch_see_each_other(
        self, sqlite: SqliteStore
    ) -> None:
        outcomes = await _in_one_batch(
            sqlite,
            sqlite.append("s", 0, [created("s")], row("s")),
            sqlite.append("s", 0, [created("s")], row("s")),
            sqlite.append("s", 1, [answer(1)], row("s")),
            sqlite.append("s", 1, [answer(2)], row("s")),
            sqlite.append("s", 2, [answer(3), answer(4)], row("s", state="test_finished")),
        )
        assert outcomes[0] == 1
        assert isinstance(outcomes[1], VersionConflict)
        assert outcomes[1].actual == 1
        assert outcomes[2] == 2
        assert isinstance(outcomes[3], VersionConflict)
        assert outcomes[3].actual == 2
        assert outcomes[4] == 4
        got = await sqlite.read("s")
        assert [r.event for r in got] == [created("s"), answer(1), answer(3), answer(4)]
        index = await sqlite.get_index("s")
        assert index is not None
        assert (index.version, index.state) == (4, "test_finished")

    async def test_a_batch_of_appends_goes_in_as_multi_row_statements(
        self, sqlite: SqliteStore
    ) -> None:
        # More rows than one statement takes (100 attempts, 200 events), new and old.
        for n in range(150):
            await create(sqlite, f"old{n}", 2)
        bulk = sqlite.bulk_batches
        outcomes = await _in_one_batch(
            sqlite,
            *(
                sqlite.append(f"new{n}", 0, [created(f"new{n}"), answer(n)], row(f"new{n}"))
                for n in range(250)
            ),
            *(
                sqlite.append(f"old{n}", 2, [answer(n)], row(f"old{n}", status="submitted"))
                for n in range(150)
            ),
        )
        assert outcomes == [2] * 250 + [3] * 150
        assert sqlite.bulk_batches == bulk + 1
        for n in (0, 199, 249):
            got = await sqlite.read(f"new{n}")
            assert [r.event for r in got] == [created(f"new{n}"), answer(n)]
        for n in (0, 149):
            assert [r.event for r in await sqlite.read(f"old{n}", after=2)] == [answer(n)]
            index = await sqlite.get_index(f"old{n}")
            assert index is not None
            assert (index.status, index.version) == ("submitted", 3)

    async def test_a_seq_taken_behind_the_index_fails_that_append_alone(
        self, sqlite: SqliteStore, path: Path
    ) -> None:
        await create(sqlite, "moved", 2)
        raw = _raw(path)
        try:  # the log moved on without the attempts row: seq 3 is taken
            raw.execute(
                "INSERT INTO events (attempt_id, seq, type, at, data) "
                "SELECT attempt_id, 3, type, at, data FROM events WHERE attempt_id = 'moved' "
                "AND seq = 2"
            )
        finally:
            raw.close()
        bulk = sqlite.bulk_batches
        outcomes = await _in_one_batch(
            sqlite,
            sqlite.append("y1", 0, [created("y1")], row("y1")),
            sqlite.append("moved", 2, [answer(7)], row("moved")),
            sqlite.append("y2", 0, [created("y2")], row("y2")),
        )
        assert sqlite.bulk_batches == bulk  # rolled back, then one savepoint each
        assert outcomes[0] == 1
        assert outcomes[2] == 1
        assert isinstance(outcomes[1], VersionConflict)
        assert outcomes[1].actual == 3
        index = await sqlite.get_index("moved")
        assert index is not None
        assert index.version == 2
        assert [r.seq for r in await sqlite.read("y2")] == [1]

    async def test_a_request_that_breaks_a_constraint_is_rolled_back_alone(
        self, sqlite: SqliteStore
    ) -> None:
        def half_then_bad(cur: sqlite3.Cursor) -> None:
            cur.execute("INSERT INTO invites VALUES ('half', 'q', 'c', 'n', 'e', 1.0, 1.0)")
            cur.execute("INSERT INTO invites (token_hash) VALUES ('bad')")  # NOT NULL

        async def bad() -> None:
            await sqlite._submit(half_then_bad)

        outcomes = await _in_one_batch(
            sqlite,
            sqlite.append("x1", 0, [created("x1")], row("x1")),
            bad(),
            sqlite.append("x2", 0, [created("x2")], row("x2")),
        )
        assert outcomes[0] == 1
        assert outcomes[2] == 1
        assert isinstance(outcomes[1], StoreError)
        assert not isinstance(outcomes[1], StoreUnavailable | VersionConflict)
        assert await sqlite.find_invite("half") is None
        assert [r.seq for r in await sqlite.read("x2")] == [1]

    async def test_a_database_failure_fails_the_whole_batch(self, sqlite: SqliteStore) -> None:
        def failing(cur: sqlite3.Cursor) -> None:
            raise sqlite3.OperationalError("disk I/O error")

        async def fail() -> None:
            await sqlite._submit(failing)

        outcomes = await _in_one_batch(
            sqlite,
            sqlite.append("x1", 0, [created("x1")], row("x1")),
            fail(),
            sqlite.append("x2", 0, [created("x2")], row("x2")),
        )
        assert all(isinstance(o, StoreUnavailable) for o in outcomes), outcomes
        assert await sqlite.read("x1") == []
        assert await sqlite.get_index("x2") is None
        # The store carries on.
        assert await sqlite.append("x1", 0, [created("x1")], row("x1")) == 1

    async def test_a_failed_commit_fails_every_caller_of_the_batch(
        self, sqlite: SqliteStore
    ) -> None:
        def commit_breaker(cur: sqlite3.Cursor) -> None:
            # A deferred foreign key violation passes here and fails the COMMIT.
            cur.execute("PRAGMA defer_foreign_keys = ON")
            cur.execute("INSERT INTO events VALUES ('no-such-attempt', 1, 't', 0.0, x'00')")

        async def breaker() -> None:
            await sqlite._submit(commit_breaker)

        await create(sqlite, "old")
        outcomes = await _in_one_batch(
            sqlite,
            sqlite.append("x1", 0, [created("x1")], row("x1")),
            sqlite.append("old", 1, [answer(1)], row("old")),
            breaker(),
            sqlite.append("old", 1, [answer(2)], row("old")),  # a conflict, but unconfirmed
        )
        assert all(isinstance(o, StoreUnavailable) for o in outcomes), outcomes
        assert await sqlite.get_index("x1") is None
        assert [r.seq for r in await sqlite.read("old")] == [1]
        assert await sqlite.append("old", 1, [answer(1)], row("old")) == 2

    async def test_a_locked_database_is_unavailable_then_recovers(self, path: Path) -> None:
        sqlite = SqliteStore(str(path), busy_timeout_ms=20)
        await sqlite.open()
        try:
            await create(sqlite, "a1")
            other = _raw(path)
            other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            try:
                with pytest.raises(StoreUnavailable):
                    await sqlite.append("a1", 1, [answer(1)], row("a1"))
                with pytest.raises(StoreUnavailable):
                    await sqlite.put_quiz(sample_quiz())
                assert [r.seq for r in await sqlite.read("a1")] == [1]  # reads still work
            finally:
                other.execute("ROLLBACK")
                other.close()
            assert await sqlite.append("a1", 1, [answer(1)], row("a1")) == 2
        finally:
            await sqlite.close()

    async def test_a_full_database_is_unavailable_logged_then_recovers(
        self, sqlite: SqliteStore, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Disk full simulated with ``PRAGMA max_page_count`` (the real thing, a
        full file system, is ``tests/e2e/test_disk_full.py``): writes that need
        a new page fail with SQLITE_FULL as ``StoreUnavailable`` and store
        nothing; the failure and the recovery are logged; raising the limit
        (space returns) lets writes through again, without reopening."""
        await create(sqlite, "a1")

        def limit_to_current(cur: sqlite3.Cursor) -> int:
            pages: int = cur.execute("PRAGMA page_count").fetchone()[0]
            cur.execute(f"PRAGMA max_page_count = {pages}")
            return pages

        await sqlite._submit(limit_to_current)
        big = "x" * 3000
        acked: list[int] = []
        version = 1
        with caplog.at_level(logging.WARNING, logger="quizsession.store"):
            refusal: StoreUnavailable | None = None
            for n in range(200):
                event = msgspec.structs.replace(answer(n), answer=f"{big}{n}")
                try:
                    version = await sqlite.append("a1", version, [event], row("a1"))
                except StoreUnavailable as exc:
                    refusal = exc
                    break
                acked.append(n)
            assert refusal is not None, "the database never filled"
            assert "full" in str(refusal)
            # Full: every further write is refused and stores nothing.
            for n in range(500, 505):
                with pytest.raises(StoreUnavailable):
                    await sqlite.append("a1", version, [answer(n, big)], row("a1"))
            assert [r.seq for r in await sqlite.read("a1")] == list(range(1, version + 1))
            stored = [r.event for r in await sqlite.read("a1", after=1)]
            assert [e.op_id for e in stored if isinstance(e, AnswerSaved)] == [
                f"op-{n}" for n in acked
            ]

            def unlimited(cur: sqlite3.Cursor) -> None:
                cur.execute("PRAGMA max_page_count = 1073741823")

            await sqlite._submit(unlimited)
            assert await sqlite.append("a1", version, [answer(999, big)], row("a1")) == version + 1
        messages = [r.getMessage() for r in caplog.records if r.name == "quizsession.store"]
        assert any("SQLITE_FULL" in m and "nothing of it stored" in m for m in messages), messages
        assert any("writes succeed again" in m for m in messages), messages
        # Logged once while failing (not once per refused write).
        assert len([m for m in messages if "SQLITE_FULL" in m]) == 1, messages

    async def test_close_resolves_every_write_in_flight(
        self, sqlite: SqliteStore, path: Path
    ) -> None:
        started, release = threading.Event(), threading.Event()

        def hold(cur: sqlite3.Cursor) -> None:
            started.set()
            release.wait(30)

        held = sqlite._submit(hold)
        try:
            await asyncio.to_thread(started.wait, 30)
            writes = [
                asyncio.ensure_future(
                    sqlite.append(f"w{i:03d}", 0, [created(f"w{i:03d}")], row(f"w{i:03d}"))
                )
                for i in range(100)
            ]
            closing = asyncio.ensure_future(sqlite.close())
            asyncio.get_running_loop().call_soon(release.set)  # after close() has begun
            await closing
        finally:
            release.set()
        await held
        _done, pending = await asyncio.wait(writes, timeout=30)
        assert not pending
        assert [w.result() for w in writes] == [1] * 100

        with pytest.raises(StoreUnavailable):
            await sqlite.append("late", 0, [created("late")], row("late"))
        with pytest.raises(StoreUnavailable):
            await sqlite.read("w000")
        assert await sqlite.ping() is False
        await sqlite.close()  # idempotent

        again = SqliteStore(str(path))
        await again.open()
        try:
            rows = await again.list_attempts(limit=1000)
            assert [r.attempt_id for r in rows] == [f"w{i:03d}" for i in range(100)]
        finally:
            await again.close()

    async def test_open_failures_are_unavailable(self, tmp_path: Path) -> None:
        with pytest.raises(StoreUnavailable):
            await SqliteStore(str(tmp_path / "missing" / "dir" / "x.db")).open()

        newer = tmp_path / "newer.db"
        raw = _raw(newer)
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        raw.close()
        with pytest.raises(StoreUnavailable, match="newer"):
            await SqliteStore(str(newer)).open()

    async def test_not_a_file(self) -> None:
        with pytest.raises(ValueError, match="MemoryStore"):
            SqliteStore(":memory:")


# --------------------------------------------------------------------------------------
# The composition root decides from the declared capabilities, never from the URL
# --------------------------------------------------------------------------------------


class SharedMemoryStore(MemoryStore):
    """A store declaring itself shared by several instances (as a new backend
    would): reached through an ordinary ``memory://`` URL."""

    @property
    def shared(self) -> bool:
        return True


def test_a_store_declaring_itself_shared_gets_a_cache_no_instance_trusts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bootstrap, "make_store", lambda _url, **_: SharedMemoryStore())
    shared = bootstrap.build(load_settings({}, store_url="memory://", secret_key="s" * 48))
    assert shared.executor.authoritative_cache is False
    # Instances must agree on the signing secret: none is made up for them.
    with pytest.raises(ValueError, match="QUIZSESSION_SECRET_KEY is required"):
        bootstrap.build(load_settings({}, store_url="memory://"))


def test_a_store_of_one_instance_keeps_an_authoritative_cache(tmp_path: Path) -> None:
    for url in ("memory://", f"sqlite:///{tmp_path / 'one.db'}"):
        alone = bootstrap.build(load_settings({}, store_url=url))
        assert alone.executor.authoritative_cache is True
    # The SQLite store's generated secret is kept beside its file.
    assert (tmp_path / "one.db.secret").exists()
