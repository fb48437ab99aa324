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

from quizsession.adapters.exporters import MoodleExporter
from quizsession.adapters.importers import MoodleImporter
from quizsession.adapters.live.memory import MemoryLiveState
from quizsession.adapters.lti.ags import AgsSink
from quizsession.adapters.lti.http import LtiHttp
from quizsession.adapters.lti.id_tokens import IdTokens
from quizsession.adapters.lti.keys import ToolKeys, generate_pem, kept_pem
from quizsession.adapters.lti.platform_keys import PlatformKeySets
from quizsession.adapters.metrics_prometheus import (
    PrometheusMetrics,
    use_worker_files,
    worker_gone,
)
from quizsession.adapters.report_render import CsvJsonHtmlRenderer
from quizsession.adapters.store.assembled import AssembledStore
from quizsession.adapters.store.encrypted import (
    KEYS_SETTING,
    EncryptedAccommodations,
    EncryptedEventLog,
    EncryptedInvites,
    KeyRing,
)
from quizsession.adapters.store.memory import MemoryStore
from quizsession.adapters.store.sqlite import SqliteStore
from quizsession.adapters.tokens_jwt import JwtTokens
from quizsession.adapters.webhooks import WebhookSink
from quizsession.app.accommodations import Accommodations
from quizsession.app.admin import AdminService
from quizsession.app.attempts import AttemptExecutor, QuizCache
from quizsession.app.catalog import Catalog
from quizsession.app.clock import SystemClock
from quizsession.app.delivery.admin import WebhookAdmin
from quizsession.app.delivery.engine import DeliveryEngine, DeliverySettings
from quizsession.app.grading import GradingService
from quizsession.app.live import LiveHub
from quizsession.app.lti.service import LtiService
from quizsession.app.metrics import NO_METRICS, Metrics
from quizsession.app.outage import OutageCredit, OutageReport
from quizsession.app.ports import Clock, LiveState, Store, UnreadableData
from quizsession.app.quiz_exporter import QuizExporter
from quizsession.app.quiz_import import QuizImporter
from quizsession.app.reaper import Reaper
from quizsession.app.reports.builder import ReportRenderer
from quizsession.app.review import Reviews
from quizsession.app.sessions.service import SessionService, SessionSettings
from quizsession.settings import Settings

log = logging.getLogger("quizsession")
#: How often a worker process copies its live values into the shared metric files.
METRICS_REFRESH_S = 1.0


def use_worker_metric_files(metrics_dir: str) -> None:
    """In a worker process of ``serve --workers N``, before ``build``: its
    metrics are recorded in ``metrics_dir`` with the other workers'."""
    use_worker_files(metrics_dir)


def worker_metrics_gone(metrics_dir: str, pid: int) -> None:
    """The supervisor reaped worker ``pid``: its live gauges stop counting."""
    worker_gone(metrics_dir, pid)


def sqlite_path(url: str) -> str:
    """``sqlite:///rel/path.db`` -> ``rel/path.db``; ``sqlite:////abs.db`` -> ``/abs.db``."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        raise ValueError(f"not a sqlite URL: {url}")
    path = url[len(prefix) :]
    if not path:
        raise ValueError("the sqlite URL needs a file path")
    return path


def make_store(url: str, *, create: bool = True, pg_partitions: int = 0) -> Store:
    """The store adapter for ``url``; ``create=False``: an embedded store must
    exist already (``StoreMissing`` on open), for the commands that only read.
    ``pg_partitions``: the layout of a PostgreSQL store's tables (0: plain)."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryStore()
    if scheme == "sqlite":
        return SqliteStore(sqlite_path(url), create=create)
    if scheme in ("postgres", "postgresql"):
        from quizsession.adapters.store.postgres import PostgresStore

        return PostgresStore(url, partitions=pg_partitions)
    raise ValueError(f"unsupported store URL scheme {scheme!r} (memory, sqlite, postgresql)")


def make_live(
    settings: Settings, clock: Clock, store: Store, live_file: str | None = None
) -> LiveState:
    """Redis behind a circuit breaker when ``QUIZSESSION_REDIS_URL`` is set (while
    Redis is down, leases go to ``store`` and the rest stays in this process);
    else, for the worker processes of ``serve --workers N``, the SQLite file
    ``live_file`` they all share; otherwise the in-process live state (one
    process)."""
    if settings.redis_url:
        from quizsession.adapters.live.redis import RedisLiveState
        from quizsession.adapters.live.resilient import ResilientLiveState

        return ResilientLiveState(RedisLiveState(settings.redis_url, clock), store, clock)
    if live_file is not None:
        from quizsession.adapters.live.sqlite_file import SqliteFileLiveState

        return SqliteFileLiveState(live_file, clock)
    return MemoryLiveState(clock)


def make_importer() -> QuizImporter:
    """The quiz importer (Moodle GIFT and XML). It holds no resources: a command
    that only converts a file (``quiz import --dry-run``) needs no store."""
    return MoodleImporter()


def make_exporter() -> QuizExporter:
    """The quiz exporter (Moodle XML and GIFT). Holds no resources."""
    return MoodleExporter()


def make_report_renderer() -> ReportRenderer:
    """The report renderer (CSV, JSON, HTML); no resources."""
    return CsvJsonHtmlRenderer()


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


def token_secret(settings: Settings, store: Store, *, create: bool = True) -> str:
    """The configured secret; else, as the store declares: one kept beside its
    data (``secret_file``, the SQLite file's) so sessions survive a restart; a
    shared or otherwise durable store without such a place needs it configured
    (instances must agree on it); a store in memory gets one for this process.
    ``create=False`` (a command that creates no store) creates no secret file
    either: without one, a secret for this process (it issues no session)."""
    if settings.secret_key:
        return settings.secret_key
    if store.secret_file is not None and not store.shared:
        if not create and not Path(store.secret_file).exists():
            return secrets.token_urlsafe(48)
        return kept_secret(Path(store.secret_file), 48)
    if store.shared:
        raise ValueError("QUIZSESSION_SECRET_KEY is required with a shared store")
    if store.durable:
        raise ValueError("QUIZSESSION_SECRET_KEY is required with this store")
    return secrets.token_urlsafe(48)


def lti_key(settings: Settings, store: Store, *, create: bool = True) -> ToolKeys:
    """The LTI tool's key, loaded on first use: the configured one (PEM text or
    a file); else, like the token secret, one kept beside the SQLite file, one
    for this process on a store in memory, and none on a shared store (LTI is
    refused there until the key is configured: instances must agree on it)."""
    configured = settings.lti_private_key

    def load() -> bytes | None:
        if configured:
            text = configured.strip()
            if text.startswith("-----BEGIN"):
                return text.encode()
            return Path(text).read_bytes()
        if store.shared:
            return None
        if store.secret_file is not None:
            path = Path(store.secret_file + "-lti-key.pem")
            if not create and not path.exists():
                return generate_pem()
            return kept_pem(path)
        if store.durable:
            return None
        return generate_pem()

    return ToolKeys(load)


def with_encryption(store: Store, spec: str) -> Store:
    """``store`` as the services see it: its event log and invites encrypted at
    rest with the keys of ``spec`` (``QUIZSESSION_ENCRYPTION_KEYS``), or, when
    ``spec`` is empty, refusing to serve data that was (``UnreadableData``)."""
    keys = KeyRing(spec) if spec else None
    return AssembledStore(
        store,
        events=EncryptedEventLog(store, keys),
        invites=EncryptedInvites(store, keys),
        accommodations=EncryptedAccommodations(store, keys),
    )


@dataclass
class Container:
    settings: Settings
    clock: Clock
    #: The store adapter, opened and closed by ``start`` and ``stop``.
    store: Store
    #: The store as the services see it (``with_encryption``): read attempts'
    #: events and invites through this, never through ``store``.
    data: Store
    live: LiveState
    quizzes: QuizCache
    executor: AttemptExecutor
    sessions: SessionService
    catalog: Catalog
    admin: AdminService
    reaper: Reaper
    admin_keys: dict[str, str]
    reports: ReportRenderer
    accommodations: Accommodations
    #: Reviews of submitted tests and the practice round's feedback.
    reviews: Reviews
    #: Grading by hand (the queue, grades) and regrades.
    grading: GradingService
    #: LTI 1.3: registrations, login, launch, deep linking, the tool's key set.
    lti: LtiService
    #: The ``lti_ags`` sink of the outbound delivery (scores to LMS gradebooks).
    lti_sink: AgsSink
    lti_http: LtiHttp
    #: Outbound delivery: follows the logs to webhooks and LMS gradebooks
    #: (a background task of serving instances), and the webhooks' admin.
    delivery: DeliveryEngine
    webhooks: WebhookAdmin
    webhook_sink: WebhookSink
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
        try:
            await self._check_encryption()
        except BaseException:
            await self.store.close()
            raise
        await self.live.open()
        if self.metrics.shared:
            self._tasks.append(asyncio.create_task(self._refresh_metrics(), name="metrics"))
        if reaper:
            # A serving instance: if the whole service was down, running tests get
            # the downtime credited (app/outage.py) before the reaper looks at
            # deadlines; from now on this instance marks itself alive.
            alive = self._alive = OutageCredit(
                self.store, self.executor, self.clock, mark_every_s=self.settings.heartbeat_s
            )
            found = await alive.begin()
            self._tasks.append(asyncio.create_task(alive.keep_marking(), name="alive"))
            self.outage = await alive.credit(found)
            # Deadlines that passed while the service was down are submitted now.
            await self.reaper.run_once()
            self._tasks.append(asyncio.create_task(self.reaper.run_forever(), name="reaper"))
            # Events not yet delivered when the service stopped go out now.
            self._tasks.append(asyncio.create_task(self.delivery.run(), name="delivery"))

    async def _refresh_metrics(self) -> None:
        """Every second: the live sockets and the breaker into this worker's
        metric files (a scrape may reach another worker)."""
        while True:
            try:
                self.metrics.refresh()
            except Exception:
                log.exception("quizsession: metrics not refreshed")
            await asyncio.sleep(METRICS_REFRESH_S)

    async def _check_encryption(self) -> None:
        """With keys, record in the store that it holds encrypted data; without,
        refuse to start on a store that does (rather than serve envelopes as
        answers and names, and score them)."""
        if self.settings.encryption_keys:
            await self.store.mark_encrypted_data()
        elif await self.store.holds_encrypted_data():
            message = (
                f"the store holds data encrypted at rest but {KEYS_SETTING} is not set: "
                "set it to the keys the data was written with; refusing to start"
            )
            log.error("quizsession: %s", message)
            raise UnreadableData(message)

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
        await self.lti_http.close()
        await self.webhook_sink.close()
        await self.live.close()
        await self.store.close()


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    create_store: bool = True,
    live_file: str | None = None,
    metrics_dir: str | None = None,
) -> Container:
    """Every part, from ``settings``. ``create_store=False`` for the commands that
    read a store: an embedded store that does not exist is not created
    (``StoreMissing`` on ``start``). ``live_file``: a worker process of ``serve
    --workers N`` (N > 1) sharing its live state with the others through this
    SQLite file (unless Redis is configured). ``metrics_dir``: a worker process
    recording its metrics with the others' there (``use_worker_files`` called)."""
    clock = clock or SystemClock()
    adapter = make_store(
        settings.store_url, create=create_store, pg_partitions=settings.pg_partitions
    )
    store = with_encryption(adapter, settings.encryption_keys)
    live = make_live(settings, clock, adapter, live_file)
    hub = LiveHub()
    metrics = PrometheusMetrics(
        live_sessions=lambda: len(hub), breaker=live, worker_files=metrics_dir
    )
    secret = token_secret(settings, adapter, create=create_store)
    tokens = JwtTokens(secret, clock)
    quizzes = QuizCache(store)
    # Several instances on one store, or several worker processes on one file:
    # no process's cache can be the truth (appends are checked by the store's
    # optimistic lock; reads catch up from the log).
    shared = adapter.shared or (settings.workers or 1) > 1
    executor = AttemptExecutor(
        store,
        quizzes,
        clock,
        cache_size=settings.cache_size,
        authoritative_cache=not shared,
        metrics=metrics,
    )
    accommodations = Accommodations(store, executor, live, clock)
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
            token_refresh_s=settings.token_refresh_s,
        ),
        local=live if live.process_local else MemoryLiveState(clock),
        metrics=metrics,
        accommodations=accommodations,
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
    lti_http = LtiHttp()
    tool_key = lti_key(settings, adapter, create=create_store)
    lti_sink = AgsSink(store, tool_key, clock, lti_http)
    webhook_sink = WebhookSink(
        WebhookSink.client(settings.webhook_timeout_s), clock, timeout_s=settings.webhook_timeout_s
    )
    delivery_settings = DeliverySettings(
        lease_s=settings.outbound_lease_s,
        first_retry_s=settings.outbound_first_retry_s,
        max_backoff_s=max(3600.0, settings.outbound_first_retry_s),
        retry_for_s=settings.outbound_retry_for_s,
    )
    delivery = DeliveryEngine(
        store, {webhook_sink.kind: webhook_sink, lti_sink.kind: lti_sink}, clock, delivery_settings
    )
    lti = LtiService(
        store,
        IdTokens(PlatformKeySets(lti_http, clock.monotonic)),
        tool_key,
        sessions.open_for_user,
        clock,
        secret,
    )
    return Container(
        settings=settings,
        clock=clock,
        store=adapter,
        data=store,
        live=live,
        quizzes=quizzes,
        executor=executor,
        sessions=sessions,
        catalog=catalog,
        admin=admin,
        reaper=reaper,
        admin_keys=settings.admin_keys(),
        reports=make_report_renderer(),
        accommodations=accommodations,
        reviews=Reviews(executor, clock, sessions.activity),
        grading=GradingService(store, executor, clock),
        lti=lti,
        lti_sink=lti_sink,
        lti_http=lti_http,
        delivery=delivery,
        webhooks=WebhookAdmin(store, clock, retry_for_s=settings.outbound_retry_for_s),
        webhook_sink=webhook_sink,
        hub=hub,
        metrics=metrics,
    )
