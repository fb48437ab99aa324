"""Typed settings, parsed once from the environment (prefix ``QUIZSESSION_``) by
the composition root. Nothing else reads the environment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

PREFIX = "QUIZSESSION_"


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    store_url: str = "sqlite:///quizsession.db"
    """``sqlite:///PATH`` (embedded default), ``memory://`` (no persistence) or
    ``postgresql://user:pass@host:port/db``."""
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8002
    secret_key: str | None = None
    """HS256 key for session tokens. Unset: a key is created next to the SQLite
    file (mode 0600) so tokens survive a restart; in-process only for memory://."""
    encryption_keys: str = ""
    """Encryption at rest of answers, names and emails (off when empty):
    ``id:base64key,id2:base64key`` with 32-byte keys; the first encrypts, all
    decrypt (rotation: put the new key first, keep the old ones)."""
    api_keys: str = ""
    """Administrator/backend keys as ``name=key,name2=key2``."""
    token_ttl_s: float = 900.0
    max_body_bytes: int = 65_536
    base_url: str = ""
    reaper_interval_s: float = 0.5
    cache_size: int = 100_000
    login_limit_per_minute: int = 30
    failed_login_limit_per_minute: int = 20
    write_limit_per_second: int = 20
    allowed_origins: str = ""
    """Extra origins allowed to open the live WebSocket (comma separated); the
    service's own origin is always allowed."""
    log_level: str = "info"
    access_log: bool = False
    """One structured (JSON) line per HTTP request on the ``quizsession.access``
    logger: method, route template, status, duration_ms, request_id (uvicorn's
    own access log is always off)."""
    metrics_public: bool = False
    """Serve ``/metrics`` without an API key (for a scraper on a private
    network); by default it needs ``X-API-Key``."""

    def origin_list(self) -> tuple[str, ...]:
        return tuple(o.strip() for o in self.allowed_origins.split(",") if o.strip())

    def admin_keys(self) -> dict[str, str]:
        """key -> name."""
        keys: dict[str, str] = {}
        for part in self.api_keys.split(","):
            part = part.strip()
            if not part:
                continue
            name, sep, key = part.partition("=")
            if not sep or not name or len(key) < 16:
                raise ValueError(
                    "QUIZSESSION_API_KEYS must look like name=key (keys of 16+ characters)"
                )
            keys[key] = name
        return keys


def load_settings(environ: Mapping[str, str], **overrides: Any) -> Settings:
    """Settings from ``QUIZSESSION_*`` variables, then ``overrides`` (CLI flags)."""
    raw: dict[str, Any] = {}
    fields = set(Settings.__struct_fields__)
    for key, value in environ.items():
        if key.startswith(PREFIX):
            name = key[len(PREFIX) :].lower()
            if name in fields:
                raw[name] = value
    raw.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ValueError(f"invalid settings: {exc}") from exc
