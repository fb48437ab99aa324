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
    pg_partitions: Annotated[int, msgspec.Meta(ge=0, le=256)] = 0
    """PostgreSQL only: the tables that grow with attempts (attempts, events,
    leases, LTI links, outbound backlog) hash-partitioned on the attempt id into
    this many partitions each (0 to 256; 0: plain tables). Chosen when the
    schema is created; a database keeps its layout and the store refuses to
    open it with another value (docs/scaling.md)."""
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=1, le=65_535)] = 8002
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
    token_ttl_s: Annotated[float, msgspec.Meta(ge=30, le=86_400)] = 900.0
    """How long a session token is valid, in seconds (30 to a day); the live
    channel renews it well before."""
    heartbeat_s: Annotated[float, msgspec.Meta(ge=1, le=60)] = 5.0
    """The service's own heartbeat, in seconds (1 to 60): every instance marks
    itself alive this often (the whole service counts as down after three
    missed marks: outage credit), the live channel gives its session a new
    token every 12 heartbeats (by elapsed time; at most a third of the token
    lifetime), and the candidate's page beats this often until it knows the
    quiz's own ``policies.heartbeat_s``."""
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1024, le=67_108_864)] = 65_536
    """The largest request body, in bytes (1 KiB to 64 MiB; 413 beyond)."""
    base_url: str = ""
    reaper_interval_s: Annotated[float, msgspec.Meta(ge=0.05, le=60)] = 0.5
    """The longest the reaper sleeps between two passes, in seconds (it wakes
    sooner, just after the earliest deadline it knows)."""
    # Outbound delivery (webhooks, LMS scores): app/delivery/.
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
    cache_size: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)] = 100_000
    """Folded attempts kept in memory by one process."""
    login_limit_per_minute: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 30
    """Logins per candidate and quiz in a moving minute (429 beyond)."""
    failed_login_limit_per_minute: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 20
    """Wrong invitation tokens per client address in a moving minute (429 beyond)."""
    write_limit_per_second: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 20
    """Writes per session in a moving second, counted per process (429 beyond)."""
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
    workers: Annotated[int, msgspec.Meta(ge=1, le=256)] | None = None
    """Worker processes of ``quizsession serve`` (1 to 256), all serving on one
    port; unset: the number of CPUs (1 on a ``memory://`` store, which one
    process holds). With several, the store is shared by them (SQLite: one
    file; every promise holds across them) and so is the live state (Redis when
    ``QUIZSESSION_REDIS_URL`` is set, else a file of the machine's)."""
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
        raise ValueError(_explained(exc)) from exc


def _explained(exc: msgspec.ValidationError) -> str:
    """msgspec's ``Expected `int` >= 1 - at `$.cache_size``` as ``invalid
    QUIZSESSION_CACHE_SIZE: expected `int` >= 1``."""
    what, sep, where = str(exc).rpartition(" - at `$.")
    if not sep:
        return f"invalid settings: {exc}"
    name = PREFIX + where.rstrip("`").upper()
    return f"invalid {name}: {what[:1].lower()}{what[1:]}"
