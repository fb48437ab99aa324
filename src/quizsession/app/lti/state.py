"""Short-lived values signed by the service (HMAC-SHA256 with a key derived from
its signing secret), so that any instance can check them without storing them:
the OIDC login ``state`` (which platform, which nonce, until when) and the deep
linking choice (where to post the answer back)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import msgspec

from quizsession.domain.errors import ErrorCode, refuse

_decoder = msgspec.json.Decoder(dict[str, Any])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def derive_key(secret: str, purpose: str) -> bytes:
    return hashlib.sha256(f"quizsession-lti:{purpose}\x00{secret}".encode()).digest()


class SignedValues:
    """``seal(values, expires_at)`` -> text; ``open(text, now)`` -> values, or
    ``code`` when the text was not sealed here, was changed, or has expired."""

    def __init__(self, key: bytes, code: ErrorCode, what: str) -> None:
        self._key = key
        self._code = code
        self._what = what

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest()[:24])

    def seal(self, values: dict[str, Any], expires_at: float) -> str:
        payload = _b64(msgspec.json.encode({**values, "exp": expires_at}))
        return f"{payload}.{self._mac(payload)}"

    def open(self, text: str, now: float) -> dict[str, Any]:
        payload, dot, mac = text.partition(".")
        if not dot or len(text) > 8192 or not hmac.compare_digest(mac, self._mac(payload)):
            raise refuse(self._code, f"the {self._what} was not issued by this service")
        try:
            values = _decoder.decode(_unb64(payload))
        except (ValueError, msgspec.DecodeError) as exc:
            raise refuse(self._code, f"the {self._what} is malformed") from exc
        expires = values.get("exp")
        if not isinstance(expires, int | float) or now > expires:
            raise refuse(self._code, f"the {self._what} has expired; start again from the LMS")
        return values
