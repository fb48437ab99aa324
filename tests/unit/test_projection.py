"""The capacity projection's arithmetic (``testsupport.capacity_model``) on fixed
figures, worked out by hand."""

from __future__ import annotations

import dataclasses
import math

import pytest

from testsupport import capacity_model as model

KIB = 1024
COSTS = model.Costs(
    ms={
        "save": {"instances": 1.0, "postgres": 0.5, "redis": 0.0},
        "heartbeat": {"instances": 0.8, "postgres": 0.2, "redis": 0.1},
        "ping": {"instances": 0.5, "postgres": 0.1, "redis": 0.05},
        "tick": {"instances": 0.25, "postgres": 0.1, "redis": 0.0},
        "login": {"instances": 2.0, "postgres": 2.0, "redis": 0.2},
    },
    socket_bytes=32 * KIB,
    attempt_bytes=8 * KIB,
    redis_bytes=2000.0,
)
#: 100 saves/s, 200 pings and 200 ticks/s, 1 login, start and submit per second
#: while the exam runs; 10 logins and starts per second and half the candidates
#: heartbeating in the start window.
SMALL = model.Profile(
    candidates=1000,
    save_every_s=10.0,
    heartbeat_s=5.0,
    exam_s=1000.0,
    questions=0,
    start_window_s=100.0,
    utilisation=0.5,
)
MILLION = dataclasses.replace(SMALL, candidates=1_000_000)


def test_steady_rates_follow_the_profile() -> None:
    rates = model.steady_rates(SMALL)
    assert rates["save"] == pytest.approx(100.0)
    assert rates["ping"] == pytest.approx(200.0)
    assert rates["tick"] == pytest.approx(200.0)
    assert rates["heartbeat"] == 0.0  # the socket's pings replace HTTP heartbeats
    assert rates["login"] == rates["start"] == rates["submit"] == pytest.approx(1.0)


def test_without_sockets_the_page_heartbeats_over_http() -> None:
    rates = model.steady_rates(model.Profile(candidates=1000, heartbeat_s=5.0, sockets=False))
    assert rates["heartbeat"] == pytest.approx(200.0)
    assert rates["ping"] == rates["tick"] == 0.0


def test_busy_cores_are_rates_times_cpu_per_operation() -> None:
    # instances: 100 x 1.0 + 200 x 0.5 + 200 x 0.25 + 1 x 2.0 = 252 ms per second
    steady = model.busy_cores(model.steady_rates(SMALL), COSTS)
    assert steady == pytest.approx({"instances": 0.252, "postgres": 0.092, "redis": 0.0102})
    # start window: 100 pings and ticks/s, 10 logins/s
    start = model.busy_cores(model.start_rates(SMALL), COSTS)
    assert start == pytest.approx({"instances": 0.095, "postgres": 0.04, "redis": 0.007})
    assert model.cores_needed(SMALL, COSTS) == pytest.approx(steady)


def test_a_short_start_window_sizes_the_logins() -> None:
    rushed = model.Profile(
        candidates=1000, save_every_s=10.0, exam_s=1000.0, questions=0, start_window_s=1.0
    )
    # 1000 logins in one second: 2 cores of instance and of PostgreSQL CPU
    need = model.cores_needed(rushed, COSTS)
    assert need["instances"] == pytest.approx(0.05 + 0.025 + 2.0)
    assert need["postgres"] == pytest.approx(0.01 + 0.01 + 2.0)


def test_a_row_names_the_component_that_saturates_first() -> None:
    small = model.row(8, MILLION, COSTS)
    # per candidate: instances 0.252 ms/s, PostgreSQL 0.092, Redis 0.0102
    assert small.carried["instances"] == pytest.approx(8 * 0.5 / 0.252e-3)
    assert small.carried["postgres"] == pytest.approx(8 * 0.5 / 0.092e-3)
    assert small.carried["redis"] == pytest.approx(0.5 / 0.0102e-3)
    assert small.bottleneck == "instances"
    assert small.candidates == pytest.approx(15_873, abs=1)

    large = model.row(128, MILLION, COSTS)
    assert large.bottleneck == "redis"  # one shard: one core
    assert large.candidates == pytest.approx(49_020, abs=1)
    assert large.next_bottleneck == "instances"
    assert large.without_redis_ceiling == pytest.approx(253_968, abs=1)
    assert large.redis_shards == math.ceil(253_968 * 0.0102e-3 / 0.5) == 6


def test_the_deployment_for_a_million_candidates() -> None:
    plan = model.deployment(MILLION, COSTS, machine_cores=16, max_primary_cores=128)
    assert plan.busy == pytest.approx({"instances": 252.0, "postgres": 92.0, "redis": 10.2})
    assert plan.instances == 504  # 252 busy cores at 50%
    assert plan.machines == 32
    assert plan.postgres_cores == 184
    assert not plan.postgres_fits
    assert plan.redis_shards == 21
    assert plan.instance_memory_bytes == pytest.approx(1_000_000 * 40 * KIB / 504)
    assert plan.redis_memory_bytes == pytest.approx(2e9)
    assert plan.saves_per_s == pytest.approx(100_000)


def test_the_heartbeat_options_take_their_cost_off() -> None:
    cached = model.without_store_reads(COSTS)
    assert cached.cost("tick", "postgres") == cached.cost("ping", "postgres") == 0.0
    assert cached.cost("ping", "instances") == 0.5
    assert cached.cost("save", "postgres") == 0.5
    plan = model.deployment(MILLION, cached)
    assert plan.busy["postgres"] == pytest.approx(52.0)  # saves 50 + logins 2
    merged = model.pong_as_tick(cached)
    assert model.deployment(MILLION, merged).busy["instances"] == pytest.approx(202.0)
    assert COSTS.cost("tick", "postgres") == 0.1  # the measured figures are left alone


def test_table_lines_one_row_per_size() -> None:
    lines = model.table_lines(MILLION, COSTS)
    assert len(lines) == 2 + len(model.CORE_SIZES)
    assert "| 8; 8 | 16 k | 43 k | 49 k | 16 k | instances |" in lines[2]
    assert lines[4].split(" | ")[5] == "redis"
    assert model.count(1_234_567) == "1.23 M"
    assert model.count(math.inf) == "unbounded"
