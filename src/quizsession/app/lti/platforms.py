"""Platform registrations (the LMSs allowed to launch quizzes), managed by an
administrator through the admin API and the CLI, and the gradebook destination
each one implies for the outbound delivery.

A registration's id is derived from its issuer and client id: registering the
same pair again updates it (the LMS administrator re-typed a URL), it never
makes a second one."""

from __future__ import annotations

import hashlib
from typing import Protocol

from quizsession.api.lti import LtiPlatformBody
from quizsession.app.delivery.records import DestinationRecord
from quizsession.app.outbound import Destination
from quizsession.app.ports import Clock, LtiPlatform, LtiStore, OutboundStore
from quizsession.domain.errors import ErrorCode, refuse

#: The scope a tool needs to post scores (LTI Assignment and Grade Services 2.0).
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"


def platform_id_for(issuer: str, client_id: str) -> str:
    digest = hashlib.sha256(f"{issuer}\x00{client_id}".encode()).hexdigest()
    return "lti_" + digest[:16]


def ags_destination(platform: LtiPlatform) -> Destination:
    """The outbound destination of kind ``lti_ags`` that a registration implies:
    the scores of attempts launched from this platform go to its gradebook.
    It has the registration's id (``lti:<platform id>``) and exists exactly as
    long as the registration; without a token URL it is disabled (the platform
    offers no grade service)."""
    return Destination(
        id=f"lti:{platform.id}",
        kind="lti_ags",
        url=platform.token_url,
        event_types=("attempt.scored",),
        enabled=bool(platform.token_url),
        config={"platform_id": platform.id},
    )


class PlatformStore(LtiStore, OutboundStore, Protocol):
    """Registrations, and the outbound destination each one implies."""


class LtiPlatforms:
    def __init__(self, store: PlatformStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def register(self, body: LtiPlatformBody) -> LtiPlatform:
        ids = tuple(dict.fromkeys(d.strip() for d in body.deployment_ids if d.strip()))
        if not ids:
            raise refuse(
                ErrorCode.VALIDATION,
                "at least one deployment id is needed",
                problems=[{"path": "/deployment_ids", "message": "no deployment id"}],
            )
        pid = platform_id_for(body.issuer, body.client_id)
        before = await self._store.get_lti_platform(pid)
        platform = LtiPlatform(
            id=pid,
            issuer=body.issuer,
            client_id=body.client_id,
            deployment_ids=ids,
            auth_login_url=body.auth_login_url,
            jwks_url=body.jwks_url,
            token_url=body.token_url or "",
            token_audience=body.token_audience,
            created_at=before.created_at if before is not None else self._clock.now(),
        )
        await self._store.put_lti_platform(platform)
        # Its gradebook destination, created (or updated) with it.
        now = self._clock.now()
        await self._store.put_destination(
            DestinationRecord(
                destination=ags_destination(platform),
                created_at=platform.created_at,
                updated_at=now,
            )
        )
        return platform

    async def all(self) -> list[LtiPlatform]:
        return await self._store.lti_platforms()

    async def get(self, platform_id: str) -> LtiPlatform:
        found = await self._store.get_lti_platform(platform_id)
        if found is None:
            raise refuse(ErrorCode.NOT_FOUND, f"no LTI platform {platform_id}")
        return found

    async def remove(self, platform_id: str) -> None:
        await self._store.delete_destination(f"lti:{platform_id}")
        if not await self._store.delete_lti_platform(platform_id):
            raise refuse(ErrorCode.NOT_FOUND, f"no LTI platform {platform_id}")
