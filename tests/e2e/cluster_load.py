"""Candidates driving a cluster of ``quizsession serve`` instances through
faults, and what they saw: every login answer, every heartbeat answered 200,
every save acknowledged, with client-side wall-clock times (the instances run on
this machine, so the times compare with the ``at`` of the events they log).

``Cluster.request`` sends to a random instance, and to another one when an
instance does not answer (as a load balancer would). A ``Driver`` is one
candidate: a save loop and a heartbeat loop on one session (as a browser does),
a new login when that session ends (waiting while the lease is held), and
optionally a second tab that keeps trying a login without takeover; a 201 there
hands the new session to the candidate.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from testsupport.scenario import JSON, Candidate, random_answer
from testsupport.service import PgServerProcess

HEARTBEAT_S = 1.0
PROBE_PAUSE_S = (0.3, 0.7)
RETRY_S = (0.05, 0.2)
SHARDS = 3  # httpx pools per instance
RELOGIN = {
    "token_invalid",
    "token_expired",
    "session_idle_timeout",
    "session_closed",
    "session_superseded",
}
ENDED = {"deadline_passed", "attempt_closed"}
DELIBERATE_503 = {"store_unavailable", "live_state_recovering", "busy"}


@dataclass(frozen=True)
class Login:
    attempt_id: str  # "" when refused (known from the candidate otherwise)
    session_id: str
    sent: float
    recv: float
    status: int
    code: str
    instance: int
    who: str


@dataclass(frozen=True)
class Beat:
    """A heartbeat answered 200."""

    attempt_id: str
    session_id: str
    sent: float
    recv: float


@dataclass(frozen=True)
class Ack:
    attempt_id: str
    question_id: str
    op_id: str
    answer: Any


@dataclass(frozen=True)
class Fault:
    kind: str
    target: str
    began: float
    ended: float


@dataclass
class Record:
    seed: int
    t0: float = field(default_factory=time.time)
    logins: list[Login] = field(default_factory=list)
    beats: list[Beat] = field(default_factory=list)
    acks: list[Ack] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def rel(self, t: float) -> str:
        return f"{t - self.t0:+.2f}s"


def _code(r: httpx.Response) -> str:
    try:
        return str(r.json().get("code", ""))
    except ValueError:
        return f"http_{r.status_code}"


class Cluster:
    def __init__(self, servers: list[PgServerProcess], rec: Record, stop: asyncio.Event) -> None:
        self.servers, self.rec, self.stop = servers, rec, stop
        self.pools = [
            [
                httpx.AsyncClient(
                    base_url=s.url,
                    timeout=15.0,
                    limits=httpx.Limits(max_connections=32, keepalive_expiry=2.0),
                )
                for _ in range(SHARDS)
            ]
            for s in servers
        ]
        self.admin = servers[0].admin_headers

    async def aclose(self) -> None:
        for pool in self.pools:
            for client in pool:
                await client.aclose()

    async def request(
        self,
        rng: random.Random,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        patient: bool = False,
    ) -> tuple[httpx.Response, int] | None:
        """To a random instance, another one after a connection error, until an
        answer (None once the run stops, unless ``patient``). A 5xx is answered
        too (recorded; the caller retries)."""
        give_up = time.monotonic() + 60.0
        while patient or not self.stop.is_set():
            which = rng.randrange(len(self.pools))
            try:
                r = await self.pools[which][rng.randrange(SHARDS)].request(
                    method, path, json=json, headers=headers
                )
            except httpx.TransportError as exc:
                self.rec.transport_errors[type(exc).__name__] += 1
                assert time.monotonic() < give_up, f"{method} {path}: no instance answers"
                await asyncio.sleep(rng.uniform(*RETRY_S))
                continue
            self.rec.statuses[r.status_code] += 1
            if r.status_code >= 400:
                self.rec.codes[_code(r)] += 1
            if r.status_code >= 500 and not (r.status_code == 503 and _code(r) in DELIBERATE_503):
                self.rec.server_errors.append(f"{method} {path} @{which} -> {r.text[:300]}")
            return r, which
        return None


class Driver:
    """One candidate: a save loop and a heartbeat loop on one session, a new
    login when that session ends (waiting while the lease is held)."""

    def __init__(
        self, index: int, cluster: Cluster, c: Candidate, seed: int, *, short: bool
    ) -> None:
        self.index, self.cluster, self.c, self.short = index, cluster, c, short
        self.rec, self.stop = cluster.rec, cluster.stop
        self.rng = random.Random(seed * 1000 + index)
        self.lock = asyncio.Lock()
        self.ended = False  # the attempt is over (short quiz)
        self.seq = 0
        self.questions: list[JSON] = []
        self.exhausted = False

    @property
    def live(self) -> bool:
        return not (self.stop.is_set() or self.ended)

    async def login(self, who: str, *, once: bool = False) -> bool:
        """``POST /sessions``; logged, whatever the answer. On 201 this driver
        uses the new session from its next request on."""
        while self.live:
            sent = time.time()
            got = await self.cluster.request(
                self.rng, "POST", "/sessions", json={"invite_token": self.c.invite_token}
            )
            if got is None:
                return False
            r, which = got
            body = r.json() if r.status_code == 201 else {}
            self.rec.logins.append(
                Login(
                    body.get("attempt", {}).get("attempt_id", self.c.attempt_id),
                    body.get("session_id", ""),
                    sent,
                    time.time(),
                    r.status_code,
                    _code(r),
                    which,
                    who,
                )
            )
            if r.status_code == 201:
                self.c.opened(body)
                return True
            if once:
                return False
            if r.status_code == 409 and _code(r) == "session_active":
                await asyncio.sleep(min(float(r.headers.get("retry-after", "1")), 0.5))
            elif r.status_code >= 500:
                await asyncio.sleep(self.rng.uniform(*RETRY_S) * 2)
            else:
                self.rec.unexpected.append(f"{who} login c{self.index}: {r.status_code} {r.text}")
                await asyncio.sleep(0.5)
        return False

    async def call(self, method: str, path: str, json: Any = None) -> httpx.Response | None:
        """A request with the current session, retried after a 5xx or a new login."""
        while self.live:
            sid, headers = self.c.session_id, self.c.auth
            got = await self.cluster.request(
                self.rng, method, path.format(sid=sid), json=json, headers=headers
            )
            if got is None:
                return None
            r, _ = got
            code = _code(r)
            if r.status_code >= 500:
                await asyncio.sleep(self.rng.uniform(*RETRY_S))
            elif code in ENDED and self.short:
                self.ended = True
            elif r.status_code in (401, 409) and code in RELOGIN:
                async with self.lock:
                    if self.c.session_id == sid and self.live:  # not replaced meanwhile
                        await self.login("relogin")
            else:
                return r
        return None

    async def heartbeats(self) -> None:
        while self.live:
            await asyncio.sleep(HEARTBEAT_S)
            sid, sent = self.c.session_id, time.time()
            r = await self.call("POST", "/sessions/{sid}/heartbeat")
            if r is None:
                return
            if r.status_code != 200:
                self.rec.unexpected.append(f"heartbeat c{self.index}: {r.status_code} {r.text}")
            elif self.c.session_id == sid:  # else answered for a newer session
                self.rec.beats.append(Beat(self.c.attempt_id, sid, sent, time.time()))

    async def saves(self) -> None:
        while self.live:
            if not self.exhausted:
                r = await self.call("GET", "/sessions/{sid}/question")
                if r is None or not self.ok(r, "question"):
                    await asyncio.sleep(0.2)
                    continue
                question = r.json()["question"]
                if question is None:
                    self.exhausted = True
                    continue
                if question["id"] not in {q["id"] for q in self.questions}:
                    self.questions.append(question)
            else:
                question = self.questions[self.seq % len(self.questions)]
            self.seq += 1
            op_id = f"c{self.index}-op{self.seq}"
            answer = random_answer(question, self.rng)
            body = {"question_id": question["id"], "answer": answer, "op_id": op_id}
            r = await self.call("PUT", "/sessions/{sid}/progress", json=body)
            if r is not None and self.ok(r, "save"):
                self.rec.acks.append(Ack(self.c.attempt_id, question["id"], op_id, answer))
            await asyncio.sleep(self.rng.uniform(0.0, 0.03))

    def ok(self, r: httpx.Response, what: str) -> bool:
        if r.status_code == 200:
            return True
        self.rec.unexpected.append(f"{what} c{self.index}: {r.status_code} {r.text[:200]}")
        return False

    async def probe(self) -> None:
        """A second tab: a login without takeover, again and again. A 201 (the
        lease had lapsed) hands the new session to the candidate."""
        while self.live:
            await asyncio.sleep(self.rng.uniform(*PROBE_PAUSE_S))
            async with self.lock:
                if self.live:
                    await self.login("probe", once=True)
