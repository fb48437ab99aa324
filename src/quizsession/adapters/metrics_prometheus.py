"""The metrics port on ``prometheus_client``, in a registry of its own (one per
container, never the process-wide default): several apps in one process (the
tests) do not share or collide on their metrics.

Exposed (text format 0.0.4):

- ``quizsession_live_sessions`` (gauge): live sockets held by this instance;
- ``quizsession_saves_total``: answers appended;
- ``quizsession_conflicts_total``: appends refused by the optimistic lock
  (the executor caught up and decided again);
- ``quizsession_refusals_total{code}``: problem responses by stable code;
- ``quizsession_heartbeat_gap_seconds`` (histogram): time between consecutive
  heartbeats (HTTP or live-socket pings) of a session on this instance;
- ``quizsession_auto_submits_total``: attempts submitted by the reaper;
- ``quizsession_reaper_lag_seconds`` (histogram): how late after ``due_at``
  (deadline + grace) the reaper submitted;
- ``quizsession_request_duration_seconds{route,method,status}`` (histogram;
  ``route`` is the path template, ``unmatched`` when no route matched);
- ``quizsession_store_append_seconds`` (histogram);
- with a circuit breaker in front of the live state:
  ``quizsession_live_breaker_open`` (gauge, 1 while not closed),
  ``quizsession_live_breaker_trips_total`` and
  ``quizsession_live_breaker_fallbacks_total``.

Worker processes (``serve --workers N``): a scrape reaches one worker, and must
still count the whole service. Each worker records into memory-mapped files in
a directory the workers share (``prometheus_client``'s multiprocess mode:
``use_worker_files`` in each worker before its metrics exist); an exposition
sums every worker's files, those of workers that died included (a counter never
goes back); live gauges count only running workers (``worker_gone`` when one is
reaped). Values read from elsewhere (live sockets, the breaker) are copied into
the files by ``refresh``, which the container runs every second.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Protocol, runtime_checkable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess, values
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

_FILES_ENV = "PROMETHEUS_MULTIPROC_DIR"

#: HTTP methods kept as label values; anything else is ``OTHER`` (bounded labels).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
APPEND_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
HEARTBEAT_BUCKETS = (1.0, 2.5, 4.0, 5.0, 6.0, 7.5, 10.0, 15.0, 20.0, 30.0, 60.0, 120.0, 300.0)
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)


@runtime_checkable
class Breaker(Protocol):
    """A live state behind a circuit breaker (``ResilientLiveState``)."""

    @property
    def state(self) -> str: ...

    @property
    def trips(self) -> int: ...

    @property
    def fallbacks(self) -> int: ...


class _BreakerCollector:
    """Reads the breaker's counters at scrape time."""

    def __init__(self, breaker: Breaker) -> None:
        self._breaker = breaker

    def collect(self) -> Iterable[Metric]:
        b = self._breaker
        yield GaugeMetricFamily(
            "quizsession_live_breaker_open",
            "1 while the live state's circuit breaker is not closed (store-only mode)",
            value=0.0 if b.state == "closed" else 1.0,
        )
        yield CounterMetricFamily(
            "quizsession_live_breaker_trips",
            "times the live state's circuit breaker opened",
            value=float(b.trips),
        )
        yield CounterMetricFamily(
            "quizsession_live_breaker_fallbacks",
            "live-state calls served by the fallback while the breaker was not closed",
            value=float(b.fallbacks),
        )


def use_worker_files(path: str) -> None:
    """Make this process record its metrics into files under ``path`` (shared
    with the other workers); call it in a worker before any metric exists."""
    os.environ[_FILES_ENV] = path
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]


def worker_gone(path: str, pid: int) -> None:
    """A worker (``pid``) was reaped: its live gauges stop counting."""
    multiprocess.mark_process_dead(pid, path)  # type: ignore[no-untyped-call]


class _SharedBreaker:
    """The breaker's state and counters copied into a worker's metric files."""

    def __init__(self, breaker: Breaker, registry: CollectorRegistry) -> None:
        self._breaker = breaker
        self._open = Gauge(
            "quizsession_live_breaker_open",
            "1 while the live state's circuit breaker is not closed (store-only mode)",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self._trips = Counter(
            "quizsession_live_breaker_trips",
            "times the live state's circuit breaker opened",
            registry=registry,
        )
        self._fallbacks = Counter(
            "quizsession_live_breaker_fallbacks",
            "live-state calls served by the fallback while the breaker was not closed",
            registry=registry,
        )
        self._seen = (0, 0)

    def refresh(self) -> None:
        b = self._breaker
        self._open.set(0.0 if b.state == "closed" else 1.0)
        trips, fallbacks = b.trips, b.fallbacks
        if trips > self._seen[0]:
            self._trips.inc(trips - self._seen[0])
        if fallbacks > self._seen[1]:
            self._fallbacks.inc(fallbacks - self._seen[1])
        self._seen = (max(trips, self._seen[0]), max(fallbacks, self._seen[1]))


class PrometheusMetrics:
    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        live_sessions: Callable[[], float] | None = None,
        breaker: object | None = None,
        worker_files: str | None = None,
    ) -> None:
        """``worker_files``: this process is a worker recording into that
        directory (``use_worker_files`` was called)."""
        self.registry = registry if registry is not None else CollectorRegistry()
        self._files = worker_files
        self._live_sessions = live_sessions
        r = self.registry
        self._live = Gauge(
            "quizsession_live_sessions",
            "live sockets held by this instance (every worker's)",
            registry=r,
            multiprocess_mode="livesum",
        )
        if live_sessions is not None and worker_files is None:
            self._live.set_function(live_sessions)
        self._saves = Counter("quizsession_saves", "answers appended", registry=r)
        self._conflicts = Counter(
            "quizsession_conflicts",
            "appends refused by the optimistic lock (retried)",
            registry=r,
        )
        self._refusals = Counter(
            "quizsession_refusals", "problem responses by stable code", ["code"], registry=r
        )
        self._heartbeat_gap = Histogram(
            "quizsession_heartbeat_gap_seconds",
            "time between consecutive heartbeats of a session on this instance",
            buckets=HEARTBEAT_BUCKETS,
            registry=r,
        )
        self._auto_submits = Counter(
            "quizsession_auto_submits", "attempts submitted by the reaper", registry=r
        )
        self._reaper_lag = Histogram(
            "quizsession_reaper_lag_seconds",
            "how late after due_at (deadline + grace) the reaper submitted",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self._requests = Histogram(
            "quizsession_request_duration_seconds",
            "HTTP request duration by route template, method and status",
            ["route", "method", "status"],
            buckets=REQUEST_BUCKETS,
            registry=r,
        )
        self._request_children: dict[tuple[str, str, int], Histogram] = {}
        self._append = Histogram(
            "quizsession_store_append_seconds",
            "duration of one store append",
            buckets=APPEND_BUCKETS,
            registry=r,
        )
        self._shared_breaker: _SharedBreaker | None = None
        if isinstance(breaker, Breaker):
            if worker_files is None:
                r.register(_BreakerCollector(breaker))
            else:
                self._shared_breaker = _SharedBreaker(breaker, r)

    @property
    def shared(self) -> bool:
        """True in a worker process: ``refresh`` must run periodically."""
        return self._files is not None

    def refresh(self) -> None:
        """Copy the values read from elsewhere into this worker's files (a
        scrape answered by another worker reads them there)."""
        if self._files is None:
            return
        if self._live_sessions is not None:
            self._live.set(self._live_sessions())
        if self._shared_breaker is not None:
            self._shared_breaker.refresh()

    def saved(self) -> None:
        self._saves.inc()

    def conflict(self) -> None:
        self._conflicts.inc()

    def refused(self, code: str) -> None:
        self._refusals.labels(code=code).inc()

    def heartbeat_gap(self, seconds: float) -> None:
        self._heartbeat_gap.observe(seconds)

    def auto_submitted(self, lag_s: float) -> None:
        self._auto_submits.inc()
        self._reaper_lag.observe(max(0.0, lag_s))

    def request_done(self, route: str, method: str, status: int, seconds: float) -> None:
        label = method if method in METHODS else "OTHER"
        # The labelled child by its labels (a route template or ``unmatched``, a
        # known method or OTHER, a status: a bounded set): ``labels`` costs more
        # than the observation, on every request.
        key = (route, label, status)
        child = self._request_children.get(key)
        if child is None:
            child = self._requests.labels(route=route, method=label, status=str(status))
            self._request_children[key] = child
        child.observe(seconds)

    def store_append(self, seconds: float) -> None:
        self._append.observe(seconds)

    def exposition(self) -> tuple[bytes, str]:
        if self._files is None:
            return generate_latest(self.registry), CONTENT_TYPE_PLAIN_0_0_4
        self.refresh()
        every_worker = CollectorRegistry()
        multiprocess.MultiProcessCollector(every_worker, path=self._files)  # type: ignore[no-untyped-call]
        return generate_latest(every_worker), CONTENT_TYPE_PLAIN_0_0_4
