"""LTI 1.3 as the routes and the CLI see it: the registrations, the login
initiation, the launch, deep linking and the tool's key set, built together
from the store, the session logins and the tool's key (``bootstrap.build``)."""

from __future__ import annotations

from typing import Any

from quizsession.app.lti.deep_linking import DeepLinking
from quizsession.app.lti.launch import LtiLaunches, LtiStores, StartAttempt
from quizsession.app.lti.login import LtiLogins
from quizsession.app.lti.platforms import LtiPlatforms
from quizsession.app.lti.ports import LaunchTokens, ToolSigner
from quizsession.app.lti.state import SignedValues, derive_key
from quizsession.app.ports import Clock
from quizsession.domain.errors import ErrorCode

LOGIN_PATH = "/lti/login"
LAUNCH_PATH = "/lti/launch"
DEEP_LINK_PATH = "/lti/launch"  # deep linking requests arrive at the launch URL
JWKS_PATH = "/lti/jwks"


def tool_urls(base_url: str) -> dict[str, Any]:
    base = base_url.rstrip("/")
    return {
        "login_url": base + LOGIN_PATH,
        "launch_url": base + LAUNCH_PATH,
        "redirect_urls": [base + LAUNCH_PATH],
        "deep_linking_url": base + DEEP_LINK_PATH,
        "jwks_url": base + JWKS_PATH,
    }


class LtiService:
    def __init__(
        self,
        store: LtiStores,
        tokens: LaunchTokens,
        signer: ToolSigner,
        start_attempt: StartAttempt,
        clock: Clock,
        secret: str,
    ) -> None:
        self.signer = signer
        self.platforms = LtiPlatforms(store, clock)
        states = SignedValues(derive_key(secret, "state"), ErrorCode.LTI_STATE_INVALID, "state")
        choices = SignedValues(
            derive_key(secret, "deep-link"), ErrorCode.LTI_STATE_INVALID, "content selection"
        )
        self.logins = LtiLogins(store, clock, states)
        self.deep_linking = DeepLinking(store, store, signer, choices, clock)
        self.launches = LtiLaunches(store, tokens, states, self.deep_linking, start_attempt, clock)

    def jwks(self) -> dict[str, Any]:
        return self.signer.jwks()
