"""The store in memory: tests and the non-persistent mode.

Single event loop, no threads: no method awaits anything before it has finished
its change, so every method is atomic with respect to the other tasks. Events and
quizzes are kept msgspec-encoded, exactly as the durable stores keep them, so that
what comes back from a read is what SQLite or PostgreSQL would give back (a float
stays a float, a list is a fresh list). It passes the same contract suite as the
durable stores (``tests/contract/test_store.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

from quizsession.adapters.store.common import (
    canonical_quiz,
    check_append,
    check_page,
    decode_quiz,
    is_due,
    lease_grant,
    unversioned,
    versioned_quiz,
)
from quizsession.adapters.store.memory_outbound import MemoryOutbound
from quizsession.app.ports import (
    Accommodation,
    AttemptIndexRow,
    AttemptStatus,
    Invite,
    LeaseGrant,
    LtiLaunchLink,
    LtiPlatform,
    QuizSummary,
    RecordedEvent,
    VersionConflict,
)
from quizsession.domain.events import AttemptEvent, decode_event, encode_event
from quizsession.domain.quiz import Quiz


class MemoryStore(MemoryOutbound):
    """Everything in dictionaries; nothing survives the process."""

    def __init__(self) -> None:
        self._logs: dict[str, list[bytes]] = {}
        self._index: dict[str, AttemptIndexRow] = {}
        self._quizzes: dict[str, list[bytes]] = {}  # id -> encodings, version i+1 at i
        self._invites: dict[str, Invite] = {}
        self._leases: dict[str, tuple[str, float]] = {}  # attempt -> (session, expires_at)
        self._alive: dict[str, float] = {}  # instance -> its latest mark
        self._accommodations: dict[str, Accommodation] = {}  # candidate -> record
        self._lti_platforms: dict[str, LtiPlatform] = {}
        self._lti_nonces: dict[str, float] = {}  # key -> expires_at
        self._lti_links: dict[str, LtiLaunchLink] = {}  # attempt -> link
        self._encrypted = False
        self._init_outbound()  # destinations and deliveries: memory_outbound.py

    # -- declared capabilities --------------------------------------------------------

    @property
    def durable(self) -> bool:
        return False

    @property
    def shared(self) -> bool:
        return False  # one process's dictionaries

    @property
    def secret_file(self) -> str | None:
        return None  # nothing to keep it beside: one secret per process

    async def schema_version(self) -> int | None:
        return None

    async def holds_encrypted_data(self) -> bool:
        return self._encrypted

    async def mark_encrypted_data(self) -> None:
        self._encrypted = True

    # -- life cycle -------------------------------------------------------------------

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def ping(self) -> bool:
        return True

    # -- events -------------------------------------------------------------------

    async def append(
        self,
        attempt_id: str,
        expected_version: int,
        events: Sequence[AttemptEvent],
        index: AttemptIndexRow,
    ) -> int:
        index = check_append(attempt_id, expected_version, events, index)
        encoded = [encode_event(event) for event in events]
        log = self._logs.get(attempt_id)
        actual = 0 if log is None else len(log)
        if actual != expected_version:
            raise VersionConflict(attempt_id, expected_version, actual)
        if log is None:
            log = self._logs[attempt_id] = []
        log.extend(encoded)
        self._index[attempt_id] = index
        self._note_outbound(attempt_id, index.quiz_id, index.candidate_id, expected_version, events)
        return len(log)

    async def read(self, attempt_id: str, after: int = 0) -> list[RecordedEvent]:
        log = self._logs.get(attempt_id)
        if log is None:
            return []
        start = max(after, 0)
        return [
            RecordedEvent(attempt_id=attempt_id, seq=seq, event=decode_event(data))
            for seq, data in enumerate(log[start:], start + 1)
        ]

    async def read_many(self, attempt_ids: Sequence[str]) -> dict[str, list[RecordedEvent]]:
        return {attempt_id: await self.read(attempt_id) for attempt_id in attempt_ids}

    async def get_index(self, attempt_id: str) -> AttemptIndexRow | None:
        return self._index.get(attempt_id)

    async def list_attempts(
        self,
        *,
        quiz_id: str | None = None,
        status: AttemptStatus | None = None,
        limit: int = 100,
        offset: int = 0,
        after: str | None = None,
    ) -> list[AttemptIndexRow]:
        check_page(limit, offset)
        rows = [
            row
            for row in self._index.values()
            if (quiz_id is None or row.quiz_id == quiz_id)
            and (status is None or row.status == status)
            and (after is None or row.attempt_id > after)
        ]
        rows.sort(key=lambda row: row.attempt_id)
        return rows[offset : offset + limit]

    async def due_attempts(self, now: float, limit: int = 500) -> list[AttemptIndexRow]:
        check_page(limit, 0)
        rows = [row for row in self._index.values() if is_due(row, now)]
        rows.sort(key=lambda row: (row.due_at, row.attempt_id))
        return rows[:limit]

    # -- quizzes ------------------------------------------------------------------

    async def put_quiz(self, quiz: Quiz) -> Quiz:
        canonical = canonical_quiz(quiz)
        versions = self._quizzes.setdefault(quiz.id, [])
        if versions and unversioned(versions[-1]) == canonical:
            return decode_quiz(versions[-1])
        stored, data = versioned_quiz(canonical, len(versions) + 1)
        versions.append(data)
        return stored

    async def get_quiz(self, quiz_id: str, version: int | None = None) -> Quiz | None:
        versions = self._quizzes.get(quiz_id)
        if not versions:
            return None
        if version is None:
            return decode_quiz(versions[-1])
        if not 1 <= version <= len(versions):
            return None
        return decode_quiz(versions[version - 1])

    async def list_quizzes(self) -> list[QuizSummary]:
        summaries = []
        for quiz_id in sorted(self._quizzes):
            versions = self._quizzes[quiz_id]
            if versions:
                latest = decode_quiz(versions[-1])
                summaries.append(
                    QuizSummary(id=quiz_id, version=latest.version, title=latest.title)
                )
        return summaries

    # -- invites ------------------------------------------------------------------

    async def add_invites(self, invites: Sequence[Invite]) -> None:
        for invite in invites:
            self._invites[invite.token_hash] = invite

    async def find_invite(self, token_hash: str) -> Invite | None:
        return self._invites.get(token_hash)

    # -- leases -------------------------------------------------------------------

    async def acquire_lease(
        self, attempt_id: str, session_id: str, ttl_s: float, now: float, *, force: bool = False
    ) -> LeaseGrant:
        current = self._leases.get(attempt_id)
        if current is None or current[1] <= now or current[0] == session_id or force:
            self._leases[attempt_id] = (session_id, now + ttl_s)
            return LeaseGrant(acquired=True, holder=session_id, expires_in=ttl_s)
        return lease_grant(current[0], current[1], now)

    async def release_lease(self, attempt_id: str, session_id: str) -> None:
        current = self._leases.get(attempt_id)
        if current is not None and current[0] == session_id:
            del self._leases[attempt_id]

    async def lease_holder(self, attempt_id: str, now: float) -> LeaseGrant:
        current = self._leases.get(attempt_id)
        if current is None:
            return lease_grant(None, 0.0, now)
        return lease_grant(current[0], current[1], now)

    # -- liveness marks -----------------------------------------------------------

    async def mark_alive(self, instance_id: str, now: float) -> None:
        self._alive[instance_id] = now

    async def last_alive(self) -> float | None:
        return max(self._alive.values(), default=None)

    async def prune_alive(self, before: float) -> int:
        old = [instance for instance, at in self._alive.items() if at < before]
        for instance in old:
            del self._alive[instance]
        return len(old)

    # -- accommodations -----------------------------------------------------------

    async def put_accommodation(self, accommodation: Accommodation) -> None:
        self._accommodations[accommodation.candidate_id] = accommodation

    async def get_accommodation(self, candidate_id: str) -> Accommodation | None:
        return self._accommodations.get(candidate_id)

    async def delete_accommodation(self, candidate_id: str) -> bool:
        return self._accommodations.pop(candidate_id, None) is not None

    async def list_accommodations(
        self, *, limit: int = 100, offset: int = 0
    ) -> list[Accommodation]:
        check_page(limit, offset)
        ordered = sorted(self._accommodations)
        return [self._accommodations[c] for c in ordered[offset : offset + limit]]

    async def candidate_attempts(
        self, candidate_id: str, *, status: AttemptStatus | None = "open"
    ) -> list[AttemptIndexRow]:
        rows = [
            row
            for row in self._index.values()
            if row.candidate_id == candidate_id and (status is None or row.status == status)
        ]
        rows.sort(key=lambda row: row.attempt_id)
        return rows

    # -- LTI ----------------------------------------------------------------------

    async def put_lti_platform(self, platform: LtiPlatform) -> None:
        self._lti_platforms[platform.id] = platform

    async def get_lti_platform(self, platform_id: str) -> LtiPlatform | None:
        return self._lti_platforms.get(platform_id)

    async def lti_platforms(self, issuer: str | None = None) -> list[LtiPlatform]:
        return [
            self._lti_platforms[k]
            for k in sorted(self._lti_platforms)
            if issuer is None or self._lti_platforms[k].issuer == issuer
        ]

    async def delete_lti_platform(self, platform_id: str) -> bool:
        return self._lti_platforms.pop(platform_id, None) is not None

    async def use_lti_nonce(self, key: str, expires_at: float, now: float) -> bool:
        for old in [k for k, until in self._lti_nonces.items() if until <= now]:
            del self._lti_nonces[old]
        if key in self._lti_nonces:
            return False
        self._lti_nonces[key] = expires_at
        return True

    async def put_lti_link(self, link: LtiLaunchLink) -> None:
        self._lti_links[link.attempt_id] = link

    async def get_lti_link(self, attempt_id: str) -> LtiLaunchLink | None:
        return self._lti_links.get(attempt_id)
