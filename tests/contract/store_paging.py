"""Reading the attempt index page by page with a keyset (``list_attempts(after=)``),
the way the reports and the admin lists walk a big quiz: ``StoreContract``
(``test_store.py``) inherits these tests, so every adapter (memory, SQLite,
PostgreSQL, and the encrypted variants) runs them unchanged."""

from __future__ import annotations

from typing import Any

from quizsession.app.ports import AttemptIndexRow, AttemptStatus, Store
from quizsession.domain.events import AttemptCreated

T0 = 1_700_000_000.0


async def _attempt(store: Store, attempt_id: str, quiz_id: str, status: AttemptStatus) -> None:
    event = AttemptCreated(
        at=T0, attempt_id=attempt_id, quiz_id=quiz_id, quiz_version=1, candidate_id=attempt_id
    )
    index = AttemptIndexRow(
        attempt_id=attempt_id,
        quiz_id=quiz_id,
        candidate_id=attempt_id,
        status=status,
        state="practice_not_started",
        version=1,
        updated_at=T0,
    )
    await store.append(attempt_id, 0, [event], index)


class PagingContract:
    async def test_list_attempts_after_a_key(self, store: Store) -> None:
        specs: list[tuple[str, str, AttemptStatus]] = [
            ("a-3", "q1", "open"),
            ("a-1", "q1", "submitted"),
            ("ä-6", "q1", "open"),
            ("a-2", "q2", "open"),
            ("B-4", "q1", "voided"),
            ("a-5", "q2", "submitted"),
        ]
        for attempt_id, quiz_id, status in specs:
            await _attempt(store, attempt_id, quiz_id, status)

        async def ids(**kw: Any) -> list[str]:
            return [r.attempt_id for r in await store.list_attempts(**kw)]

        # Strictly after the key, in code point order, whether or not the key exists.
        assert await ids(after="a-1") == ["a-2", "a-3", "a-5", "ä-6"]
        assert await ids(after="a-10") == ["a-2", "a-3", "a-5", "ä-6"]
        assert await ids(after="") == ["B-4", "a-1", "a-2", "a-3", "a-5", "ä-6"]
        assert await ids(after="ä-6") == []
        assert await ids(after="a", limit=2) == ["a-1", "a-2"]
        # With the filters, and an offset counted from the key.
        assert await ids(quiz_id="q1", after="B-4") == ["a-1", "a-3", "ä-6"]
        assert await ids(status="open", after="a-2") == ["a-3", "ä-6"]
        assert await ids(quiz_id="q1", status="open", after="a-3") == ["ä-6"]
        assert await ids(quiz_id="q1", after="B-4", offset=1, limit=1) == ["a-3"]

    async def test_walking_pages_by_key_sees_every_attempt_once(self, store: Store) -> None:
        wanted = sorted(f"p-{n:03d}" for n in range(23))
        for attempt_id in wanted:
            await _attempt(store, attempt_id, "walk", "open")
        await _attempt(store, "p-other", "elsewhere", "open")
        seen: list[str] = []
        after: str | None = None
        while True:
            page = await store.list_attempts(quiz_id="walk", limit=5, after=after)
            seen += [r.attempt_id for r in page]
            if len(page) < 5:
                break
            after = page[-1].attempt_id
        assert seen == wanted
