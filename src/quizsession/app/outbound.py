"""What leaves the service because an attempt changed, and the port each kind of
destination implements.

The delivery engine (``app/delivery*.py``) follows the attempt logs: it turns the
events that matter outside (an attempt started, extended, submitted, scored,
graded by hand, regraded, voided or reopened) into ``OutboundEvent`` values, and
hands each to every enabled destination subscribed to its type, through the
``Sink`` of the destination's kind: signed webhooks (``kind="webhook"``) and
scores to an LMS gradebook through LTI Assignment and Grade Services
(``kind="lti_ags"``). Delivery is at least once, in
order per attempt, with retries and a log per destination; a sink only sends one
event once and says how it went.
"""

from __future__ import annotations

from typing import Literal, Protocol

import msgspec

OutboundType = Literal[
    "attempt.started",
    "attempt.extended",
    "attempt.submitted",
    "attempt.scored",
    "attempt.voided",
    "attempt.reopened",
    "attempt.graded",
    "attempt.regraded",
]

OUTBOUND_TYPES: tuple[OutboundType, ...] = (
    "attempt.started",
    "attempt.extended",
    "attempt.submitted",
    "attempt.scored",
    "attempt.voided",
    "attempt.reopened",
    "attempt.graded",
    "attempt.regraded",
)


class OutboundEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One event for the outside world.

    ``event_id`` is stable across retries and instances (derived from the attempt
    id and the log position it comes from), so a receiver can drop duplicates;
    ``seq`` is the attempt's log position, so a receiver can order an attempt's
    events; ``at`` is the time of the event itself (not of the delivery)."""

    event_id: str
    type: OutboundType
    attempt_id: str
    quiz_id: str
    candidate_id: str
    seq: int
    at: float
    data: dict[str, object] = {}


class Destination(msgspec.Struct, frozen=True, kw_only=True):
    """A registered destination (a webhook endpoint, an LMS gradebook)."""

    id: str
    kind: Literal["webhook", "lti_ags"]
    url: str
    event_types: tuple[OutboundType, ...]
    enabled: bool = True
    #: Kind-specific settings (a webhook's secrets, an LTI registration id...).
    config: dict[str, object] = {}


class SendOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """How one send went. ``ok``: delivered (2xx). Otherwise ``retry`` says whether
    trying again later may help, and ``disable`` that the destination asked never
    to be called again (a webhook's 410 Gone)."""

    ok: bool
    status: int | None = None
    error: str | None = None
    retry: bool = True
    disable: bool = False


class Sink(Protocol):
    """Sends one event to one destination of its kind, once. Never raises for a
    failed send: the outcome says what happened (the engine retries)."""

    @property
    def kind(self) -> str: ...

    async def reaches(self, destination: Destination, attempt_id: str) -> bool:
        """Whether the events of ``attempt_id`` concern ``destination`` at all
        (an LMS gradebook hears only of attempts launched from it; a webhook
        endpoint of every attempt). Asked once per attempt and destination when
        the attempt's new events are fanned out: no delivery is written for a
        destination it does not reach."""
        ...

    async def send(self, destination: Destination, event: OutboundEvent) -> SendOutcome: ...
