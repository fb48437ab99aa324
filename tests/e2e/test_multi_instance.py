"""Several stateless instances on one PostgreSQL and one Redis (real servers, real
``quizsession serve`` processes, loopback only).

Three instances share the store, the live state, the token key and the API keys.
Sixty candidates send every request to a random instance while:

(b) a takeover made through instance A reaches a session held through instance B:
    B's live socket is told ``takeover`` (Redis pub/sub) and closed, and the old
    session's next write through either instance gets 409 ``session_superseded``;
(d) twenty attempts of a 3 s quiz (grace 1 s) pass their deadline with every
    instance's reaper running: each is submitted exactly once, at its deadline;
(c) one instance is SIGKILLed mid-quiz and the candidates carry on through the
    others (a request cut by the kill is retried elsewhere with the same op_id);
(a) afterwards every save that got a 2xx is in the store, with its answer, once.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from quizsession.app.live import CLOSE_SUPERSEDED
from tests.e2e.conftest import LOAD_ENV
from testsupport.processes import assert_no_traceback
from testsupport.redis_server import RedisServer
from testsupport.scenario import (
    JSON,
    Candidate,
    invite,
    put_quiz,
    quiz_definition,
    random_answer,
    start_test,
)
from testsupport.service import PgServerProcess

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.timeout(150),
]

INSTANCES = 3
WORKERS_OF_B_AND_C = 2
N_CANDIDATES = 60
N_SHORT = 20
SHORT_DURATION_S = 3.0
SHORT_GRACE_S = 1.0
LOAD_AFTER_KILL_S = 3.0
BUDGET_S = 90.0
THINK_S = (0.0, 0.03)  # between one candidate's saves
SUBMIT_PATIENCE_S = 15.0


@dataclass(frozen=True)
class Ack:
    attempt_id: str
    question_id: str
    op_id: str
    answer: Any


@dataclass
class Stats:
    acks: list[Ack] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    retried_elsewhere: int = 0
    replayed: int = 0
    per_instance: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)


class Cluster:
    """The instances, a client for each, and requests sent to a random one."""

    def __init__(self, servers: list[PgServerProcess]) -> None:
        self.servers = servers
        self.clients = [
            httpx.AsyncClient(
                base_url=s.url,
                timeout=20.0,
                limits=httpx.Limits(max_connections=48, keepalive_expiry=5.0),
            )
            for s in servers
        ]
        self.admin = servers[0].admin_headers

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()

    async def request(
        self,
        rng: random.Random,
        stats: Stats,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        patience_s: float = 20.0,
    ) -> httpx.Response:
        """Send to a random instance; on a connection error (an instance died)
        send the same request to another one, as a load balancer would."""
        give_up = time.monotonic() + patience_s
        tried_before = False
        while True:
            index = rng.randrange(len(self.clients))
            try:
                r = await self.clients[index].request(method, path, json=json, headers=headers)
            except httpx.TransportError:
                assert time.monotonic() < give_up, f"{method} {path}: no instance answered"
                tried_before = True
                await asyncio.sleep(0.02)
                continue
            stats.statuses[r.status_code] += 1
            stats.per_instance[index] += 1
            stats.retried_elsewhere += tried_before
            if r.status_code >= 500:
                stats.server_errors.append(f"{method} {path} -> {r.status_code} {r.text[:300]}")
            return r


def _code(r: httpx.Response) -> str:
    try:
        return str(r.json().get("code", ""))
    except ValueError:
        return ""


async def _ready(cluster: Cluster, rng: random.Random, stats: Stats, c: Candidate) -> None:
    """Log in, start the test and answer each question as it is delivered, every
    request through a random instance."""
    body = {"invite_token": c.invite_token}
    r = await cluster.request(rng, stats, "POST", "/sessions", json=body)
    assert r.status_code == 201, r.text
    c.opened(r.json())
    r = await cluster.request(
        rng, stats, "POST", f"/sessions/{c.session_id}/start", json={"section": "test"},
        headers=c.auth,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    c.deadline = r.json()["deadline"]
    while True:
        r = await cluster.request(
            rng, stats, "GET", f"/sessions/{c.session_id}/question", headers=c.auth
        )
        assert r.status_code == 200, r.text
        question = r.json()["question"]
        if question is None:
            return
        c.questions[question["id"]] = question
        await _save(cluster, rng, stats, c, question, f"first-{question['id']}")


async def _save(
    cluster: Cluster, rng: random.Random, stats: Stats, c: Candidate, question: JSON, op_id: str
) -> None:
    answer = random_answer(question, rng)
    body = {"question_id": question["id"], "answer": answer, "op_id": op_id}
    r = await cluster.request(
        rng, stats, "PUT", f"/sessions/{c.session_id}/progress", json=body, headers=c.auth
    )
    assert r.status_code == 200, r.text
    stats.replayed += bool(r.json().get("replayed"))
    stats.acks.append(Ack(c.attempt_id, question["id"], op_id, answer))


async def _candidate(
    index: int, cluster: Cluster, c: Candidate, stats: Stats, stop: asyncio.Event
) -> None:
    rng = random.Random(1000 + index)
    questions = list(c.questions.values())
    n = 0
    while not stop.is_set():
        n += 1
        await _save(cluster, rng, stats, c, questions[n % len(questions)], f"m{index}-{n}")
        await asyncio.sleep(rng.uniform(*THINK_S))


async def _events(cluster: Cluster, client: httpx.AsyncClient, attempt_id: str) -> list[JSON]:
    r = await client.get(f"/admin/attempts/{attempt_id}/events", headers=cluster.admin)
    assert r.status_code == 200, r.text
    events: list[JSON] = r.json()
    return events


async def _ws_recv(ws: ClientConnection, wait_s: float = 10.0) -> JSON:
    message: JSON = json.loads(await asyncio.wait_for(ws.recv(), wait_s))
    return message


async def _takeover_across_instances(cluster: Cluster, token: str, stats: Stats) -> str:
    """(b): held through B, taken over through A. Returns a summary line."""
    a, b = cluster.clients[0], cluster.clients[1]
    old = Candidate(token)
    r = await b.post("/sessions", json={"invite_token": token})
    assert r.status_code == 201, r.text
    old.opened(r.json())
    await start_test(b, old)
    r_q = await b.get(f"/sessions/{old.session_id}/question", headers=old.auth)
    question = r_q.json()["question"]
    assert question is not None
    url = f"ws://127.0.0.1:{cluster.servers[1].port}/sessions/{old.session_id}/live"
    async with connect(url, open_timeout=10, proxy=None, ping_interval=None) as ws:
        await ws.send(json.dumps({"type": "auth", "token": old.session_token}))
        welcome = await _ws_recv(ws)
        assert welcome["type"] == "welcome", welcome
        # Subscribed on B before the takeover is published through A.
        new = Candidate(token)
        r = await a.post("/sessions", json={"invite_token": token, "takeover": True})
        assert r.status_code == 201, r.text
        new.opened(r.json())
        while True:
            message = await _ws_recv(ws)
            if message["type"] == "takeover":
                break
            assert message["type"] in ("tick", "pong"), message
        assert message["session_id"] == old.session_id, message
        assert message["by_session_id"] == new.session_id, message
        with pytest.raises(ConnectionClosed) as closed:
            await _ws_recv(ws)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == CLOSE_SUPERSEDED
    body = {"question_id": question["id"], "answer": random_answer(question, random.Random(3))}
    for client in (a, b, cluster.clients[2]):
        r = await client.put(
            f"/sessions/{old.session_id}/progress",
            json={**body, "op_id": f"stale-{client.base_url.port}"},
            headers=old.auth,
        )
        assert r.status_code == 409, r.text
        assert _code(r) == "session_superseded", r.text
    # The new session writes, through B too.
    r = await b.put(
        f"/sessions/{new.session_id}/progress", json={**body, "op_id": "new-1"}, headers=new.auth
    )
    assert r.status_code == 200, r.text
    stats.acks.append(Ack(new.attempt_id, question["id"], "new-1", body["answer"]))
    return f"takeover through :{a.base_url.port} reached the socket on :{b.base_url.port}"


async def _check_deadline_submits(cluster: Cluster, shorts: list[Candidate]) -> float:
    """(d): every short attempt submitted exactly once, reason deadline, finished
    at its deadline. Returns the latest submit's lag after deadline + grace."""
    client = cluster.clients[0]
    pending = {c.attempt_id: c for c in shorts}
    lag = 0.0
    give_up = time.monotonic() + SUBMIT_PATIENCE_S
    while pending:
        for attempt_id, c in list(pending.items()):
            events = await _events(cluster, client, attempt_id)
            submitted = [e for e in events if e["type"] == "submitted"]
            if not submitted:
                continue
            assert len(submitted) == 1, submitted
            data = submitted[0]["data"]
            assert data["reason"] == "deadline", data
            assert c.deadline is not None
            assert data["finished_at"] == pytest.approx(c.deadline, abs=1e-6), (data, c.deadline)
            assert submitted[0]["at"] >= c.deadline + SHORT_GRACE_S
            lag = max(lag, submitted[0]["at"] - (c.deadline + SHORT_GRACE_S))
            del pending[attempt_id]
        assert time.monotonic() < give_up, f"never submitted: {sorted(pending)}"
        if pending:
            await asyncio.sleep(0.2)
    return lag


@pytest.fixture
async def cluster(
    tmp_path: Path, fresh_dsn: str, redis_server: RedisServer
) -> AsyncIterator[Cluster]:
    key = "multi-" + secrets.token_hex(16)
    env = {
        **LOAD_ENV,
        "QUIZSESSION_REDIS_URL": redis_server.url,
        "QUIZSESSION_SECRET_KEY": secrets.token_urlsafe(48),
        "QUIZSESSION_API_KEYS": f"admin={key}",
    }
    # Instances B (whose socket is taken over) and C (the one killed) each run
    # two worker processes (``serve --workers 2``): workers are instances too,
    # and a killed parent takes its workers with it.
    servers = [
        PgServerProcess(
            tmp_path / f"instance-{i}",
            dsn=fresh_dsn,
            env={**env, "QUIZSESSION_WORKERS": str(1 if i == 0 else WORKERS_OF_B_AND_C)},
        )
        for i in range(INSTANCES)
    ]
    # The schema first, as a deployment would (deploy/compose.yaml's migrate).
    migrate = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "quizsession.entrypoints.cli",
        "migrate",
        "--store-url",
        fresh_dsn,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=servers[0].env,
    )
    out, _ = await asyncio.wait_for(migrate.communicate(), 60)
    assert migrate.returncode == 0, out.decode()
    assert b"postgresql: migrations applied, schema version" in out, out.decode()
    made = Cluster(servers)
    try:
        # Started together: any migration left runs once, under the advisory lock.
        await asyncio.gather(*(s.start_async() for s in servers))
        yield made
    finally:
        await made.aclose()
        for s in servers:
            s.terminate(timeout=5)


async def test_instances_share_everything(cluster: Cluster) -> None:
    began = time.monotonic()
    stats = Stats()
    rng = random.Random(7)
    setup = cluster.clients[0]
    admin = cluster.admin
    await put_quiz(setup, admin, quiz_definition("multi-main", second_login="takeover"))
    await put_quiz(
        setup,
        admin,
        quiz_definition("multi-short", duration_s=SHORT_DURATION_S, grace_s=SHORT_GRACE_S),
    )
    mains = [Candidate(t) for t in await invite(setup, admin, "multi-main", N_CANDIDATES + 1)]
    takeover_token = mains.pop().invite_token
    shorts = [Candidate(t) for t in await invite(setup, admin, "multi-short", N_SHORT, "s")]

    gate = asyncio.Semaphore(20)

    async def ready(i: int, c: Candidate) -> None:
        async with gate:
            await _ready(cluster, random.Random(i), stats, c)

    await asyncio.gather(*(ready(i, c) for i, c in enumerate(mains)))
    setup_s = time.monotonic() - began

    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(_candidate(i, cluster, c, stats, stop)) for i, c in enumerate(mains)
    ]
    try:
        # (d) the short attempts start now and pass their deadline under load.
        async def start_short(c: Candidate) -> None:
            r = await cluster.request(
                rng, stats, "POST", "/sessions", json={"invite_token": c.invite_token}
            )
            assert r.status_code == 201, r.text
            c.opened(r.json())
            r = await cluster.request(
                rng, stats, "POST", f"/sessions/{c.session_id}/start", json={"section": "test"},
                headers=c.auth,
            )  # fmt: skip
            assert r.status_code == 200, r.text
            c.deadline = r.json()["deadline"]

        await asyncio.gather(*(start_short(c) for c in shorts))
        # (b) while they run.
        takeover = await _takeover_across_instances(cluster, takeover_token, stats)
        reap_lag = await _check_deadline_submits(cluster, shorts)

        # (c) one instance dies mid-quiz; the others carry on.
        acks_before_kill = len(stats.acks)
        victim = cluster.servers[2]
        victim.kill()
        killed_at = time.monotonic()
        await asyncio.sleep(LOAD_AFTER_KILL_S)
        acks_after_kill = len(stats.acks) - acks_before_kill
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 30)
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    load_s = time.monotonic() - began - setup_s

    # (a) every acknowledged save is in the store, once, with its answer.
    survivor = cluster.clients[0]
    saved: dict[str, list[JSON]] = {}
    attempts = {a.attempt_id for a in stats.acks}
    gate = asyncio.Semaphore(16)

    async def collect(attempt_id: str) -> None:
        async with gate:
            for e in await _events(cluster, survivor, attempt_id):
                if e["type"] == "answer_saved":
                    saved.setdefault(f"{e['data']['op_id']}@{attempt_id}", []).append(e["data"])

    await asyncio.gather(*(collect(a) for a in attempts))
    missing = [a for a in stats.acks if f"{a.op_id}@{a.attempt_id}" not in saved]
    wrong = [
        a
        for a in stats.acks
        if (found := saved.get(f"{a.op_id}@{a.attempt_id}"))
        and (len(found) != 1 or found[0]["answer"] != a.answer)
    ]
    total_s = time.monotonic() - began
    print(
        f"\nmulti-instance: {INSTANCES} instances, {len(stats.acks)} saves acknowledged "
        f"({acks_after_kill} in the {LOAD_AFTER_KILL_S:g}s after one instance was killed, "
        f"{stats.retried_elsewhere} requests retried on another instance, {stats.replayed} "
        f"replays); requests per instance {dict(stats.per_instance)}; {takeover}; "
        f"{N_SHORT} deadline submits, latest {reap_lag:.2f}s after deadline + grace; "
        f"setup {setup_s:.1f}s, load {load_s:.1f}s, total {total_s:.1f}s; "
        f"statuses {dict(stats.statuses)}"
    )
    assert not missing, f"{len(missing)} acknowledged saves lost, e.g. {missing[:5]}"
    assert not wrong, f"{len(wrong)} acknowledged saves differ in the log, e.g. {wrong[:5]}"
    assert not stats.server_errors, stats.server_errors[:10]
    assert acks_after_kill > N_CANDIDATES, "the candidates did not carry on after the kill"
    assert all(stats.per_instance[i] > 0 for i in range(INSTANCES))
    assert time.monotonic() - killed_at < 60
    assert total_s <= BUDGET_S, f"took {total_s:.1f}s"
    for server in cluster.servers[:2]:
        assert server.running
        log = server.log_text()
        assert_no_traceback(log)
        assert "reaper pass" not in log, log[-5000:]
