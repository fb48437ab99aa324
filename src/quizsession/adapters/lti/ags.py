"""The ``lti_ags`` sink: scores to an LMS gradebook through LTI Assignment and
Grade Services 2.0, for the outbound delivery (``app/outbound.py``).

For an ``attempt.scored`` event of an attempt launched from the destination's
platform (its ``LtiLaunchLink`` names a line item and the score scope was
granted), the sink gets an access token from the platform (OAuth 2 client
credentials with a JWT client assertion signed by the tool's key; kept until
shortly before it expires) and posts the score to ``{lineitem}/scores``
(``application/vnd.ims.lis.v1.score+json``). An event of another kind, or of an
attempt not launched from this platform, has nothing to send: it counts as
delivered.

Outcomes: 2xx delivered; 5xx, 429, timeouts and network errors retried; 401
retried with a new token; any other 4xx not retried (the platform refuses the
score as it is)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec

from quizsession.adapters.lti.http import LtiHttp, read_limited
from quizsession.app.lti.platforms import SCORE_SCOPE
from quizsession.app.lti.ports import ToolSigner
from quizsession.app.outbound import Destination, OutboundEvent, SendOutcome
from quizsession.app.ports import Clock, LtiPlatform, LtiStore
from quizsession.domain.errors import DomainError

SCORE_MEDIA_TYPE = "application/vnd.ims.lis.v1.score+json"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: A token is used until this many seconds before it expires.
TOKEN_MARGIN_S = 30.0
_decoder = msgspec.json.Decoder(dict[str, Any])


class TokenRefused(Exception):
    def __init__(self, outcome: SendOutcome) -> None:
        super().__init__(outcome.error)
        self.outcome = outcome


def scores_url(lineitem: str) -> str:
    """``{lineitem}/scores``, keeping the line item URL's query."""
    path, sep, query = lineitem.partition("?")
    return path.rstrip("/") + "/scores" + (sep + query if sep else "")


def _iso(at: float) -> str:
    moment = datetime.fromtimestamp(at, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _failed(status: int | None, error: str) -> SendOutcome:
    retry = status is None or status >= 500 or status in (401, 408, 429)
    return SendOutcome(ok=False, status=status, error=error[:500], retry=retry)


class AccessTokens:
    """Access tokens per platform and scope, cached until shortly before expiry."""

    def __init__(self, http: LtiHttp, signer: ToolSigner, clock: Clock) -> None:
        self._http = http
        self._signer = signer
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[str, float]] = {}

    def forget(self, platform: LtiPlatform, scope: str) -> None:
        self._cache.pop((platform.id, scope), None)

    async def get(self, platform: LtiPlatform, scope: str) -> str:
        key = (platform.id, scope)
        cached = self._cache.get(key)
        if cached is not None and self._clock.monotonic() < cached[1]:
            return cached[0]
        now = int(self._clock.now())
        assertion = self._signer.sign(
            {
                "iss": platform.client_id,
                "sub": platform.client_id,
                "aud": platform.token_audience or platform.token_url,
                "iat": now,
                "exp": now + 300,
                "jti": secrets.token_urlsafe(16),
            }
        )
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
            "scope": scope,
        }
        try:
            async with self._http.client.stream(
                "POST", platform.token_url, data=form, headers={"accept": "application/json"}
            ) as response:
                body = await read_limited(response)
        except (httpx.HTTPError, OSError, ValueError) as exc:
            raise TokenRefused(
                _failed(None, f"token endpoint: {type(exc).__name__}: {exc}")
            ) from exc
        if response.status_code != 200:
            raise TokenRefused(
                _failed(response.status_code, f"token endpoint: HTTP {response.status_code}")
            )
        try:
            answer = _decoder.decode(body)
            token = answer["access_token"]
            lifetime = float(answer.get("expires_in") or 3600)
        except (msgspec.DecodeError, KeyError, TypeError, ValueError) as exc:
            raise TokenRefused(_failed(None, f"token endpoint: unreadable answer ({exc})")) from exc
        if not isinstance(token, str) or not token:
            raise TokenRefused(_failed(None, "token endpoint: no access_token"))
        self._cache[key] = (token, self._clock.monotonic() + lifetime - TOKEN_MARGIN_S)
        return token


class AgsSink:
    """The ``Sink`` of destinations of kind ``lti_ags``."""

    def __init__(self, store: LtiStore, signer: ToolSigner, clock: Clock, http: LtiHttp) -> None:
        self._store = store
        self._clock = clock
        self._http = http
        self.tokens = AccessTokens(http, signer, clock)

    @property
    def kind(self) -> str:
        return "lti_ags"

    async def reaches(self, destination: Destination, attempt_id: str) -> bool:
        """Only attempts launched from this destination's platform."""
        link = await self._store.get_lti_link(attempt_id)
        return link is not None and link.platform_id == destination.config.get("platform_id")

    async def send(self, destination: Destination, event: OutboundEvent) -> SendOutcome:
        try:
            return await self._send(destination, event)
        except TokenRefused as refused:
            return refused.outcome
        except DomainError as exc:  # the tool's key is not configured
            return SendOutcome(ok=False, error=exc.detail, retry=True)

    async def _send(self, destination: Destination, event: OutboundEvent) -> SendOutcome:
        if event.type != "attempt.scored":
            return SendOutcome(ok=True)
        link = await self._store.get_lti_link(event.attempt_id)
        if link is None or link.platform_id != destination.config.get("platform_id"):
            return SendOutcome(ok=True)  # not launched from this platform
        if not link.lineitem or SCORE_SCOPE not in link.scopes:
            return SendOutcome(ok=True, error="the launch offered no gradebook column")
        platform = await self._store.get_lti_platform(link.platform_id)
        if platform is None or not platform.token_url:
            return SendOutcome(ok=False, error="the LMS registration is gone", retry=False)
        score = self._score(link.subject, event)
        token = await self.tokens.get(platform, SCORE_SCOPE)
        try:
            response = await self._http.client.post(
                scores_url(link.lineitem),
                content=msgspec.json.encode(score),
                headers={
                    "authorization": f"Bearer {token}",
                    "content-type": SCORE_MEDIA_TYPE,
                },
            )
        except (httpx.HTTPError, OSError) as exc:
            return _failed(None, f"scores: {type(exc).__name__}: {exc}")
        if 200 <= response.status_code < 300:
            return SendOutcome(ok=True, status=response.status_code)
        if response.status_code == 401:
            self.tokens.forget(platform, SCORE_SCOPE)
        return _failed(response.status_code, f"scores: HTTP {response.status_code}")

    def _score(self, user_id: str, event: OutboundEvent) -> dict[str, Any]:
        # ``score``: ``{"points", "max"}`` (``app/delivery/events.py``), with
        # ``pending`` while a hand-graded answer waits for its grade.
        data = event.data
        score = data.get("score")
        if isinstance(score, dict):
            given, maximum = score.get("points"), score.get("max")
            pending = bool(score.get("pending") or data.get("pending"))
        else:
            given, maximum = score, data.get("max_score")
            pending = bool(data.get("pending"))
        body: dict[str, Any] = {
            "userId": user_id,
            "activityProgress": "Completed",
            # PendingManual: answers graded by hand wait for a grader (the score
            # given so far is the automatic part); a later event brings the final.
            "gradingProgress": "PendingManual" if pending else "FullyGraded",
            "timestamp": _iso(event.at),
        }
        if isinstance(given, int | float) and isinstance(maximum, int | float) and maximum > 0:
            body["scoreGiven"] = max(0.0, float(given))
            body["scoreMaximum"] = float(maximum)
        return body
