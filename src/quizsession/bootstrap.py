"""The composition root: builds every part from typed settings. Resources open in
``Container.start`` (called from the app's lifespan or a CLI command), never at
import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from quizsession.adapters.live_memory import MemoryLiveState
from quizsession.adapters.metrics_prometheus import PrometheusMetrics
from quizsession.adapters.store_encrypted import EncryptedStore, KeyRing
from quizsession.adapters.store_memory import MemoryStore
from quizsession.adapters.store_sqlite import SqliteStore
from quizsession.adapters.tokens_jwt import JwtTokens
from quizsession.app.admin import AdminService
from quizsession.app.attempts import AttemptExecutor, QuizCache
from quizsession.app.catalog import Catalog
from quizsession.app.clock import SystemClock
from quizsession.app.live import LiveHub
from quizsession.app.metrics import NO_METRICS, Metrics
from quizsession.app.outage import OutageCredit, OutageReport
from quizsession.app.ports import Clock, LiveState, Store
from quizsession.app.reaper import Reaper
from quizsession.app.sessions import SessionService, SessionSettings
from quizsession.settings import Settings

log = logging.getLogger("quizsession")


def sqlite_path(url: str) -> str:
    """``sqlite:///rel/path.db`` -> ``rel/path.db``; ``sqlite:////abs.db`` -> ``/abs.db``."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        raise ValueError(f"not a sqlite URL: {url}")
    path = url[len(prefix) :]
    if not path:
        raise ValueError("the sqlite URL needs a file path")
    return path


def make_store(url: str) -> Store:
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryStore()
    if scheme == "sqlite":
        return SqliteStore(sqlite_path(url))
    if scheme in ("postgres", "postgresql"):
        from quizsession.adapters.store_postgres import PostgresStore

        return PostgresStore(url)
    raise ValueError(f"unsupported store URL scheme {scheme!r} (memory, sqlite, postgresql)")


def make_live(settings: Settings, clock: Clock, store: Store) -> LiveState:
    """Redis behind a circuit breaker when ``QUIZSESSION_REDIS_URL`` is set (while
    Redis is down, leases go to ``store`` and the rest stays in this process);
    otherwise the in-process live state (one instance)."""
    if settings.redis_url:
        from quizsession.adapters.live_redis import RedisLiveState
        from quizsession.adapters.live_resilient import ResilientLiveState

        return ResilientLiveState(RedisLiveState(settings.redis_url, clock), store, clock)
    return MemoryLiveState(clock)


def kept_secret(path: Path, nbytes: int) -> str:
    """A random secret kept in ``path`` (created mode 0600 on first use), so it
    survives restarts like the data beside it."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    value = secrets.token_urlsafe(nbytes)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value + "\n")
    return value


def token_secret(settings: Settings) -> str:
    """The configured secret; else one kept next to the SQLite file so sessions
    survive a restart; else (memory store) one for this process only."""
    if settings.secret_key:
        return settings.secret_key
    if urlsplit(settings.store_url).scheme == "sqlite":
        return kept_secret(Path(sqlite_path(settings.store_url) + ".secret"), 48)
    if urlsplit(settings.store_url).scheme in ("postgres", "postgresql"):
        raise ValueError("QUIZSESSION_SECRET_KEY is required with a shared store")
    return secrets.token_urlsafe(48)


@dataclass
class Container:
    settings: Settings
    clock: Clock
    store: Store
    live: LiveState
    quizzes: QuizCache
    executor: AttemptExecutor
    sessions: SessionService
    catalog: Catalog
    admin: AdminService
    reaper: Reaper
    admin_keys: dict[str, str]
    hub: LiveHub = field(default_factory=LiveHub)
    #: Counters and timings (``/metrics``): a Prometheus registry of this
    #: container's own, never the process-wide default one.
    metrics: Metrics = NO_METRICS
    #: What the outage check found on the last ``start`` (None without the reaper).
    outage: OutageReport | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _alive: OutageCredit | None = None

    async def start(self, *, reaper: bool = True) -> None:
        await self.store.open()
        await self.live.open()
        if reaper:
            # A serving instance: if the whole service was down, running tests get
            # the downtime credited (app/outage.py) before the reaper looks at
            # deadlines; from now on this instance marks itself alive.
            alive = self._alive = OutageCredit(self.store, self.executor, self.clock)
            found = await alive.begin()
            self._tasks.append(asyncio.create_task(alive.keep_marking(), name="alive"))
            self.outage = await alive.credit(found)
            # Deadlines that passed while the service was down are submitted now.
            await self.reaper.run_once()
            self._tasks.append(asyncio.create_task(self.reaper.run_forever(), name="reaper"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._alive is not None:
            # The last moment this instance was up: an outage starting now is
            # measured from here, not from the previous periodic mark.
            await self._alive.mark()
            self._alive = None
        await self.live.close()
        await self.store.close()


def build(settings: Settings, *, clock: Clock | None = None) -> Container:
    clock = clock or SystemClock()
    store = make_store(settings.store_url)
    if settings.encryption_keys:
        store = EncryptedStore(store, KeyRing(settings.encryption_keys))
    live = make_live(settings, clock, store)
    hub = LiveHub()
    metrics = PrometheusMetrics(live_sessions=lambda: len(hub), breaker=live)
    tokens = JwtTokens(token_secret(settings), clock)
    quizzes = QuizCache(store)
    shared = urlsplit(settings.store_url).scheme in ("postgres", "postgresql")
    executor = AttemptExecutor(
        store,
        quizzes,
        clock,
        cache_size=settings.cache_size,
        authoritative_cache=not shared,
        metrics=metrics,
    )
    sessions = SessionService(
        store,
        live,
        tokens,
        executor,
        quizzes,
        clock,
        SessionSettings(
            token_ttl_s=settings.token_ttl_s,
            login_limit_per_minute=settings.login_limit_per_minute,
            failed_login_limit_per_minute=settings.failed_login_limit_per_minute,
            write_limit_per_second=settings.write_limit_per_second,
        ),
        local=live if isinstance(live, MemoryLiveState) else MemoryLiveState(clock),
        metrics=metrics,
    )
    catalog = Catalog(store, clock)
    admin = AdminService(store, live, executor, sessions, clock)
    reaper = Reaper(
        store,
        sessions,
        clock,
        interval_s=settings.reaper_interval_s,
        metrics=metrics,
        prefetch=executor.prefetch,
    )
    return Container(
        settings=settings,
        clock=clock,
        store=store,
        live=live,
        quizzes=quizzes,
        executor=executor,
        sessions=sessions,
        catalog=catalog,
        admin=admin,
        reaper=reaper,
        admin_keys=settings.admin_keys(),
        hub=hub,
        metrics=metrics,
    )
