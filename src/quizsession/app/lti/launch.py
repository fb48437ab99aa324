"""The launch (LTI 1.3 Core, 5.1.2 and 5.3; Deep Linking 2.0, 4.4): the
platform posts the browser back with a signed ``id_token`` and the ``state``.

Checked in this order, and nothing is written before every check passed: the
state (sealed by this service, unexpired, and the one this browser's cookie
holds), the platform (the token's issuer registered; the state's registration),
the token (signature by ``kid``, ``iss``, ``aud``/``azp``, ``exp``/``iat``:
``LaunchTokens``), its nonce (the login's), the LTI version and message type,
the deployment (registered for the platform), and last the nonce's single use
(recorded durably until the token expires: a replay is refused on every
instance).

Then a resource link launch by a learner starts or resumes the learner's attempt
at the link's quiz (custom parameter ``quiz_id``, which a deep link sets) and
records where its score goes (the AGS line item); an instructor's launch gets
the quiz's page instead of an attempt; a deep linking request gets the list of
quizzes to choose from (``lti_deep_linking``)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Protocol

from quizsession.api.models import OpenedSession
from quizsession.app.lti.deep_linking import DeepLinking
from quizsession.app.lti.platforms import SCORE_SCOPE
from quizsession.app.lti.ports import LaunchTokens
from quizsession.app.lti.state import SignedValues
from quizsession.app.ports import (
    Clock,
    LtiLaunchLink,
    LtiPlatform,
    LtiStore,
    OutboundStore,
    QuizRepository,
    QuizSummary,
)
from quizsession.domain.errors import ErrorCode, refuse

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
MESSAGE_TYPE = LTI + "message_type"
VERSION = LTI + "version"
DEPLOYMENT_ID = LTI + "deployment_id"
RESOURCE_LINK = LTI + "resource_link"
ROLES = LTI + "roles"
CUSTOM = LTI + "custom"
AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
DEEP_LINKING_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"

_TEACHING = ("#Instructor", "#ContentDeveloper", "#Administrator", "#Mentor")
_LEARNER = "#Learner"


def is_instructor(roles: object) -> bool:
    """A staff role in the context or the institution, and not a learner's
    (a teacher previewing as a student launches as one)."""
    if not isinstance(roles, list):
        return False
    names = [r for r in roles if isinstance(r, str)]
    if any(r.endswith(_LEARNER) and "/membership" in r for r in names):
        return False
    return any(r.endswith(suffix) for r in names for suffix in _TEACHING)


def candidate_id_for(issuer: str, subject: str) -> str:
    """The candidate id of an LMS user: stable per (issuer, ``sub``)."""
    return "lti_" + hashlib.sha256(f"{issuer}\x00{subject}".encode()).hexdigest()[:24]


def display_name(claims: dict[str, Any]) -> str:
    name = claims.get("name")
    if not isinstance(name, str) or not name.strip():
        parts = [claims.get("given_name"), claims.get("family_name")]
        name = " ".join(p for p in parts if isinstance(p, str) and p.strip())
    return name.strip()[:200]


class StartAttempt(Protocol):
    """The session login of a trusted backend identity
    (``SessionService.open_for_user``)."""

    async def __call__(
        self, user_id: str, quiz_id: str, *, name: str = "", takeover: bool = False
    ) -> OpenedSession: ...


class LaunchStore(LtiStore, QuizRepository, Protocol):
    """What a launch reads and writes: registrations, nonces, links, quizzes."""


class LtiStores(LaunchStore, OutboundStore, Protocol):
    """Everything LTI uses: the launch's store and the gradebook destinations."""


@dataclass(frozen=True)
class CandidateLaunch:
    platform: LtiPlatform
    opened: OpenedSession
    quiz_title: str


@dataclass(frozen=True)
class InstructorLaunch:
    platform: LtiPlatform
    quiz: QuizSummary | None
    quiz_id: str
    quizzes: list[QuizSummary]


@dataclass(frozen=True)
class DeepLinkingLaunch:
    platform: LtiPlatform
    choice: str
    quizzes: list[QuizSummary]


LaunchOutcome = CandidateLaunch | InstructorLaunch | DeepLinkingLaunch


def _str_claim(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise refuse(ErrorCode.LTI_MESSAGE_INVALID, f"the launch has no {name.rsplit('/', 1)[-1]}")
    return value


class LtiLaunches:
    def __init__(
        self,
        store: LaunchStore,
        tokens: LaunchTokens,
        states: SignedValues,
        deep_linking: DeepLinking,
        start_attempt: StartAttempt,
        clock: Clock,
    ) -> None:
        self._store = store
        self._tokens = tokens
        self._states = states
        self._deep_linking = deep_linking
        self._start = start_attempt
        self._clock = clock

    async def launch(self, id_token: str, state: str, cookie: str | None) -> LaunchOutcome:
        now = self._clock.now()
        if not id_token or not state:
            raise refuse(ErrorCode.LTI_MESSAGE_INVALID, "the launch needs id_token and state")
        sealed = self._states.open(state, now)
        if cookie is None or not hmac.compare_digest(cookie.encode(), state.encode()):
            raise refuse(
                ErrorCode.LTI_STATE_INVALID,
                "this launch was not started in this browser (the login's cookie is "
                "missing or differs); open the quiz from the LMS again, in a new window",
            )
        peeked = self._tokens.peek(id_token)
        issuer = peeked.get("iss")
        if not isinstance(issuer, str) or not await self._store.lti_platforms(issuer):
            raise refuse(ErrorCode.LTI_PLATFORM_UNKNOWN, "the token's issuer is not registered")
        platform = await self._store.get_lti_platform(str(sealed.get("p")))
        if platform is None:
            raise refuse(ErrorCode.LTI_PLATFORM_UNKNOWN, "the LMS registration was removed")
        claims = await self._tokens.verify(id_token, platform, now)
        if not hmac.compare_digest(str(claims.get("nonce")).encode(), str(sealed["n"]).encode()):
            raise refuse(ErrorCode.LTI_STATE_INVALID, "the token was not issued for this login")
        if claims.get(VERSION) != "1.3.0":
            raise refuse(ErrorCode.LTI_MESSAGE_INVALID, "only LTI version 1.3.0 is supported")
        kind = claims.get(MESSAGE_TYPE)
        if kind not in (RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST):
            raise refuse(ErrorCode.LTI_MESSAGE_INVALID, f"unsupported message type {kind!r}")
        deployment = _str_claim(claims, DEPLOYMENT_ID)
        if deployment not in platform.deployment_ids:
            raise refuse(
                ErrorCode.LTI_DEPLOYMENT_UNKNOWN,
                f"the deployment {deployment!r} is not registered for this LMS",
            )
        subject = _str_claim(claims, "sub")
        if kind == DEEP_LINKING_REQUEST:
            choice = self._deep_linking.choice(platform, deployment, claims, now)
        else:
            link = claims.get(RESOURCE_LINK)
            if not isinstance(link, dict) or not isinstance(link.get("id"), str):
                raise refuse(ErrorCode.LTI_MESSAGE_INVALID, "the launch has no resource_link id")
        await self._use_nonce(platform, str(claims["nonce"]), float(claims["exp"]), now)
        if kind == DEEP_LINKING_REQUEST:
            return DeepLinkingLaunch(
                platform=platform, choice=choice, quizzes=await self._store.list_quizzes()
            )
        custom = claims.get(CUSTOM)
        quiz_id = custom.get("quiz_id") if isinstance(custom, dict) else None
        quiz_id = quiz_id.strip() if isinstance(quiz_id, str) else ""
        if is_instructor(claims.get(ROLES)):
            quizzes = await self._store.list_quizzes()
            found = next((q for q in quizzes if q.id == quiz_id), None)
            return InstructorLaunch(platform=platform, quiz=found, quiz_id=quiz_id, quizzes=quizzes)
        if not quiz_id:
            raise refuse(
                ErrorCode.LTI_MESSAGE_INVALID,
                "this link names no quiz: set its custom parameter quiz_id, or add it "
                "through the LMS's content selection (deep linking)",
            )
        return await self._start_attempt(platform, claims, subject, quiz_id)

    async def _use_nonce(self, platform: LtiPlatform, nonce: str, exp: float, now: float) -> None:
        until = max(exp, now) + 3600
        if not await self._store.use_lti_nonce(f"{platform.id}|{nonce}", until, now):
            raise refuse(
                ErrorCode.LTI_NONCE_REPLAYED,
                "this launch was used already; open the quiz from the LMS again",
            )

    async def _start_attempt(
        self, platform: LtiPlatform, claims: dict[str, Any], subject: str, quiz_id: str
    ) -> CandidateLaunch:
        name = display_name(claims)
        opened = await self._start(
            candidate_id_for(platform.issuer, subject), quiz_id, name=name, takeover=True
        )
        ags = claims.get(AGS_ENDPOINT)
        lineitem = ""
        scopes: tuple[str, ...] = ()
        if isinstance(ags, dict):
            if isinstance(ags.get("lineitem"), str):
                lineitem = ags["lineitem"]
            if isinstance(ags.get("scope"), list):
                scopes = tuple(s for s in ags["scope"] if isinstance(s, str))
        link = claims[RESOURCE_LINK]
        await self._store.put_lti_link(
            LtiLaunchLink(
                attempt_id=opened.attempt.attempt_id,
                platform_id=platform.id,
                subject=subject,
                lineitem=lineitem if SCORE_SCOPE in scopes else "",
                scopes=scopes,
                # No name or email here: the candidate's name is in the attempt's
                # log (encrypted at rest when keys are set); the link keeps only
                # the platform's opaque subject, which the gradebook needs.
                resource_link_id=str(link.get("id")),
                updated_at=self._clock.now(),
            )
        )
        quiz = await self._store.get_quiz(quiz_id)
        return CandidateLaunch(
            platform=platform, opened=opened, quiz_title=quiz.title if quiz else quiz_id
        )
