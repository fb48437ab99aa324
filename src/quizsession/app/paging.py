"""Keyset cursors of the admin lists: a page ends with a key (an attempt id), and
the next page starts after it (``list_attempts(after=...)``), so a page deep in a
big list costs what the first one does and rows added meanwhile are neither
skipped nor repeated. A cursor is opaque to clients (the key, base64url); one
that this service did not give is a ``validation`` problem."""

from __future__ import annotations

import base64
import binascii

import msgspec

from quizsession.domain.errors import ErrorCode, refuse

_PREFIX = "k1:"
MAX_CURSOR_CHARS = 512


def encode_cursor(key: str) -> str:
    raw = msgspec.json.encode(_PREFIX + key)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The key a page starts after (None: the first page)."""
    if cursor is None or cursor == "":
        return None
    key: str | None = None
    if len(cursor) <= MAX_CURSOR_CHARS:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            decoded = msgspec.json.decode(raw, type=str)
        except (binascii.Error, ValueError, msgspec.DecodeError):
            decoded = None
        if decoded is not None and decoded.startswith(_PREFIX):
            key = decoded[len(_PREFIX) :]
    if key is None:
        raise refuse(ErrorCode.VALIDATION, "the cursor is not one this service gave")
    return key


def next_cursor(keys: list[str], limit: int) -> str | None:
    """The cursor of the page after one whose keys are ``keys`` (None when the page
    was not full: it was the last)."""
    return encode_cursor(keys[-1]) if keys and len(keys) >= limit else None
