"""The wire models of webhook endpoints and their delivery log
(``/admin/webhooks``): registering an endpoint, listing, changing (enable,
disable, rotate its signing secret), removing it, its deliveries and a
redelivery. What the service sends to an endpoint is described in the README
("Integrating a backend": webhooks)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

__all__ = [
    "WEBHOOK_EVENT_TYPES",
    "WebhookDelivery",
    "WebhookDeliveryCounts",
    "WebhookDeliveryList",
    "WebhookEndpoint",
    "WebhookEndpointBody",
    "WebhookEndpointList",
    "WebhookEndpointPatch",
    "WebhookEventType",
]

WebhookEventType = Literal[
    "attempt.started",
    "attempt.extended",
    "attempt.submitted",
    "attempt.scored",
    "attempt.voided",
    "attempt.reopened",
    "attempt.graded",
    "attempt.regraded",
]
WEBHOOK_EVENT_TYPES: tuple[WebhookEventType, ...] = (
    "attempt.started",
    "attempt.extended",
    "attempt.submitted",
    "attempt.scored",
    "attempt.voided",
    "attempt.reopened",
    "attempt.graded",
    "attempt.regraded",
)

_URL = msgspec.Meta(
    min_length=1, max_length=2048, description="http or https URL the events are POSTed to"
)
_TYPES = msgspec.Meta(
    min_length=1, max_length=16, description="the event types to send (default: all of them)"
)
_SECRET = msgspec.Meta(
    max_length=200,
    description="whsec_ followed by 24 to 64 bytes in base64 (default: one is generated)",
)
_DESCRIPTION = msgspec.Meta(max_length=200, description="a note for administrators")


class WebhookEndpointBody(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """A new endpoint. An invalid URL (not http or https, with credentials or a
    fragment) or secret: 422 ``webhook_invalid``."""

    url: Annotated[str, _URL]
    event_types: Annotated[list[WebhookEventType], _TYPES] | None = None
    secret: Annotated[str, _SECRET] | None = None
    enabled: bool = True
    description: Annotated[str, _DESCRIPTION] = ""


class WebhookEndpointPatch(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """A change to an endpoint: only the fields given change. ``enabled: true``
    also clears a disabling by the service (an endpoint that answered 410).
    ``rotate_secret``: a new signing secret (``secret``, or a generated one)
    signs from now on; the previous one keeps signing too (both signatures sent)
    for ``previous_secret_valid_s`` seconds (default a day, at most a week)."""

    url: Annotated[str, _URL] | None = None
    event_types: Annotated[list[WebhookEventType], _TYPES] | None = None
    enabled: bool | None = None
    description: Annotated[str, _DESCRIPTION] | None = None
    rotate_secret: bool = False
    secret: Annotated[str, _SECRET] | None = None
    previous_secret_valid_s: Annotated[float, msgspec.Meta(ge=0, le=604_800)] = 86_400.0


class WebhookDeliveryCounts(msgspec.Struct, frozen=True, kw_only=True):
    """How an endpoint's deliveries stand: how many are ``pending`` (being
    tried, or waiting for a retry, or for an earlier event of their attempt),
    ``delivered`` and ``failed``, and ``oldest_pending_at``, when the oldest
    pending one was created (a redelivered one keeps its creation time), or
    None when none is pending. A pending count that grows, or an old
    ``oldest_pending_at``, is an endpoint that does not keep up."""

    pending: int
    delivered: int
    failed: int
    oldest_pending_at: float | None


class WebhookEndpoint(msgspec.Struct, frozen=True, kw_only=True):
    """A registered endpoint. ``secret`` is shown only in the answer that
    created or rotated it: keep it; it cannot be read again. ``deliveries``
    counts its deliveries by status (all zeros in the answer that created it)."""

    id: str
    url: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str
    description: str
    created_at: float
    updated_at: float
    deliveries: WebhookDeliveryCounts
    #: When the previous secret stops signing (after a rotation), else None.
    previous_secret_expires_at: float | None = None
    secret: str | None = None


class WebhookEndpointList(msgspec.Struct, frozen=True, kw_only=True):
    endpoints: list[WebhookEndpoint]


class WebhookDelivery(msgspec.Struct, frozen=True, kw_only=True):
    """One event for one endpoint: ``pending`` (``next_try_at`` is when it is
    tried, again), ``delivered`` or ``failed`` (after about a day of retries, or
    the endpoint answered 410). ``attempts`` counts the sends so far."""

    id: int
    endpoint_id: str
    event_id: str
    type: str
    attempt_id: str
    seq: int
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    created_at: float
    updated_at: float
    next_try_at: float | None = None
    last_status: int | None = None
    last_error: str | None = None
    delivered_at: float | None = None


class WebhookDeliveryList(msgspec.Struct, frozen=True, kw_only=True):
    """One page of an endpoint's deliveries, newest first."""

    deliveries: list[WebhookDelivery]
    limit: int
    offset: int
