"""What every store's ``OutboundStore`` shares: which log events never go out
(the backlog skips them, so answering costs the outbound bookkeeping nothing),
and the encoding of an outbound event in a delivery row.

The SQL stores name the same quiet types in their schema's trigger (migration
7, ``QUIET_SQL``); the memory store uses ``QUIET_EVENT_TYPES``. A type missing from
the list is only extra work for the fan-out (it maps to nothing), never a lost
event: a new kind of event that may go out needs no schema change."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

import msgspec

from quizsession.app.outbound import Destination, OutboundEvent
from quizsession.app.ports import DeliveryCounts, DeliveryRecord, DestinationRecord

QUIET_EVENT_TYPES: Final = frozenset(
    {
        "answer_saved",
        "question_delivered",
        "question_viewed",
        "session_opened",
        "session_superseded",
        "session_closed",
    }
)
#: The same list as SQL (for the triggers of the SQL stores' migration).
QUIET_SQL: Final = (
    "'answer_saved', 'question_delivered', 'question_viewed', "
    "'session_opened', 'session_superseded', 'session_closed'"
)

_ENCODER = msgspec.json.Encoder()
_EVENT = msgspec.json.Decoder(OutboundEvent)
_TYPES = msgspec.json.Decoder(tuple[str, ...])
_CONFIG = msgspec.json.Decoder(dict[str, object])
_DESTINATION = msgspec.json.Decoder(Destination)


def encode(value: object) -> str:
    return _ENCODER.encode(value).decode()


def decode_event(data: str | bytes) -> OutboundEvent:
    return _EVENT.decode(data)


def decode_config(data: str | bytes) -> dict[str, object]:
    return _CONFIG.decode(data)


def destination(
    id: str, kind: str, url: str, event_types: str, enabled: bool, config: str
) -> Destination:
    """A destination from its stored columns (validated by msgspec)."""
    return msgspec.convert(
        {
            "id": id,
            "kind": kind,
            "url": url,
            "event_types": _TYPES.decode(event_types),
            "enabled": bool(enabled),
            "config": _CONFIG.decode(config),
        },
        Destination,
    )


def destination_record(r: Any) -> DestinationRecord:
    return DestinationRecord(
        destination=destination(r[0], r[1], r[2], r[3], r[4], r[5]),
        created_at=r[6],
        updated_at=r[7],
        disabled_reason=r[8],
    )


def delivery_record(r: Any) -> DeliveryRecord:
    return DeliveryRecord(
        id=r[0],
        destination_id=r[1],
        event=decode_event(r[2]),
        sub=r[3],
        status=r[4],
        attempts=r[5],
        next_try_at=r[6],
        give_up_at=r[7],
        created_at=r[8],
        updated_at=r[9],
        last_status=r[10],
        last_error=r[11],
        delivered_at=r[12],
    )


def delivery_counts(rows: Iterable[Any]) -> DeliveryCounts:
    """The counts from the rows (status, count, oldest creation time) of a
    ``GROUP BY status`` over one destination's deliveries."""
    found = {r[0]: (int(r[1]), r[2]) for r in rows}
    pending = found.get("pending")
    return DeliveryCounts(
        pending=pending[0] if pending else 0,
        delivered=found["delivered"][0] if "delivered" in found else 0,
        failed=found["failed"][0] if "failed" in found else 0,
        oldest_pending_at=float(pending[1]) if pending else None,
    )


def destination_values(record: DestinationRecord) -> tuple[object, ...]:
    d = record.destination
    return (
        d.id,
        d.kind,
        d.url,
        encode(list(d.event_types)),
        1 if d.enabled else 0,
        encode(d.config),
        record.created_at,
        record.updated_at,
        record.disabled_reason,
    )
