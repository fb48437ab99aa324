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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol, runtime_checkable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

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


class PrometheusMetrics:
    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        live_sessions: Callable[[], float] | None = None,
        breaker: object | None = None,
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self._live = Gauge(
            "quizsession_live_sessions", "live sockets held by this instance", registry=r
        )
        if live_sessions is not None:
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
        if isinstance(breaker, Breaker):
            r.register(_BreakerCollector(breaker))

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
        return generate_latest(self.registry), CONTENT_TYPE_PLAIN_0_0_4
