"""App-level refusals (authentication, lookups, limits). They reuse the domain's
error type so the boundary translates one tree."""

from __future__ import annotations

from typing import Any

from quizsession.domain.errors import DomainError

TOKEN_INVALID = "token_invalid"
TOKEN_EXPIRED = "token_expired"
SESSION_IDLE = "session_idle_timeout"
INVITE_INVALID = "invite_invalid"
INVITE_EXPIRED = "invite_expired"
NOT_FOUND = "not_found"
RATE_LIMITED = "rate_limited"
STORE_UNAVAILABLE = "store_unavailable"
BUSY = "busy"
LIVE_RECOVERING = "live_state_recovering"
VALIDATION = "validation_error"


def refuse(code: str, detail: str, **extra: Any) -> DomainError:
    return DomainError(detail, code=code, **extra)
