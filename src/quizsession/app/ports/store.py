"""The durable store's narrow ports: each app service takes only the ones it
uses; ``Store`` is the whole, opened and closed by the composition root, with
its declared capabilities. Every adapter passes ``tests/contract``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from quizsession.api.accommodations import Accommodation
from quizsession.api.lti import LtiLaunchLink, LtiPlatform
from quizsession.api.models import AttemptIndexRow, AttemptStatus, QuizSummary
from quizsession.app.delivery.records import (
    BacklogEntry,
    Claimed,
    DeliveryCounts,
    DeliveryRecord,
    DeliveryResult,
    DeliveryStatus,
    DestinationRecord,
    NewDelivery,
)
from quizsession.app.ports.live import LeaseGrant
from quizsession.app.ports.records import Invite, RecordedEvent
from quizsession.domain.events import AttemptEvent
from quizsession.domain.quiz import Quiz


class EventLog(Protocol):
    """The append-only logs of attempts (the truth, promise 7)."""

    async def append(
        self,
        attempt_id: str,
        expected_version: int,
        events: Sequence[AttemptEvent],
        index: AttemptIndexRow,
    ) -> int:
        """Atomically append ``events`` after ``expected_version`` and upsert the
        index row. Returns the new version. Raises ``VersionConflict`` if the
        attempt is not at ``expected_version`` (0 = the attempt must not exist;
        ``actual`` is 0 for an attempt that does not exist). Returns only once the
        events are durable (for a persistent store).

        The store writes the version the append produces into the index row,
        whatever ``index.version`` says; an index row for another attempt id,
        empty ``events`` or a negative ``expected_version`` raise ValueError."""
        ...

    async def read(self, attempt_id: str, after: int = 0) -> list[RecordedEvent]:
        """The attempt's events with seq > ``after``, in order ([] if unknown)."""
        ...

    async def read_many(self, attempt_ids: Sequence[str]) -> dict[str, list[RecordedEvent]]:
        """The whole logs of many attempts with one call (the reaper reads ahead
        this way): each distinct id of ``attempt_ids`` maps to what ``read(id)``
        would give ([] if unknown)."""
        ...


class AttemptIndex(Protocol):
    """The queryable projection of the logs: one ``AttemptIndexRow`` per attempt,
    written by ``EventLog.append`` in the same transaction as the events."""

    async def get_index(self, attempt_id: str) -> AttemptIndexRow | None: ...

    async def list_attempts(
        self,
        *,
        quiz_id: str | None = None,
        status: AttemptStatus | None = None,
        limit: int = 100,
        offset: int = 0,
        after: str | None = None,
    ) -> list[AttemptIndexRow]:
        """Index rows filtered by quiz and status, ordered by attempt_id in plain
        code-point order (the same in every store). ``after``: only the rows whose
        attempt_id comes after it (a keyset page: pass the last id of the previous
        page; ``offset`` then counts from there)."""
        ...

    async def due_attempts(self, now: float, limit: int = 500) -> list[AttemptIndexRow]:
        """Open attempts whose ``due_at`` <= ``now``, earliest first (ties by
        attempt_id)."""
        ...


class QuizRepository(Protocol):
    async def put_quiz(self, quiz: Quiz) -> Quiz:
        """Store ``quiz`` as the next version of its id (``quiz.version`` is
        ignored) and return it with its version. Storing a definition equal to the
        latest version (compared on a normalised encoding, so 600 == 600.0)
        returns the latest version unchanged; an older definition put back
        becomes a new version."""
        ...

    async def get_quiz(self, quiz_id: str, version: int | None = None) -> Quiz | None:
        """A given version, or the latest when ``version`` is None."""
        ...

    async def list_quizzes(self) -> list[QuizSummary]:
        """The latest version of every quiz, ordered by id."""
        ...


class InviteRepository(Protocol):
    async def add_invites(self, invites: Sequence[Invite]) -> None:
        """Store invites; a token hash already present is replaced."""
        ...

    async def find_invite(self, token_hash: str) -> Invite | None: ...


class LeaseStore(Protocol):
    """Attempt leases kept in the durable store: the source of truth of the live
    state's store-only fallback (when Redis is down). The same semantics as the
    lease methods of ``LiveState``, except that time is the wall clock ``now``
    passed in by the caller (several instances share these leases, so no
    process's monotonic clock can be used). A lease with ``expires_at <= now`` is
    free."""

    async def acquire_lease(
        self, attempt_id: str, session_id: str, ttl_s: float, now: float, *, force: bool = False
    ) -> LeaseGrant:
        """Take the attempt's lease for ``session_id`` until ``now + ttl_s`` if it
        is free, lapsed or already this session's (a renewal); with ``force`` take
        it regardless. Atomic: of N concurrent callers at most one acquires a free
        lease. A refusal names the holder and its ``expires_in`` (from ``now``)."""
        ...

    async def release_lease(self, attempt_id: str, session_id: str) -> None:
        """Free the lease if (and only if) ``session_id`` holds it."""
        ...

    async def lease_holder(self, attempt_id: str, now: float) -> LeaseGrant:
        """Who holds the lease at ``now`` (acquired=False; holder None when free)."""
        ...


class AliveStore(Protocol):
    """Liveness marks of the service's instances, kept in the durable store: every
    running instance records the wall-clock time ``now`` under its own id every
    few seconds. The newest mark of any instance is when the service was last
    known to be up: an instance starting long after it knows that the whole
    service was down in between (the outage credit, ``app/outage.py``)."""

    async def mark_alive(self, instance_id: str, now: float) -> None:
        """Record that ``instance_id`` is alive at ``now`` (replaces its previous
        mark, whether older or newer). Durable once it returns."""
        ...

    async def last_alive(self) -> float | None:
        """The newest mark of any instance (None when no instance ever marked)."""
        ...

    async def prune_alive(self, before: float) -> int:
        """Forget the marks older than ``before``; returns how many."""
        ...


class AccommodationStore(Protocol):
    """Candidates' accommodations (extra time set once, applied to every attempt
    of the candidate): one record per candidate id, and the candidate's open
    attempts that a change applies to."""

    async def put_accommodation(self, accommodation: Accommodation) -> None:
        """Store ``accommodation``, replacing the candidate's previous one.
        Durable once it returns."""
        ...

    async def get_accommodation(self, candidate_id: str) -> Accommodation | None: ...

    async def delete_accommodation(self, candidate_id: str) -> bool:
        """Forget the candidate's accommodation; False when there was none."""
        ...

    async def list_accommodations(
        self, *, limit: int = 100, offset: int = 0
    ) -> list[Accommodation]:
        """Accommodations ordered by candidate id in plain code-point order."""
        ...

    async def candidate_attempts(
        self, candidate_id: str, *, status: AttemptStatus | None = "open"
    ) -> list[AttemptIndexRow]:
        """The index rows of the candidate's attempts (every quiz) with
        ``status`` (None: any), ordered by attempt id."""
        ...


class LtiStore(Protocol):
    """LTI 1.3: the platforms (LMSs) registered to launch quizzes, the nonces of
    their launches (each used once), and the launch link of each attempt
    started from an LMS (whose gradebook its score goes to)."""

    async def put_lti_platform(self, platform: LtiPlatform) -> None:
        """Store ``platform``, replacing the one with its id. Durable once it
        returns."""
        ...

    async def get_lti_platform(self, platform_id: str) -> LtiPlatform | None: ...

    async def lti_platforms(self, issuer: str | None = None) -> list[LtiPlatform]:
        """The registrations (of ``issuer`` only, when given), ordered by id."""
        ...

    async def delete_lti_platform(self, platform_id: str) -> bool:
        """Forget the registration; False when there was none."""
        ...

    async def use_lti_nonce(self, key: str, expires_at: float, now: float) -> bool:
        """Record ``key`` as used until ``expires_at``: True the first time,
        False while it is recorded and unexpired (a replay). Atomic across
        instances; durable once it returns; records expired at ``now`` may be
        forgotten."""
        ...

    async def put_lti_link(self, link: LtiLaunchLink) -> None:
        """Store the attempt's launch link, replacing its previous one."""
        ...

    async def get_lti_link(self, attempt_id: str) -> LtiLaunchLink | None: ...


class OutboundStore(Protocol):
    """Outbound delivery (``app/delivery*.py``): the registered destinations, the
    backlog of attempts whose log has events not yet fanned out, and one durable
    delivery row per (destination, outbound event).

    The backlog follows the log: appending an event that may go out (any event but
    the cheap ones of answering: ``answer_saved``, ``question_delivered``,
    ``question_viewed`` and the session events) records its position as the
    attempt's ``latest`` in the same transaction as the event, so no crash can lose
    it. ``fan_out`` writes the deliveries and moves the attempt's cursor in one
    transaction; repeating it (a crash before it returned, two dispatchers) writes
    nothing twice: a delivery is unique per (destination, event id)."""

    async def put_destination(self, record: DestinationRecord) -> None:
        """Register or replace a destination (by its id)."""
        ...

    async def get_destination(self, destination_id: str) -> DestinationRecord | None: ...

    async def list_destinations(self, kind: str | None = None) -> list[DestinationRecord]:
        """Destinations (of ``kind``, or all), ordered by id."""
        ...

    async def delete_destination(self, destination_id: str) -> bool:
        """Forget a destination and its deliveries; False when there was none."""
        ...

    async def outbound_backlog(self, limit: int = 100) -> list[BacklogEntry]:
        """Attempts whose ``latest`` is past their cursor, ordered by attempt id
        (an indexed query: only such attempts are looked at)."""
        ...

    async def fan_out(
        self,
        attempt_id: str,
        upto: int,
        deliveries: Sequence[NewDelivery],
        now: float,
        give_up_at: float,
    ) -> int:
        """In one transaction: write ``deliveries`` (pending, due at ``now``, in
        the order given; one already there for its destination and event id is
        left as it is) and move the attempt's cursor to ``upto`` (never back).
        Returns how many deliveries were new."""
        ...

    async def claim_deliveries(
        self, now: float, lease_s: float, limit: int, claim: str
    ) -> list[Claimed]:
        """Claim up to ``limit`` deliveries to send now, earliest due first: pending,
        due (``next_try_at <= now``), of an enabled destination, and each the first
        pending one of its (destination, attempt) in log order (a later event waits
        while an earlier one is retrying). A claimed delivery's ``next_try_at``
        moves to ``now + lease_s`` and it records ``claim``; of several
        dispatchers claiming at once, each delivery goes to one."""
        ...

    async def finish_delivery(self, delivery_id: int, claim: str, result: DeliveryResult) -> bool:
        """Record how the send went, if the delivery is still claimed by ``claim``
        (False otherwise: its lease lapsed and another dispatcher claimed it). With
        ``result.disable_destination`` the destination is disabled with that
        reason in the same transaction."""
        ...

    async def get_delivery(self, delivery_id: int) -> DeliveryRecord | None: ...

    async def list_deliveries(
        self,
        destination_id: str,
        *,
        status: DeliveryStatus | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[DeliveryRecord]:
        """A destination's deliveries, newest first."""
        ...

    async def delivery_counts(self, destination_id: str) -> DeliveryCounts:
        """How many of the destination's deliveries are pending, delivered and
        failed, and the creation time of the oldest pending one, in one query
        (zeros for a destination without deliveries, or none at all)."""
        ...

    async def redeliver(self, delivery_id: int, now: float, give_up_at: float) -> bool:
        """Make a delivery pending again, due at ``now``, retried until
        ``give_up_at`` (its claim dropped); False when there is none."""
        ...


class StoreLifecycle(Protocol):
    """What the composition root needs of a store: opening, closing, a health
    check, and the store's declared capabilities. Every adapter declares each
    of them (no default): the composition root decides from them, never from the
    store's URL, so a new backend cannot silently inherit a wrong guess."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> bool:
        """True when the store answers (for /readyz)."""
        ...

    @property
    def durable(self) -> bool:
        """False for the memory store: nothing survives a restart."""
        ...

    @property
    def shared(self) -> bool:
        """True when several instances may use this store at once (PostgreSQL).
        Then no instance may trust its cache of folded attempts without reading
        the log (another instance may have appended), and the instances must
        share one configured signing secret."""
        ...

    @property
    def secret_file(self) -> str | None:
        """Where a generated signing secret is kept beside the data, so that
        sessions survive a restart (the SQLite file's ``.secret``); None where
        there is no such place (memory: one secret per process; a shared store:
        the secret must be configured)."""
        ...

    async def schema_version(self) -> int | None:
        """The schema version of the opened store's data (None for a store
        without a schema: memory)."""
        ...

    async def holds_encrypted_data(self) -> bool:
        """True once ``mark_encrypted_data`` was called on this store's data
        (ever, by any instance)."""
        ...

    async def mark_encrypted_data(self) -> None:
        """Record, durably and once for all, that this store holds data
        encrypted at rest: an instance started later without the keys refuses to
        start instead of serving envelopes as answers (idempotent)."""
        ...


class Store(
    StoreLifecycle,
    EventLog,
    AttemptIndex,
    QuizRepository,
    InviteRepository,
    LeaseStore,
    AliveStore,
    AccommodationStore,
    LtiStore,
    OutboundStore,
    Protocol,
):
    """Everything durable, as one adapter provides it: the composition root
    opens and closes it and hands each service only the ports it uses."""


# What the services that need several ports take (each only what it uses).


class AttemptRecords(EventLog, AttemptIndex, QuizRepository, Protocol):
    """Attempts' logs and index rows with their quizzes: what the admin views and
    the reports read."""


class QuizCatalog(QuizRepository, InviteRepository, Protocol):
    """Quizzes and their invites: the catalogue, and logins by invite."""


class OutboundRecords(OutboundStore, EventLog, Protocol):
    """The outbound store and the logs it follows: the delivery engine."""


class LivenessRecords(AliveStore, AttemptIndex, Protocol):
    """Liveness marks and the open attempts: the outage credit."""
