"""Attempt leases handed over between the primary (Redis) and the durable store,
so that a lease stays exclusive across every switch, on every instance: one
that saw the outage, and one that started (or reconnected) after it.

Redis to store
    The store does not know who held a lease in Redis. For one lease TTL after
    an instance's first failure (until every Redis lease has lapsed), an acquire
    in the store that would take a lease the store sees as free is refused
    (``holder=None``; the app answers 503 ``live_state_recovering`` with a
    Retry-After): its previous holder may be alive and not have heartbeated yet.
    The holder's own heartbeat is refused in the same way; the app then checks
    the log and takes the lease back with ``force`` (``SessionService.heartbeat``),
    so from then on the store refuses any second session. A brand-new login in
    that first TTL waits too (nobody can tell it from a second login).
Store to Redis
    An instance serving leases from the store first writes a *store-mode record*
    to the store (a reserved lease row, ``STORE_MODE_RECORD``) that lives at least
    as long as any lease it grants there. Every instance reads it when it starts
    and every ``check_every_s`` while its circuit is closed: while it lives, an
    acquire in Redis must get the lease from both (a session that got its lease
    in the store still blocks a second login) and renewals are written to both.
    An instance that closes its circuit does the same for one lease TTL, plus
    ``retry_after_s`` and ``call_timeout_s`` (the time others may take to close
    theirs), whatever the record says.
Redis losing its memory (a restart, a flush, a failover)
    Redis holds a *generation* key (a random id, set if absent). An instance that
    finds it changed (checked every ``check_every_s`` and right after its circuit
    closes) knows Redis lost its leases. Instances using a generation record it
    in the store (``GENERATION_RECORD``, refreshed every ``record_every_s``, living
    one TTL and a little longer), so an instance that starts after the loss and
    never saw the old generation finds the store's record naming another one.
    Either way, until every lease granted in the lost generation has lapsed, an
    acquire of a lease that neither Redis nor the store knows a holder of is
    refused unless forced (the same rule as above), and the store is consulted.
Not covered
    An instance that cannot reach Redis while others can (a partial network
    partition) takes leases in the store while the others take them in Redis,
    until they read its store-mode record (within ``check_every_s``). The
    epoch in the store still fences every write, so a second session can never
    overwrite the first one's answers.
"""

from __future__ import annotations

import logging
import math
import uuid
from functools import partial

from quizsession.adapters.live.breaker import CircuitBreaker, PrimaryDown
from quizsession.adapters.live.primary import Primary
from quizsession.app.ports import Clock, LeaseGrant, LeaseStore, StoreError

log = logging.getLogger("quizsession.live")

#: Reserved lease ids in the store (attempt ids never start with "~").
STORE_MODE_RECORD = "~live:store-mode"
GENERATION_RECORD = "~live:redis-generation"
#: The generation key in Redis (kept through the primary's lease calls).
GENERATION_KEY = "quizsession-live-generation"
GENERATION_TTL_S = 86_400.0


def _began(holder: str | None, now: float) -> float:
    """The start of a store-mode period, as its record's holder tells it."""
    if holder is None:
        return now
    try:
        return min(float(holder), now)
    except ValueError:
        return now


def unknown(until: float, now: float) -> LeaseGrant:
    """A refusal while nobody can tell whether a session holds the lease."""
    return LeaseGrant(acquired=False, holder=None, expires_in=max(until - now, 0.001))


class LeaseHandover:
    """The lease half of ``ResilientLiveState``: which of Redis and the store to
    ask, and when both. Wall-clock deadlines throughout (store leases are on the
    wall clock); primary calls go through ``breaker.call`` (``PrimaryDown``)."""

    def __init__(
        self,
        primary: Primary,
        store: LeaseStore,
        clock: Clock,
        breaker: CircuitBreaker,
        *,
        lease_ttl_s: float,
        check_every_s: float,
        record_every_s: float = 5.0,
    ) -> None:
        self._primary = primary
        self._store = store
        self._clock = clock
        self._breaker = breaker
        self._check_every_s = check_every_s
        self._record_every_s = record_every_s
        self._instance = uuid.uuid4().hex
        #: The longest lease TTL seen (at least the default): how long a lease
        #: granted by someone else may still be running.
        self.max_ttl = lease_ttl_s
        self.store_blind_until = -math.inf  # fresh store leases refused until then
        self.primary_blind_until = -math.inf  # fresh primary leases refused until then
        self.check_store_until = -math.inf  # primary acquires also need the store's
        self.store_written_until = -math.inf  # a lease we wrote to the store may live
        self.primary_losses = 0
        self._generation: str | None = None
        self._candidate = uuid.uuid4().hex
        self._check_due = -math.inf  # monotonic
        self._recorded_at = -math.inf  # monotonic: our last generation record
        self._store_mode_until = -math.inf  # the store-mode record as we last saw it
        self._store_mode_began = -math.inf  # when its period began

    def observe_ttl(self, ttl_s: float) -> None:
        self.max_ttl = max(self.max_ttl, ttl_s)

    @property
    def _window(self) -> float:
        """How long a record must outlive its last refresh."""
        return self.max_ttl + self._record_every_s + self._check_every_s

    # -- switching -------------------------------------------------------------------

    def primary_failed(self) -> None:
        """The first failure in a row: from now on the fallback may be used."""
        now = self._clock.now()
        self.store_blind_until = max(self.store_blind_until, now + self.max_ttl)

    def primary_back(self) -> float:
        """The circuit closed: leases taken in the store during the outage (here
        or on instances that close their circuit a little later) are honoured."""
        window = self.max_ttl + self._breaker.retry_after_s + self._breaker.call_timeout_s
        self.check_store_until = max(self.check_store_until, self._clock.now() + window)
        self._check_due = -math.inf  # check the generation at once
        return window

    def check_due(self) -> bool:
        return self._clock.monotonic() >= self._check_due

    async def check(self) -> None:
        """Read the primary's generation and the store's records (raises
        ``PrimaryDown`` when the primary fails)."""
        self._check_due = self._clock.monotonic() + self._check_every_s
        call = self._breaker.call
        grant = await call(
            partial(self._primary.acquire_lease, GENERATION_KEY, self._candidate, GENERATION_TTL_S)
        )
        generation = grant.holder or self._candidate
        if grant.acquired and generation == self._candidate:
            self._candidate = uuid.uuid4().hex  # ours is set: keep a fresh one ready
        elif grant.expires_in < GENERATION_TTL_S / 2:
            await call(
                partial(self._primary.acquire_lease, GENERATION_KEY, generation, GENERATION_TTL_S)
            )
        now = self._clock.now()
        try:
            if self._generation is None:
                # First look (a fresh start): did Redis lose a generation that
                # some instance was using within the last TTL?
                recorded = await self._store.lease_holder(GENERATION_RECORD, now)
                if recorded.holder is not None and recorded.holder != generation:
                    self._primary_forgot(now + recorded.expires_in)
            elif generation != self._generation:
                self._primary_forgot(now + self.max_ttl)
            self._generation = generation
            mode = await self._store.lease_holder(STORE_MODE_RECORD, now)
            if mode.holder is not None:
                self.check_store_until = max(self.check_store_until, now + mode.expires_in)
            if (
                now >= self.primary_blind_until
                and self._clock.monotonic() - self._recorded_at >= self._record_every_s
            ):
                await self._store.acquire_lease(
                    GENERATION_RECORD, generation, self._window, now, force=True
                )
                self._recorded_at = self._clock.monotonic()
        except StoreError as exc:
            # Nothing can be told about the store's leases: assume the worst.
            log.warning("live state: the store's lease records cannot be read: %r", exc)
            until = now + self._window
            self.check_store_until = max(self.check_store_until, until)
            if self._generation is None:
                self.primary_blind_until = max(self.primary_blind_until, until)

    def _primary_forgot(self, until: float) -> None:
        self.primary_losses += 1
        self.primary_blind_until = max(self.primary_blind_until, until)
        log.warning(
            "the live state lost its data (restarted?): leases nobody is known to hold "
            "are refused for %.0fs",
            until - self._clock.now(),
        )

    async def announce_store_mode(self) -> None:
        """Before serving anything from the store: make sure every instance can
        learn that leases live in the store (at least as long as any we grant).

        The record's holder is the wall time its period began: instances whose
        circuit is closed may renew leases in Redis alone until they read it
        (within ``check_every_s``, plus a call's time), so a lease nobody holds in
        the store is not handed out from the store before one TTL after that."""
        now = self._clock.now()
        if self._store_mode_until >= now + self.max_ttl:
            return
        until = now + self.max_ttl + self._check_every_s
        current = await self._store.lease_holder(STORE_MODE_RECORD, now)
        began = _began(current.holder, now)
        if current.holder is not None and now + current.expires_in >= until:
            self._store_mode_until = now + current.expires_in  # another's, longer
        else:
            await self._store.acquire_lease(
                STORE_MODE_RECORD, repr(began), until - now, now, force=True
            )
            self._store_mode_until = until
        self._store_mode_began = began

    @property
    def _store_blind_until(self) -> float:
        learn = self._check_every_s + self._breaker.call_timeout_s
        return max(self.store_blind_until, self._store_mode_began + self.max_ttl + learn)

    # -- leases ----------------------------------------------------------------------

    def _wrote_store(self, now: float, ttl_s: float) -> None:
        self.store_written_until = max(self.store_written_until, now + ttl_s)

    async def acquire_in_primary(
        self,
        attempt_id: str,
        session_id: str,
        ttl_s: float,
        force: bool,
        *,
        again: bool = False,
        activity_ttl_s: float | None = None,
    ) -> LeaseGrant:
        call = self._breaker.call
        now = self._clock.now()
        blind = not force and now < self.primary_blind_until
        both = now < self.check_store_until or now < self.primary_blind_until
        if blind:
            in_primary = await call(partial(self._primary.lease_holder, attempt_id))
            in_store = await self._store.lease_holder(attempt_id, now)
            if in_primary.holder is None and in_store.holder is None:
                return unknown(self.primary_blind_until, now)
        checked = await call(
            partial(
                self._primary.acquire_lease_checked,
                attempt_id,
                session_id,
                ttl_s,
                force=force,
                generation_id=GENERATION_KEY,
                activity_ttl_s=activity_ttl_s,
            )
        )
        grant = checked.grant
        if checked.generation is None or checked.generation != self._generation:
            # Redis lost its data since the last check: the grant may be one an
            # empty Redis handed out. Give it back, look again, decide again.
            if grant.acquired:
                await call(partial(self._primary.release_lease, attempt_id, session_id))
            if again:
                raise PrimaryDown("the primary keeps losing its data")
            await self.check()
            return await self.acquire_in_primary(
                attempt_id, session_id, ttl_s, force, again=True, activity_ttl_s=activity_ttl_s
            )
        if not grant.acquired:
            return grant
        if both:
            stored = await self._store.acquire_lease(
                attempt_id, session_id, ttl_s, now, force=force
            )
            if stored.acquired:
                self._wrote_store(now, ttl_s)
                return grant
        elif checked.renewal or force:
            return grant
        else:
            # A fresh lease: an instance that serves from the store (its circuit
            # open while this one's is closed) may have granted it there before
            # this instance reads its store-mode record.
            stored = await self._store.lease_holder(attempt_id, now)
            if stored.holder is None or stored.holder == session_id:
                return grant
        # The store's lease is another session's (taken during the outage): it
        # wins, and the primary's is given back.
        await call(partial(self._primary.release_lease, attempt_id, session_id))
        return LeaseGrant(acquired=False, holder=stored.holder, expires_in=stored.expires_in)

    async def acquire_in_store(
        self, attempt_id: str, session_id: str, ttl_s: float, force: bool
    ) -> LeaseGrant:
        await self.announce_store_mode()
        now = self._clock.now()
        blind_until = self._store_blind_until
        if not force and now < blind_until:
            current = await self._store.lease_holder(attempt_id, now)
            if current.holder is None:
                return unknown(blind_until, now)
        grant = await self._store.acquire_lease(attempt_id, session_id, ttl_s, now, force=force)
        if grant.acquired:
            self._wrote_store(now, ttl_s)
            self.check_store_until = max(self.check_store_until, now + ttl_s)
        return grant

    async def release_in_primary(self, attempt_id: str, session_id: str) -> None:
        await self._breaker.call(partial(self._primary.release_lease, attempt_id, session_id))
        if self._clock.now() < self.store_written_until:
            await self._store.release_lease(attempt_id, session_id)

    async def release_in_store(self, attempt_id: str, session_id: str) -> None:
        await self._store.release_lease(attempt_id, session_id)

    async def holder_in_primary(self, attempt_id: str) -> LeaseGrant:
        held = await self._breaker.call(partial(self._primary.lease_holder, attempt_id))
        now = self._clock.now()
        if held.holder is None and (now < self.check_store_until or now < self.primary_blind_until):
            return await self._store.lease_holder(attempt_id, now)
        return held

    async def holder_in_store(self, attempt_id: str) -> LeaseGrant:
        return await self._store.lease_holder(attempt_id, self._clock.now())
