"""What every store adapter shares, so that each validates and normalises its
input in the same way: the checks of ``append`` and of paging, the canonical
encoding of quiz definitions (version left out), the due-attempt rule and the
lease port's answer for a lease that was not taken."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from quizsession.app.ports import AttemptIndexRow, LeaseGrant
from quizsession.domain.events import AttemptEvent
from quizsession.domain.quiz import Quiz

_QUIZ_ENCODER = msgspec.json.Encoder()
_QUIZ_DECODER = msgspec.json.Decoder(Quiz)


def check_append(
    attempt_id: str,
    expected_version: int,
    events: Sequence[AttemptEvent],
    index: AttemptIndexRow,
) -> AttemptIndexRow:
    """Validate the arguments of ``append`` (programming errors raise ValueError)
    and return the index row as the store keeps it: its ``version`` is always the
    version the append produces, so the index can never disagree with the log."""
    if not events:
        raise ValueError("append needs at least one event")
    if expected_version < 0:
        raise ValueError(f"expected_version must be >= 0, not {expected_version}")
    if index.attempt_id != attempt_id:
        raise ValueError(f"index row is for {index.attempt_id!r}, not for {attempt_id!r}")
    new_version = expected_version + len(events)
    if index.version != new_version:
        index = msgspec.structs.replace(index, version=new_version)
    return index


def check_page(limit: int, offset: int) -> None:
    if limit < 0 or offset < 0:
        raise ValueError(f"limit and offset must be >= 0 (got {limit}, {offset})")


def canonical_quiz(quiz: Quiz) -> bytes:
    """The quiz's encoding with its version left out (set to 0), after a round
    trip through the decoder so that equal definitions encode equally (``60`` and
    ``60.0`` seconds are one definition). Invalid definitions raise ValueError."""
    bare = _QUIZ_ENCODER.encode(msgspec.structs.replace(quiz, version=0))
    return _QUIZ_ENCODER.encode(_QUIZ_DECODER.decode(bare))


def decode_quiz(data: bytes) -> Quiz:
    return _QUIZ_DECODER.decode(data)


def versioned_quiz(canonical: bytes, version: int) -> tuple[Quiz, bytes]:
    """The stored form of a quiz at ``version``: the struct and its encoding."""
    quiz = msgspec.structs.replace(_QUIZ_DECODER.decode(canonical), version=version)
    return quiz, _QUIZ_ENCODER.encode(quiz)


def unversioned(data: bytes) -> bytes:
    """``canonical_quiz`` of a stored (already canonical) encoding."""
    return _QUIZ_ENCODER.encode(msgspec.structs.replace(_QUIZ_DECODER.decode(data), version=0))


def is_due(row: AttemptIndexRow, now: float) -> bool:
    return row.status == "open" and row.due_at is not None and row.due_at <= now


def lease_grant(holder: str | None, expires_at: float, now: float) -> LeaseGrant:
    """The port's answer for a lease that was not taken: who holds it at ``now``
    (``expires_at`` is ignored when nobody does)."""
    if holder is None or expires_at <= now:
        return LeaseGrant(acquired=False, holder=None, expires_in=0.0)
    return LeaseGrant(acquired=False, holder=holder, expires_in=expires_at - now)
