"""Accommodations: extra time set once for a candidate by an administrator and
applied to every attempt of that candidate.

The rules are the domain's (``domain.accommodation`` for the value,
``attempt_admin.accommodate`` for a change while a test runs); this module
keeps the records (``AccommodationStore``) and brings them to the attempts:

- when a test starts, the session's writes read the candidate's accommodation
  (``current``) and pass it into the start, which writes its share into the
  attempt's log; right after, ``settle`` reads it again and applies a change
  that landed while the start was in flight (so a change made at the same
  moment as the start is never lost);
- when an administrator sets or raises an accommodation, every running test of
  the candidate gets the difference at once, as an event by the administrator,
  and its live sessions are told the new deadline. A decrease, or a removal,
  applies to future attempts only: time already granted is never taken back;
- before the test starts, what the candidate is told (``view``) includes the
  accommodation set now.
"""

from __future__ import annotations

from typing import Protocol

from quizsession.api.models import AttemptView
from quizsession.app.attempts import AttemptExecutor
from quizsession.app.ports import Accommodation as AccommodationRecord
from quizsession.app.ports import AccommodationStore, Clock, LiveState, Notice
from quizsession.app.views import attempt_view
from quizsession.domain.accommodation import (
    Accommodation,
    check_accommodation,
    check_candidate_id,
)
from quizsession.domain.attempt import AttemptState
from quizsession.domain.commands import Accommodate
from quizsession.domain.errors import ErrorCode, refuse
from quizsession.domain.quiz import Quiz

__all__ = ["AccommodationLookup", "Accommodations", "applied"]


def applied(record: AccommodationRecord) -> Accommodation:
    """What a command needs of a stored accommodation."""
    return Accommodation(
        multiplier=record.multiplier, extra_seconds=record.extra_seconds, by=record.set_by
    )


class AccommodationLookup(Protocol):
    """What the candidate's session needs (``Accommodations`` is it): the
    accommodation to start a test with, the view before the start, and the
    check right after a start. A required argument of the session's parts, so
    that no wiring can leave the accommodations out."""

    async def current(self, candidate_id: str) -> Accommodation | None:
        """The candidate's accommodation as set now (None: none)."""
        ...

    async def view(self, state: AttemptState, quiz: Quiz, now: float) -> AttemptView:
        """The attempt view; before the test starts, with the candidate's
        accommodation as set now (afterwards the log has what was applied, and
        nothing is read)."""
        ...

    async def settle(
        self, attempt_id: str, candidate_id: str, started_with: Accommodation | None
    ) -> bool:
        """After a test started with ``started_with``: apply a change made while
        the start was in flight; True when that gave the test more time."""
        ...


class Accommodations:
    """The administrators' use cases (set, read, clear, list) and the lookup
    the sessions use."""

    def __init__(
        self,
        store: AccommodationStore,
        executor: AttemptExecutor,
        live: LiveState,
        clock: Clock,
    ) -> None:
        self._store = store
        self._exec = executor
        self._live = live
        self._clock = clock

    async def current(self, candidate_id: str) -> Accommodation | None:
        record = await self._store.get_accommodation(candidate_id)
        return None if record is None else applied(record)

    async def view(self, state: AttemptState, quiz: Quiz, now: float) -> AttemptView:
        if state.test is not None or not state.candidate_id:
            return attempt_view(state, quiz, now)
        return attempt_view(state, quiz, now, await self.current(state.candidate_id))

    async def put(
        self,
        candidate_id: str,
        *,
        multiplier: float | None,
        extra_seconds: float | None,
        note: str,
        by: str,
    ) -> AccommodationRecord:
        """Set the candidate's accommodation (replacing one set before) and give
        each running test of theirs the extra time it now gets. Bad input is
        refused (``accommodation_invalid``) before anything is written."""
        check_candidate_id(candidate_id)
        value = check_accommodation(multiplier, extra_seconds, note)
        record = AccommodationRecord(
            candidate_id=candidate_id,
            multiplier=value.multiplier,
            extra_seconds=value.extra_seconds,
            note=note,
            set_by=by,
            set_at=self._clock.now(),
        )
        await self._store.put_accommodation(record)
        await self._apply_to_running(candidate_id, applied(record), by)
        return record

    async def get(self, candidate_id: str) -> AccommodationRecord:
        record = await self._store.get_accommodation(candidate_id)
        if record is None:
            raise refuse(ErrorCode.NOT_FOUND, "this candidate has no accommodation")
        return record

    async def delete(self, candidate_id: str) -> None:
        """Clear the candidate's accommodation: for future attempts (a running
        test keeps the time it was given)."""
        if not await self._store.delete_accommodation(candidate_id):
            raise refuse(ErrorCode.NOT_FOUND, "this candidate has no accommodation")

    async def list(self, *, limit: int, offset: int) -> list[AccommodationRecord]:
        return await self._store.list_accommodations(limit=limit, offset=offset)

    async def settle(
        self, attempt_id: str, candidate_id: str, started_with: Accommodation | None
    ) -> bool:
        now = await self.current(candidate_id)
        if now is None or now == started_with:
            return False
        return await self._apply(attempt_id, now, now.by)

    async def _apply_to_running(
        self, candidate_id: str, accommodation: Accommodation, by: str
    ) -> int:
        changed = 0
        for row in await self._store.candidate_attempts(candidate_id):
            if row.state == "test_started" and await self._apply(row.attempt_id, accommodation, by):
                changed += 1
        return changed

    async def _apply(self, attempt_id: str, accommodation: Accommodation, by: str) -> bool:
        outcome = await self._exec.execute(
            attempt_id, lambda _l: Accommodate(accommodation=accommodation, by=by)
        )
        if not outcome.events:
            return False
        view = attempt_view(outcome.state, outcome.quiz, outcome.now)
        await self._live.publish(
            Notice(
                attempt_id=attempt_id,
                kind="extension",
                data={"deadline": view.deadline, "accommodation": True},
            )
        )
        return True
