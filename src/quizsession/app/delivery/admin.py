"""Administering webhook endpoints: register, list, change (enable, disable,
rotate the signing secret keeping the previous one for a while), remove, the
delivery log and a redelivery. Every bad input is refused with
``webhook_invalid`` (or ``not_found``) before anything is written.

Secrets follow Standard Webhooks: ``whsec_`` and the base64 of 24 to 64 random
bytes, generated here (32 bytes) when none is given. An endpoint keeps them in
its destination's ``config["secrets"]``: the current one (no expiry) and, after
a rotation, the previous one until its ``expires_at``; the webhook sink signs
with every secret not yet expired."""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Final
from urllib.parse import urlsplit

import msgspec

from quizsession.api.webhooks import (
    WEBHOOK_EVENT_TYPES,
    WebhookDelivery,
    WebhookDeliveryCounts,
    WebhookEndpoint,
    WebhookEventType,
)
from quizsession.app.outbound import Destination
from quizsession.app.ports import (
    Clock,
    DeliveryCounts,
    DeliveryRecord,
    DeliveryStatus,
    DestinationRecord,
    OutboundStore,
)
from quizsession.domain.errors import ErrorCode, refuse

SECRET_PREFIX = "whsec_"
KIND: Final = "webhook"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def check_secret(secret: str) -> str:
    if not secret.startswith(SECRET_PREFIX):
        raise refuse(ErrorCode.WEBHOOK_INVALID, "a secret starts with whsec_")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise refuse(ErrorCode.WEBHOOK_INVALID, "a secret is whsec_ and base64") from None
    if not 24 <= len(key) <= 64:
        raise refuse(ErrorCode.WEBHOOK_INVALID, "a secret holds 24 to 64 bytes")
    return secret


def check_url(url: str) -> str:
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise refuse(ErrorCode.WEBHOOK_INVALID, "the URL holds spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise refuse(ErrorCode.WEBHOOK_INVALID, "the URL cannot be parsed") from None
    if parts.scheme not in ("http", "https"):
        raise refuse(ErrorCode.WEBHOOK_INVALID, "the URL must be http or https")
    if not parts.hostname:
        raise refuse(ErrorCode.WEBHOOK_INVALID, "the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise refuse(ErrorCode.WEBHOOK_INVALID, "the URL must not hold credentials")
    if parts.fragment or url.endswith("#"):
        raise refuse(ErrorCode.WEBHOOK_INVALID, "the URL must not have a fragment")
    if port == 0:
        raise refuse(ErrorCode.WEBHOOK_INVALID, "the URL's port must be 1 to 65535")
    return url


def _types(event_types: list[WebhookEventType] | None) -> tuple[WebhookEventType, ...]:
    if event_types is None:
        return WEBHOOK_EVENT_TYPES
    return tuple(t for t in WEBHOOK_EVENT_TYPES if t in set(event_types))


def _secrets(destination: Destination) -> list[dict[str, object]]:
    found = destination.config.get("secrets")
    return [dict(s) for s in found if isinstance(s, dict)] if isinstance(found, list) else []


def endpoint_view(
    record: DestinationRecord, counts: DeliveryCounts, secret: str | None = None
) -> WebhookEndpoint:
    d = record.destination
    expiring = [
        float(at) for s in _secrets(d) if isinstance(at := s.get("expires_at"), (int, float))
    ]
    description = d.config.get("description")
    return WebhookEndpoint(
        id=d.id,
        url=d.url,
        event_types=list(d.event_types),
        enabled=d.enabled,
        disabled_reason=record.disabled_reason,
        description=description if isinstance(description, str) else "",
        created_at=record.created_at,
        updated_at=record.updated_at,
        deliveries=WebhookDeliveryCounts(
            pending=counts.pending,
            delivered=counts.delivered,
            failed=counts.failed,
            oldest_pending_at=counts.oldest_pending_at,
        ),
        previous_secret_expires_at=max(expiring) if expiring else None,
        secret=secret,
    )


def delivery_view(record: DeliveryRecord) -> WebhookDelivery:
    return WebhookDelivery(
        id=record.id,
        endpoint_id=record.destination_id,
        event_id=record.event.event_id,
        type=record.event.type,
        attempt_id=record.event.attempt_id,
        seq=record.event.seq,
        status=record.status,
        attempts=record.attempts,
        created_at=record.created_at,
        updated_at=record.updated_at,
        next_try_at=record.next_try_at if record.status == "pending" else None,
        last_status=record.last_status,
        last_error=record.last_error,
        delivered_at=record.delivered_at,
    )


class WebhookAdmin:
    def __init__(self, store: OutboundStore, clock: Clock, *, retry_for_s: float = 86_400.0):
        self._store = store
        self._clock = clock
        self._retry_for_s = retry_for_s

    async def _get(self, endpoint_id: str) -> DestinationRecord:
        record = await self._store.get_destination(endpoint_id)
        if record is None or record.destination.kind != KIND:
            raise refuse(ErrorCode.NOT_FOUND, f"no webhook endpoint {endpoint_id}")
        return record

    async def register(
        self,
        *,
        url: str,
        event_types: list[WebhookEventType] | None = None,
        secret: str | None = None,
        enabled: bool = True,
        description: str = "",
    ) -> WebhookEndpoint:
        check_url(url)
        secret = new_secret() if secret is None else check_secret(secret)
        now = self._clock.now()
        destination = Destination(
            id="wh_" + secrets.token_hex(8),
            kind=KIND,
            url=url,
            event_types=_types(event_types),
            enabled=enabled,
            config={
                "secrets": [{"secret": secret, "expires_at": None}],
                "description": description,
            },
        )
        record = DestinationRecord(destination=destination, created_at=now, updated_at=now)
        await self._store.put_destination(record)
        return endpoint_view(record, DeliveryCounts(), secret)  # new: no deliveries yet

    async def _view(self, record: DestinationRecord, secret: str | None = None) -> WebhookEndpoint:
        counts = await self._store.delivery_counts(record.destination.id)
        return endpoint_view(record, counts, secret)

    async def endpoints(self) -> list[WebhookEndpoint]:
        """Every endpoint with its delivery counts (one counting query per
        endpoint: endpoints are few)."""
        return [await self._view(r) for r in await self._store.list_destinations(KIND)]

    async def get(self, endpoint_id: str) -> WebhookEndpoint:
        return await self._view(await self._get(endpoint_id))

    async def update(
        self,
        endpoint_id: str,
        *,
        url: str | None = None,
        event_types: list[WebhookEventType] | None = None,
        enabled: bool | None = None,
        description: str | None = None,
        rotate_secret: bool = False,
        secret: str | None = None,
        previous_secret_valid_s: float = 86_400.0,
    ) -> WebhookEndpoint:
        if url is not None:
            check_url(url)
        if secret is not None and not rotate_secret:
            raise refuse(ErrorCode.WEBHOOK_INVALID, "a new secret is given with rotate_secret")
        if secret is not None:
            check_secret(secret)
        record = await self._get(endpoint_id)
        now = self._clock.now()
        d = record.destination
        config = dict(d.config)
        if description is not None:
            config["description"] = description
        shown: str | None = None
        if rotate_secret:
            shown = new_secret() if secret is None else secret
            current = [s for s in _secrets(d) if s.get("expires_at") is None][:1]
            kept = [{**s, "expires_at": now + previous_secret_valid_s} for s in current]
            config["secrets"] = [{"secret": shown, "expires_at": None}, *kept]
        changed = msgspec.structs.replace(
            d,
            url=d.url if url is None else url,
            event_types=d.event_types if event_types is None else _types(event_types),
            enabled=d.enabled if enabled is None else enabled,
            config=config,
        )
        record = DestinationRecord(
            destination=changed,
            created_at=record.created_at,
            updated_at=now,
            disabled_reason="" if enabled else record.disabled_reason,
        )
        await self._store.put_destination(record)
        return await self._view(record, shown)

    async def remove(self, endpoint_id: str) -> None:
        await self._get(endpoint_id)
        await self._store.delete_destination(endpoint_id)

    async def deliveries(
        self,
        endpoint_id: str,
        *,
        status: DeliveryStatus | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[WebhookDelivery]:
        await self._get(endpoint_id)
        found = await self._store.list_deliveries(
            endpoint_id, status=status, limit=limit, offset=offset
        )
        return [delivery_view(r) for r in found]

    async def redeliver(self, endpoint_id: str, delivery_id: int) -> WebhookDelivery:
        """Send the delivery again, now, whatever its status (retried for about a
        day again). Later events of its attempt wait for it (order per attempt)."""
        await self._get(endpoint_id)
        found = await self._store.get_delivery(delivery_id)
        if found is None or found.destination_id != endpoint_id:
            raise refuse(ErrorCode.NOT_FOUND, f"no delivery {delivery_id} of {endpoint_id}")
        now = self._clock.now()
        await self._store.redeliver(delivery_id, now, now + self._retry_for_s)
        again = await self._store.get_delivery(delivery_id)
        return delivery_view(again if again is not None else found)
