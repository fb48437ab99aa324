"""Notices through Redis pub/sub: one channel per attempt, one PubSub connection
per instance, a reader task fanning messages out to this instance's sinks.

Subscriptions are batched: every ``attach`` that arrives while a SUBSCRIBE is on
its way joins the next one, so a storm of live sockets (thousands opening within
seconds, after a deploy or at the start of an exam) costs a few round trips,
not one each in a row. One at a time, the last of 2,000 sockets waited about
2 s for its subscription, and the circuit breaker's 2 s call timeout then took
Redis for down. ``attach`` returns only once Redis confirmed the channel, so a
notice published after it returns is delivered.

Errors leave as ``LiveStateUnavailable`` (``guard``): the caller decides.

A lost connection loses the notices published until redis-py has reconnected
and resubscribed: every sink is told ``interrupted`` when the loss is seen (a
read fails, or the connection is made again) and ``resumed`` once Redis confirms
the resubscription, so its ``continuity`` changes and a live socket reads its
attempt again rather than trust what it cached.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from quizsession.adapters.live.inbox import NoticeSink
from quizsession.app.ports import LiveStateUnavailable, Notice

T = TypeVar("T")
Guard = Callable[[Awaitable[Any]], Awaitable[Any]]

POLL_S = 1.0
CONFIRM_TIMEOUT_S = 5.0
#: Channels per SUBSCRIBE command (a bigger batch is sent in several).
BATCH_MAX = 1000

_NOTICE_ENCODER = msgspec.json.Encoder()
_NOTICE_DECODER = msgspec.json.Decoder(Notice)


class _WatchedPubSub(PubSub):
    """A ``PubSub`` that says when its connection is made again (redis-py then
    resubscribes every channel; notices published meanwhile were lost)."""

    def __init__(self, client: Redis, on_reconnect: Callable[[], None]) -> None:
        super().__init__(client.connection_pool)
        self._on_reconnect = on_reconnect

    async def on_connect(self, connection: Any) -> None:
        self._on_reconnect()
        await super().on_connect(connection)


class NoticeChannels:
    """The pub/sub half of ``RedisLiveState``."""

    def __init__(self, prefix: str, guard: Guard) -> None:
        self._prefix = prefix
        self._guard = guard
        self._client: Redis | None = None
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._batcher: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # one SUBSCRIBE batch or UNSUBSCRIBE at a time
        self._local: dict[str, set[NoticeSink]] = {}
        self._server_channels: set[str] = set()
        #: Attempts waiting for the next SUBSCRIBE, and the future each waits on.
        self._waiting: dict[str, asyncio.Future[None]] = {}
        self._queued: list[str] = []
        self._confirm: dict[bytes, asyncio.Future[None]] = {}
        self._closing = False
        #: The connection was lost: notices may be lost until Redis confirms
        #: the resubscription.
        self._lapsed = False

    def open(self, client: Redis) -> None:
        self._client = client
        self._closing = False

    def channel(self, attempt_id: str) -> bytes:
        return f"{self._prefix}notice:{attempt_id}".encode()

    async def publish(self, notice: Notice) -> None:
        if self._client is None:
            raise RuntimeError("RedisLiveState is not open")
        channel = self.channel(notice.attempt_id)
        await self._guard(self._client.publish(channel, _NOTICE_ENCODER.encode(notice)))

    # -- subscriptions -----------------------------------------------------------------

    async def attach(self, attempt_id: str, sink: NoticeSink) -> None:
        if self._client is None:
            raise RuntimeError("RedisLiveState is not open")
        self._local.setdefault(attempt_id, set()).add(sink)
        if attempt_id in self._server_channels:
            return
        waiting = self._waiting.get(attempt_id)
        if waiting is None:
            waiting = self._waiting[attempt_id] = asyncio.get_running_loop().create_future()
            self._queued.append(attempt_id)
            if self._batcher is None or self._batcher.done():
                self._batcher = asyncio.get_running_loop().create_task(
                    self._subscribe_queued(), name="quizsession-redis-subscribe"
                )
        try:
            # Shielded: one caller giving up (a timeout) must not fail the others.
            await asyncio.shield(waiting)
        except BaseException:
            await self.detach(attempt_id, sink)
            raise

    async def _subscribe_queued(self) -> None:
        while self._queued and not self._closing:
            async with self._lock:
                batch, self._queued = self._queued[:BATCH_MAX], self._queued[BATCH_MAX:]
                try:
                    await self._subscribe(batch)
                except BaseException as exc:
                    failure = (
                        exc
                        if isinstance(exc, LiveStateUnavailable)
                        else LiveStateUnavailable(f"redis: SUBSCRIBE failed: {exc!r}")
                    )
                    for attempt_id in batch:
                        fut = self._waiting.pop(attempt_id, None)
                        if fut is not None and not fut.done():
                            fut.set_exception(failure)
                            fut.exception()  # retrieved: a caller gone is no error
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                    continue
                for attempt_id in batch:
                    fut = self._waiting.pop(attempt_id, None)
                    if self._local.get(attempt_id):
                        self._server_channels.add(attempt_id)
                    else:  # every sink left while it was being subscribed
                        await self._unsubscribe(self.channel(attempt_id))
                    if fut is not None and not fut.done():
                        fut.set_result(None)

    async def _subscribe(self, batch: list[str]) -> None:
        assert self._client is not None
        loop = asyncio.get_running_loop()
        channels = [self.channel(a) for a in batch]
        confirms = {ch: loop.create_future() for ch in channels}
        self._confirm.update(confirms)
        try:
            if self._pubsub is None:
                self._pubsub = _WatchedPubSub(self._client, self._interrupted)
            await self._guard(self._pubsub.subscribe(*channels))
            self._ensure_reader()
            try:
                async with asyncio.timeout(CONFIRM_TIMEOUT_S):
                    await asyncio.gather(*(asyncio.shield(f) for f in confirms.values()))
            except TimeoutError as exc:
                raise LiveStateUnavailable(
                    f"redis: no confirmation of SUBSCRIBE ({len(channels)} channels)"
                ) from exc
        except BaseException:
            for attempt_id, channel in zip(batch, channels, strict=True):
                if self._pubsub is not None and attempt_id not in self._server_channels:
                    await self._unsubscribe(channel)
            raise
        finally:
            for channel in channels:
                self._confirm.pop(channel, None)

    def _drop_local(self, attempt_id: str, sink: NoticeSink) -> bool:
        """Forget a local sink; True if it was the attempt's last one."""
        subs = self._local.get(attempt_id)
        if subs is None or sink not in subs:
            return False
        subs.discard(sink)
        if subs:
            return False
        del self._local[attempt_id]
        return True

    async def _unsubscribe(self, channel: bytes) -> None:
        pubsub = self._pubsub
        if pubsub is None:
            return
        try:
            await pubsub.unsubscribe(channel)
        except (RedisError, OSError, TimeoutError):
            # Not connected: make sure a reconnect does not resubscribe it.
            pubsub.channels.pop(channel, None)

    async def detach(self, attempt_id: str, sink: NoticeSink) -> None:
        if not self._drop_local(attempt_id, sink):
            return
        async with self._lock:
            if attempt_id in self._server_channels and not self._local.get(attempt_id):
                self._server_channels.discard(attempt_id)
                await self._unsubscribe(self.channel(attempt_id))

    # -- reading -----------------------------------------------------------------------

    def _ensure_reader(self) -> None:
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(
                self._read_loop(), name="quizsession-redis-notices"
            )

    async def _read_loop(self) -> None:
        backoff = 0.05
        while not self._closing:
            pubsub = self._pubsub
            if pubsub is None:
                return
            try:
                message = await pubsub.get_message(timeout=POLL_S)
            except (RedisError, OSError, TimeoutError):
                # Redis is away: wait and retry; the next read reconnects and
                # redis-py resubscribes to every channel (its on_connect hook).
                self._interrupted()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            backoff = 0.05
            if message is not None:
                self._dispatch(message)

    def _sinks(self) -> list[NoticeSink]:
        return [sink for sinks in self._local.values() for sink in sinks]

    def _interrupted(self) -> None:
        """The connection was lost (or made again): notices may be lost."""
        if self._lapsed:
            return
        self._lapsed = True
        for sink in self._sinks():
            sink.interrupted()

    def _resumed(self) -> None:
        self._lapsed = False
        for sink in self._sinks():
            sink.resumed()

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        channel = message.get("channel")
        if not isinstance(channel, bytes):
            return
        if kind == "subscribe" and self._lapsed:
            # The first confirmation after a reconnect: redis-py resubscribed
            # every channel in one command, so all of them are subscribed again.
            self._resumed()
        if kind == "subscribe":
            fut = self._confirm.get(channel)
            if fut is not None and not fut.done():
                fut.set_result(None)
            return
        if kind != "message":
            return
        data = message.get("data")
        if not isinstance(data, bytes):
            return
        try:
            notice = _NOTICE_DECODER.decode(data)
        except msgspec.DecodeError:
            return  # not ours (or from an incompatible version): ignore
        for sub in list(self._local.get(notice.attempt_id, ())):
            sub.deliver(notice)

    async def close(self) -> None:
        self._closing = True
        for task in (self._batcher, self._reader):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._batcher = self._reader = None
        for subs in list(self._local.values()):
            for sub in list(subs):
                sub.end()
        self._local.clear()
        self._server_channels.clear()
        self._queued.clear()
        for fut in [*self._confirm.values(), *self._waiting.values()]:
            fut.cancel()
        self._confirm.clear()
        self._waiting.clear()
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]
            self._pubsub = None
        self._client = None
