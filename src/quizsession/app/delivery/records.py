"""What the outbound store keeps: registered destinations, the follow-the-log
backlog, and one delivery row per (destination, outbound event).

A delivery is ``pending`` until a sink delivered it (``delivered``) or the
engine gave up on it (``failed``: retried for about a day, or refused for good).
A pending delivery is *claimed* by a dispatcher for a while (its ``next_try_at``
moved past the lease and a claim token written): a dispatcher killed in the
middle leaves it to be claimed again when the lease lapses (at least once).
"""

from __future__ import annotations

from typing import Literal

import msgspec

from quizsession.app.outbound import Destination, OutboundEvent

DeliveryStatus = Literal["pending", "delivered", "failed"]
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = ("pending", "delivered", "failed")


class DestinationRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A destination as stored, with when it was registered and last changed,
    and why it was disabled by the service (an endpoint answering 410)."""

    destination: Destination
    created_at: float
    updated_at: float
    disabled_reason: str = ""


class BacklogEntry(msgspec.Struct, frozen=True, kw_only=True):
    """An attempt with events not yet fanned out: ``latest`` is the log position
    of its newest event that may go out, ``cursor`` how far the fan-out got."""

    attempt_id: str
    quiz_id: str
    candidate_id: str
    cursor: int
    latest: int


class NewDelivery(msgspec.Struct, frozen=True, kw_only=True):
    """One delivery to write at fan-out. ``sub`` orders the outbound events that
    come from one log event (a submission: submitted, then scored)."""

    destination_id: str
    event: OutboundEvent
    sub: int = 0


class DeliveryRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    destination_id: str
    event: OutboundEvent
    sub: int
    status: DeliveryStatus
    attempts: int
    next_try_at: float
    give_up_at: float
    created_at: float
    updated_at: float
    last_status: int | None = None
    last_error: str | None = None
    delivered_at: float | None = None


class DeliveryCounts(msgspec.Struct, frozen=True, kw_only=True):
    """How many of a destination's deliveries are in each status, and when the
    oldest pending one was created (``None`` when none is pending). A
    redelivered delivery keeps its creation time."""

    pending: int = 0
    delivered: int = 0
    failed: int = 0
    oldest_pending_at: float | None = None


class Claimed(msgspec.Struct, frozen=True, kw_only=True):
    """A delivery this dispatcher may send now, with its destination."""

    delivery: DeliveryRecord
    destination: Destination


class DeliveryResult(msgspec.Struct, frozen=True, kw_only=True):
    """What the engine decided after one send: the delivery's new status (and
    when to try again while pending), and what the send said."""

    status: DeliveryStatus
    next_try_at: float
    at: float
    last_status: int | None = None
    last_error: str | None = None
    disable_destination: str = ""  # a reason: the destination asked never to be called
