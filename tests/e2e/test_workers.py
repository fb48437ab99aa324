"""``quizsession serve --workers 2``: one service, two worker processes on one
port, real processes on loopback.

Each request is sent on a connection whose serving worker is known (the test
reads which worker process holds the server's end of it in ``/proc``), so the
checks below cross workers on purpose:

- saves go through both workers; a second login through the other worker is
  refused while the first session lives (one lease, whichever worker);
- a takeover made through one worker reaches the live socket held by the
  other (``takeover``, close 4409) and the old session's next write is refused;
- attempts of a 3 s quiz are submitted exactly once at their deadline, with
  both workers' reapers running;
- ``kill -9`` of one worker: the parent restarts it (and says so), its
  candidates carry on with their sessions;
- SIGTERM under load: every worker drains, the parent exits 0, and every save
  that got a 2xx is in the store afterwards;
- workers that die at every start make the parent give up with exit 3;
- the same smoke on PostgreSQL (no Redis: the workers share a file of the
  machine's for their live state).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from quizsession.app.live import CLOSE_SUPERSEDED
from tests.e2e.conftest import LOAD_ENV, ServerFactory
from testsupport.processes import children
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
from testsupport.service import PgServerProcess, ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

WORKERS = {"QUIZSESSION_WORKERS": "2"}


# -- which worker serves a connection ----------------------------------------------------


def _serving_pid(server_port: int, client_port: int, pids: list[int]) -> int | None:
    """The worker holding the server's end of the loopback connection from
    ``client_port`` (Linux ``/proc/net/tcp``), or None (not accepted yet)."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == (
            client_port
        ):
            inode = fields[9]
            break
    if inode is None or inode == "0":
        return None
    target = f"socket:[{inode}]"
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return pid
            except OSError:
                continue
    return None


async def worker_socket(server: ServerProcess, want: int) -> socket.socket:
    """A connected socket served by worker ``want`` (pid)."""
    for _ in range(200):
        sock = socket.create_connection(("127.0.0.1", server.port))
        client_port = sock.getsockname()[1]
        pid = None
        for _ in range(100):
            pid = _serving_pid(server.port, client_port, worker_pids(server))
            if pid is not None:
                break
            await asyncio.sleep(0.01)
        if pid == want:
            sock.setblocking(False)
            return sock
        sock.close()
    raise AssertionError(f"no connection landed on worker {want}")


class Pinned:
    """HTTP/1.1 requests on one connection to a known worker."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def to(cls, server: ServerProcess, pid: int) -> Pinned:
        sock = await worker_socket(server, pid)
        return cls(*await asyncio.open_connection(sock=sock))

    async def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        data = b"" if body is None else json.dumps(body).encode()
        head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(data)}"]
        if body is not None:
            head.append("Content-Type: application/json")
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        raw = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 15)
        status = int(raw[9:12])
        length = 0
        for line in raw.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        payload = await self.reader.readexactly(length) if length else b""
        return status, (json.loads(payload) if payload else None)

    def close(self) -> None:
        self.writer.close()


def worker_pids(server: ServerProcess) -> list[int]:
    assert server.pid is not None
    return sorted(children(server.pid))


async def start_workers(server: ServerProcess, count: int = 2) -> list[int]:
    """Start the service; return once ``count`` workers are listening."""
    await server.start_async()
    deadline = time.monotonic() + 30
    while server.log_text().count("quizsession: listening on") < count * server.starts or (
        len(worker_pids(server)) < count
    ):
        assert time.monotonic() < deadline, server.log_text()[-3000:]
        await asyncio.sleep(0.05)
    return worker_pids(server)


def _code(body: Any) -> str:
    return str(body.get("code", "")) if isinstance(body, dict) else ""


async def _save(
    conn: Pinned, c: Candidate, question: JSON, op_id: str, rng: random.Random
) -> tuple[int, Any, Any]:
    answer = random_answer(question, rng)
    body = {"question_id": question["id"], "answer": answer, "op_id": op_id}
    status, reply = await conn.request("PUT", f"/sessions/{c.session_id}/progress", body, c.auth)
    return status, reply, answer


async def _events(client: httpx.AsyncClient, server: ServerProcess, attempt_id: str) -> list[JSON]:
    r = await client.get(f"/admin/attempts/{attempt_id}/events", headers=server.admin_headers)
    assert r.status_code == 200, r.text
    events: list[JSON] = r.json()
    return events


async def _first_question(client: httpx.AsyncClient, server: ServerProcess, c: Candidate) -> JSON:
    r = await client.get(f"/sessions/{c.session_id}/question", headers=c.auth)
    assert r.status_code == 200, r.text
    question: JSON = r.json()["question"]
    c.questions[question["id"]] = question
    return question


async def _leases_and_takeover(
    server: ServerProcess, client: httpx.AsyncClient, one: int, two: int
) -> None:
    """Saves through both workers; a second login refused across them; a
    takeover through one reaches the socket held by the other."""
    rng = random.Random(5)
    admin = server.admin_headers
    await put_quiz(client, admin, quiz_definition("w-main", second_login="takeover"))
    [token] = await invite(client, admin, "w-main", 1)
    a, b = await Pinned.to(server, one), await Pinned.to(server, two)
    old = Candidate(token)
    status, body = await a.request("POST", "/sessions", {"invite_token": token})
    assert status == 201, body
    old.opened(body)
    await start_test(client, old)
    question = await _first_question(client, server, old)
    for n, conn in enumerate((a, b, a, b)):
        status, reply, _ = await _save(conn, old, question, f"both-{n}", rng)
        assert status == 200, reply
    # One lease, whichever worker is asked.
    status, body = await b.request("POST", "/sessions", {"invite_token": token})
    assert status == 409, body
    assert _code(body) == "session_active", body
    # The live socket on worker one; the takeover through worker two.
    sock = await worker_socket(server, one)
    url = f"ws://127.0.0.1:{server.port}/sessions/{old.session_id}/live"
    async with connect(url, sock=sock, open_timeout=10, proxy=None, ping_interval=None) as ws:
        await ws.send(json.dumps({"type": "auth", "token": old.session_token}))
        welcome = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert welcome["type"] == "welcome", welcome
        status, body = await b.request(
            "POST", "/sessions", {"invite_token": token, "takeover": True}
        )
        assert status == 201, body
        new = Candidate(token)
        new.opened(body)
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if message["type"] == "takeover":
                break
            assert message["type"] in ("tick", "pong"), message
        assert message["by_session_id"] == new.session_id, message
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == CLOSE_SUPERSEDED
    for n, conn in enumerate((a, b)):
        status, reply, _ = await _save(conn, old, question, f"stale-{n}", rng)
        assert status == 409, reply
        assert _code(reply) == "session_superseded", reply
    status, reply, _ = await _save(a, new, question, "new-1", rng)
    assert status == 200, reply
    a.close()
    b.close()


async def test_two_workers_are_one_service(server_factory: ServerFactory) -> None:
    server = server_factory("workers", env=WORKERS)
    one, two = await start_workers(server)
    async with httpx.AsyncClient(base_url=server.url, timeout=20.0) as client:
        await _one_service(server, client, one, two)


async def _one_service(
    server: ServerProcess, client: httpx.AsyncClient, one: int, two: int
) -> None:
    await _leases_and_takeover(server, client, one, two)
    admin = server.admin_headers

    # The deadline: both reapers run, each attempt is submitted once.
    await put_quiz(client, admin, quiz_definition("w-short", duration_s=3.0, grace_s=1.0))
    shorts = [Candidate(t) for t in await invite(client, admin, "w-short", 6, "s")]
    for c in shorts:
        assert (await login(client, c)).status_code == 201
        await start_test(client, c)
    give_up = time.monotonic() + 20
    for c in shorts:
        while True:
            events = await _events(client, server, c.attempt_id)
            submitted = [e for e in events if e["type"] == "submitted"]
            if submitted:
                break
            assert time.monotonic() < give_up, f"{c.attempt_id} never submitted"
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.3)  # a second reaper's submit would land by now
        events = await _events(client, server, c.attempt_id)
        submitted = [e for e in events if e["type"] == "submitted"]
        assert len(submitted) == 1, submitted
        assert submitted[0]["data"]["reason"] == "deadline", submitted
        assert submitted[0]["data"]["finished_at"] == pytest.approx(c.deadline, abs=1e-6)

    # kill -9 of one worker: restarted, its candidate carries on.
    await put_quiz(client, admin, quiz_definition("w-kill"))
    [token] = await invite(client, admin, "w-kill", 1, "k")
    c = Candidate(token)
    conn = await Pinned.to(server, one)
    status, body = await conn.request("POST", "/sessions", {"invite_token": token})
    assert status == 201, body
    c.opened(body)
    status, body = await conn.request(
        "POST", f"/sessions/{c.session_id}/start", {"section": "test"}, c.auth
    )
    assert status == 200, body
    question = await _first_question(client, server, c)
    os.kill(one, signal.SIGKILL)
    conn.close()
    deadline = time.monotonic() + 20
    while len(worker_pids(server)) < 2 or one in worker_pids(server):
        assert time.monotonic() < deadline, server.log_text()[-3000:]
        await asyncio.sleep(0.05)
    assert "was killed by signal 9" in server.log_text()
    assert "restarted (pid" in server.log_text()
    for pid in worker_pids(server):
        pinned = await Pinned.to(server, pid)
        status, reply, _ = await _save(pinned, c, question, f"after-kill-{pid}", random.Random(1))
        assert status == 200, reply
        pinned.close()
    assert server.running


async def test_sigterm_drains_every_worker_and_loses_no_save(
    server_factory: ServerFactory,
) -> None:
    server = server_factory("drain", env=WORKERS)
    await start_workers(server)
    async with httpx.AsyncClient(base_url=server.url, timeout=20.0) as client:
        await _drain_under_load(server, client)


async def _drain_under_load(server: ServerProcess, client: httpx.AsyncClient) -> None:
    admin = server.admin_headers
    await put_quiz(client, admin, quiz_definition("w-drain"))
    candidates = [Candidate(t) for t in await invite(client, admin, "w-drain", 16, "d")]
    for c in candidates:
        assert (await login(client, c)).status_code == 201
        await start_test(client, c)
        await _first_question(client, server, c)
    acks: dict[str, tuple[str, Any]] = {}  # op_id -> (attempt, answer)
    stop = asyncio.Event()

    async def load(index: int, c: Candidate) -> None:
        rng = random.Random(index)
        question = next(iter(c.questions.values()))
        async with httpx.AsyncClient(base_url=server.url, timeout=20.0) as http:
            n = 0
            while not stop.is_set():
                n += 1
                op_id = f"d{index}-{n}"
                answer = random_answer(question, rng)
                body = {"question_id": question["id"], "answer": answer, "op_id": op_id}
                try:
                    r = await http.put(
                        f"/sessions/{c.session_id}/progress", json=body, headers=c.auth
                    )
                except httpx.TransportError:
                    return  # the service stopped listening
                if r.status_code == 200:
                    acks[op_id] = (c.attempt_id, answer)
                elif r.status_code == 503:
                    return  # draining
                else:
                    raise AssertionError(r.text)

    tasks = [asyncio.create_task(load(i, c)) for i, c in enumerate(candidates)]
    await asyncio.sleep(1.0)
    code = await asyncio.to_thread(server.terminate, 20)  # one SIGTERM to the parent
    stop.set()
    await asyncio.gather(*tasks)
    log = server.log_text()
    assert code == 0, log[-3000:]
    assert log.count("quizsession: drained in") == 2, log[-3000:]
    assert "every worker stopped" in log
    assert acks
    await start_workers(server)
    found: dict[str, Any] = {}
    for c in candidates:
        for e in await _events(client, server, c.attempt_id):
            if e["type"] == "answer_saved":
                found[e["data"]["op_id"]] = e["data"]["answer"]
    lost = [op for op, (_a, answer) in acks.items() if found.get(op) != answer]
    assert not lost, f"{len(lost)} acknowledged saves lost, e.g. {lost[:5]}"


async def test_workers_dying_at_start_make_the_parent_give_up(tmp_path: Path) -> None:
    """The store cannot be opened (its path is a directory): every start of
    every worker fails; the parent stops after a bounded number of restarts."""
    store = tmp_path / "not-a-file"
    store.mkdir()
    server = ServerProcess(tmp_path / "dying", env=WORKERS, db_path=store)
    server.spawn()
    proc = server._proc
    assert proc is not None
    code = await asyncio.to_thread(proc.wait, 60)
    server._reaped()
    log = server.log_text()
    assert code == 3, log[-3000:]
    assert "died at start 5 times in a row: stopping" in log, log[-3000:]


@pytest.mark.postgres
async def test_two_workers_on_postgresql(tmp_path: Path, fresh_dsn: str) -> None:
    env = {
        **LOAD_ENV,
        **WORKERS,
        "QUIZSESSION_SECRET_KEY": "w" * 48,
    }
    server = PgServerProcess(tmp_path / "pg", dsn=fresh_dsn, env=env)
    try:
        one, two = await start_workers(server)
        async with httpx.AsyncClient(base_url=server.url, timeout=20.0) as client:
            await _leases_and_takeover(server, client, one, two)
    finally:
        code = server.terminate(timeout=20)
    assert code == 0, server.log_text()[-3000:]


def _sample(text: str, name: str) -> float:
    """The value of the unlabelled sample ``name`` in an exposition (0 if absent)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


async def _scrape(server: ServerProcess, pid: int) -> str:
    conn = await Pinned.to(server, pid)
    try:
        conn.writer.write(
            (
                f"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {server.admin_key}\r\n"
                "Connection: close\r\n\r\n"
            ).encode()
        )
        raw = await asyncio.wait_for(conn.reader.read(), 15)
    finally:
        conn.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    return body.decode()


async def test_metrics_count_every_worker(server_factory: ServerFactory) -> None:
    """A scrape reaches one worker and counts the whole service: saves made
    through either worker, live sockets held by either; a worker killed keeps
    its saves in the count and stops counting its sockets."""
    server = server_factory("metrics", env=WORKERS)
    one, two = await start_workers(server)
    async with httpx.AsyncClient(base_url=server.url, timeout=20.0) as client:
        await put_quiz(client, server.admin_headers, quiz_definition("w-metrics"))
        [token] = await invite(client, server.admin_headers, "w-metrics", 1, "m")
        c = Candidate(token)
        assert (await login(client, c)).status_code == 201
        await start_test(client, c)
        question = await _first_question(client, server, c)
    rng = random.Random(3)
    for pid, count in ((one, 3), (two, 5)):
        conn = await Pinned.to(server, pid)
        for n in range(count):
            status, reply, _ = await _save(conn, c, question, f"m-{pid}-{n}", rng)
            assert status == 200, reply
        conn.close()

    async def until(pid: int, saves: float, live: float) -> str:
        give_up = time.monotonic() + 10
        while True:
            text = await _scrape(server, pid)
            seen = (
                _sample(text, "quizsession_saves_total"),
                _sample(text, "quizsession_live_sessions"),
            )
            if seen == (saves, live):
                return text
            assert time.monotonic() < give_up, f"worker {pid}: {seen} != {(saves, live)}"
            await asyncio.sleep(0.2)

    sock = await worker_socket(server, one)
    url = f"ws://127.0.0.1:{server.port}/sessions/{c.session_id}/live"
    async with connect(url, sock=sock, open_timeout=10, proxy=None, ping_interval=None) as ws:
        await ws.send(json.dumps({"type": "auth", "token": c.session_token}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "welcome"
        for pid in (one, two, one, two):
            text = await until(pid, 8.0, 1.0)
            # Requests are timed by every worker: at least the 8 saves.
            assert 'route="/sessions/{session_id}/progress"' in text
        os.kill(one, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while len(worker_pids(server)) < 2 or one in worker_pids(server):
        assert time.monotonic() < deadline, server.log_text()[-3000:]
        await asyncio.sleep(0.05)
    for pid in worker_pids(server):
        await until(pid, 8.0, 0.0)
