"""Launch id_tokens checked with PyJWT against the platform's key set: the
signature (RS256, by the key its ``kid`` names), ``iss`` (the registration's
issuer), ``aud`` (its client id; ``azp`` too when there are several audiences),
``exp`` and ``iat`` against the service's clock with a small leeway. What LTI
adds (nonce, state, deployment, message type) is the app layer's
(``app/lti/launch.py``)."""

from __future__ import annotations

from typing import Any

import jwt

from quizsession.adapters.lti.platform_keys import PlatformKeySets
from quizsession.app.ports import LtiPlatform
from quizsession.domain.errors import ErrorCode, refuse

#: Seconds of clock difference allowed between the platform and this service.
LEEWAY_S = 60.0
#: An id_token issued longer ago than this is refused even if its ``exp`` says
#: otherwise (platforms issue them for a few minutes).
MAX_AGE_S = 3600.0
_ALGORITHMS = ["RS256"]


def _invalid(detail: str) -> Exception:
    return refuse(ErrorCode.LTI_TOKEN_INVALID, detail)


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims of ``token`` before any check (to find its platform);
    ``lti_token_invalid`` when it is not a JWT."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise _invalid(f"the id_token is not a valid JWT: {exc}") from exc
    if not isinstance(claims, dict):
        raise _invalid("the id_token's payload is not an object")
    return claims


class IdTokens:
    def __init__(self, keys: PlatformKeySets, *, leeway_s: float = LEEWAY_S) -> None:
        self._keys = keys
        self._leeway_s = leeway_s

    def peek(self, token: str) -> dict[str, Any]:
        return unverified_claims(token)

    async def verify(self, token: str, platform: LtiPlatform, now: float) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise _invalid(f"the id_token is not a valid JWT: {exc}") from exc
        if header.get("alg") not in _ALGORITHMS:
            raise _invalid(f"the id_token's algorithm {header.get('alg')!r} is not RS256")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _invalid("the id_token's header names no key (kid)")
        key = await self._keys.key(platform.jwks_url, kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=_ALGORITHMS,
                audience=platform.client_id,
                issuer=platform.issuer,
                # Time is checked below against the service's clock.
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": ["iss", "aud", "exp", "iat", "nonce"],
                },
            )
        except jwt.InvalidAudienceError as exc:
            raise _invalid(f"the id_token is not for this tool's client id: {exc}") from exc
        except jwt.InvalidIssuerError as exc:
            raise _invalid(f"the id_token is not from this platform: {exc}") from exc
        except jwt.PyJWTError as exc:
            raise _invalid(f"the id_token cannot be trusted: {exc}") from exc
        self._check_time(claims, now)
        aud = claims["aud"]
        azp = claims.get("azp")
        if isinstance(aud, list) and len(aud) > 1 and azp is None:
            raise _invalid("the id_token has several audiences and no azp")
        if azp is not None and azp != platform.client_id:
            raise _invalid("the id_token's azp is not this tool's client id")
        return claims

    def _check_time(self, claims: dict[str, Any], now: float) -> None:
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, int | float) or not isinstance(iat, int | float):
            raise _invalid("the id_token's exp and iat must be numbers")
        if now > exp + self._leeway_s:
            raise refuse(ErrorCode.LTI_TOKEN_EXPIRED, "the id_token has expired")
        if iat > now + self._leeway_s:
            raise _invalid("the id_token is issued in the future")
        if now - iat > MAX_AGE_S:
            raise refuse(ErrorCode.LTI_TOKEN_EXPIRED, "the id_token was issued too long ago")
