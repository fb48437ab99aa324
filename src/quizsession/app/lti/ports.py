"""What the LTI use cases need besides the store's ``LtiStore``: the launch
id_token checks (``adapters/lti/id_tokens.py``) and the tool's signing key
(``adapters/lti/keys.py``)."""

from __future__ import annotations

from typing import Any, Protocol

from quizsession.app.ports import LtiPlatform


class LaunchTokens(Protocol):
    async def verify(self, token: str, platform: LtiPlatform, now: float) -> dict[str, Any]:
        """The claims of a launch id_token signed by ``platform`` for this tool
        (signature by ``kid``, ``iss``, ``aud``/``azp``, ``exp``/``iat``); refused
        with ``lti_token_invalid``, ``lti_token_expired`` or
        ``lti_platform_unavailable``."""
        ...

    def peek(self, token: str) -> dict[str, Any]:
        """The claims before any check (``lti_token_invalid`` if not a JWT)."""
        ...


class ToolSigner(Protocol):
    def sign(self, claims: dict[str, Any]) -> str:
        """A JWT of ``claims`` signed RS256 with the tool's key (``kid`` set)."""
        ...

    def jwks(self) -> dict[str, Any]:
        """The tool's public key set."""
        ...
