"""What a webhook carries, per Standard Webhooks: the body (``type``,
``timestamp``, ``data``), and the headers ``webhook-id`` (the event id, the same
on every retry), ``webhook-timestamp`` (this send's time, in seconds) and
``webhook-signature`` (``v1,<base64 HMAC-SHA256>`` of ``id.timestamp.body``, one
per secret in force, space separated: during a rotation a receiver holding
either secret can verify). Signed with the maintained reference implementation
(``standardwebhooks``); the bytes signed are the bytes sent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import msgspec
from standardwebhooks import Webhook

from quizsession.app.outbound import Destination, OutboundEvent

_ENCODER = msgspec.json.Encoder()


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")


def body(event: OutboundEvent) -> bytes:
    """The JSON body: the event's type, its own time, and ``data`` (the ids, the
    log position ``seq``, ``at`` and what the type adds)."""
    data: dict[str, object] = {
        "event_id": event.event_id,
        "attempt_id": event.attempt_id,
        "quiz_id": event.quiz_id,
        "candidate_id": event.candidate_id,
        "seq": event.seq,
        "at": event.at,
        **event.data,
    }
    return _ENCODER.encode({"type": event.type, "timestamp": iso(event.at), "data": data})


def active_secrets(destination: Destination, now: float) -> list[str]:
    """The destination's secrets still in force at ``now`` (the current one and,
    after a rotation, the previous one until it expires)."""
    found = destination.config.get("secrets")
    if not isinstance(found, list):
        return []
    active: list[str] = []
    for entry in found:
        if not isinstance(entry, Mapping):
            continue
        secret, expires_at = entry.get("secret"), entry.get("expires_at")
        if isinstance(secret, str) and (
            expires_at is None or (isinstance(expires_at, (int, float)) and expires_at > now)
        ):
            active.append(secret)
    return active


def headers(message_id: str, payload: bytes, secrets: Sequence[str], now: float) -> dict[str, str]:
    """The signature headers of one send of ``payload`` at ``now``."""
    timestamp = datetime.fromtimestamp(int(now), UTC)
    text = payload.decode()
    signatures = " ".join(Webhook(s).sign(message_id, timestamp, text) for s in secrets)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now)),
        "webhook-signature": signatures,
    }
