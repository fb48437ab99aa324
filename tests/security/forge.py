"""Hand-made JWTs for the token attacks: any header, any payload, any key or no
signature at all (PyJWT itself refuses to make most of these)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from tests.integration.conftest import SECRET_KEY


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def segment(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return b64url(raw)


_DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def sign(signing_input: str, key: str | bytes, digest: str = "HS256") -> str:
    secret = key.encode() if isinstance(key, str) else key
    mac = hmac.new(secret, signing_input.encode(), _DIGESTS[digest]).digest()
    return b64url(mac)


def token(
    payload: Any,
    *,
    header: Any = None,
    key: str | bytes | None = SECRET_KEY,
    digest: str = "HS256",
    signature: str | None = None,
) -> str:
    """``header.payload.signature``; the signature is an HMAC with ``key`` over
    the first two parts (``digest`` names the hash), unless given, or empty when
    ``key`` is None."""
    head = segment(header if header is not None else {"alg": "HS256", "typ": "JWT"})
    body = segment(payload)
    if signature is None:
        signature = "" if key is None else sign(f"{head}.{body}", key, digest)
    return f"{head}.{body}.{signature}"


def parts(jwt: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The decoded header and payload of ``jwt`` and its raw signature part."""
    head, body, signature = jwt.split(".")
    return json.loads(unb64url(head)), json.loads(unb64url(body)), signature
