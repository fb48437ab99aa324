"""Fakes for the resilient live state's tests: a primary that fails like Redis
(down, hanging, restarted empty) and a rig of instances sharing it and a store,
on a fake clock."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from quizsession.adapters.live.inbox import NoticeSink
from quizsession.adapters.live.memory import MemoryLiveState
from quizsession.adapters.live.primary import CheckedGrant
from quizsession.adapters.live.resilient import ResilientLiveState
from quizsession.adapters.store.memory import MemoryStore
from quizsession.app.clock import FakeClock
from quizsession.app.ports import LeaseGrant, LiveStateUnavailable, Notice

TTL = 15.0
RETRY = 2.0
#: check_every_s + call_timeout_s: how long instances whose circuit is closed may
#: renew leases in Redis alone before they learn that another serves from the
#: store; the store's blind first period lasts one TTL and this much.
LEARN = 3.0


async def acquire_checked(
    inner: MemoryLiveState,
    attempt_id: str,
    session_id: str,
    ttl_s: float,
    *,
    force: bool,
    generation_id: str,
    activity_ttl_s: float | None = None,
) -> CheckedGrant:
    """``Primary.acquire_lease_checked`` on a memory live state (no await lets
    anything in between: atomic, as the Redis script is)."""
    before = await inner.lease_holder(attempt_id)
    grant = await inner.acquire_lease(
        attempt_id, session_id, ttl_s, force=force, activity_ttl_s=activity_ttl_s
    )
    generation = await inner.lease_holder(generation_id)
    return CheckedGrant(
        grant=grant, renewal=before.holder == session_id, generation=generation.holder
    )


class FakePrimary:
    """A ``LiveState`` in memory that can fail like Redis: ``down`` raises
    ``LiveStateUnavailable`` from every call (``ping`` says False), ``hang``
    never answers, ``restart()`` forgets everything it held."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.inner = MemoryLiveState(clock)
        self.down = False
        self.hang = False
        self.calls: Counter[str] = Counter()

    @property
    def process_local(self) -> bool:
        return False

    def restart(self) -> None:
        """Come back empty (leases, session records, counters), keeping the
        subscribers (as RedisLiveState resubscribes by itself)."""
        old = self.inner
        self.inner = MemoryLiveState(self.clock)
        self.inner._subs = old._subs
        self.down = False

    async def _gate(self, name: str) -> None:
        self.calls[name] += 1
        if self.hang:
            await asyncio.Event().wait()
        if self.down:
            raise LiveStateUnavailable(f"fake primary down ({name})")

    async def open(self) -> None:
        await self._gate("open")

    async def close(self) -> None:
        await self.inner.close()

    async def ping(self) -> bool:
        self.calls["ping"] += 1
        if self.hang:
            await asyncio.Event().wait()
        return not self.down

    async def acquire_lease(
        self,
        attempt_id: str,
        session_id: str,
        ttl_s: float,
        *,
        force: bool = False,
        activity_ttl_s: float | None = None,
    ) -> LeaseGrant:
        await self._gate("acquire_lease")
        return await self.inner.acquire_lease(
            attempt_id, session_id, ttl_s, force=force, activity_ttl_s=activity_ttl_s
        )

    async def acquire_lease_checked(
        self,
        attempt_id: str,
        session_id: str,
        ttl_s: float,
        *,
        force: bool,
        generation_id: str,
        activity_ttl_s: float | None = None,
    ) -> CheckedGrant:
        await self._gate("acquire_lease")
        return await acquire_checked(
            self.inner,
            attempt_id,
            session_id,
            ttl_s,
            force=force,
            generation_id=generation_id,
            activity_ttl_s=activity_ttl_s,
        )

    async def release_lease(self, attempt_id: str, session_id: str) -> None:
        await self._gate("release_lease")
        await self.inner.release_lease(attempt_id, session_id)

    async def lease_holder(self, attempt_id: str) -> LeaseGrant:
        await self._gate("lease_holder")
        return await self.inner.lease_holder(attempt_id)

    async def touch_session(self, session_id: str, ttl_s: float) -> None:
        await self._gate("touch_session")
        await self.inner.touch_session(session_id, ttl_s)

    async def session_seen(self, session_id: str) -> bool | None:
        await self._gate("session_seen")
        return await self.inner.session_seen(session_id)

    async def publish(self, notice: Notice) -> None:
        await self._gate("publish")
        await self.inner.publish(notice)

    async def subscribe(self, attempt_id: str) -> Any:
        await self._gate("subscribe")
        return await self.inner.subscribe(attempt_id)

    async def attach(self, attempt_id: str, sink: NoticeSink) -> None:
        await self._gate("attach")
        await self.inner.attach(attempt_id, sink)

    async def detach(self, attempt_id: str, sink: NoticeSink) -> None:
        await self._gate("detach")
        await self.inner.detach(attempt_id, sink)

    async def hit(self, key: str, limit: int, per_seconds: int) -> bool:
        await self._gate("hit")
        return await self.inner.hit(key, limit, per_seconds)

    async def exhausted(self, key: str, limit: int, per_seconds: int) -> bool:
        await self._gate("exhausted")
        return await self.inner.exhausted(key, limit, per_seconds)


class Rig:
    """One primary and one store shared by any number of instances."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.primary = FakePrimary(self.clock)
        self.store = MemoryStore()
        self.made: list[ResilientLiveState] = []

    async def instance(self, **options: Any) -> ResilientLiveState:
        live = ResilientLiveState(self.primary, self.store, self.clock, **options)
        await live.open()
        self.made.append(live)
        return live

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    async def close(self) -> None:
        for live in self.made:
            await live.close()

    async def pass_time(self, seconds: float, *probed: ResilientLiveState) -> None:
        """Move time a second at a time, with a readiness probe (``ping``) of each
        of ``probed`` every second (as /readyz is, on a real deployment)."""
        whole = int(seconds)
        for _ in range(whole):
            self.advance(1.0)
            for live in probed:
                await live.ping()
        self.advance(seconds - whole)
