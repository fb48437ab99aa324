"""The capacity projection's arithmetic (pure: no I/O, no clock): from the CPU
each component spends per operation (``bench.projection`` measures it) and a
load profile (candidates, how often each saves and heartbeats, live sockets or
not), the cores each component needs; the candidates a deployment of C cores
carries and which component saturates first; and the deployment for a target
number of candidates.

Components: the instances (any number, one process per core), the PostgreSQL
primary (one machine: its cores are a ceiling) and Redis (single-threaded: one
core per shard; one shard, or a cluster of shards with the leases spread by
key). Each is planned at ``utilisation`` of its cores (headroom for bursts and
latency). Two load shapes are sized and the larger need per component is kept:
the steady state of an exam in progress (saves, heartbeats or socket pings,
ticks, question fetches, and one login, start and submit per candidate spread
over the exam) and the start window (every candidate logs in and starts within
``start_window_s`` while the ones already in heartbeat).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

OPS = ("save", "heartbeat", "ping", "tick", "question", "login", "start", "submit")
COMPONENTS = ("instances", "postgres", "redis")
CORE_SIZES = (8, 32, 128)
KIB = 1024
MIB = 1024 * 1024
GIB = 1024 * 1024 * 1024


@dataclass(frozen=True)
class Costs:
    """CPU milliseconds per operation per component (``ms[op][component]``), and
    memory: instance bytes per live socket and per cached attempt, Redis bytes
    per candidate (lease, idle record, counters)."""

    ms: Mapping[str, Mapping[str, float]]
    socket_bytes: float
    attempt_bytes: float
    redis_bytes: float

    def cost(self, op: str, component: str) -> float:
        return self.ms.get(op, {}).get(component, 0.0)


@dataclass(frozen=True)
class Profile:
    candidates: int = 1_000_000
    save_every_s: float = 30.0
    heartbeat_s: float = 5.0
    sockets: bool = True  # a live socket per candidate: pings replace HTTP heartbeats
    exam_s: float = 3600.0
    questions: int = 20  # question fetches per attempt
    start_window_s: float = 600.0
    utilisation: float = 0.7  # the share of each component's cores planned for


def steady_rates(p: Profile) -> dict[str, float]:
    """Operations per second while an exam is in progress."""
    n = p.candidates
    beat = n / p.heartbeat_s
    once = n / p.exam_s
    return {
        "save": n / p.save_every_s,
        "heartbeat": 0.0 if p.sockets else beat,
        "ping": beat if p.sockets else 0.0,
        "tick": beat if p.sockets else 0.0,
        "question": n * p.questions / p.exam_s,
        "login": once,
        "start": once,
        "submit": once,
    }


def start_rates(p: Profile) -> dict[str, float]:
    """Operations per second in the start window: everyone logs in and starts;
    on average half of them are in and heartbeating (no saves yet)."""
    half = p.candidates / 2 / p.heartbeat_s
    arrive = p.candidates / p.start_window_s
    return {
        "heartbeat": 0.0 if p.sockets else half,
        "ping": half if p.sockets else 0.0,
        "tick": half if p.sockets else 0.0,
        "question": arrive,
        "login": arrive,
        "start": arrive,
    }


def busy_cores(rates: Mapping[str, float], costs: Costs) -> dict[str, float]:
    """CPU cores each component is busy for at these operation rates."""
    return {
        c: sum(rate * costs.cost(op, c) for op, rate in rates.items()) / 1000 for c in COMPONENTS
    }


def cores_needed(p: Profile, costs: Costs) -> dict[str, float]:
    """Busy cores per component: the larger of the steady state and the start
    window (before the utilisation headroom)."""
    steady = busy_cores(steady_rates(p), costs)
    start = busy_cores(start_rates(p), costs)
    return {c: max(steady[c], start[c]) for c in COMPONENTS}


def per_candidate(p: Profile, costs: Costs) -> dict[str, float]:
    one = replace(p, candidates=1)
    return cores_needed(one, costs)


@dataclass(frozen=True)
class Row:
    cores: int
    carried: dict[str, float]  # candidates each component carries at utilisation
    candidates: float  # the least of them (one Redis shard)
    bottleneck: str
    without_redis_ceiling: float  # with as many Redis shards as it takes
    next_bottleneck: str
    redis_shards: int  # for ``without_redis_ceiling`` candidates


def row(cores: int, p: Profile, costs: Costs) -> Row:
    """What a deployment whose instances have ``cores`` cores in all, on a
    PostgreSQL primary of ``cores`` cores and one Redis shard, carries."""
    need = per_candidate(p, costs)
    capacity = {"instances": float(cores), "postgres": float(cores), "redis": 1.0}
    carried = {
        c: (capacity[c] * p.utilisation / need[c]) if need[c] > 0 else math.inf for c in COMPONENTS
    }
    bottleneck = min(COMPONENTS, key=lambda c: carried[c])
    others = [c for c in COMPONENTS if c != "redis"]
    next_bottleneck = min(others, key=lambda c: carried[c])
    without = carried[next_bottleneck]
    shards = max(1, math.ceil(without * need["redis"] / p.utilisation))
    return Row(
        cores=cores,
        carried=carried,
        candidates=carried[bottleneck],
        bottleneck=bottleneck,
        without_redis_ceiling=without,
        next_bottleneck=next_bottleneck,
        redis_shards=shards,
    )


@dataclass(frozen=True)
class Deployment:
    candidates: int
    busy: dict[str, float]  # cores busy per component
    instances: int  # one process per core
    machines: int  # instance machines of ``machine_cores``
    machine_cores: int
    postgres_cores: int
    postgres_fits: bool  # within the largest primary (``max_primary_cores``)
    redis_shards: int
    instance_memory_bytes: float  # per instance: its share of sockets and cached attempts
    redis_memory_bytes: float  # all shards together
    saves_per_s: float


def deployment(
    p: Profile, costs: Costs, *, machine_cores: int = 16, max_primary_cores: int = 128
) -> Deployment:
    busy = cores_needed(p, costs)
    instances = max(1, math.ceil(busy["instances"] / p.utilisation))
    pg = max(1, math.ceil(busy["postgres"] / p.utilisation))
    shards = max(1, math.ceil(busy["redis"] / p.utilisation))
    per_candidate_bytes = costs.attempt_bytes + (costs.socket_bytes if p.sockets else 0.0)
    return Deployment(
        candidates=p.candidates,
        busy=busy,
        instances=instances,
        machines=math.ceil(instances / machine_cores),
        machine_cores=machine_cores,
        postgres_cores=pg,
        postgres_fits=pg <= max_primary_cores,
        redis_shards=shards,
        instance_memory_bytes=p.candidates * per_candidate_bytes / instances,
        redis_memory_bytes=p.candidates * costs.redis_bytes,
        saves_per_s=p.candidates / p.save_every_s,
    )


def without_store_reads(costs: Costs) -> Costs:
    """The option of serving ticks and socket pings from the instance's cached
    state (no catch-up read of the log in PostgreSQL): their PostgreSQL CPU gone,
    everything else as measured."""
    ms = {op: dict(by) for op, by in costs.ms.items()}
    for op in ("tick", "ping"):
        if op in ms:
            ms[op]["postgres"] = 0.0
    return replace(costs, ms=ms)


def pong_as_tick(costs: Costs) -> Costs:
    """The further option of no separate tick while pings flow (the pong already
    carries the time remaining): the tick's cost gone on every component."""
    ms = {op: dict(by) for op, by in costs.ms.items()}
    ms["tick"] = dict.fromkeys(COMPONENTS, 0.0)
    return replace(costs, ms=ms)


# -- text -----------------------------------------------------------------------------


def count(n: float) -> str:
    """12,345 / 1.2 M / 3.4 k, for tables."""
    if math.isinf(n):
        return "unbounded"
    if n >= 1e6:
        return f"{n / 1e6:.2f} M"
    if n >= 1e4:
        return f"{n / 1e3:.0f} k"
    return f"{n:,.0f}"


def table_lines(p: Profile, costs: Costs, sizes: tuple[int, ...] = CORE_SIZES) -> list[str]:
    """The README table: per size, candidates carried by each component and the
    first bottleneck."""
    lines = [
        "| cores (instances; PostgreSQL primary) | instances carry | PostgreSQL carries "
        "| one Redis shard carries | candidates | first bottleneck | with a Redis cluster |",
        "|---|---|---|---|---|---|---|",
    ]
    for size in sizes:
        r = row(size, p, costs)
        lines.append(
            f"| {size}; {size} | {count(r.carried['instances'])} | {count(r.carried['postgres'])} "
            f"| {count(r.carried['redis'])} | {count(r.candidates)} | {r.bottleneck} "
            f"| {count(r.without_redis_ceiling)} ({r.next_bottleneck} first; "
            f"{r.redis_shards} shard{'s' if r.redis_shards > 1 else ''}) |"
        )
    return lines


def deployment_lines(d: Deployment) -> list[str]:
    pg_note = "" if d.postgres_fits else " (more than one primary holds: see the options)"
    return [
        f"{count(d.candidates)} candidates, {d.saves_per_s:,.0f} saves/s: busy cores "
        + ", ".join(f"{c} {d.busy[c]:.1f}" for c in COMPONENTS),
        f"  instances: {d.instances} processes ({d.machines} machines x {d.machine_cores} cores), "
        f"{d.instance_memory_bytes / MIB:,.0f} MiB each for sockets and cached attempts",
        f"  PostgreSQL primary: {d.postgres_cores} cores{pg_note}",
        f"  Redis: {d.redis_shards} shard{'s' if d.redis_shards > 1 else ''} "
        f"(one core each), {d.redis_memory_bytes / GIB:.1f} GiB in all",
    ]
