"""Typed settings, parsed once from the environment (prefix ``QUIZSESSION_``) by
the composition root. Nothing else reads the environment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

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
    lti_private_key: str | None = None
    """The LTI tool's RSA private key (PEM text, or the path of a PEM file): it
    signs deep linking answers and grade service requests, its public half is
    served at ``/lti/jwks``. Unset: a key is created next to the SQLite file
    (mode 0600); in-process only for memory://; with PostgreSQL it must be set
    (the same on every instance) for LTI to work."""
    api_keys: str = ""
    """Administrator/backend keys as ``name=key,name2=key2``."""
    token_ttl_s: float = 900.0
    heartbeat_s: Annotated[float, msgspec.Meta(ge=1, le=60)] = 5.0
    """The service's own heartbeat, in seconds (1 to 60): every instance marks
    itself alive this often (the whole service counts as down after three
    missed marks: outage credit), the live channel gives its session a new
    token every 12 heartbeats (by elapsed time; at most a third of the token
    lifetime), and the candidate's page beats this often until it knows the
    quiz's own ``policies.heartbeat_s``."""
    max_body_bytes: int = 65_536
    base_url: str = ""
    reaper_interval_s: float = 0.5
    # Outbound delivery (webhooks, LMS scores): app/delivery.py.
    webhook_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=60)] = 10.0
    """How long one send to a webhook endpoint may take, all told."""
    outbound_lease_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 60.0
    """A delivery being sent is another instance's to send again after this
    (an instance killed mid-send); keep it above ``webhook_timeout_s``."""
    outbound_first_retry_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 5.0
    """The first wait after a failed send; each next one doubles (up to an
    hour), with jitter."""
    outbound_retry_for_s: Annotated[float, msgspec.Meta(gt=0, le=604_800)] = 86_400.0
    """How long a delivery is retried before it is marked failed."""
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
    # What one ``quizsession serve`` process holds for its clients
    # (entrypoints/bounded_http.py): beyond these, 431, a closed connection, 503.
    max_header_bytes: Annotated[int, msgspec.Meta(ge=1024, le=1_048_576)] = 32_768
    """The request line and header fields together, in bytes (431 beyond)."""
    max_header_count: Annotated[int, msgspec.Meta(ge=8, le=10_000)] = 100
    """Header fields per request (431 beyond)."""
    head_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=300)] = 10.0
    """A connection that has not sent a complete request head within this many
    seconds (of connecting, or of its next request's first byte) is closed."""
    max_connections: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 16_384
    """Open connections (HTTP and live sockets) per process; one more is answered
    503 and closed. Lowered to fit the process's file descriptor limit."""

    @property
    def token_refresh_s(self) -> float:
        """How often the live channel refreshes its session's token: every 12
        heartbeats, and at least three times per token lifetime."""
        return min(12 * self.heartbeat_s, self.token_ttl_s / 3)

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
