"""Crash test (promise 1, with 3, 5 and 6 along the way): a real server process on a
SQLite file under concurrent load is killed with SIGKILL at random moments and
restarted on the same file and port; every save that got a 2xx must be in the
log afterwards, with the same answer, exactly once.

A second quiz with a 3 s duration and 1 s grace is started just before one of the
kills and stays down past deadline + grace: after the restart its attempts must
be submitted by the server with reason ``deadline`` and ``finished_at`` equal to
the deadline.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ServerFactory
from testsupport.processes import assert_no_traceback
from testsupport.scenario import (
    JSON,
    Candidate,
    invite,
    login,
    put_quiz,
    quiz_definition,
    random_answer,
    start_test,
)
from testsupport.service import ServerProcess

N_CANDIDATES = 120
N_SHORT = 8
RANDOM_KILLS = 5  # at random moments under load
DEADLINE_KILL_AT = 2  # this random kill also takes the short quiz past its deadline
SHORT_DURATION_S = 3.0
SHORT_GRACE_S = 1.0
SUBMIT_WITHIN_S = 2.0
KILL_DELAY_S = (0.3, 1.5)
BUDGET_S = 60.0  # the load phase ends by then whatever happens
RETRY_SLEEP_S = (0.05, 0.2)
SHARDS = 8  # httpx connection pools (one pool of 120 connections is slow)
TAKEOVERS = 5  # candidates that log in again after the first restart
RELOGIN_CODES = {
    "token_invalid",
    "token_expired",
    "session_idle_timeout",
    "session_closed",
    "session_superseded",
}

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@dataclass(frozen=True)
class Ack:
    """A save that got a 2xx."""

    attempt_id: str
    question_id: str
    op_id: str
    answer: Any
    replayed: bool


@dataclass
class Stats:
    acks: list[Ack] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    relogins: int = 0
    forced_relogins: int = 0
    stale_refused: int = 0
    relogin_reasons: Counter[str] = field(default_factory=Counter)
    session_active_waits: int = 0
    kills: int = 0
    restarts: int = 0
    downtime_s: float = 0.0


class Driver:
    """One candidate saving answers as fast as it can, surviving crashes."""

    def __init__(
        self,
        index: int,
        client: httpx.AsyncClient,
        candidate: Candidate,
        stats: Stats,
        stop: asyncio.Event,
    ) -> None:
        self.index = index
        self.client = client
        self.c = candidate
        self.stats = stats
        self.stop = stop
        self.rng = random.Random(index)
        self.seq = 0
        self.force_relogin = False

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        auth: bool = True,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response | None:
        """One request, retried on connection errors (the server is down or was
        killed mid-request) until it gets a response or the run stops. Sent with
        this candidate's session unless ``auth`` is false or ``headers`` given."""
        while True:
            if headers is None and auth:
                headers = self.c.auth
            try:
                r = await self.client.request(method, path, json=json, headers=headers)
            except httpx.TransportError as exc:
                self.stats.transport_errors[type(exc).__name__] += 1
                if self.stop.is_set():
                    return None
                await asyncio.sleep(self.rng.uniform(*RETRY_SLEEP_S))
                continue
            self.stats.statuses[r.status_code] += 1
            if r.status_code >= 400:
                self.stats.codes[_code(r)] += 1
            if r.status_code >= 500:
                self.stats.server_errors.append(f"{method} {path} -> {r.status_code} {r.text}")
                if self.stop.is_set():
                    return None
                await asyncio.sleep(self.rng.uniform(*RETRY_SLEEP_S))
                continue
            return r

    async def relogin(self) -> bool:
        """A new session for the same invite (the old one is gone)."""
        while not self.stop.is_set():
            r = await self.call(
                "POST", "/sessions", json={"invite_token": self.c.invite_token}, auth=False
            )
            if r is None:
                return False
            if r.status_code == 201:
                self.c.opened(r.json())
                self.stats.relogins += 1
                return True
            if r.status_code == 409 and _code(r) == "session_active":
                self.stats.session_active_waits += 1
                wait = float(r.headers.get("retry-after", "1"))
                await asyncio.sleep(min(wait, 1.0))
                continue
            raise AssertionError(f"re-login refused: {r.status_code} {r.text}")
        return False

    async def authed(self, method: str, path: str, json: Any = None) -> httpx.Response | None:
        """``call`` with the session; logs in again if the session was lost."""
        while True:
            r = await self.call(method, path.format(sid=self.c.session_id), json=json)
            if r is None:
                return None
            if r.status_code in (401, 409) and _code(r) in RELOGIN_CODES:
                self.stats.relogin_reasons[_code(r)] += 1
                if not await self.relogin():
                    return None
                continue
            return r

    async def takeover_after_restart(self, question: JSON) -> bool:
        """A second login after a restart (the lease died with the process) must
        succeed; the old session's token is then refused as superseded."""
        old_sid, old_auth = self.c.session_id, self.c.auth
        if not await self.relogin():
            return False
        self.stats.forced_relogins += 1
        body = {"question_id": question["id"], "answer": None, "op_id": f"c{self.index}-stale"}
        path = f"/sessions/{old_sid}/progress"
        r = await self.call("PUT", path, json=body, headers=old_auth)
        if r is None:
            return False
        assert r.status_code == 409, r.text
        assert _code(r) == "session_superseded", r.text
        self.stats.stale_refused += 1
        return True

    async def run(self) -> None:
        exhausted = False
        cycle = 0
        while not self.stop.is_set():
            if not exhausted:
                r = await self.authed("GET", "/sessions/{sid}/question")
                if r is None:
                    return
                assert r.status_code == 200, r.text
                question = r.json()["question"]
                if question is None:
                    exhausted = True
                    continue
                self.c.questions[question["id"]] = question
            else:
                known = list(self.c.questions.values())
                question = known[cycle % len(known)]
                cycle += 1
            if self.force_relogin:
                self.force_relogin = False
                if not await self.takeover_after_restart(question):
                    return
            self.seq += 1
            op_id = f"c{self.index}-op{self.seq}"
            answer = random_answer(question, self.rng)
            body = {"question_id": question["id"], "answer": answer, "op_id": op_id}
            # A retry after a crash repeats the same op_id (idempotent writes).
            r = await self.authed("PUT", "/sessions/{sid}/progress", json=body)
            if r is None:
                return
            assert r.status_code == 200, r.text
            self.stats.acks.append(
                Ack(self.c.attempt_id, question["id"], op_id, answer, r.json()["replayed"])
            )


def _code(r: httpx.Response) -> str:
    try:
        code = r.json().get("code", "")
    except ValueError:
        return f"http_{r.status_code}"
    return str(code)


async def _events(client: httpx.AsyncClient, server: ServerProcess, attempt_id: str) -> Any:
    r = await client.get(f"/admin/attempts/{attempt_id}/events", headers=server.admin_headers)
    assert r.status_code == 200, r.text
    return r.json()


async def _check_deadline_submits(
    client: httpx.AsyncClient, server: ServerProcess, shorts: list[Candidate], ready_at: float
) -> float:
    """Every short attempt has exactly one ``submitted`` event, reason ``deadline``,
    ``finished_at`` == its deadline, recorded by the server at most
    ``SUBMIT_WITHIN_S`` after the restarted server was ready (the event's own
    timestamp: the client may be slow under load, the server must not be).
    Returns the latest submit's delay after ``ready_at`` (negative: before it)."""
    latest = -math.inf
    give_up = time.monotonic() + 30.0  # client-side patience only
    pending = {c.attempt_id: c for c in shorts}
    while pending:
        for attempt_id, c in list(pending.items()):
            events = await _events(client, server, attempt_id)
            submitted = [e for e in events if e["type"] == "submitted"]
            if not submitted:
                continue
            assert len(submitted) == 1, submitted
            event = submitted[0]
            data = event["data"]
            assert data["reason"] == "deadline", data
            assert c.deadline is not None
            assert data["finished_at"] == pytest.approx(c.deadline, abs=1e-6), (data, c.deadline)
            assert event["at"] >= c.deadline + SHORT_GRACE_S, (event, c.deadline)
            latest = max(latest, event["at"] - ready_at)
            del pending[attempt_id]
        assert time.monotonic() < give_up, f"never submitted: {sorted(pending)}"
        if pending:
            await asyncio.sleep(0.1)
    assert latest <= SUBMIT_WITHIN_S, f"submitted {latest:.2f}s after the restart"
    return latest


@pytest.mark.parametrize("workers", [1, 2], ids=["one-process", "two-workers"])
async def test_acknowledged_saves_survive_sigkill(
    server_factory: ServerFactory, workers: int
) -> None:
    """With two workers, SIGKILL goes to the parent (the whole service): the
    workers die with it, mid-request, and the restart binds the port again."""
    began = time.monotonic()
    server = server_factory("crash", env={"QUIZSESSION_WORKERS": str(workers)})
    await server.start_async()
    stats = Stats()
    seed = random.randrange(2**32)
    rng = random.Random(seed)  # the kill moments
    admin = server.admin_headers
    per_shard = N_CANDIDATES // SHARDS + 8
    shards = [
        httpx.AsyncClient(
            base_url=server.url,
            timeout=15.0,
            limits=httpx.Limits(max_connections=per_shard, keepalive_expiry=5.0),
        )
        for _ in range(SHARDS)
    ]
    client = httpx.AsyncClient(base_url=server.url, timeout=15.0)
    tasks: list[asyncio.Task[None]] = []
    stop = asyncio.Event()
    try:
        await put_quiz(client, admin, quiz_definition("crash-main", duration_s=3600))
        await put_quiz(
            client,
            admin,
            quiz_definition("crash-short", duration_s=SHORT_DURATION_S, grace_s=SHORT_GRACE_S),
        )
        mains = [Candidate(t) for t in await invite(client, admin, "crash-main", N_CANDIDATES)]
        shorts = [Candidate(t) for t in await invite(client, admin, "crash-short", N_SHORT, "s")]

        async def open_session(c: Candidate) -> None:
            r = await login(client, c)
            assert r.status_code == 201, r.text

        await asyncio.gather(*(open_session(c) for c in mains + shorts))
        await asyncio.gather(*(start_test(client, c) for c in mains))

        drivers = [Driver(i, shards[i % SHARDS], c, stats, stop) for i, c in enumerate(mains)]
        tasks = [asyncio.create_task(d.run(), name=f"candidate-{d.index}") for d in drivers]
        short_rng = random.Random(7)

        async def start_short(c: Candidate) -> None:
            await start_test(client, c)
            r = await client.get(f"/sessions/{c.session_id}/question", headers=c.auth)
            assert r.status_code == 200, r.text
            question = r.json()["question"]
            answer = random_answer(question, short_rng)
            op_id = f"{c.invite_token[:8]}-short"
            body = {"question_id": question["id"], "answer": answer, "op_id": op_id}
            r = await client.put(f"/sessions/{c.session_id}/progress", json=body, headers=c.auth)
            assert r.status_code == 200, r.text
            stats.acks.append(Ack(c.attempt_id, question["id"], op_id, answer, False))

        async def crash(extra_down_s: float = 0.0) -> float:
            """SIGKILL, stay down a while, restart; returns when it was ready."""
            server.kill()
            stats.kills += 1
            down = time.monotonic()
            if extra_down_s > 0:
                await asyncio.sleep(extra_down_s)
            await server.start_async()
            stats.restarts += 1
            stats.downtime_s += time.monotonic() - down
            return time.time()

        submit_delay = None
        for k in range(RANDOM_KILLS):
            await asyncio.sleep(rng.uniform(*KILL_DELAY_S))
            if k != DEADLINE_KILL_AT:
                await crash()
                if k == 0:
                    # The lease died with the process: a new login succeeds.
                    for d in drivers[:TAKEOVERS]:
                        d.force_relogin = True
                continue
            await asyncio.gather(*(start_short(c) for c in shorts))
            deadlines = [c.deadline for c in shorts if c.deadline is not None]
            assert len(deadlines) == N_SHORT
            # Down until deadline + grace has passed for every short attempt.
            ready_at = await crash(max(deadlines) + SHORT_GRACE_S + 0.5 - time.time())
            submit_delay = await _check_deadline_submits(client, server, shorts, ready_at)
            # A save from the old session after the deadline is refused.
            c = shorts[0]
            r = await client.put(
                f"/sessions/{c.session_id}/progress",
                json={"question_id": "capital-au", "answer": "canberra", "op_id": "late"},
                headers=c.auth,
            )
            assert r.status_code in (401, 409), r.text
            assert _code(r) in ("session_closed", "attempt_closed", "deadline_passed"), r.text
        # The last crash ends the load: whatever was acknowledged before it must
        # be found after one more restart.
        await asyncio.sleep(rng.uniform(*KILL_DELAY_S))
        server.kill()
        stats.kills += 1
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=BUDGET_S)
        load_s = time.monotonic() - began
        await server.start_async()
        stats.restarts += 1

        # Every acknowledged save is an answer_saved event with the same answer,
        # exactly once.
        # And no question was delivered twice as new (promise 5).
        saved: dict[str, list[JSON]] = {}
        per_attempt: Counter[str] = Counter()
        repeats: list[tuple[str, str]] = []
        for c in mains + shorts:
            delivered: set[str] = set()
            for e in await _events(client, server, c.attempt_id):
                if e["type"] == "answer_saved":
                    saved.setdefault(e["data"]["op_id"], []).append(e["data"])
                    per_attempt[c.attempt_id] += 1
                elif e["type"] == "question_delivered":
                    qid = e["data"]["question_id"]
                    if qid in delivered:
                        repeats.append((c.attempt_id, qid))
                    delivered.add(qid)
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for each in [client, *shards]:
            await each.aclose()
    server.terminate()

    missing = [a for a in stats.acks if a.op_id not in saved]
    wrong = [
        (a, saved[a.op_id])
        for a in stats.acks
        if a.op_id in saved
        and (
            len(saved[a.op_id]) != 1
            or saved[a.op_id][0]["answer"] != a.answer
            or saved[a.op_id][0]["question_id"] != a.question_id
        )
    ]
    replays = sum(a.replayed for a in stats.acks)
    print(
        f"\ncrash test (seed {seed}): {len(stats.acks)} saves acknowledged ({replays} of them "
        f"replays of a retried op_id) by {N_CANDIDATES} + {N_SHORT} candidates; "
        f"{len(saved)} answer_saved events; kills={stats.kills} restarts={stats.restarts} "
        f"downtime={stats.downtime_s:.1f}s load phase={load_s:.1f}s; "
        f"deadline submits at most {submit_delay:.2f}s after the restart was ready; "
        f"re-logins={stats.relogins} (forced {stats.forced_relogins}, stale token refused "
        f"{stats.stale_refused}, session_active waits {stats.session_active_waits}, "
        f"reasons {dict(stats.relogin_reasons)}); transport errors "
        f"{dict(stats.transport_errors)}; statuses {dict(stats.statuses)}; "
        f"error codes {dict(stats.codes)}"
    )
    assert not missing, f"{len(missing)} acknowledged saves lost, e.g. {missing[:5]}"
    assert not wrong, f"{len(wrong)} acknowledged saves differ in the log, e.g. {wrong[:5]}"
    assert not stats.server_errors, stats.server_errors[:10]
    assert not repeats, f"questions delivered twice: {repeats[:10]}"
    assert stats.kills >= RANDOM_KILLS + 1
    assert stats.restarts == stats.kills
    assert all(per_attempt[c.attempt_id] > 0 for c in mains), "a candidate never saved"
    # Old tokens keep working across restarts (the epoch in the store is unchanged):
    # the only new logins are the forced ones.
    assert stats.relogins == stats.forced_relogins, dict(stats.relogin_reasons)
    assert stats.stale_refused == stats.forced_relogins >= 1
    log = server.log_text()
    assert_no_traceback(log)
