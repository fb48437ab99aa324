"""An exhaustive check of the lease protocol: no interleaving grants two leases.

A breadth-first search over every interleaving, up to a bound, of:
- time moving on, one second at a time, up to ``HORIZON`` seconds (the lease TTL
  is ``TTL`` seconds, the breaker's retry and the instances' checks one second);
  every instance answers a readiness probe (``ping``) each second;
- Redis going down, coming back with its data, or coming back empty (a
  restart: its generation changes), at most ``REDIS_FAULTS`` times; an instance
  restarted (all it knew is lost), at most ``RESTARTS`` times; a failure seen by
  one instance only (a timeout while Redis is fine for the other), at most
  ``BLIPS`` times. A fault comes first in its second (one per second);
- two sessions of one attempt logging in and heartbeating through either of two
  instances, each at most once a second, in either order, as ``SessionService``
  does: a login takes the lease unforced (and supersedes, in the log, a session
  whose lease lapsed); a heartbeat renews it, and when refused takes it back with
  ``force`` only if the log says the session is still the live one.

The instances are the real ``ResilientLiveState`` (breaker, hand-over, store-mode
and generation records) over a primary in memory that fails like Redis and the
memory store's leases, on one fake clock: each step is one real call, run to its
end (calls are atomic here; the store is each call's point of decision). World
states are copied (``deepcopy``) and deduplicated on what they mean, with every
time taken relative to now (~35,000 states, ~20 s).

The property: whenever a session is granted the lease (a login, a renewal, a
forced retake), no other session holds a grant that has not lapsed. Without the
store look-up of fresh grants, or without the store's records, the search finds
the sequences that granted two leases (a second login through an instance that
started after Redis came back empty; a login through an instance that had not
yet learnt that another serves from the store)."""

from __future__ import annotations

import copy
import math
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from quizsession.adapters.live.handover import GENERATION_KEY, GENERATION_RECORD, STORE_MODE_RECORD
from quizsession.adapters.live.inbox import NoticeSink
from quizsession.adapters.live.memory import MemoryLiveState
from quizsession.adapters.live.primary import CheckedGrant
from quizsession.adapters.live.resilient import ResilientLiveState
from quizsession.adapters.store.memory import MemoryStore
from quizsession.app.clock import FakeClock
from quizsession.app.ports import LeaseGrant, LiveStateUnavailable, Notice
from tests.unit.live_fakes import acquire_checked

TTL = 2.0
RETRY = 1.0
CHECK = 1.0
HORIZON = 3
REDIS_FAULTS = 2
RESTARTS = 1
BLIPS = 1
SESSIONS = ("s1", "s2")
INSTANCES = 2
ATTEMPT = "a1"
#: Relative times are clipped to this (anything further is "far").
FAR = 12.0


class SharedRedis:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.inner = MemoryLiveState(clock)
        self.down = False

    def restart(self) -> None:
        self.inner = MemoryLiveState(self.clock)
        self.down = False


class RedisView:
    """One instance's connection to the shared Redis; ``blip`` fails its next call."""

    def __init__(self, redis: SharedRedis) -> None:
        self.redis = redis
        self.blip = False

    @property
    def process_local(self) -> bool:
        return False

    def _gate(self) -> MemoryLiveState:
        if self.blip:
            self.blip = False
            raise LiveStateUnavailable("blip")
        if self.redis.down:
            raise LiveStateUnavailable("down")
        return self.redis.inner

    async def open(self) -> None:
        self._gate()

    async def close(self) -> None:
        return None

    async def ping(self) -> bool:
        try:
            self._gate()
        except LiveStateUnavailable:
            return False
        return True

    async def acquire_lease(
        self,
        attempt_id: str,
        session_id: str,
        ttl_s: float,
        *,
        force: bool = False,
        activity_ttl_s: float | None = None,
    ) -> LeaseGrant:
        return await self._gate().acquire_lease(
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
        return await acquire_checked(
            self._gate(),
            attempt_id,
            session_id,
            ttl_s,
            force=force,
            generation_id=generation_id,
            activity_ttl_s=activity_ttl_s,
        )

    async def release_lease(self, attempt_id: str, session_id: str) -> None:
        await self._gate().release_lease(attempt_id, session_id)

    async def lease_holder(self, attempt_id: str) -> LeaseGrant:
        return await self._gate().lease_holder(attempt_id)

    async def touch_session(self, session_id: str, ttl_s: float) -> None:
        await self._gate().touch_session(session_id, ttl_s)

    async def session_seen(self, session_id: str) -> bool | None:
        return await self._gate().session_seen(session_id)

    async def publish(self, notice: Notice) -> None:
        await self._gate().publish(notice)

    async def subscribe(self, attempt_id: str) -> Any:
        return await self._gate().subscribe(attempt_id)

    async def attach(self, attempt_id: str, sink: NoticeSink) -> None:
        await self._gate().attach(attempt_id, sink)

    async def detach(self, attempt_id: str, sink: NoticeSink) -> None:
        await self._gate().detach(attempt_id, sink)

    async def hit(self, key: str, limit: int, per_seconds: int) -> bool:
        return await self._gate().hit(key, limit, per_seconds)

    async def exhausted(self, key: str, limit: int, per_seconds: int) -> bool:
        return await self._gate().exhausted(key, limit, per_seconds)


@dataclass
class Session:
    state: str = "out"  # out -> in -> gone (superseded)
    until: float = -math.inf  # when its latest grant lapses


@dataclass
class World:
    clock: FakeClock
    redis: SharedRedis
    store: MemoryStore
    views: list[RedisView | None]
    lives: list[ResilientLiveState | None]
    sessions: dict[str, Session]
    log_current: str | None = None
    ticks: int = 0
    redis_faults: int = REDIS_FAULTS
    restarts: int = RESTARTS
    blips: int = BLIPS
    #: Who acted since the last tick: each session, instance probe and fault at
    #: most once a second (a client heartbeats every few seconds; the TTL is
    #: several of them), which keeps the search finite and small.
    acted: frozenset[str] = frozenset()
    trace: list[str] = field(default_factory=list)


class TwoLeases(AssertionError):
    pass


async def start_instance(world: World, i: int) -> None:
    view = RedisView(world.redis)
    live = ResilientLiveState(
        view,
        world.store,
        world.clock,
        retry_after_s=RETRY,
        call_timeout_s=1.0,
        lease_ttl_s=TTL,
        marker_every_s=CHECK,
        record_every_s=CHECK,
    )
    await live.open()
    world.views[i], world.lives[i] = view, live


async def new_world() -> World:
    clock = FakeClock()
    redis = SharedRedis(clock)
    world = World(
        clock=clock,
        redis=redis,
        store=MemoryStore(),
        views=[None] * INSTANCES,
        lives=[None] * INSTANCES,
        sessions={s: Session() for s in SESSIONS},
    )
    for i in range(INSTANCES):
        await start_instance(world, i)
    return world


def granted(world: World, session_id: str) -> None:
    now = world.clock.now()
    for other, s in world.sessions.items():
        if other != session_id and s.state == "in" and s.until > now:
            raise TwoLeases(f"{session_id} granted while {other} holds until +{s.until - now:.1f}s")
    me = world.sessions[session_id]
    me.state, me.until = "in", now + TTL


async def login(world: World, s: str, i: int) -> None:
    live = world.lives[i]
    assert live is not None
    if (await live.acquire_lease(ATTEMPT, s, TTL)).acquired:
        granted(world, s)
        world.log_current = s
        for other, session in world.sessions.items():  # the log supersedes it
            if other != s and session.state == "in":
                session.state = "gone"


async def heartbeat(world: World, s: str, i: int) -> None:
    live = world.lives[i]
    assert live is not None
    grant = await live.acquire_lease(ATTEMPT, s, TTL)
    if not grant.acquired and world.log_current == s:
        grant = await live.acquire_lease(ATTEMPT, s, TTL, force=True)
    if grant.acquired:
        granted(world, s)
    else:
        world.sessions[s].state = "gone"


Action = tuple[str, Callable[[World], Awaitable[None]]]


def actions(world: World) -> list[Action]:
    out: list[Action] = []

    async def tick(w: World) -> None:
        w.clock.advance(1.0)
        w.ticks += 1
        w.acted = frozenset()
        for live in w.lives:  # the readiness probe, every second
            if live is not None:
                await live.ping()

    if world.ticks < HORIZON:
        out.append(("tick", tick))
    # Faults come first in a second (before any session acts in it).
    first = not world.acted
    if world.redis_faults and first:
        if not world.redis.down:

            async def down(w: World) -> None:
                w.redis.down = True
                w.redis_faults -= 1

            out.append(("redis down", down))

        async def restart(w: World) -> None:
            w.redis.restart()
            w.redis_faults -= 1

        out.append(("redis restarted empty", restart))
    if world.redis.down and first:

        async def up(w: World) -> None:
            w.redis.down = False

        out.append(("redis up", up))
    for i in range(INSTANCES):
        if world.restarts and first:

            async def restart_instance(w: World, i: int = i) -> None:
                await start_instance(w, i)  # all the old one knew is lost
                w.restarts -= 1

            out.append((f"restart {i}", restart_instance))
        if world.blips and not world.redis.down and first:

            async def blip(w: World, i: int = i) -> None:
                view = w.views[i]
                assert view is not None
                view.blip = True
                w.blips -= 1

            out.append((f"blip {i}", blip))
        for s, session in world.sessions.items():
            if s in world.acted:
                continue
            if session.state == "out":

                async def do_login(w: World, s: str = s, i: int = i) -> None:
                    await login(w, s, i)

                out.append((f"login {s} via {i}", do_login))
            elif session.state == "in":

                async def do_beat(w: World, s: str = s, i: int = i) -> None:
                    await heartbeat(w, s, i)

                out.append((f"heartbeat {s} via {i}", do_beat))
    return out


def rel(t: float, now: float) -> float:
    if t == -math.inf or t <= now:
        return -1.0
    return min(round(t - now, 3), FAR)


def key(world: World) -> tuple[object, ...]:
    """What a state means: equal keys behave alike from here on."""
    now, mono = world.clock.now(), world.clock.monotonic()
    names: dict[str, int] = {}

    def name(value: str | None) -> int | None:
        return None if value is None else names.setdefault(value, len(names))

    inner = world.redis.inner
    redis_leases = tuple(
        sorted(
            (a if a != GENERATION_KEY else "~gen", name(h) if a == GENERATION_KEY else h)
            + ((rel(exp, mono),) if a != GENERATION_KEY else ())
            for a, (h, exp) in inner._leases.items()
            if exp > mono
        )
    )
    store_rows = []
    for a, (h, exp) in sorted(world.store._leases.items()):
        if exp <= now:
            continue
        shown: object = h
        if a == GENERATION_RECORD:
            shown = name(h)
        elif a == STORE_MODE_RECORD:
            shown = rel(float(h), now) if h else None
        store_rows.append((a, shown, rel(exp, now)))
    lives: list[tuple[object, ...] | None] = []
    for view, live in zip(world.views, world.lives, strict=True):
        if live is None or view is None:
            lives.append(None)
            continue
        b, ho = live._breaker, live._leases
        lives.append(
            (
                b.state,
                b.failures,
                rel(b._opened_at + RETRY, mono),
                rel(ho.store_blind_until, now),
                rel(ho.primary_blind_until, now),
                rel(ho.check_store_until, now),
                rel(ho.store_written_until, now),
                name(ho._generation),
                rel(ho._check_due, mono),
                rel(ho._recorded_at + CHECK, mono),
                rel(ho._store_mode_until, now),
                rel(ho._store_mode_began + TTL + CHECK + 1.0, now),
                view.blip,
            )
        )
    sessions = tuple((s.state, rel(s.until, now)) for s in world.sessions.values())
    return (
        world.redis.down,
        redis_leases,
        tuple(store_rows),
        # The instances are alike (sessions pick either): their order is not state.
        tuple(sorted(lives, key=repr)),
        sessions,
        world.log_current,
        world.ticks,
        world.redis_faults,
        world.restarts,
        world.blips,
        world.acted,
    )


def actor(label: str) -> str:
    """Who an action is by: a session, an instance's probe, Redis, an instance."""
    first, _, rest = label.partition(" ")
    if first in ("login", "heartbeat"):
        return rest.split(" ")[0]
    if first == "redis":
        return "redis"
    return label


@dataclass
class Explored:
    states: int
    transitions: int
    logins: int


async def explore() -> Explored:
    first = await new_world()
    seen = {key(first)}
    frontier = deque([first])
    transitions = 0
    logins = 0
    while frontier:
        world = frontier.popleft()
        for label, act in actions(world):
            nxt = copy.deepcopy(world)
            nxt.trace = [*world.trace, label]
            nxt.acted = world.acted | {actor(label)}
            try:
                await act(nxt)
            except TwoLeases as exc:
                raise AssertionError(f"{exc} after: {' -> '.join(nxt.trace)}") from None
            transitions += 1
            logins += label.startswith("login") and nxt.log_current is not None
            k = key(nxt)
            if k not in seen:
                seen.add(k)
                frontier.append(nxt)
    return Explored(states=len(seen), transitions=transitions, logins=logins)


async def test_no_interleaving_grants_two_leases() -> None:
    explored = await explore()
    print(f"\nlease protocol: {explored}")
    assert explored.states > 10_000  # the bound reaches past the interesting cases
