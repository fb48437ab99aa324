"""OIDC third-party login initiation (LTI 1.3 Core, 5.1.1): the platform sends
the browser to ``/lti/login`` with its issuer, a login hint and the link to
launch; the tool sends it back to the platform's authentication endpoint with a
``state`` and a ``nonce``.

The ``state`` is sealed by the service (``lti_state.SignedValues``): it names
the registration and the nonce and expires after ten minutes, so any instance
checks it without a store. It is also bound to the browser: the route sets it
in a cookie that the launch must bring back (``launch``)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from quizsession.app.lti.state import SignedValues
from quizsession.app.ports import Clock, LtiPlatform, LtiStore
from quizsession.domain.errors import ErrorCode, refuse

STATE_TTL_S = 600
COOKIE_PREFIX = "lti_state_"


def state_cookie_name(state: str) -> str:
    """One cookie per login (two tabs launching at once do not clash)."""
    return COOKIE_PREFIX + hashlib.sha256(state.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class LoginRedirect:
    url: str
    state: str
    cookie_name: str
    max_age_s: int
    platform: LtiPlatform


def _param(params: Mapping[str, str], name: str, *, required: bool = True) -> str:
    value = (params.get(name) or "").strip()
    if required and not value:
        raise refuse(ErrorCode.LTI_MESSAGE_INVALID, f"the login request has no {name}")
    if len(value) > 4096:
        raise refuse(ErrorCode.LTI_MESSAGE_INVALID, f"the login request's {name} is too long")
    return value


async def find_platform(store: LtiStore, issuer: str, client_id: str) -> LtiPlatform:
    """The registration of ``issuer`` (and ``client_id``, when the platform sends
    one; without it, the issuer's only registration)."""
    found = await store.lti_platforms(issuer)
    if client_id:
        found = [p for p in found if p.client_id == client_id]
    if not found:
        raise refuse(
            ErrorCode.LTI_PLATFORM_UNKNOWN,
            "this LMS is not registered with the quiz service (issuer and client id); "
            "ask its administrator to add it",
        )
    if len(found) > 1:
        raise refuse(
            ErrorCode.LTI_PLATFORM_UNKNOWN,
            "several registrations have this issuer: the login must name its client_id",
        )
    return found[0]


class LtiLogins:
    def __init__(self, store: LtiStore, clock: Clock, states: SignedValues) -> None:
        self._store = store
        self._clock = clock
        self._states = states

    async def initiate(self, params: Mapping[str, str], redirect_uri: str) -> LoginRedirect:
        issuer = _param(params, "iss")
        login_hint = _param(params, "login_hint")
        _param(params, "target_link_uri")
        client_id = _param(params, "client_id", required=False)
        deployment_id = _param(params, "lti_deployment_id", required=False)
        message_hint = _param(params, "lti_message_hint", required=False)
        platform = await find_platform(self._store, issuer, client_id)
        if deployment_id and deployment_id not in platform.deployment_ids:
            raise refuse(
                ErrorCode.LTI_DEPLOYMENT_UNKNOWN,
                f"the deployment {deployment_id!r} is not registered for this LMS",
            )
        nonce = secrets.token_urlsafe(24)
        state = self._states.seal(
            {"p": platform.id, "n": nonce, "r": secrets.token_urlsafe(8)},
            self._clock.now() + STATE_TTL_S,
        )
        query = {
            "scope": "openid",
            "response_type": "id_token",
            "response_mode": "form_post",
            "prompt": "none",
            "client_id": platform.client_id,
            "redirect_uri": redirect_uri,
            "login_hint": login_hint,
            "state": state,
            "nonce": nonce,
        }
        if message_hint:
            query["lti_message_hint"] = message_hint
        base = platform.auth_login_url
        url = base + ("&" if "?" in base else "?") + urlencode(query)
        return LoginRedirect(
            url=url,
            state=state,
            cookie_name=state_cookie_name(state),
            max_age_s=STATE_TTL_S,
            platform=platform,
        )
