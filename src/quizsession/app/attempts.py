"""Loading, deciding and appending: the one path by which attempts change.

``AttemptExecutor.execute`` folds the attempt (from a bounded in-process cache),
asks the domain to ``decide``, appends the events with the version it decided on
as the optimistic lock, and only then applies them to the cached state. A write
never reads the log first, not even with several instances on one store: it
appends from the cached version. If another writer moved the attempt in between
(another instance, a takeover), the store refuses the append; the executor
catches up (with the events the refusal carries when the store sends them, else
with a read of the events after its version, never the whole log) and decides
again on the fresh state, so a stale epoch is refused by the rules and a replayed
``op_id`` is recognised on the retry. Keeping an attempt's requests on one
instance (a balancer's consistent hash of the session id) keeps its cache warm
and saves that retry; correctness never needs it.

``prefetch`` reads many attempts' logs with one store call (the reaper, before it
submits a page of due attempts) and caches what it folds as *unverified*: it was
read without the attempts' locks, so it may already be behind the log. An
unverified state is never believed on its own: a read catches it up first, and a
write decides on it but checks a refusal or a no-op against the log (its append is
guarded by the store's optimistic lock like any other).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

import msgspec

from quizsession.app.metrics import NO_METRICS, Metrics
from quizsession.app.ports import (
    AttemptIndexRow,
    AttemptStatus,
    Clock,
    EventLog,
    QuizRepository,
    RecordedEvent,
    StoreError,
    StoreUnavailable,
    VersionConflict,
)
from quizsession.app.preview import copy_preview as _copy_preview
from quizsession.domain.attempt import AttemptState, apply, deadline, decide, due_at
from quizsession.domain.commands import AttemptCommand
from quizsession.domain.errors import DomainError, ErrorCode, refuse
from quizsession.domain.events import AttemptEvent, event_type
from quizsession.domain.grading import grading_pending, scoring_version
from quizsession.domain.quiz import Quiz

MAX_RETRIES = 8


@dataclass
class Loaded:
    state: AttemptState
    quiz: Quiz
    #: False for a state read ahead by ``prefetch``, until it is checked against
    #: the log (a catch-up) or moved on by an append the store accepted.
    verified: bool = True


@dataclass(frozen=True)
class Outcome:
    state: AttemptState
    quiz: Quiz
    events: Sequence[AttemptEvent]  # what this call appended ([] for a no-op or replay)
    now: float


class QuizCache:
    """Quiz versions are immutable, so a version once read is cached for good."""

    def __init__(self, store: QuizRepository, capacity: int = 1024) -> None:
        self._store = store
        self._cache: OrderedDict[tuple[str, int], Quiz] = OrderedDict()
        self._capacity = capacity

    async def get(self, quiz_id: str, version: int) -> Quiz:
        key = (quiz_id, version)
        quiz = self._cache.get(key)
        if quiz is None:
            read = await self._store.get_quiz(quiz_id, version)
            if read is None:
                raise refuse(ErrorCode.NOT_FOUND, f"quiz {quiz_id} version {version} not found")
            quiz = self.intern(read)
        return quiz

    def intern(self, quiz: Quiz) -> Quiz:
        """The cached copy of ``quiz``'s version if there is one, else ``quiz``,
        cached: every attempt on a version shares one decoded definition."""
        key = (quiz.id, quiz.version)
        known = self._cache.get(key)
        if known is not None:
            self._cache.move_to_end(key)
            return known
        self._cache[key] = quiz
        if len(self._cache) > self._capacity:
            self._cache.popitem(last=False)
        return quiz


_STATUS: dict[str, AttemptStatus] = {"open": "open", "submitted": "submitted", "voided": "voided"}
#: The index row's ``state`` of a submitted attempt whose score is pending.
GRADING_PENDING = "grading_pending"


def index_row(state: AttemptState, quiz: Quiz, now: float) -> AttemptIndexRow:
    return AttemptIndexRow(
        attempt_id=state.attempt_id,
        quiz_id=state.quiz_id,
        candidate_id=state.candidate_id,
        status=_STATUS[state.status],
        # Grading: a submitted attempt with answers waiting for a grader.
        state=GRADING_PENDING if grading_pending(state, quiz) else state.section_state(quiz),
        version=state.version,
        updated_at=now,
        deadline=deadline(state, quiz),
        due_at=due_at(state, quiz),
    )


class AttemptExecutor:
    def __init__(
        self,
        store: EventLog,
        quizzes: QuizCache,
        clock: Clock,
        *,
        cache_size: int = 100_000,
        authoritative_cache: bool = True,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._quizzes = quizzes
        self._clock = clock
        self._cache: OrderedDict[str, Loaded] = OrderedDict()
        self._cache_size = cache_size
        # True when this process is the only writer (embedded store): reads can
        # trust the cache. With a shared store, reads catch up from the log first.
        self._authoritative = authoritative_cache
        self._locks: dict[str, asyncio.Lock] = {}
        self._lock_users: dict[str, int] = {}

    @property
    def authoritative_cache(self) -> bool:
        """True when reads trust the cache (this process is the store's only
        writer); False with a store shared by several instances."""
        return self._authoritative

    # -- loading ----------------------------------------------------------------

    async def _catch_up(self, attempt_id: str, loaded: Loaded | None) -> Loaded | None:
        after = loaded.state.version if loaded is not None else 0
        try:
            records = await self._store.read(attempt_id, after=after)
        except StoreUnavailable as exc:
            raise refuse(ErrorCode.STORE_UNAVAILABLE, "the store is unavailable; retry") from exc
        return await self._fold(attempt_id, loaded, records)

    async def _fold(
        self, attempt_id: str, loaded: Loaded | None, records: Sequence[RecordedEvent]
    ) -> Loaded | None:
        """``loaded`` (None: nothing yet) moved on by ``records``, the log's events
        after its version: now the log's state, verified and cached. Records out
        of step with it (should not happen) mean a read of the whole log."""
        if loaded is None:
            if not records:
                return None
            state = AttemptState()
            for rec in records:
                apply(state, rec.event)
            quiz = await self._quizzes.get(state.quiz_id, scoring_version(state))
            loaded = Loaded(state=state, quiz=quiz)
        else:
            for rec in records:
                if rec.seq != loaded.state.version + 1:
                    # Out of step (should not happen): rebuild from scratch.
                    self._cache.pop(attempt_id, None)
                    return await self._catch_up(attempt_id, None)
                apply(loaded.state, rec.event)
            loaded.verified = True
            loaded.quiz = await self._scoring_quiz(loaded.state, loaded.quiz)
        self._remember(attempt_id, loaded)
        return loaded

    async def _scoring_quiz(self, state: AttemptState, quiz: Quiz) -> Quiz:
        """Grading: the quiz version ``state`` is scored with (a regrade moves an
        attempt to a newer version of its quiz); ``quiz`` when it is that one."""
        version = state.regraded_version
        if version is None or quiz.version == version:
            return quiz
        return await self._quizzes.get(quiz.id, version)

    def _remember(self, attempt_id: str, loaded: Loaded) -> None:
        self._cache[attempt_id] = loaded
        self._cache.move_to_end(attempt_id)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    async def load(self, attempt_id: str, *, fresh: bool | None = None) -> Loaded | None:
        """The folded attempt, or None. ``fresh`` forces a catch-up read from the
        store (default: only when the cache is not authoritative). A catch-up
        holds the attempt's lock: it must not fold events into a cached state
        that a write is about to apply its own events to."""
        cached = self._cache.get(attempt_id)
        must_read = (not self._authoritative) if fresh is None else fresh
        if cached is not None and cached.verified and not must_read:
            self._cache.move_to_end(attempt_id)
            return cached
        async with self._locked(attempt_id):
            return await self._catch_up(attempt_id, self._cache.get(attempt_id))

    def forget(self, attempt_id: str) -> None:
        self._cache.pop(attempt_id, None)

    async def prefetch(self, attempt_ids: Sequence[str]) -> int:
        """Read the logs of the attempts of ``attempt_ids`` that are not cached with
        ONE store call and cache their states, unverified (see the module's
        docstring); returns how many were cached. Best effort: if the store fails,
        nothing is cached and each attempt is read when it is used, as without."""
        missing = [a for a in dict.fromkeys(attempt_ids) if a not in self._cache]
        if not missing:
            return 0
        try:
            logs = await self._store.read_many(missing)
        except StoreError:
            return 0
        cached = 0
        for attempt_id, records in logs.items():
            if not records or any(rec.seq != n for n, rec in enumerate(records, 1)):
                continue  # unknown, or out of step: left to the ordinary read
            state = AttemptState()
            for rec in records:
                apply(state, rec.event)
            try:
                quiz = await self._quizzes.get(state.quiz_id, scoring_version(state))
            except DomainError:
                continue
            # Checked after the await: whatever a write or a read has cached since
            # is newer than this, or as new.
            if attempt_id not in self._cache:
                self._remember(attempt_id, Loaded(state=state, quiz=quiz, verified=False))
                cached += 1
        return cached

    # -- executing --------------------------------------------------------------

    def _lock(self, attempt_id: str) -> asyncio.Lock:
        """The attempt's lock, with one more user (``_unlock`` when done)."""
        lock = self._locks.get(attempt_id)
        if lock is None:
            lock = self._locks[attempt_id] = asyncio.Lock()
            self._lock_users[attempt_id] = 1
        else:
            self._lock_users[attempt_id] += 1
        return lock

    def _unlock(self, attempt_id: str) -> None:
        """One user fewer; the last one drops the lock."""
        users = self._lock_users[attempt_id] - 1
        if users:
            self._lock_users[attempt_id] = users
        else:
            del self._lock_users[attempt_id]
            del self._locks[attempt_id]

    @contextlib.asynccontextmanager
    async def _locked(self, attempt_id: str) -> AsyncIterator[None]:
        lock = self._lock(attempt_id)
        try:
            async with lock:
                yield
        finally:
            self._unlock(attempt_id)

    async def execute(
        self,
        attempt_id: str,
        make: Callable[[Loaded], AttemptCommand],
        *,
        create: Callable[[], tuple[Quiz, AttemptCommand]] | None = None,
    ) -> Outcome:
        """Decide ``make(loaded)`` against the latest state and append the events.

        ``create`` is used when the attempt does not exist yet: it returns the quiz
        and the creating command, appended with expected version 0 (so of two
        concurrent creators exactly one succeeds and the other retries)."""
        # The lock by hand, not ``_locked``: an async context manager costs a
        # generator per call, and this is every write.
        lock = self._lock(attempt_id)
        try:
            async with lock:
                return await self._execute_locked(attempt_id, make, create)
        finally:
            self._unlock(attempt_id)

    async def _execute_locked(
        self,
        attempt_id: str,
        make: Callable[[Loaded], AttemptCommand],
        create: Callable[[], tuple[Quiz, AttemptCommand]] | None,
    ) -> Outcome:
        loaded = self._cache.get(attempt_id)
        if loaded is None:
            loaded = await self._catch_up(attempt_id, None)
        # With a shared store the cache may be behind another instance, and a
        # prefetched state may be behind the log. Appends need no read first (the
        # store's optimistic lock refuses a stale one and we catch up and decide
        # again); a refusal or a no-op decided on such a state is checked against
        # the log before it is believed.
        verified = self._authoritative and (loaded is None or loaded.verified)
        for _ in range(MAX_RETRIES):
            now = self._clock.now()
            if loaded is None:
                if create is None:
                    raise refuse(ErrorCode.NOT_FOUND, "no such attempt")
                quiz, first = create()
                blank = AttemptState()
                created = decide(blank, quiz, first, now)
                loaded_new = Loaded(state=blank, quiz=quiz)
                try:
                    await self._append(attempt_id, loaded_new, created, now)
                except VersionConflict as refused:
                    loaded, verified = await self._after_conflict(attempt_id, None, refused)
                    continue
                loaded = loaded_new
                verified = True
            command = make(loaded)
            try:
                events = decide(loaded.state, loaded.quiz, command, now)
            except DomainError:
                if verified:
                    raise
                loaded, verified = await self._verify(attempt_id, loaded)
                continue
            if not events:
                if verified:
                    return Outcome(state=loaded.state, quiz=loaded.quiz, events=(), now=now)
                loaded, verified = await self._verify(attempt_id, loaded)
                continue
            try:
                await self._append(attempt_id, loaded, events, now)
            except VersionConflict as refused:
                loaded, verified = await self._after_conflict(attempt_id, loaded, refused)
                continue
            return Outcome(state=loaded.state, quiz=loaded.quiz, events=events, now=now)
        raise refuse(ErrorCode.BUSY, "the attempt is changing too fast; retry")

    async def _verify(self, attempt_id: str, loaded: Loaded) -> tuple[Loaded | None, bool]:
        """Catch the cached state up with the log; the state is now verified."""
        return await self._catch_up(attempt_id, loaded), True

    async def _after_conflict(
        self, attempt_id: str, loaded: Loaded | None, refused: VersionConflict
    ) -> tuple[Loaded | None, bool]:
        """The state to decide on again after the store refused an append decided
        on ``loaded``: caught up with the events the refusal carries (read with
        it, no further call), or else with a read. Verified either way."""
        self._metrics.conflict()
        base = loaded.state.version if loaded is not None else 0
        after = refused.after
        if (
            after
            and refused.expected == base
            and all(rec.seq == n for n, rec in enumerate(after, base + 1))
        ):
            return await self._fold(attempt_id, loaded, after), True
        return await self._catch_up(attempt_id, loaded), True

    async def _append(
        self, attempt_id: str, loaded: Loaded, events: Sequence[AttemptEvent], now: float
    ) -> None:
        preview = _copy_preview(loaded.state, events) if _needs_preview(events) else None
        row_state = preview if preview is not None else loaded.state
        row_quiz = loaded.quiz
        if preview is not None:
            row_quiz = await self._scoring_quiz(preview, loaded.quiz)  # a regrade's version
        expected = loaded.state.version
        if preview is None:
            # Cheap path (one answer saved, one question delivered...): the index
            # row only changes its version and time.
            row = index_row(loaded.state, loaded.quiz, now)
            row = _with_version(row, expected + len(events))
        else:
            row = index_row(row_state, row_quiz, now)
        began = time.perf_counter()
        try:
            await self._store.append(attempt_id, expected, events, row)
        except VersionConflict:
            raise
        except StoreUnavailable as exc:
            raise refuse(ErrorCode.STORE_UNAVAILABLE, "the store is unavailable; retry") from exc
        finally:
            self._metrics.store_append(time.perf_counter() - began)
        for event in events:
            apply(loaded.state, event)
        loaded.quiz = row_quiz
        loaded.verified = True  # the store was at ``expected``: this is the log's state
        self._remember(attempt_id, loaded)


_CHEAP_EVENTS = frozenset({"answer_saved", "question_delivered", "question_viewed"})


def _needs_preview(events: Sequence[AttemptEvent]) -> bool:
    return any(event_type(e) not in _CHEAP_EVENTS for e in events)


def _with_version(row: AttemptIndexRow, version: int) -> AttemptIndexRow:
    return msgspec.structs.replace(row, version=version)
