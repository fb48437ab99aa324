"""The live state behind a circuit breaker: Redis while it answers; the durable
store (leases) and this process (everything else) while it does not.

Redis is for speed and coordination only; correctness (fencing, durability)
never depends on it. When it fails, the service keeps working in store-only
mode and loses nothing. This adapter never raises ``LiveStateUnavailable``.

- The breaker (``breaker.py``): ``closed`` on Redis, ``open`` (store-only) after
  ``open_after`` failures in a row, ``half_open`` while one call probes Redis
  ``retry_after_s`` after opening. ``state``, ``fallbacks`` (calls served by the
  fallback), ``trips`` (times the circuit opened) and ``primary_losses`` are there
  for /readyz and metrics.
- Leases (``handover.py``): in the store (``LeaseStore``, shared by every
  instance) while the circuit is open; handed over in both directions so that a
  lease stays exclusive across every switch, on every instance, including one
  that starts after Redis came back (empty or not).
- Rate limits and session idle records while open: an in-process
  ``MemoryLiveState`` (each instance counts its own hits: N instances allow up
  to N times a limit).
- Notices while open reach only the subscribers on the instance that published
  them: cross-instance notices (takeover, extension, end of test, void) are LOST
  while the circuit is open. They are advisory. A superseded session learns of
  the takeover on its next request (the store's epoch refuses its writes with
  409 ``session_superseded``) and a live socket on its next tick. Each
  subscription is one inbox that both sources (this process, Redis) deliver
  into; one made while the circuit was open is attached to Redis once it closes.
  Its ``continuity`` is None while notices may be lost (the circuit is not
  closed, or it is not attached to Redis): a live socket then reads the attempt
  from the store for each tick and ping instead of trusting its cached state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

from quizsession.adapters.live.breaker import (
    FAILURES,
    BreakerState,
    CircuitBreaker,
    PrimaryDown,
)
from quizsession.adapters.live.handover import LeaseHandover
from quizsession.adapters.live.inbox import NoticeInbox
from quizsession.adapters.live.memory import MemoryLiveState
from quizsession.adapters.live.primary import Primary
from quizsession.app.ports import (
    Clock,
    LeaseGrant,
    LeaseStore,
    LiveStateUnavailable,
    Notice,
    StoreError,
)

T = TypeVar("T")

log = logging.getLogger("quizsession.live")


class ResilientSubscription(NoticeInbox):
    """Notices for one attempt: one inbox, fed by this process's fan-out (always)
    and by Redis's (every instance; while attached)."""

    __slots__ = ("_owner", "attempt_id", "on_primary")

    def __init__(self, owner: ResilientLiveState, attempt_id: str) -> None:
        super().__init__()
        self._owner = owner
        self.attempt_id = attempt_id
        self.on_primary = False

    @property
    def continuity(self) -> int | None:
        """None unless the notices come from every instance: attached to the
        primary, the circuit closed (and the primary's own reading unbroken)."""
        if not self.on_primary or not self._owner._breaker.is_closed:
            return None
        return super().continuity

    async def close(self) -> None:
        if self.ended:
            return
        self.end()
        await self._owner._unsubscribe(self)


class ResilientLiveState:
    """``LiveState`` on ``primary`` (Redis) with a circuit breaker, falling back
    to ``store`` for leases and to this process for the rest (see the module's
    documentation)."""

    def __init__(
        self,
        primary: Primary,
        store: LeaseStore,
        clock: Clock,
        *,
        open_after: int = 1,
        retry_after_s: float = 2.0,
        call_timeout_s: float = 2.0,
        lease_ttl_s: float = 15.0,
        marker_every_s: float = 1.0,
        record_every_s: float = 5.0,
    ) -> None:
        self._primary = primary
        self._clock = clock
        self._local = MemoryLiveState(clock)
        self._breaker = CircuitBreaker(
            clock, open_after=open_after, retry_after_s=retry_after_s, call_timeout_s=call_timeout_s
        )
        self._leases = LeaseHandover(
            primary,
            store,
            clock,
            self._breaker,
            lease_ttl_s=lease_ttl_s,
            check_every_s=marker_every_s,
            record_every_s=record_every_s,
        )
        self._subs: set[ResilientSubscription] = set()
        self._reattach: asyncio.Task[None] | None = None
        self._fallbacks = 0

    # -- observability ---------------------------------------------------------------

    @property
    def process_local(self) -> bool:
        """False: leases and notices are shared by every instance (through Redis,
        or the store while Redis is down)."""
        return False

    @property
    def state(self) -> BreakerState:
        """``closed`` (on Redis), ``open`` (store-only) or ``half_open`` (probing)."""
        return self._breaker.state

    @property
    def fallbacks(self) -> int:
        """Calls served by the fallback since the start."""
        return self._fallbacks

    @property
    def trips(self) -> int:
        """How many times the circuit opened."""
        return self._breaker.trips

    @property
    def primary_losses(self) -> int:
        """How many times the primary was found to have lost its data."""
        return self._leases.primary_losses

    @property
    def last_error(self) -> str | None:
        return self._breaker.last_error

    # -- lifecycle -------------------------------------------------------------------

    async def open(self) -> None:
        await self._local.open()
        try:
            await self._breaker.call(self._primary.open)
        except PrimaryDown as exc:
            self._failed(exc)
            await self._announce()
            return
        await self._check()

    async def close(self) -> None:
        task, self._reattach = self._reattach, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        subs = list(self._subs)
        self._subs.clear()
        for sub in subs:
            sub.end()
        with contextlib.suppress(*FAILURES):
            await self._primary.close()
        await self._local.close()

    async def ping(self) -> bool:
        """True: this live state always serves (degraded while ``state`` is not
        ``closed``). Also probes the primary: a failure opens the circuit, an
        answer after ``retry_after_s`` closes it."""
        if await self._primary_ready():
            try:
                await self._breaker.call(self._ping_primary)
            except PrimaryDown as exc:
                self._failed(exc)
        if not self._breaker.is_closed:
            await self._announce()
        return True

    # -- the breaker -----------------------------------------------------------------

    async def _ping_primary(self) -> bool:
        if not await self._primary.ping():
            raise LiveStateUnavailable("the primary does not answer PING")
        return True

    def _failed(self, exc: BaseException) -> None:
        first, _opened = self._breaker.failed(exc)
        if first:
            # The store does not know who held leases in the primary.
            self._leases.primary_failed()

    async def _check(self) -> None:
        try:
            await self._leases.check()
        except PrimaryDown as exc:
            self._failed(exc)

    async def _primary_ready(self) -> bool:
        """Whether this call goes to the primary (probing it first when the
        circuit has been open for ``retry_after_s``)."""
        breaker = self._breaker
        if breaker.state == "closed":
            if self._leases.check_due():
                await self._check()
            return breaker.is_closed
        if not breaker.should_probe():
            return False  # open, or another call is probing: use the fallback
        try:
            await breaker.call(self._ping_primary)
        except PrimaryDown as exc:
            breaker.probe_failed(exc)
            return False
        breaker.close()
        window = self._leases.primary_back()
        log.warning(
            "live state available again: circuit closed (leases checked in the store "
            "too for %.0fs)",
            window,
        )
        await self._check()  # did the primary lose its data meanwhile?
        if breaker.is_closed:
            self._schedule_reattach()
        return breaker.is_closed

    async def _fallback(self) -> None:
        self._fallbacks += 1
        await self._announce()

    async def _announce(self) -> None:
        """Store-only mode: let every instance know (``LeaseHandover``)."""
        try:
            await self._leases.announce_store_mode()
        except StoreError as exc:  # a lease call will say so; the rest can go on
            log.warning("live state: the store-mode record cannot be written: %r", exc)

    async def _route(
        self, primary: Callable[[], Awaitable[T]], fallback: Callable[[], Awaitable[T]]
    ) -> T:
        if await self._primary_ready():
            try:
                return await self._breaker.call(primary)
            except PrimaryDown as exc:
                self._failed(exc)
        await self._fallback()
        return await fallback()

    # -- leases ----------------------------------------------------------------------

    async def acquire_lease(
        self,
        attempt_id: str,
        session_id: str,
        ttl_s: float,
        *,
        force: bool = False,
        activity_ttl_s: float | None = None,
    ) -> LeaseGrant:
        self._leases.observe_ttl(ttl_s)
        if await self._primary_ready():
            try:
                return await self._leases.acquire_in_primary(
                    attempt_id, session_id, ttl_s, force, activity_ttl_s=activity_ttl_s
                )
            except PrimaryDown as exc:
                self._failed(exc)
        await self._fallback()
        grant = await self._leases.acquire_in_store(attempt_id, session_id, ttl_s, force)
        if grant.acquired and activity_ttl_s is not None:
            await self._local.touch_session(session_id, activity_ttl_s)
        return grant

    async def release_lease(self, attempt_id: str, session_id: str) -> None:
        if await self._primary_ready():
            try:
                await self._leases.release_in_primary(attempt_id, session_id)
            except PrimaryDown as exc:
                self._failed(exc)
            else:
                return
        await self._fallback()
        await self._leases.release_in_store(attempt_id, session_id)

    async def lease_holder(self, attempt_id: str) -> LeaseGrant:
        if await self._primary_ready():
            try:
                return await self._leases.holder_in_primary(attempt_id)
            except PrimaryDown as exc:
                self._failed(exc)
        await self._fallback()
        return await self._leases.holder_in_store(attempt_id)

    # -- sessions, limits, notices ---------------------------------------------------

    async def touch_session(self, session_id: str, ttl_s: float) -> None:
        await self._route(
            partial(self._primary.touch_session, session_id, ttl_s),
            partial(self._local.touch_session, session_id, ttl_s),
        )

    async def session_seen(self, session_id: str) -> bool | None:
        return await self._route(
            partial(self._primary.session_seen, session_id),
            partial(self._local.session_seen, session_id),
        )

    async def hit(self, key: str, limit: int, per_seconds: int) -> bool:
        return await self._route(
            partial(self._primary.hit, key, limit, per_seconds),
            partial(self._local.hit, key, limit, per_seconds),
        )

    async def exhausted(self, key: str, limit: int, per_seconds: int) -> bool:
        return await self._route(
            partial(self._primary.exhausted, key, limit, per_seconds),
            partial(self._local.exhausted, key, limit, per_seconds),
        )

    async def publish(self, notice: Notice) -> None:
        """Through the primary (every instance); while it is down, to this
        instance's subscribers only."""
        await self._route(
            partial(self._primary.publish, notice), partial(self._local.publish, notice)
        )

    async def subscribe(self, attempt_id: str) -> ResilientSubscription:
        sub = ResilientSubscription(self, attempt_id)
        await self._local.attach(attempt_id, sub)
        self._subs.add(sub)
        if await self._primary_ready():
            try:
                await self._breaker.call(partial(self._primary.attach, attempt_id, sub))
            except PrimaryDown as exc:
                self._failed(exc)
            else:
                sub.on_primary = True
                return sub
        await self._fallback()
        return sub

    async def _unsubscribe(self, sub: ResilientSubscription) -> None:
        self._subs.discard(sub)
        await self._local.detach(sub.attempt_id, sub)
        if sub.on_primary:
            sub.on_primary = False
            with contextlib.suppress(PrimaryDown):
                await self._breaker.call(partial(self._primary.detach, sub.attempt_id, sub))

    def _schedule_reattach(self) -> None:
        if any(not sub.on_primary for sub in self._subs) and (
            self._reattach is None or self._reattach.done()
        ):
            self._reattach = asyncio.get_running_loop().create_task(
                self._reattach_all(), name="quizsession-live-reattach"
            )

    async def _reattach_all(self) -> None:
        """Attach subscriptions made while the circuit was open to the primary."""
        for sub in list(self._subs):
            if sub.ended or sub.on_primary:
                continue
            if not self._breaker.is_closed:
                return
            try:
                await self._breaker.call(partial(self._primary.attach, sub.attempt_id, sub))
            except PrimaryDown as exc:
                self._failed(exc)
                return
            if sub not in self._subs:  # closed while it was being attached
                with contextlib.suppress(PrimaryDown):
                    await self._breaker.call(partial(self._primary.detach, sub.attempt_id, sub))
            else:
                sub.on_primary = True
