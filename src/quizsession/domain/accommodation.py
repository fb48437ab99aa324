"""Accommodations: extra time set once for a candidate (a disability
accommodation, a language allowance) and applied to every attempt of theirs.

An accommodation is a time ``multiplier`` (1.0 to 4.0), fixed ``extra_seconds``
(0 to 24 hours) or both: the test's effective duration is ``duration *
multiplier + extra_seconds``. Its *share* (``extra_time``) is what it adds to
the quiz's duration. The share is written into the attempt's log when the test
starts (``events.TimeAccommodated``), so the deadline stays a fold of the log;
the quiz window's close still caps the deadline (``attempt_state.deadline``).

Pure: the app layer reads the candidate's accommodation from its store and
passes it into the command that starts the test or applies a change.
"""

from __future__ import annotations

import math
import re
from typing import Final

import msgspec

from quizsession.domain.errors import ErrorCode, refuse
from quizsession.domain.events import Actor

MIN_MULTIPLIER: Final = 1.0
MAX_MULTIPLIER: Final = 4.0
MAX_EXTRA_S: Final = 86_400.0
MAX_NOTE_LENGTH: Final = 500
#: Candidate ids as the rest of the service takes them (invites, backends' users).
_CANDIDATE_ID = re.compile(r"[A-Za-z0-9_.:@-]{1,128}")


class Accommodation(msgspec.Struct, frozen=True, kw_only=True):
    """What a command needs of a candidate's accommodation: the time it gives and
    who set it (``admin:<key name>``)."""

    multiplier: float = 1.0
    extra_seconds: float = 0.0
    by: Actor = "system"


def extra_time(duration_s: float, accommodation: Accommodation) -> float:
    """The accommodation's share: what it adds to a test of ``duration_s``."""
    return duration_s * (accommodation.multiplier - 1.0) + accommodation.extra_seconds


def effective_duration(duration_s: float, accommodation: Accommodation | None) -> float:
    """``duration_s`` with the accommodation applied (unchanged without one)."""
    if accommodation is None:
        return duration_s
    return duration_s + extra_time(duration_s, accommodation)


def check_candidate_id(candidate_id: str) -> None:
    if _CANDIDATE_ID.fullmatch(candidate_id) is None:
        raise refuse(
            ErrorCode.ACCOMMODATION_INVALID,
            "a candidate id is 1 to 128 characters of A-Z a-z 0-9 _ . : @ -",
            field="candidate_id",
        )


def check_accommodation(
    multiplier: float | None, extra_seconds: float | None, note: str = ""
) -> Accommodation:
    """The accommodation an administrator asked for, checked: a multiplier from
    1.0 to 4.0, extra seconds from 0 to 86400, at least one of them giving time,
    a note of at most 500 characters. Refused with ``accommodation_invalid``
    (naming the ``field``) otherwise. ``by`` is left for the caller to set."""
    if multiplier is None and extra_seconds is None:
        raise refuse(
            ErrorCode.ACCOMMODATION_INVALID,
            "give a multiplier, extra seconds or both",
            field="multiplier",
        )
    m = 1.0 if multiplier is None else multiplier
    e = 0.0 if extra_seconds is None else extra_seconds
    if not (math.isfinite(m) and MIN_MULTIPLIER <= m <= MAX_MULTIPLIER):
        raise refuse(
            ErrorCode.ACCOMMODATION_INVALID,
            f"the multiplier must be from {MIN_MULTIPLIER} to {MAX_MULTIPLIER}",
            field="multiplier",
        )
    if not (math.isfinite(e) and 0.0 <= e <= MAX_EXTRA_S):
        raise refuse(
            ErrorCode.ACCOMMODATION_INVALID,
            f"extra seconds must be from 0 to {int(MAX_EXTRA_S)} (24 hours)",
            field="extra_seconds",
        )
    if m == 1.0 and e == 0.0:
        raise refuse(
            ErrorCode.ACCOMMODATION_INVALID,
            "a multiplier of 1 and no extra seconds give no extra time (delete it instead)",
            field="multiplier",
        )
    if len(note) > MAX_NOTE_LENGTH:
        raise refuse(
            ErrorCode.ACCOMMODATION_INVALID,
            f"the note is longer than {MAX_NOTE_LENGTH} characters",
            field="note",
        )
    return Accommodation(multiplier=float(m), extra_seconds=float(e))
