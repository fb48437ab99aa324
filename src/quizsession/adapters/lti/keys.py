"""The tool's own RSA key pair: it signs the deep linking responses and the
client assertions of the grade service, and its public half is served as the
tool's key set (``GET /lti/jwks``) under a ``kid`` that is the key's RFC 7638
thumbprint (the same on every instance holding the same key).

The key is loaded (or generated) on first use, never at import or build: a
service that never launches from an LMS never pays for an RSA key."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from quizsession.domain.errors import ErrorCode, refuse

KEY_BITS = 2048


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def generate_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def kept_pem(path: Path) -> bytes:
    """The PEM kept in ``path`` (created mode 0600 on first use), like the
    service's signing secret beside the SQLite file."""
    if path.exists():
        return path.read_bytes()
    pem = generate_pem()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_bytes()
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return pem


class ToolKey:
    """One RSA private key with its public JWK and ``kid``."""

    def __init__(self, pem: bytes) -> None:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < KEY_BITS:
            raise ValueError(f"the LTI tool key must be an RSA key of {KEY_BITS} bits or more")
        self._private = key
        public: dict[str, Any] = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        members = {"e": public["e"], "kty": "RSA", "n": public["n"]}
        canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
        self.kid = _b64(hashlib.sha256(canonical).digest())
        self.public_jwk: dict[str, Any] = {
            **members,
            "kid": self.kid,
            "alg": "RS256",
            "use": "sig",
        }

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(
            claims, self._private, algorithm="RS256", headers={"kid": self.kid, "typ": "JWT"}
        )


class ToolKeys:
    """The tool's key, from ``load`` on first use (``None`` from ``load``: LTI is
    not configured here, and every use is refused with ``lti_not_configured``)."""

    def __init__(self, load: Callable[[], bytes | None]) -> None:
        self._load = load
        self._key: ToolKey | None = None
        self._lock = threading.Lock()

    @classmethod
    def of(cls, pem: bytes) -> ToolKeys:
        return cls(lambda: pem)

    def key(self) -> ToolKey:
        if self._key is None:
            with self._lock:
                if self._key is None:
                    pem = self._load()
                    if pem is None:
                        raise refuse(
                            ErrorCode.LTI_NOT_CONFIGURED,
                            "LTI is not configured on this service: set "
                            "QUIZSESSION_LTI_PRIVATE_KEY (the same on every instance)",
                        )
                    self._key = ToolKey(pem)
        return self._key

    def sign(self, claims: dict[str, Any]) -> str:
        return self.key().sign(claims)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key().public_jwk]}
