"""The platforms' key sets (JWKS), fetched from each registration's key set URL
and cached: a key set is kept ``ttl_s`` (5 minutes); a ``kid`` it does not hold
makes it fetched again at once (the platform rotated its keys), but at most once
per ``refetch_every_s`` per URL, so a stream of tokens with made-up ``kid``s
cannot make the service hammer the platform."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import jwt
import msgspec

from quizsession.adapters.lti.http import LtiHttp, read_limited
from quizsession.domain.errors import ErrorCode, refuse

_decoder = msgspec.json.Decoder(dict[str, object])


class PlatformKeySets:
    def __init__(
        self,
        http: LtiHttp,
        monotonic: Callable[[], float],
        *,
        ttl_s: float = 300.0,
        refetch_every_s: float = 10.0,
    ) -> None:
        self._http = http
        self._monotonic = monotonic
        self._ttl_s = ttl_s
        self._refetch_every_s = refetch_every_s
        self._cache: dict[str, tuple[float, dict[str, jwt.PyJWK]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def key(self, jwks_url: str, kid: str) -> jwt.PyJWK:
        """The platform's key ``kid``; ``lti_token_invalid`` when its key set does
        not hold it, ``lti_platform_unavailable`` when the key set cannot be
        fetched."""
        lock = self._locks.setdefault(jwks_url, asyncio.Lock())
        async with lock:
            cached = self._cache.get(jwks_url)
            now = self._monotonic()
            if cached is not None:
                fetched_at, keys = cached
                if kid in keys and now - fetched_at < self._ttl_s:
                    return keys[kid]
                if kid not in keys and now - fetched_at < self._refetch_every_s:
                    raise self._unknown(kid)
            keys = await self._fetch(jwks_url)
            self._cache[jwks_url] = (self._monotonic(), keys)
        if kid not in keys:
            raise self._unknown(kid)
        return keys[kid]

    @staticmethod
    def _unknown(kid: str) -> Exception:
        return refuse(
            ErrorCode.LTI_TOKEN_INVALID,
            f"the platform's key set has no key {kid!r}: the token was not signed by it",
        )

    async def _fetch(self, url: str) -> dict[str, jwt.PyJWK]:
        try:
            async with self._http.client.stream(
                "GET", url, headers={"accept": "application/json"}
            ) as response:
                body = await read_limited(response)
                if response.status_code != 200:
                    raise ValueError(f"HTTP {response.status_code}")
            raw = _decoder.decode(body)
            keys: dict[str, jwt.PyJWK] = {}
            entries = raw.get("keys")
            for entry in entries if isinstance(entries, list) else []:
                if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
                    continue
                if entry.get("use", "sig") != "sig" or entry.get("kty") != "RSA":
                    continue
                try:
                    keys[entry["kid"]] = jwt.PyJWK.from_dict(entry, algorithm="RS256")
                except jwt.PyJWTError:
                    continue
            return keys
        except (httpx.HTTPError, OSError, ValueError, TypeError, msgspec.DecodeError) as exc:
            raise refuse(
                ErrorCode.LTI_PLATFORM_UNAVAILABLE,
                f"the platform's key set could not be fetched ({type(exc).__name__}: {exc})",
                retry_after=10,
            ) from exc
