"""Session tokens as JWTs: HS256 pinned on both sides (no ``alg: none``, no
algorithm confusion), with expiry, issued-at and a token type checked."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import jwt

from quizsession.app.ports import Clock, SessionClaims, TokenError

ALGORITHM = "HS256"
TOKEN_TYPE = "qs-session"


class JwtTokens:
    def __init__(self, secret: str, clock: Clock, *, cache_size: int = 65_536) -> None:
        if len(secret) < 32:
            raise ValueError("the token secret needs at least 32 characters")
        self._secret = secret
        self._clock = clock
        # Verified tokens, least recently used first: a session sends the same
        # token with every request until its next heartbeat, and verifying costs
        # ~100 us in PyJWT. A string that verified once always verifies (the
        # signature is over its exact bytes); its expiry is still checked on every
        # use, and an expired one leaves the cache. Whether its session may still
        # act is the log's to say, on every request, cached or not.
        self._verified: OrderedDict[str, SessionClaims] = OrderedDict()
        self._cache_size = cache_size

    def issue(self, claims: SessionClaims) -> str:
        payload: dict[str, Any] = {
            "typ": TOKEN_TYPE,
            "sub": claims.session_id,
            "aid": claims.attempt_id,
            "ep": claims.epoch,
            "iat": int(claims.issued_at),
            "exp": int(claims.expires_at),
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> SessionClaims:
        if len(token) > 4096:
            raise TokenError("token too long")
        cached = self._verified.get(token)
        if cached is not None:
            if cached.expires_at <= self._clock.now():
                del self._verified[token]
                raise TokenError("token expired", expired=True)
            self._verified.move_to_end(token)
            return cached
        claims = self._verify(token)
        self._verified[token] = claims
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)
        return claims

    def _verify(self, token: str) -> SessionClaims:
        try:
            # Signature and algorithm checked by PyJWT; time checked against the
            # service's own clock below (the server owns the clock).
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                options={
                    "require": ["exp", "iat", "sub"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise TokenError("token invalid") from exc
        try:
            if payload.get("typ") != TOKEN_TYPE:
                raise TokenError("wrong token type")
            claims = SessionClaims(
                session_id=str(payload["sub"]),
                attempt_id=str(payload["aid"]),
                epoch=int(payload["ep"]),
                issued_at=float(payload["iat"]),
                expires_at=float(payload["exp"]),
            )
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise TokenError("token claims invalid") from exc
        if claims.expires_at <= self._clock.now():
            raise TokenError("token expired", expired=True)
        return claims
