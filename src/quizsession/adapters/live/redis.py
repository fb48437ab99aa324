"""Live state shared by many instances, on Redis (``redis.asyncio``).

Redis is for speed and coordination only: correctness (fencing, durability) never
depends on it. Every Redis or socket error leaves this module as
``LiveStateUnavailable`` so that the app layer can fall back to store-only mode.

- Leases: one key per attempt holding the session id, with a millisecond TTL
  (``PX``). Acquire, renew, take over and release are Lua scripts, so each is
  atomic: of N concurrent acquirers of a free lease exactly one wins. A
  heartbeat's renewal also records the session's activity in the same script
  when that record is due (``activity_ttl_s``): one round trip per heartbeat.
- Session activity: one key per session holding the (Redis server) time until
  which the session counts as active; the key itself lives ``session_retention_s``
  longer, so ``session_seen`` answers True (active), False (lapsed, within the
  retention) or None (no record: never seen, lapsed long ago, or Redis was
  flushed/restarted). The memory adapter gives the same answers.
- Notices: Redis pub/sub, one channel per attempt (``redis_notices``). Each
  instance holds one PubSub connection; a reader task fans messages out to local
  subscriptions; subscriptions arriving together go in one SUBSCRIBE.
  Pub/sub is fire-and-forget: a notice published while this instance is
  disconnected from Redis is lost (notices are advisory; the client learns the
  truth from its next request). The reader reconnects and resubscribes by itself;
  each subscription's ``continuity`` says when notices may have been lost.
- Rate limits: the ``limits`` package, moving window, on the same connection pool.

All TTLs are measured by the Redis server's clock (a fake clock cannot move it).
``open()`` does no I/O: the connection is made on first use, so an instance starts
even while Redis is down (``ping()`` tells readiness).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Awaitable
from typing import Any, TypeVar

from limits import RateLimitItemPerSecond
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError

from quizsession.adapters.live.inbox import NoticeInbox, NoticeSink
from quizsession.adapters.live.primary import CheckedGrant
from quizsession.adapters.live.redis_notices import NoticeChannels
from quizsession.adapters.live.redis_scripts import Scripts
from quizsession.app.ports import Clock, LeaseGrant, LiveStateUnavailable, Notice

T = TypeVar("T")


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisSubscription(NoticeInbox):
    """One subscriber's notices (the shared ``NoticeInbox``)."""

    __slots__ = ("_owner", "attempt_id")

    def __init__(self, owner: RedisLiveState, attempt_id: str) -> None:
        super().__init__()
        self._owner = owner
        self.attempt_id = attempt_id

    async def close(self) -> None:
        if self.ended:
            return
        self.end()
        await self._owner.detach(self.attempt_id, self)


class RedisLiveState:
    def __init__(
        self,
        url: str,
        clock: Clock,
        *,
        key_prefix: str = "quizsession:",
        session_retention_s: float = 86_400.0,
        socket_timeout_s: float = 2.0,
    ) -> None:
        self._url = url
        # Kept for symmetry with the memory adapter; TTLs follow the Redis clock.
        self._clock = clock
        self._prefix = key_prefix
        self._retention_ms = _ms(session_retention_s)
        self._socket_timeout_s = socket_timeout_s
        self._redis: Redis | None = None
        self._scripts: Scripts | None = None
        self._limiter: MovingWindowRateLimiter | None = None
        self._notices = NoticeChannels(key_prefix, self._guard)

    @property
    def process_local(self) -> bool:
        """False: every instance on the same Redis shares this state."""
        return False

    # -- lifecycle -------------------------------------------------------------------
    async def open(self) -> None:
        if self._redis is not None:
            return
        client = Redis.from_url(
            self._url,
            socket_connect_timeout=self._socket_timeout_s,
            socket_timeout=self._socket_timeout_s,
            socket_keepalive=True,
            # Fail fast: a caller (and the circuit breaker above) decides what to
            # do about an outage, not a long retry loop in the driver.
            retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), 1),
        )
        self._redis = client
        self._notices.open(client)
        self._scripts = Scripts.register(client)
        options: dict[str, Any] = {"connection_pool": client.connection_pool}
        storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            wrap_exceptions=True,
            key_prefix=f"{self._prefix}ratelimit",
            **options,
        )
        self._limiter = MovingWindowRateLimiter(storage)

    async def close(self) -> None:
        await self._notices.close()
        if self._redis is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._redis.aclose()
            self._redis = None
        self._scripts = None
        self._limiter = None

    @property
    def _client(self) -> Redis:
        if self._redis is None:
            raise RuntimeError("RedisLiveState is not open")
        return self._redis

    @property
    def _lua(self) -> Scripts:
        if self._scripts is None:
            raise RuntimeError("RedisLiveState is not open")
        return self._scripts

    async def _guard(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except (RedisError, StorageError, OSError, TimeoutError) as exc:
            raise LiveStateUnavailable(f"redis: {exc!r}") from exc
        except RuntimeError as exc:
            # redis-py on uvloop: a connection whose transport closed during its
            # handshake raises "unable to perform operation on <TCPTransport
            # closed=True ...>" — a lost connection like any other.
            if "closed" not in str(exc):
                raise
            raise LiveStateUnavailable(f"redis: {exc!r}") from exc

    async def ping(self) -> bool:
        try:
            return bool(await self._guard(self._client.ping()))
        except LiveStateUnavailable:
            return False

    # -- leases ----------------------------------------------------------------------
    def _lease_key(self, attempt_id: str) -> str:
        return f"{self._prefix}lease:{attempt_id}"

    def _activity(
        self, session_id: str, activity_ttl_s: float | None
    ) -> tuple[list[str], list[int]]:
        """The extra key and arguments of a lease script that also records the
        session's activity (``TOUCH_LUA``'s); none without ``activity_ttl_s``."""
        if activity_ttl_s is None:
            return [], []
        return [self._session_key(session_id)], [_ms(activity_ttl_s), self._retention_ms]

    async def acquire_lease(
        self,
        attempt_id: str,
        session_id: str,
        ttl_s: float,
        *,
        force: bool = False,
        activity_ttl_s: float | None = None,
    ) -> LeaseGrant:
        keys, args = self._activity(session_id, activity_ttl_s)
        acquired, holder, ttl_ms = await self._guard(
            self._lua.acquire(
                keys=[self._lease_key(attempt_id), *keys],
                args=[session_id, _ms(ttl_s), "1" if force else "0", *args],
            )
        )
        return LeaseGrant(
            acquired=bool(acquired), holder=_text(holder), expires_in=max(0, int(ttl_ms)) / 1000
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
        keys, args = self._activity(session_id, activity_ttl_s)
        acquired, holder, ttl_ms, renewal, generation = await self._guard(
            self._lua.acquire_checked(
                keys=[self._lease_key(attempt_id), self._lease_key(generation_id), *keys],
                args=[session_id, _ms(ttl_s), "1" if force else "0", *args],
            )
        )
        grant = LeaseGrant(
            acquired=bool(acquired), holder=_text(holder), expires_in=max(0, int(ttl_ms)) / 1000
        )
        return CheckedGrant(
            grant=grant,
            renewal=bool(renewal),
            generation=_text(generation) if generation else None,
        )

    async def release_lease(self, attempt_id: str, session_id: str) -> None:
        await self._guard(self._lua.release(keys=[self._lease_key(attempt_id)], args=[session_id]))

    async def lease_holder(self, attempt_id: str) -> LeaseGrant:
        reply = await self._guard(self._lua.holder(keys=[self._lease_key(attempt_id)], args=[]))
        if not reply:
            return LeaseGrant(acquired=False, holder=None, expires_in=0.0)
        holder, ttl_ms = reply
        return LeaseGrant(
            acquired=False, holder=_text(holder), expires_in=max(0, int(ttl_ms)) / 1000
        )

    # -- sessions --------------------------------------------------------------------
    def _session_key(self, session_id: str) -> str:
        return f"{self._prefix}seen:{session_id}"

    async def touch_session(self, session_id: str, ttl_s: float) -> None:
        await self._guard(
            self._lua.touch(
                keys=[self._session_key(session_id)], args=[_ms(ttl_s), self._retention_ms]
            )
        )

    async def session_seen(self, session_id: str) -> bool | None:
        answer = int(
            await self._guard(self._lua.seen(keys=[self._session_key(session_id)], args=[]))
        )
        if answer < 0:
            return None
        return answer == 1

    # -- notices (``redis_notices``) ---------------------------------------------------
    async def publish(self, notice: Notice) -> None:
        await self._notices.publish(notice)

    async def subscribe(self, attempt_id: str) -> RedisSubscription:
        sub = RedisSubscription(self, attempt_id)
        await self.attach(attempt_id, sub)
        return sub

    async def attach(self, attempt_id: str, sink: NoticeSink) -> None:
        await self._notices.attach(attempt_id, sink)

    async def detach(self, attempt_id: str, sink: NoticeSink) -> None:
        await self._notices.detach(attempt_id, sink)

    # -- rate limits -----------------------------------------------------------------
    async def hit(self, key: str, limit: int, per_seconds: int) -> bool:
        if self._limiter is None:
            raise RuntimeError("RedisLiveState is not open")
        return await self._guard(self._limiter.hit(RateLimitItemPerSecond(limit, per_seconds), key))

    async def exhausted(self, key: str, limit: int, per_seconds: int) -> bool:
        if self._limiter is None:
            raise RuntimeError("RedisLiveState is not open")
        allowed = await self._guard(
            self._limiter.test(RateLimitItemPerSecond(limit, per_seconds), key)
        )
        return not allowed
