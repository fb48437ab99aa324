"""What the stores keep and the errors they raise (driver errors never cross a
port: adapters translate them into these)."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from quizsession.domain.events import AttemptEvent


class StoreError(Exception):
    """Base of the storage errors the app layer understands."""


class VersionConflict(StoreError):
    """``append`` found the attempt at another version than expected (the optimistic
    lock). Nothing was written.

    ``after``: the log's events with seq > ``expected``, in order, when the store
    read them in the same call that refused the append (a store may, to spare its
    caller a read); None when it did not. They were the log's at that moment: the
    caller may catch up with them instead of reading, and still meets the lock
    again if the log has moved on since."""

    def __init__(
        self,
        attempt_id: str,
        expected: int,
        actual: int | None = None,
        *,
        after: Sequence[RecordedEvent] | None = None,
    ) -> None:
        super().__init__(f"attempt {attempt_id}: expected version {expected}, found {actual}")
        self.attempt_id = attempt_id
        self.expected = expected
        self.actual = actual
        self.after = after


class StoreUnavailable(StoreError):
    """The durable store cannot be reached or refused the write (disk full, server
    down). Nothing was acknowledged."""


class StoreMissing(StoreUnavailable):
    """The store was opened for a command that must not create one, and there is
    none at the configured place (``quizsession log`` in an empty directory)."""


class UnreadableData(StoreUnavailable):
    """The store holds data encrypted at rest that no configured key opens (the
    keys are unset, or the one it was sealed with was removed). Nothing is served,
    decided or written on it: a request meeting it gets 503, like an unreachable
    store, until the keys are configured again."""


class RecordedEvent(msgspec.Struct, frozen=True, kw_only=True):
    attempt_id: str
    seq: int  # 1-based position in the attempt's log; equals the version after it
    event: AttemptEvent


class Invite(msgspec.Struct, frozen=True, kw_only=True):
    token_hash: str
    quiz_id: str
    candidate_id: str
    name: str
    email: str
    valid_until: float
    created_at: float
