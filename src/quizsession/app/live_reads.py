"""A live socket's ticks and pings from this instance's cached attempt, with a
bounded staleness.

With a store shared by several instances (or worker processes), every read of
an attempt catches up from the log first (``AttemptExecutor.authoritative_cache``
is False): a store read per tick and per ping. A live socket does not need one.
What its ticks and pings show (deadline, status, section) changes only by events
that are announced through the live state to every instance: an extension, an
accommodation, a duration change, a void, an unlock, a submit (``end_of_test``),
a takeover, and a section started or ended or a reopen (``changed``). The socket
holds a subscription to those notices, so its ticks and pings use the cached
attempt, and read it again (a catch-up: the events after its cached version):

- on the first use after the subscription is made (the welcome's read came
  before it, so a notice in between would be missed);
- after any notice for the attempt, before the next tick or ping uses it;
- on every use while the subscription's ``continuity`` is None: the live state
  is degraded (Redis's circuit is open, store-only mode) and notices may be
  lost, so every tick and ping reads, as it did without this; and once after it
  changed (a reconnect, an overflow: notices may have been lost);
- on every use when the live state is this process's own (``process_local``):
  other instances' notices never reach it;
- and at least every ``refresh_every_s`` (``REFRESH_EVERY_S``, 30 s: six
  heartbeats) whatever happens. This is the safety bound for what no notice
  says: a notice lost by its publisher (an instance whose circuit is open
  publishes to its own sockets only), a logout or an idle close through another
  instance, the version moved by saves through another instance. It is a
  constant, not a setting: correctness after a change comes from the notices,
  the bound only limits the damage of a notice lost where nobody can see it.

A read overtaken by a notice (the notice arrived while the read was under way)
does not count: the next use reads again.

Nothing here weakens a promise. Writes are fenced by the store's log whatever
any cache holds. Every ping still renews the lease in the live state. A
superseded session is told by the takeover notice (the socket is closed with
4409); while the live state is degraded its pings and ticks read the log and
find it superseded, as before. With an embedded store (one process, the
executor's cache is the truth) nothing changes: every read uses the cache.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from quizsession.app.ports import SessionClaims, Subscription
from quizsession.app.sessions.leases import Pong
from quizsession.app.sessions.reads import Tick

#: The most a live socket's ticks and pings go on the cached attempt without
#: reading it again (seconds; see the module's documentation).
REFRESH_EVERY_S = 30.0


class LiveSessions(Protocol):
    """What ``LiveReads`` needs of the session service."""

    async def tick(self, claims: SessionClaims, *, fresh: bool | None = None) -> Tick: ...

    async def ping(
        self,
        claims: SessionClaims,
        question_id: str | None = None,
        *,
        refresh: bool = False,
        fresh: bool | None = None,
    ) -> Pong: ...


def _no_notices() -> int | None:
    return None


@dataclass(frozen=True, slots=True)
class _Read:
    """A store read under way: what it was begun under."""

    changes: int
    continuity: int
    at: float


class LiveReads:
    """One live socket's ticks and pings (see the module's documentation)."""

    __slots__ = (
        "_changes",
        "_claims",
        "_continuity",
        "_every",
        "_last",
        "_monotonic",
        "_sessions",
        "_shared",
        "cached",
        "read",
    )

    def __init__(
        self,
        sessions: LiveSessions,
        claims: SessionClaims,
        monotonic: Callable[[], float],
        *,
        notices_shared: bool,
        refresh_every_s: float = REFRESH_EVERY_S,
    ) -> None:
        if refresh_every_s <= 0:
            raise ValueError("refresh_every_s must be > 0")
        self._sessions = sessions
        self._claims = claims
        self._monotonic = monotonic
        self._shared = notices_shared
        self._every = refresh_every_s
        self._continuity: Callable[[], int | None] = _no_notices
        self._changes = 0
        self._last: _Read | None = None
        #: Ticks and pings served from the cached attempt, and those that read it.
        self.cached = 0
        self.read = 0

    def follow(self, subscription: Subscription) -> None:
        """The socket's subscription to its attempt's notices is made."""
        self._continuity = lambda: subscription.continuity

    def changed(self) -> None:
        """A notice for the attempt arrived: read it before the next use."""
        self._changes += 1

    @property
    def trusted(self) -> bool:
        """Whether the next tick or ping may use the cached attempt."""
        return self._begin() is None

    def _begin(self) -> _Read | bool | None:
        """None: the cached attempt serves. Else a read is due: a ``_Read`` to
        remember once it is done, or False when even a read gives no trust (no
        notices to follow)."""
        continuity = self._continuity() if self._shared else None
        if continuity is None:
            return False
        now = self._monotonic()
        last = self._last
        if (
            last is not None
            and last.changes == self._changes
            and last.continuity == continuity
            and now - last.at < self._every
        ):
            return None
        return _Read(changes=self._changes, continuity=continuity, at=now)

    def _done(self, begun: _Read | bool | None) -> None:
        if isinstance(begun, _Read) and begun.changes == self._changes:
            self._last = begun

    def _fresh(self, begun: _Read | bool | None) -> bool | None:
        if begun is None:
            self.cached += 1
            return False  # the cached attempt, no store read
        self.read += 1
        return None  # the executor's default: a catch-up read unless it is the truth

    async def tick(self) -> Tick:
        begun = self._begin()
        tick = await self._sessions.tick(self._claims, fresh=self._fresh(begun))
        self._done(begun)
        return tick

    async def ping(self, question_id: str | None, *, refresh: bool) -> Pong:
        begun = self._begin()
        pong = await self._sessions.ping(
            self._claims, question_id, refresh=refresh, fresh=self._fresh(begun)
        )
        self._done(begun)
        return pong
