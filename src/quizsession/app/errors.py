"""Transitional: the app-level refusal names from before ``ErrorCode``.

Use ``quizsession.domain.errors.ErrorCode`` and ``refuse`` instead; this module
goes once the last callers have moved."""

from __future__ import annotations

from quizsession.domain.errors import ErrorCode, refuse

__all__ = ["refuse"]

TOKEN_INVALID = ErrorCode.TOKEN_INVALID
TOKEN_EXPIRED = ErrorCode.TOKEN_EXPIRED
SESSION_IDLE = ErrorCode.SESSION_IDLE
INVITE_INVALID = ErrorCode.INVITE_INVALID
INVITE_EXPIRED = ErrorCode.INVITE_EXPIRED
NOT_FOUND = ErrorCode.NOT_FOUND
RATE_LIMITED = ErrorCode.RATE_LIMITED
STORE_UNAVAILABLE = ErrorCode.STORE_UNAVAILABLE
BUSY = ErrorCode.BUSY
LIVE_RECOVERING = ErrorCode.LIVE_RECOVERING
VALIDATION = ErrorCode.VALIDATION
