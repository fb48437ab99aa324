"""A ``Store`` assembled from an adapter and decorators of some of its ports.

The composition root wraps only the ports whose data a decorator changes (the
event log and the invites, for encryption at rest) and hands the services this
view: every other port, and the life cycle and declared capabilities, are the
adapter's own. Generic: it knows nothing of what the decorators do."""

from __future__ import annotations

from collections.abc import Sequence

from quizsession.adapters.store.assembled_outbound import AssembledOutbound
from quizsession.app.ports import (
    Accommodation,
    AccommodationStore,
    AttemptIndexRow,
    AttemptStatus,
    EventLog,
    Invite,
    InviteRepository,
    LeaseGrant,
    LtiLaunchLink,
    LtiPlatform,
    QuizSummary,
    RecordedEvent,
    Store,
)
from quizsession.domain.events import AttemptEvent
from quizsession.domain.quiz import Quiz


class AssembledStore(AssembledOutbound):
    """``base`` with its event log, invites and accommodations replaced by
    ``events``, ``invites`` and ``accommodations`` (typically decorators of
    ``base``'s own)."""

    def __init__(
        self,
        base: Store,
        *,
        events: EventLog,
        invites: InviteRepository,
        accommodations: AccommodationStore | None = None,
    ) -> None:
        self.base = base
        self.events = events
        self.invites = invites
        self.accommodations: AccommodationStore = accommodations or base

    # -- the life cycle and capabilities: the adapter's ---------------------------------

    @property
    def durable(self) -> bool:
        return self.base.durable

    @property
    def shared(self) -> bool:
        return self.base.shared

    @property
    def secret_file(self) -> str | None:
        return self.base.secret_file

    async def schema_version(self) -> int | None:
        return await self.base.schema_version()

    async def holds_encrypted_data(self) -> bool:
        return await self.base.holds_encrypted_data()

    async def mark_encrypted_data(self) -> None:
        await self.base.mark_encrypted_data()

    async def open(self) -> None:
        await self.base.open()

    async def close(self) -> None:
        await self.base.close()

    async def ping(self) -> bool:
        return await self.base.ping()

    # -- the replaced ports -------------------------------------------------------------

    async def append(
        self,
        attempt_id: str,
        expected_version: int,
        events: Sequence[AttemptEvent],
        index: AttemptIndexRow,
    ) -> int:
        return await self.events.append(attempt_id, expected_version, events, index)

    async def read(self, attempt_id: str, after: int = 0) -> list[RecordedEvent]:
        return await self.events.read(attempt_id, after)

    async def read_many(self, attempt_ids: Sequence[str]) -> dict[str, list[RecordedEvent]]:
        return await self.events.read_many(attempt_ids)

    async def add_invites(self, invites: Sequence[Invite]) -> None:
        await self.invites.add_invites(invites)

    async def find_invite(self, token_hash: str) -> Invite | None:
        return await self.invites.find_invite(token_hash)

    # -- the adapter's own ports --------------------------------------------------------

    async def get_index(self, attempt_id: str) -> AttemptIndexRow | None:
        return await self.base.get_index(attempt_id)

    async def list_attempts(
        self,
        *,
        quiz_id: str | None = None,
        status: AttemptStatus | None = None,
        limit: int = 100,
        offset: int = 0,
        after: str | None = None,
    ) -> list[AttemptIndexRow]:
        return await self.base.list_attempts(
            quiz_id=quiz_id, status=status, limit=limit, offset=offset, after=after
        )

    async def due_attempts(self, now: float, limit: int = 500) -> list[AttemptIndexRow]:
        return await self.base.due_attempts(now, limit)

    async def put_quiz(self, quiz: Quiz) -> Quiz:
        return await self.base.put_quiz(quiz)

    async def get_quiz(self, quiz_id: str, version: int | None = None) -> Quiz | None:
        return await self.base.get_quiz(quiz_id, version)

    async def list_quizzes(self) -> list[QuizSummary]:
        return await self.base.list_quizzes()

    async def acquire_lease(
        self, attempt_id: str, session_id: str, ttl_s: float, now: float, *, force: bool = False
    ) -> LeaseGrant:
        return await self.base.acquire_lease(attempt_id, session_id, ttl_s, now, force=force)

    async def release_lease(self, attempt_id: str, session_id: str) -> None:
        await self.base.release_lease(attempt_id, session_id)

    async def lease_holder(self, attempt_id: str, now: float) -> LeaseGrant:
        return await self.base.lease_holder(attempt_id, now)

    async def mark_alive(self, instance_id: str, now: float) -> None:
        await self.base.mark_alive(instance_id, now)

    async def last_alive(self) -> float | None:
        return await self.base.last_alive()

    async def prune_alive(self, before: float) -> int:
        return await self.base.prune_alive(before)

    async def put_accommodation(self, accommodation: Accommodation) -> None:
        await self.accommodations.put_accommodation(accommodation)

    async def get_accommodation(self, candidate_id: str) -> Accommodation | None:
        return await self.accommodations.get_accommodation(candidate_id)

    async def delete_accommodation(self, candidate_id: str) -> bool:
        return await self.accommodations.delete_accommodation(candidate_id)

    async def list_accommodations(
        self, *, limit: int = 100, offset: int = 0
    ) -> list[Accommodation]:
        return await self.accommodations.list_accommodations(limit=limit, offset=offset)

    async def candidate_attempts(
        self, candidate_id: str, *, status: AttemptStatus | None = "open"
    ) -> list[AttemptIndexRow]:
        return await self.base.candidate_attempts(candidate_id, status=status)

    async def put_lti_platform(self, platform: LtiPlatform) -> None:
        await self.base.put_lti_platform(platform)

    async def get_lti_platform(self, platform_id: str) -> LtiPlatform | None:
        return await self.base.get_lti_platform(platform_id)

    async def lti_platforms(self, issuer: str | None = None) -> list[LtiPlatform]:
        return await self.base.lti_platforms(issuer)

    async def delete_lti_platform(self, platform_id: str) -> bool:
        return await self.base.delete_lti_platform(platform_id)

    async def use_lti_nonce(self, key: str, expires_at: float, now: float) -> bool:
        return await self.base.use_lti_nonce(key, expires_at, now)

    async def put_lti_link(self, link: LtiLaunchLink) -> None:
        await self.base.put_lti_link(link)

    async def get_lti_link(self, attempt_id: str) -> LtiLaunchLink | None:
        return await self.base.get_lti_link(attempt_id)
