"""Deep Linking 2.0: an instructor adding quizsession to a course in the LMS
gets the list of quizzes (``LtiDeepLinkingRequest``); the one chosen goes back
to the platform as a signed ``LtiDeepLinkingResponse`` (the tool's key, its
``kid``) posted to the request's ``deep_link_return_url``: one
``ltiResourceLink`` to the launch URL with ``custom: {quiz_id}`` and a
``lineItem`` (the gradebook column, ``scoreMaximum`` the quiz's points).

Between the request and the choice, what the answer needs (the registration,
deployment, return URL and the platform's opaque ``data``) travels sealed by
the service in the choice page's form (``SignedValues``): any instance takes
the choice, nothing is stored, and nobody can change where it goes."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from typing import Any

from quizsession.app.lti.ports import ToolSigner
from quizsession.app.lti.state import SignedValues
from quizsession.app.ports import Clock, LtiPlatform, LtiStore, QuizRepository
from quizsession.domain.errors import ErrorCode, refuse
from quizsession.domain.quiz import Quiz

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
SETTINGS = DL + "deep_linking_settings"
CHOICE_TTL_S = 1800
RESPONSE_TTL_S = 300


def max_points(quiz: Quiz) -> float:
    """The points of the scored section's questions (of a selection, the best
    ``count`` of them)."""
    section = quiz.section("test")
    if section is None:
        return 0.0
    points = sorted((q.points for q in section.questions), reverse=True)
    count = section.selection.count
    if count is not None and 0 < count < len(points):
        points = points[:count]
    return float(math.fsum(points))


@dataclass(frozen=True)
class DeepLinkAnswer:
    return_url: str
    jwt: str
    platform: LtiPlatform


class DeepLinking:
    def __init__(
        self,
        store: LtiStore,
        quizzes: QuizRepository,
        signer: ToolSigner,
        choices: SignedValues,
        clock: Clock,
    ) -> None:
        self._store = store
        self._quizzes = quizzes
        self._signer = signer
        self._choices = choices
        self._clock = clock

    def choice(
        self, platform: LtiPlatform, deployment_id: str, claims: dict[str, Any], now: float
    ) -> str:
        """The sealed context of a deep linking request (checked here: its
        settings must name where to answer, and accept an LTI resource link)."""
        settings = claims.get(SETTINGS)
        if not isinstance(settings, dict):
            raise refuse(ErrorCode.LTI_MESSAGE_INVALID, "the request has no deep linking settings")
        url = settings.get("deep_link_return_url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise refuse(ErrorCode.LTI_MESSAGE_INVALID, "the request has no deep_link_return_url")
        accepted = settings.get("accept_types")
        if isinstance(accepted, list) and "ltiResourceLink" not in accepted:
            raise refuse(ErrorCode.LTI_MESSAGE_INVALID, "the platform accepts no LTI links here")
        data = settings.get("data")
        return self._choices.seal(
            {
                "p": platform.id,
                "d": deployment_id,
                "u": url,
                "data": data if isinstance(data, str) else None,
            },
            now + CHOICE_TTL_S,
        )

    async def answer(self, choice: str, quiz_id: str, launch_url: str) -> DeepLinkAnswer:
        now = self._clock.now()
        sealed = self._choices.open(choice, now)
        platform = await self._store.get_lti_platform(str(sealed.get("p")))
        if platform is None:
            raise refuse(ErrorCode.LTI_PLATFORM_UNKNOWN, "the LMS registration was removed")
        quiz = await self._quizzes.get_quiz(quiz_id)
        if quiz is None:
            raise refuse(ErrorCode.NOT_FOUND, f"quiz {quiz_id} not found")
        item: dict[str, Any] = {
            "type": "ltiResourceLink",
            "title": quiz.title,
            "url": launch_url,
            "custom": {"quiz_id": quiz.id},
            "lineItem": {
                "scoreMaximum": max_points(quiz) or 1.0,
                "label": quiz.title,
                "resourceId": quiz.id,
            },
        }
        claims: dict[str, Any] = {
            "iss": platform.client_id,
            "aud": platform.issuer,
            "iat": int(now),
            "exp": int(now) + RESPONSE_TTL_S,
            "nonce": secrets.token_urlsafe(16),
            LTI + "message_type": "LtiDeepLinkingResponse",
            LTI + "version": "1.3.0",
            LTI + "deployment_id": sealed["d"],
            DL + "content_items": [item],
        }
        if sealed.get("data") is not None:
            claims[DL + "data"] = sealed["data"]
        return DeepLinkAnswer(
            return_url=str(sealed["u"]), jwt=self._signer.sign(claims), platform=platform
        )
