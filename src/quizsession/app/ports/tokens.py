"""Session tokens: the claims they carry and the codec that signs and checks them."""

from __future__ import annotations

from typing import Protocol

import msgspec


class SessionClaims(msgspec.Struct, frozen=True, kw_only=True):
    session_id: str
    attempt_id: str
    epoch: int
    issued_at: float
    expires_at: float


class TokenError(Exception):
    """A token that cannot be trusted: ``expired`` tells an honest late client from
    a forgery."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


class TokenCodec(Protocol):
    def issue(self, claims: SessionClaims) -> str: ...

    def verify(self, token: str) -> SessionClaims:
        """The claims of a token this service signed and that has not expired, or
        ``TokenError``."""
        ...
