"""The ``AccommodationStore`` part of the store contract: ``StoreContract``
(``test_store.py``) inherits these tests, so every adapter (memory, SQLite,
PostgreSQL, and the encrypted variants) runs them unchanged."""

from __future__ import annotations

import asyncio

import pytest

from quizsession.app.ports import Accommodation, AttemptIndexRow, AttemptStatus, Store
from quizsession.domain.events import AttemptCreated

T0 = 1_700_000_000.0


def accommodation(candidate_id: str, multiplier: float = 1.5, **fields: object) -> Accommodation:
    values: dict[str, object] = {
        "candidate_id": candidate_id,
        "multiplier": multiplier,
        "extra_seconds": 0.0,
        "note": "",
        "set_by": "admin:ops",
        "set_at": T0,
        **fields,
    }
    return Accommodation(**values)  # type: ignore[arg-type]


async def attempt_of(
    store: Store, attempt_id: str, candidate_id: str, status: AttemptStatus = "open"
) -> None:
    event = AttemptCreated(
        at=T0, attempt_id=attempt_id, quiz_id="quiz-1", quiz_version=1, candidate_id=candidate_id
    )
    index = AttemptIndexRow(
        attempt_id=attempt_id,
        quiz_id="quiz-1",
        candidate_id=candidate_id,
        status=status,
        state="test_started",
        version=0,
        updated_at=T0,
        deadline=None,
        due_at=None,
    )
    await store.append(attempt_id, 0, [event], index)


class AccommodationContract:
    async def test_an_unknown_candidate_has_no_accommodation(self, store: Store) -> None:
        assert await store.get_accommodation("nobody") is None
        assert await store.list_accommodations() == []
        assert await store.delete_accommodation("nobody") is False

    async def test_an_accommodation_round_trips_exactly(self, store: Store) -> None:
        stored = accommodation(
            "cand-ü:1@x",
            multiplier=1.25,
            extra_seconds=1234.5,
            note='approved by the disability office "DO" 😀',
            set_by="admin:dean",
            set_at=T0 + 0.123456,
        )
        await store.put_accommodation(stored)
        assert await store.get_accommodation("cand-ü:1@x") == stored
        assert await store.list_accommodations() == [stored]

    async def test_a_put_replaces_the_candidates_accommodation(self, store: Store) -> None:
        await store.put_accommodation(accommodation("c1", 1.5))
        newer = accommodation("c1", 2.0, extra_seconds=60.0, note="renewed", set_at=T0 + 5)
        await store.put_accommodation(newer)
        assert await store.get_accommodation("c1") == newer
        assert await store.list_accommodations() == [newer]

    async def test_delete_forgets_one_candidate_only(self, store: Store) -> None:
        await store.put_accommodation(accommodation("c1"))
        await store.put_accommodation(accommodation("c2"))
        assert await store.delete_accommodation("c1") is True
        assert await store.delete_accommodation("c1") is False
        assert await store.get_accommodation("c1") is None
        assert await store.get_accommodation("c2") == accommodation("c2")

    async def test_list_orders_by_candidate_id_and_pages(self, store: Store) -> None:
        ids = ["b", "a", "B", "c-2", "c-10", "é"]
        for candidate_id in ids:
            await store.put_accommodation(accommodation(candidate_id))
        ordered = sorted(ids)  # code-point order
        listed = await store.list_accommodations()
        assert [a.candidate_id for a in listed] == ordered
        page = await store.list_accommodations(limit=2, offset=1)
        assert [a.candidate_id for a in page] == ordered[1:3]
        assert await store.list_accommodations(limit=10, offset=6) == []
        with pytest.raises(ValueError, match="limit and offset"):
            await store.list_accommodations(limit=-1)

    async def test_concurrent_puts_for_many_candidates_all_land(self, store: Store) -> None:
        await asyncio.gather(
            *(store.put_accommodation(accommodation(f"c{n:02d}")) for n in range(40))
        )
        assert len(await store.list_accommodations(limit=100)) == 40

    async def test_a_candidates_attempts_by_status(self, store: Store) -> None:
        await attempt_of(store, "a2", "c1")
        await attempt_of(store, "a1", "c1")
        await attempt_of(store, "a3", "c1", status="submitted")
        await attempt_of(store, "a4", "c2")
        open_rows = await store.candidate_attempts("c1")
        assert [r.attempt_id for r in open_rows] == ["a1", "a2"]
        assert all(r.candidate_id == "c1" for r in open_rows)
        every = await store.candidate_attempts("c1", status=None)
        assert [r.attempt_id for r in every] == ["a1", "a2", "a3"]
        done = await store.candidate_attempts("c1", status="submitted")
        assert [r.attempt_id for r in done] == ["a3"]
        assert await store.candidate_attempts("nobody") == []

    async def test_accommodations_are_separate_from_attempts(self, store: Store) -> None:
        await store.put_accommodation(accommodation("c1"))
        assert await store.candidate_attempts("c1") == []
        await attempt_of(store, "a1", "c1")
        assert await store.delete_accommodation("c1") is True
        assert [r.attempt_id for r in await store.candidate_attempts("c1")] == ["a1"]
