"""The wire models of accommodations: extra time set once for a candidate and
applied to every attempt of theirs (``PUT/GET/DELETE
/admin/candidates/{candidate_id}/accommodation``, ``GET
/admin/accommodations``). The stores keep ``Accommodation`` as it is."""

from __future__ import annotations

from typing import Annotated

import msgspec

__all__ = ["Accommodation", "AccommodationBody", "AccommodationList"]


class AccommodationBody(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """A candidate's accommodation: ``multiplier`` (1.0 to 4.0), ``extra_seconds``
    (0 to 86400) or both; the test then lasts ``duration * multiplier +
    extra_seconds``, still capped by the quiz window's close. Outside those
    bounds, or giving no extra time at all: 422 ``accommodation_invalid``."""

    multiplier: Annotated[
        float | None, msgspec.Meta(description="1.0 to 4.0 (e.g. 1.25, 1.5, 2.0)")
    ] = None
    extra_seconds: Annotated[float | None, msgspec.Meta(description="0 to 86400")] = None
    note: Annotated[
        str,
        msgspec.Meta(
            max_length=500,
            description="e.g. 'approved by the disability office' (at most 500 characters)",
        ),
    ] = ""


class Accommodation(msgspec.Struct, frozen=True, kw_only=True):
    """A candidate's accommodation as stored: who set it (``admin:<key name>``)
    and when (UTC seconds)."""

    candidate_id: str
    multiplier: float
    extra_seconds: float
    note: str
    set_by: str
    set_at: float


class AccommodationList(msgspec.Struct, frozen=True, kw_only=True):
    accommodations: list[Accommodation]
    limit: int
    offset: int
