"""A Redis outage under load: the service keeps working in store-only mode.

Two real ``quizsession serve`` processes share one PostgreSQL database (a fresh
one on the suite's server) and one Redis of this test's own. Fifty candidates of
a quiz that refuses a second login send each request to a random instance,
saving continuously and heartbeating every second. Redis is SIGKILLed under
load, stays down ~5 s, is restarted (empty) on the same port, and the load goes
on ~5 s more. Loopback only; bounded in time.

Asserted:
- no acknowledged save is lost: every 2xx save's op_id is an ``answer_saved``
  event of its attempt (read through ``GET /admin/attempts/{id}/events``);
- no 5xx and no connection error anywhere (the instances never go down);
- ``/readyz`` stays 200 on both instances, with ``live: "degraded"`` while Redis
  is down and ``live: true`` again once it is back;
- never two live sessions on one attempt: before, during and after the outage,
  some candidates try a second login (no takeover) on the other instance while
  their first session heartbeats, and every one is refused with 409
  ``session_active``; no session is ever superseded; in each attempt's log no
  ``session_opened`` follows another without a ``session_superseded`` or
  ``session_closed`` between them (here: exactly one ``session_opened``).
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import LOAD_ENV
from testsupport.processes import assert_no_traceback
from testsupport.redis_server import RedisServer
from testsupport.scenario import JSON, Candidate, invite, put_quiz, quiz_definition, random_answer
from testsupport.service import PgServerProcess

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.timeout(90),  # the phases below add up to well under 60 s
]

N_CANDIDATES = 50
PROBE_EVERY = 5  # every 5th candidate also tries a second login, again and again
BEFORE_S = 2.0  # load before the kill
OUTAGE_S = 5.0  # Redis down, load going on
AFTER_S = 5.0  # Redis back, load going on
HEARTBEAT_EVERY_S = 1.0
PROBE_PAUSE_S = (0.3, 0.6)
THINK_S = (0.0, 0.02)
SHARDS = 4  # httpx pools per instance
RECOVERY_PATIENCE_S = 10.0


@dataclass(frozen=True)
class Ack:
    attempt_id: str
    op_id: str
    phase: str


@dataclass
class Run:
    """What happened, as the clients saw it."""

    phase: str = "before"  # before -> outage -> after
    acks: list[Ack] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    probes: Counter[tuple[str, str]] = field(default_factory=Counter)  # (phase, outcome)
    second_sessions: list[str] = field(default_factory=list)
    heartbeats: Counter[str] = field(default_factory=Counter)
    readyz: list[tuple[str, int, int, object]] = field(default_factory=list)


def _code(r: httpx.Response) -> str:
    try:
        return str(r.json().get("code", ""))
    except ValueError:
        return f"http_{r.status_code}"


class Cluster:
    """The two instances and a few pooled clients for each."""

    def __init__(self, servers: list[PgServerProcess]) -> None:
        self.servers = servers
        self.pools = [
            [
                httpx.AsyncClient(
                    base_url=s.url,
                    timeout=15.0,
                    limits=httpx.Limits(max_connections=40, keepalive_expiry=2.0),
                )
                for _ in range(SHARDS)
            ]
            for s in servers
        ]

    def client(self, instance: int, shard: int) -> httpx.AsyncClient:
        return self.pools[instance][shard % SHARDS]

    @property
    def admin(self) -> dict[str, str]:
        return self.servers[0].admin_headers

    async def aclose(self) -> None:
        for pool in self.pools:
            for client in pool:
                await client.aclose()


class Driver:
    """One candidate: saves answers continuously and heartbeats every second,
    each request to a random instance. A prober also keeps trying to log in a
    second time on the instance its session was not opened on."""

    def __init__(
        self,
        index: int,
        cluster: Cluster,
        candidate: Candidate,
        home: int,
        run: Run,
        stop: asyncio.Event,
    ) -> None:
        self.index = index
        self.cluster = cluster
        self.c = candidate
        self.home = home
        self.run_ = run
        self.stop = stop
        self.rng = random.Random(index)
        self.seq = 0
        self.questions: list[JSON] = []
        self.exhausted = False
        self.next_heartbeat = time.monotonic() + self.rng.uniform(0, HEARTBEAT_EVERY_S)

    async def request(
        self,
        method: str,
        path: str,
        *,
        instance: int | None = None,
        json: Any = None,
        auth: bool = True,
    ) -> httpx.Response | None:
        which = self.rng.randrange(2) if instance is None else instance
        client = self.cluster.client(which, self.index)
        headers = self.c.auth if auth else None
        try:
            r = await client.request(method, path, json=json, headers=headers)
        except httpx.TransportError as exc:
            self.run_.transport_errors.append(f"{method} {path} -> {exc!r}")
            return None
        self.run_.statuses[r.status_code] += 1
        if r.status_code == 503 and _code(r) == "live_state_recovering":
            return r  # a deliberate refusal in the breaker's safety window
        if r.status_code >= 500:
            self.run_.server_errors.append(
                f"[{self.run_.phase}] {method} {path} @{which} -> {r.status_code} {r.text}"
            )
            return None
        return r

    def expect(self, r: httpx.Response | None, status: int, what: str) -> bool:
        if r is None:
            return False
        if r.status_code != status:
            self.run_.unexpected.append(
                f"[{self.run_.phase}] {what}: {r.status_code} {_code(r)} {r.text[:200]}"
            )
            return False
        return True

    async def heartbeat(self) -> None:
        r = await self.request("POST", f"/sessions/{self.c.session_id}/heartbeat")
        if self.expect(r, 200, f"heartbeat c{self.index}"):
            self.run_.heartbeats[self.run_.phase] += 1

    async def save(self) -> None:
        if not self.exhausted:
            r = await self.request("GET", f"/sessions/{self.c.session_id}/question")
            if not self.expect(r, 200, f"question c{self.index}"):
                return
            assert r is not None
            question = r.json()["question"]
            if question is None:
                self.exhausted = True
                return
            if question["id"] not in {q["id"] for q in self.questions}:
                self.questions.append(question)
        else:
            question = self.questions[self.seq % len(self.questions)]
        self.seq += 1
        op_id = f"c{self.index}-op{self.seq}"
        body = {
            "question_id": question["id"],
            "answer": random_answer(question, self.rng),
            "op_id": op_id,
        }
        r = await self.request("PUT", f"/sessions/{self.c.session_id}/progress", json=body)
        if self.expect(r, 200, f"save c{self.index}"):
            self.run_.acks.append(Ack(self.c.attempt_id, op_id, self.run_.phase))

    async def work(self) -> None:
        while not self.stop.is_set():
            if time.monotonic() >= self.next_heartbeat:
                self.next_heartbeat = time.monotonic() + HEARTBEAT_EVERY_S
                await self.heartbeat()
            else:
                await self.save()
            await asyncio.sleep(self.rng.uniform(*THINK_S))

    async def probe(self) -> None:
        """A second login, no takeover, on the other instance: must be refused."""
        other = 1 - self.home
        while not self.stop.is_set():
            await asyncio.sleep(self.rng.uniform(*PROBE_PAUSE_S))
            phase = self.run_.phase
            r = await self.request(
                "POST",
                "/sessions",
                instance=other,
                json={"invite_token": self.c.invite_token},
                auth=False,
            )
            if r is None:
                continue
            if (r.status_code, _code(r)) in (
                (409, "session_active"),
                (503, "live_state_recovering"),  # the breaker's safety window
            ):
                self.run_.probes[(phase, "refused")] += 1
                continue
            self.run_.probes[(phase, f"{r.status_code} {_code(r)}")] += 1
            if r.status_code == 201:
                self.run_.second_sessions.append(f"[{phase}] c{self.index}: {r.text[:200]}")
                return  # the first session is superseded now: stop probing


async def _readyz(cluster: Cluster, run: Run, stop: asyncio.Event) -> None:
    while not stop.is_set():
        for i in range(2):
            try:
                r = await cluster.client(i, 0).get("/readyz")
            except httpx.TransportError as exc:
                run.transport_errors.append(f"readyz @{i} -> {exc!r}")
                continue
            live = r.json().get("live") if r.status_code in (200, 503) else None
            run.readyz.append((run.phase, i, r.status_code, live))
        await asyncio.sleep(0.25)


async def test_a_redis_outage_loses_nothing_and_keeps_one_session(
    tmp_path: Path, fresh_dsn: str, own_redis: RedisServer
) -> None:
    began = time.monotonic()
    env = {
        **LOAD_ENV,
        "QUIZSESSION_STORE_URL": fresh_dsn,
        "QUIZSESSION_REDIS_URL": own_redis.url,
        "QUIZSESSION_SECRET_KEY": secrets.token_urlsafe(48),
        "QUIZSESSION_API_KEYS": f"admin=outage-{secrets.token_hex(16)}",
    }
    servers = [
        PgServerProcess(tmp_path / f"instance-{i}", dsn=fresh_dsn, env=env) for i in range(2)
    ]
    run = Run()
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    cluster: Cluster | None = None
    try:
        await servers[0].start_async()  # migrates the fresh database
        await servers[1].start_async()
        cluster = Cluster(servers)
        setup = cluster.client(0, 0)
        await put_quiz(setup, cluster.admin, quiz_definition("outage", duration_s=3600))
        tokens = await invite(setup, cluster.admin, "outage", N_CANDIDATES)
        candidates = [Candidate(t) for t in tokens]
        homes = [i % 2 for i in range(N_CANDIDATES)]

        async def open_session(i: int) -> None:
            client = cluster.client(homes[i], i)
            c = candidates[i]
            r = await client.post("/sessions", json={"invite_token": c.invite_token})
            assert r.status_code == 201, r.text
            c.opened(r.json())
            r = await client.post(
                f"/sessions/{c.session_id}/start", json={"section": "test"}, headers=c.auth
            )
            assert r.status_code == 200, r.text

        await asyncio.gather(*(open_session(i) for i in range(N_CANDIDATES)))
        drivers = [Driver(i, cluster, c, homes[i], run, stop) for i, c in enumerate(candidates)]
        tasks = [asyncio.create_task(d.work(), name=f"candidate-{d.index}") for d in drivers]
        tasks += [
            asyncio.create_task(d.probe(), name=f"probe-{d.index}") for d in drivers[::PROBE_EVERY]
        ]
        tasks.append(asyncio.create_task(_readyz(cluster, run, stop), name="readyz"))

        await asyncio.sleep(BEFORE_S)
        own_redis.kill()  # SIGKILL under load
        run.phase = "outage"
        await asyncio.sleep(OUTAGE_S)
        await asyncio.to_thread(own_redis.restart)  # same port, empty
        run.phase = "after"
        await asyncio.sleep(AFTER_S)

        # Both instances find Redis again (their breakers close).
        recovered = [False, False]
        give_up = time.monotonic() + RECOVERY_PATIENCE_S
        while not all(recovered) and time.monotonic() < give_up:
            for i in range(2):
                r = await cluster.client(i, 0).get("/readyz")
                assert r.status_code == 200, r.text
                recovered[i] = recovered[i] or r.json()["live"] is True
            await asyncio.sleep(0.2)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
        load_done = time.monotonic()

        # Every acknowledged save is in the log; one session per attempt.
        saved: set[str] = set()
        overlaps: list[str] = []
        opened: Counter[str] = Counter()
        superseded = 0
        for c in candidates:
            r = await setup.get(f"/admin/attempts/{c.attempt_id}/events", headers=cluster.admin)
            assert r.status_code == 200, r.text
            live: str | None = None
            for e in r.json():
                kind, data = e["type"], e["data"]
                if kind == "answer_saved":
                    saved.add(data["op_id"])
                elif kind == "session_opened":
                    opened[c.attempt_id] += 1
                    if live is not None:
                        overlaps.append(f"{c.attempt_id}: {data['session_id']} while {live}")
                    live = data["session_id"]
                elif kind in ("session_superseded", "session_closed"):
                    superseded += kind == "session_superseded"
                    live = None
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if cluster is not None:
            await cluster.aclose()
        for server in servers:
            server.terminate(timeout=10)

    missing = [a for a in run.acks if a.op_id not in saved]
    outage_ready = [(i, s, live) for phase, i, s, live in run.readyz if phase == "outage"]
    print(
        f"\nredis outage: {len(run.acks)} saves acknowledged by {N_CANDIDATES} candidates on "
        f"2 instances ({dict(Counter(a.phase for a in run.acks))}); heartbeats "
        f"{dict(run.heartbeats)}; second logins {dict(run.probes)}; statuses "
        f"{dict(run.statuses)}; readyz during the outage {Counter(outage_ready)}; "
        f"recovered {recovered}; {load_done - began:.1f}s from the start to the end of the "
        f"load, {time.monotonic() - began:.1f}s in all"
    )
    assert not run.server_errors, run.server_errors[:10]
    assert not run.transport_errors, run.transport_errors[:10]
    assert not missing, f"{len(missing)} acknowledged saves lost, e.g. {missing[:5]}"
    assert not run.second_sessions, run.second_sessions
    assert not run.unexpected, run.unexpected[:10]
    assert not overlaps, overlaps[:10]
    assert superseded == 0
    assert all(opened[c.attempt_id] == 1 for c in candidates), opened
    # The refuse policy was exercised in every phase, and only ever refused.
    for phase in ("before", "outage", "after"):
        assert run.probes[(phase, "refused")] > 0, (phase, dict(run.probes))
        assert run.heartbeats[phase] > 0, (phase, dict(run.heartbeats))
    assert set(run.probes) <= {("before", "refused"), ("outage", "refused"), ("after", "refused")}
    # Saves went on through the outage (store-only mode), not just around it.
    acked = Counter(a.phase for a in run.acks)
    assert all(acked[phase] > 0 for phase in ("before", "outage", "after")), acked
    assert all(status == 200 for _phase, _i, status, _live in run.readyz), run.readyz
    for i in range(2):
        assert (i, 200, "degraded") in outage_ready, outage_ready
    assert recovered == [True, True]
    for server in servers:
        log = server.log_text()
        assert_no_traceback(log)
