"""The live state behind a circuit breaker: Redis while it answers; the durable
store (leases) and this process (everything else) while it does not.

Redis is for speed and coordination only; correctness (fencing, durability)
never depends on it. When it fails, the service keeps working in store-only
mode and loses nothing. This adapter never raises ``LiveStateUnavailable``.

The breaker
    ``closed``     every call goes to the primary (Redis). A call that raises
                   ``LiveStateUnavailable`` (or ``OSError``) or takes longer than
                   ``call_timeout_s`` (default 2 s, Redis's socket timeout: not
                   less, so that a busy event loop at a login burst does not
                   trip it) is a failure; ``open_after`` failures in a
                   row open the circuit. The failed call is then served by the
                   fallback, never raised.
    ``open``       leases go to the store (``LeaseStore``, shared by every
                   instance); rate limits and session idle records go to an
                   in-process ``MemoryLiveState`` (so each instance counts its own
                   hits: N instances allow up to N times a limit); notices reach
                   only this instance's subscribers.
    ``half_open``  ``retry_after_s`` after opening, the next call sends one probe
                   (``ping``) to the primary while concurrent calls stay on the
                   fallback. An answer closes the circuit; a failure keeps it
                   open for another ``retry_after_s``.
    ``state``, ``fallbacks`` (calls served by the fallback), ``trips`` (times the
    circuit opened) and ``primary_losses`` are there for /readyz and metrics.

Notices while Redis is down
    They reach only the subscribers on the instance that published them:
    cross-instance notices (takeover, extension, end of test, void) are LOST
    while the circuit is open. They are advisory. A superseded session learns
    of the takeover on its next request (the store's epoch refuses its writes
    with 409 ``session_superseded``) and a live socket on its next tick.
    Subscriptions made while the circuit was open are attached to the primary
    once it closes.

Leases stay exclusive across the switch
    Redis to store: the store does not know who held a lease in Redis. For one
        lease TTL after the first failure (until every Redis lease has lapsed),
        an acquire that would take a lease the store sees as free is refused
        (``holder=None``; the app answers 503 ``live_state_recovering`` with a
        Retry-After): its previous holder may be alive and just not have
        heartbeated yet. The holder's own heartbeat is refused in the same way;
        the app then checks the log and takes the lease back with ``force``
        (``SessionService.heartbeat``), so from then on the holder's lease is in
        the store and the store refuses any second session. A brand-new login
        during that first TTL of an outage waits too (nobody can tell it from
        a second login).
    Store to Redis: for one lease TTL, plus ``retry_after_s`` and
        ``call_timeout_s`` (the time other instances may take to close their
        circuits), after the circuit closes, an acquire must get the lease from
        both: a session that got its lease in the store during the outage still
        blocks a second login, and renewals are written to both.
    Redis losing its memory (a restart, a flush, a failover) is detected by a
        marker key that this adapter keeps in Redis and checks every
        ``marker_every_s`` (and right after the circuit closes). For one TTL after
        it was found gone, the primary's leases are treated as unknown (the same
        rule as above: a lease neither Redis nor the store knows a holder of is
        refused unless forced).
    Not covered: an instance that cannot reach Redis while others can (a
    partial network partition) takes leases in the store while the others take
    them in Redis. The epoch in the store still fences every write, so a second
    session can never overwrite the first one's answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Literal, Self, TypeVar

from quizsession.adapters.live_memory import MemoryLiveState
from quizsession.app.ports import (
    Clock,
    LeaseGrant,
    LeaseStore,
    LiveState,
    LiveStateUnavailable,
    Notice,
    Subscription,
)

T = TypeVar("T")
BreakerState = Literal["closed", "open", "half_open"]

log = logging.getLogger("quizsession.live")

#: What counts as "the primary failed" (besides a call that takes too long).
_FAILURES: tuple[type[BaseException], ...] = (LiveStateUnavailable, TimeoutError, OSError)
_QUEUE_SIZE = 256
#: The marker's lifetime in the primary (renewed long before it ends).
MARKER_TTL_S = 86_400.0


class _PrimaryDown(Exception):
    """A primary call failed (internal: never leaves this module)."""


class ResilientSubscription:
    """Notices for one attempt, merged from the primary (every instance, through
    Redis) and from this process (published here while the circuit was open)."""

    def __init__(self, owner: ResilientLiveState, attempt_id: str) -> None:
        self._owner = owner
        self.attempt_id = attempt_id
        self._queue: asyncio.Queue[Notice | None] = asyncio.Queue(maxsize=_QUEUE_SIZE)
        self._sources: list[tuple[Subscription, bool]] = []
        self._pumps: list[asyncio.Task[None]] = []
        self._ended = False
        self._closed = False

    def is_closed(self) -> bool:
        return self._closed

    @property
    def has_primary(self) -> bool:
        return any(primary for _source, primary in self._sources)

    def attach(self, source: Subscription, *, primary: bool) -> None:
        entry = (source, primary)
        self._sources.append(entry)
        task = asyncio.get_running_loop().create_task(
            self._pump(entry), name=f"quizsession-notices-{self.attempt_id}"
        )
        self._pumps.append(task)

    async def _pump(self, entry: tuple[Subscription, bool]) -> None:
        source = entry[0]
        with contextlib.suppress(Exception):  # a failing source just stops
            async for notice in source:
                self.deliver(notice)
        if entry in self._sources and not self._ended:
            # The source ended on its own (its live state was closed): forget it
            # so that a primary one can be attached again.
            self._sources.remove(entry)

    def deliver(self, notice: Notice) -> None:
        """Queue a notice; a subscriber that lags by a full queue loses it
        (notices are advisory, never the truth)."""
        if not self._ended and not self._queue.full():
            self._queue.put_nowait(notice)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Notice:
        # A method, not an async generator: a reader that gives up waiting
        # (``wait_for(anext(sub), t)``) can simply read again later.
        item = await self._queue.get()
        if item is None:
            self._queue.put_nowait(None)  # every later read ends too
            raise StopAsyncIteration
        return item

    def end(self) -> None:
        """End iteration (room is made for the end marker if the queue is full)."""
        if self._ended:
            return
        self._ended = True
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def stop_pumps(self) -> None:
        pumps, self._pumps = self._pumps, []
        for task in pumps:
            task.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.end()
        self._owner._forget(self)
        await self.stop_pumps()
        sources, self._sources = self._sources, []
        for source, _primary in sources:
            await self._owner._close_source(source)


class ResilientLiveState:
    """``LiveState`` on ``primary`` (Redis) with a circuit breaker, falling back
    to ``store`` for leases and to this process for the rest (see the module's
    documentation)."""

    def __init__(
        self,
        primary: LiveState,
        store: LeaseStore,
        clock: Clock,
        *,
        open_after: int = 1,
        retry_after_s: float = 2.0,
        call_timeout_s: float = 2.0,
        lease_ttl_s: float = 15.0,
        marker_every_s: float = 1.0,
    ) -> None:
        if open_after < 1:
            raise ValueError("open_after must be at least 1")
        self._primary = primary
        self._store = store
        self._clock = clock
        self._local = MemoryLiveState(clock)
        self._open_after = open_after
        self._retry_after_s = retry_after_s
        self._call_timeout_s = call_timeout_s
        self._marker_every_s = marker_every_s
        #: The longest lease TTL seen (at least the default): how long a lease
        #: granted by someone else may still be running.
        self._max_ttl = lease_ttl_s
        self._state: BreakerState = "closed"
        self._failures = 0  # in a row
        self._opened_at = 0.0  # monotonic
        # Wall-clock deadlines (leases in the store are on the wall clock).
        self._store_blind_until = -math.inf  # fresh store leases refused until then
        self._primary_blind_until = -math.inf  # fresh primary leases refused until then
        self._check_store_until = -math.inf  # primary acquires also need the store's
        self._store_written_until = -math.inf  # a lease we wrote to the store may live
        self._marker_key = f"quizsession-live-marker:{uuid.uuid4().hex}"
        self._marker_set = False
        self._marker_due = 0.0  # monotonic
        self._subs: set[ResilientSubscription] = set()
        self._reattach: asyncio.Task[None] | None = None
        self._fallbacks = 0
        self._trips = 0
        self._primary_losses = 0
        self._last_error: str | None = None

    # -- observability ---------------------------------------------------------------

    @property
    def state(self) -> BreakerState:
        """``closed`` (on Redis), ``open`` (store-only) or ``half_open`` (probing)."""
        return self._state

    @property
    def fallbacks(self) -> int:
        """Calls served by the fallback since the start."""
        return self._fallbacks

    @property
    def trips(self) -> int:
        """How many times the circuit opened."""
        return self._trips

    @property
    def primary_losses(self) -> int:
        """How many times the primary was found to have lost its data."""
        return self._primary_losses

    @property
    def last_error(self) -> str | None:
        return self._last_error

    # -- lifecycle -------------------------------------------------------------------

    async def open(self) -> None:
        await self._local.open()
        try:
            async with asyncio.timeout(self._call_timeout_s):
                await self._primary.open()
        except _FAILURES as exc:
            self._failed(exc)
            return
        await self._maintain_marker()

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
        for sub in subs:
            await sub.stop_pumps()
        with contextlib.suppress(*_FAILURES):
            await self._primary.close()
        await self._local.close()

    async def ping(self) -> bool:
        """True: this live state always serves (degraded while ``state`` is not
        ``closed``). Also probes the primary: a failure opens the circuit, an
        answer after ``retry_after_s`` closes it."""
        if await self._primary_ready():
            try:
                await self._call(self._ping_primary)
            except _PrimaryDown as exc:
                self._failed(exc)
        return True

    # -- the breaker -----------------------------------------------------------------

    async def _ping_primary(self) -> bool:
        if not await self._primary.ping():
            raise LiveStateUnavailable("the primary does not answer PING")
        return True

    async def _call(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run one primary call with the timeout; failures become ``_PrimaryDown``."""
        try:
            async with asyncio.timeout(self._call_timeout_s):
                result = await make()
        except _FAILURES as exc:
            raise _PrimaryDown(f"{type(exc).__name__}: {exc}") from exc
        except Exception as exc:
            # Anything else the primary's driver throws is a failure of the
            # primary too: this adapter never lets the live state break a request.
            log.warning("live state primary failed unexpectedly: %r", exc)
            raise _PrimaryDown(f"{type(exc).__name__}: {exc}") from exc
        self._failures = 0
        return result

    def _failed(self, exc: BaseException) -> None:
        self._failures += 1
        self._last_error = str(exc) or type(exc).__name__
        if self._state != "closed":
            return
        if self._failures == 1:
            # From now on the fallback may be used, and the store does not know
            # who held leases in the primary: until they have all lapsed, a lease
            # the store sees as free is not handed out.
            self._store_blind_until = max(
                self._store_blind_until, self._clock.now() + self._max_ttl
            )
        if self._failures >= self._open_after:
            self._state = "open"
            self._opened_at = self._clock.monotonic()
            self._trips += 1
            log.warning(
                "live state unavailable (%s): store-only mode; leases in the store, "
                "rate limits and notices in this process; retrying every %.1fs",
                self._last_error,
                self._retry_after_s,
            )

    async def _primary_ready(self) -> bool:
        """Whether this call goes to the primary (probing it first when the
        circuit has been open for ``retry_after_s``)."""
        if self._state == "closed":
            if self._clock.monotonic() >= self._marker_due:
                await self._maintain_marker()
            return self._state == "closed"
        if self._state == "half_open":
            return False  # one probe at a time; the others use the fallback
        if self._clock.monotonic() - self._opened_at < self._retry_after_s:
            return False
        self._state = "half_open"
        try:
            await self._call(self._ping_primary)
        except _PrimaryDown as exc:
            self._last_error = str(exc)
            self._state = "open"
            self._opened_at = self._clock.monotonic()
            return False
        self._state = "closed"
        self._failures = 0
        # Leases taken in the store during the outage (here or on instances that
        # close their circuit a little later) must still be honoured.
        window = self._max_ttl + self._retry_after_s + self._call_timeout_s
        self._check_store_until = max(self._check_store_until, self._clock.now() + window)
        log.warning(
            "live state available again: circuit closed (leases checked in the store "
            "too for %.0fs)",
            window,
        )
        await self._maintain_marker()  # did the primary lose its data meanwhile?
        if self._state == "closed":
            self._schedule_reattach()
        return self._state == "closed"

    async def _maintain_marker(self) -> None:
        """Keep a key of this instance in the primary; finding it gone means the
        primary lost its data (and with it the leases it held)."""
        self._marker_due = self._clock.monotonic() + self._marker_every_s
        key = self._marker_key
        try:
            if self._marker_set:
                held = await self._call(partial(self._primary.lease_holder, key))
                if held.holder == key and held.expires_in > MARKER_TTL_S / 2:
                    return
                if held.holder != key:
                    self._primary_forgot()
            await self._call(
                partial(self._primary.acquire_lease, key, key, MARKER_TTL_S, force=True)
            )
            self._marker_set = True
        except _PrimaryDown as exc:
            self._failed(exc)

    def _primary_forgot(self) -> None:
        self._primary_losses += 1
        self._primary_blind_until = max(
            self._primary_blind_until, self._clock.now() + self._max_ttl
        )
        log.warning(
            "the live state lost its data (restarted?): leases nobody is known to hold "
            "are refused for %.0fs",
            self._max_ttl,
        )

    def _schedule_reattach(self) -> None:
        if any(not sub.has_primary for sub in self._subs) and (
            self._reattach is None or self._reattach.done()
        ):
            self._reattach = asyncio.get_running_loop().create_task(
                self._reattach_all(), name="quizsession-live-reattach"
            )

    async def _reattach_all(self) -> None:
        """Give subscriptions made while the circuit was open their primary part."""
        for sub in list(self._subs):
            if sub.is_closed() or sub.has_primary:
                continue
            if self._state != "closed":
                return
            try:
                source = await self._call(partial(self._primary.subscribe, sub.attempt_id))
            except _PrimaryDown as exc:
                self._failed(exc)
                return
            if sub.is_closed():  # closed while it was being attached
                await self._close_source(source)
            else:
                sub.attach(source, primary=True)

    async def _close_source(self, source: Subscription) -> None:
        with contextlib.suppress(*_FAILURES):
            async with asyncio.timeout(self._call_timeout_s):
                await source.close()

    def _forget(self, sub: ResilientSubscription) -> None:
        self._subs.discard(sub)

    async def _route(
        self, primary: Callable[[], Awaitable[T]], fallback: Callable[[], Awaitable[T]]
    ) -> T:
        if await self._primary_ready():
            try:
                return await self._call(primary)
            except _PrimaryDown as exc:
                self._failed(exc)
        self._fallbacks += 1
        return await fallback()

    # -- leases ----------------------------------------------------------------------

    @staticmethod
    def _unknown(until: float, now: float) -> LeaseGrant:
        """A refusal while nobody can tell whether a session holds the lease."""
        return LeaseGrant(acquired=False, holder=None, expires_in=max(until - now, 0.001))

    def _wrote_store(self, now: float, ttl_s: float) -> None:
        self._store_written_until = max(self._store_written_until, now + ttl_s)

    async def acquire_lease(
        self, attempt_id: str, session_id: str, ttl_s: float, *, force: bool = False
    ) -> LeaseGrant:
        self._max_ttl = max(self._max_ttl, ttl_s)
        if await self._primary_ready():
            try:
                return await self._acquire_in_primary(attempt_id, session_id, ttl_s, force)
            except _PrimaryDown as exc:
                self._failed(exc)
        self._fallbacks += 1
        return await self._acquire_in_store(attempt_id, session_id, ttl_s, force)

    async def _acquire_in_primary(
        self, attempt_id: str, session_id: str, ttl_s: float, force: bool
    ) -> LeaseGrant:
        now = self._clock.now()
        blind = not force and now < self._primary_blind_until
        if not blind and now >= self._check_store_until:
            return await self._call(
                partial(self._primary.acquire_lease, attempt_id, session_id, ttl_s, force=force)
            )
        if blind:
            in_primary = await self._call(partial(self._primary.lease_holder, attempt_id))
            in_store = await self._store.lease_holder(attempt_id, now)
            if in_primary.holder is None and in_store.holder is None:
                return self._unknown(self._primary_blind_until, now)
        grant = await self._call(
            partial(self._primary.acquire_lease, attempt_id, session_id, ttl_s, force=force)
        )
        if not grant.acquired:
            return grant
        stored = await self._store.acquire_lease(attempt_id, session_id, ttl_s, now, force=force)
        if stored.acquired:
            self._wrote_store(now, ttl_s)
            return grant
        # The store's lease is another session's (taken during the outage): it
        # wins, and the primary's is given back.
        await self._call(partial(self._primary.release_lease, attempt_id, session_id))
        return stored

    async def _acquire_in_store(
        self, attempt_id: str, session_id: str, ttl_s: float, force: bool
    ) -> LeaseGrant:
        now = self._clock.now()
        if not force and now < self._store_blind_until:
            current = await self._store.lease_holder(attempt_id, now)
            if current.holder is None:
                return self._unknown(self._store_blind_until, now)
        grant = await self._store.acquire_lease(attempt_id, session_id, ttl_s, now, force=force)
        if grant.acquired:
            self._wrote_store(now, ttl_s)
            self._check_store_until = max(self._check_store_until, now + ttl_s)
        return grant

    async def release_lease(self, attempt_id: str, session_id: str) -> None:
        if await self._primary_ready():
            try:
                await self._call(partial(self._primary.release_lease, attempt_id, session_id))
            except _PrimaryDown as exc:
                self._failed(exc)
            else:
                if self._clock.now() < self._store_written_until:
                    await self._store.release_lease(attempt_id, session_id)
                return
        self._fallbacks += 1
        await self._store.release_lease(attempt_id, session_id)

    async def lease_holder(self, attempt_id: str) -> LeaseGrant:
        if await self._primary_ready():
            try:
                held = await self._call(partial(self._primary.lease_holder, attempt_id))
            except _PrimaryDown as exc:
                self._failed(exc)
            else:
                now = self._clock.now()
                if held.holder is None and now < self._check_store_until:
                    return await self._store.lease_holder(attempt_id, now)
                return held
        self._fallbacks += 1
        return await self._store.lease_holder(attempt_id, self._clock.now())

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
        sub.attach(await self._local.subscribe(attempt_id), primary=False)
        self._subs.add(sub)
        if await self._primary_ready():
            try:
                source = await self._call(partial(self._primary.subscribe, attempt_id))
            except _PrimaryDown as exc:
                self._failed(exc)
            else:
                sub.attach(source, primary=True)
                return sub
        self._fallbacks += 1
        return sub
