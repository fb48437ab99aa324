"""Graceful drain on SIGTERM (``quizsession serve``).

In process: while the hub is draining, new work gets 503 ``draining`` (problem+json,
``Retry-After``, ``Connection: close``), ``/readyz`` says ``draining`` and
``/healthz`` still answers.

Against a real server process under load: candidates save in a loop, one holds a
live WebSocket and one save is held in flight (its body half sent) when SIGTERM
arrives. The socket is told ``drain`` (reconnect) and closed with 1012; new
logins, saves and sockets are refused with 503 ``draining`` while the held save
keeps the drain open; the held save then completes with 200; every request after
the drain began gets 503 ``draining`` or a connection error, never a 500; the
process exits 0 within the bound and its log says the shutdown completed; after a
restart every save that got a 2xx is in the store. A second signal exits at once.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from quizsession.app.live import CLOSE_DRAIN
from quizsession.bootstrap import build
from quizsession.entrypoints.http.app import create_app
from quizsession.settings import load_settings
from tests.e2e.conftest import ServerFactory
from testsupport.processes import assert_no_traceback
from testsupport.scenario import (
    JSON,
    Candidate,
    invite,
    login,
    next_question,
    put_quiz,
    quiz_definition,
    random_answer,
    start_test,
)
from testsupport.service import ServerProcess

N_CANDIDATES = 40
LOAD_BEFORE_SIGTERM_S = 1.5
HOLD_IN_FLIGHT_S = 1.5  # the held save keeps the drain open this long
EXIT_WITHIN_S = 15.0  # the drain's own bound (10 s) plus uvicorn's shutdown
KEY = "drain-test-key-0123456789"


# -- in process ----------------------------------------------------------------------


@pytest.fixture
def client() -> Iterator[TestClient[Any]]:
    settings = load_settings(
        {}, store_url="memory://", api_keys=f"admin={KEY}", secret_key="s" * 40
    )
    with TestClient(create_app(build(settings))) as cl:
        yield cl


def test_draining_refuses_new_work_with_503(client: TestClient[Any]) -> None:
    container = client.app.state.container
    assert client.get("/readyz").status_code == 200
    container.hub.draining = True
    for method, path, body in [
        ("POST", "/sessions", {"invite_token": "x" * 32}),
        ("PUT", "/sessions/s1/progress", {"question_id": "q", "answer": 1, "op_id": "o"}),
        ("GET", "/admin/quizzes", None),
    ]:
        r = client.request(method, path, json=body, headers={"X-API-Key": KEY})
        assert r.status_code == 503, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["retry-after"] == "1"
        assert r.headers["connection"] == "close"
        problem = r.json()
        assert problem["code"] == "draining"
        assert problem["status"] == 503
        assert problem["instance"] == path
    r = client.get("/readyz")
    assert r.status_code == 503, r.text
    assert r.json()["code"] == "draining"
    assert r.headers["retry-after"] == "1"
    assert client.get("/healthz").status_code == 200
    assert container.hub.in_flight == 0


async def test_wait_idle_waits_for_admitted_requests() -> None:
    from quizsession.app.live import LiveHub

    hub = LiveHub()
    assert await hub.wait_idle(0.0)
    hub.request_started()
    hub.request_started()
    assert not await hub.wait_idle(0.01)
    hub.request_finished()
    assert hub.in_flight == 1
    loop = asyncio.get_running_loop()
    loop.call_later(0.02, hub.request_finished)
    assert await hub.wait_idle(5.0)
    assert hub.in_flight == 0


# -- a real server process -----------------------------------------------------------


@dataclass
class Outcome:
    """One save: when it was sent, what came back."""

    sent: float
    received: float
    status: int | None  # None: a connection error
    code: str = ""
    detail: str = ""


@dataclass
class Load:
    acks: dict[str, tuple[str, str, Any]] = field(default_factory=dict)  # op -> attempt, q, a
    outcomes: list[Outcome] = field(default_factory=list)
    sigterm_at: float = float("inf")


def _code(r: httpx.Response) -> str:
    try:
        return str(r.json().get("code", ""))
    except ValueError:
        return ""


async def _saver(
    index: int, client: httpx.AsyncClient, c: Candidate, load: Load, stop: asyncio.Event
) -> None:
    """Saves as fast as it can; after SIGTERM until the server is gone."""
    rng = random.Random(index)
    questions = list(c.questions.values())
    n = 0
    while not stop.is_set():
        n += 1
        question = questions[n % len(questions)]
        answer = random_answer(question, rng)
        op_id = f"d{index}-{n}"
        body = {"question_id": question["id"], "answer": answer, "op_id": op_id}
        sent = time.monotonic()
        try:
            r = await client.put(f"/sessions/{c.session_id}/progress", json=body, headers=c.auth)
        except httpx.TransportError as exc:
            load.outcomes.append(Outcome(sent, time.monotonic(), None, type(exc).__name__))
            if sent < load.sigterm_at:
                raise AssertionError(f"connection error before SIGTERM: {exc!r}") from exc
            return  # the server is going away: this candidate would reconnect elsewhere
        out = Outcome(sent, time.monotonic(), r.status_code, _code(r), r.text[:300])
        load.outcomes.append(out)
        if r.status_code == 200:
            load.acks[op_id] = (c.attempt_id, question["id"], answer)
        elif r.status_code == 503 and out.code == "draining":
            await asyncio.sleep(0.1)
        else:
            return  # reported by the assertions on outcomes


async def _ws_connect(server: ServerProcess, session_id: str) -> ClientConnection:
    url = f"ws://127.0.0.1:{server.port}/sessions/{session_id}/live"
    return await connect(url, open_timeout=10, proxy=None, ping_interval=None)


async def _ws_recv(ws: ClientConnection, wait_s: float = 10.0) -> JSON:
    raw = await asyncio.wait_for(ws.recv(), wait_s)
    message: JSON = json.loads(raw)
    return message


async def _open_live(server: ServerProcess, c: Candidate) -> ClientConnection:
    ws = await _ws_connect(server, c.session_id)
    await ws.send(json.dumps({"type": "auth", "token": c.session_token}))
    welcome = await _ws_recv(ws)
    assert welcome["type"] == "welcome", welcome
    return ws


async def _held_save(
    server: ServerProcess, c: Candidate, question: JSON, op_id: str, answer: Any
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
    """Send a save's head and half its body; returns the rest to send later."""
    body = json.dumps({"question_id": question["id"], "answer": answer, "op_id": op_id}).encode()
    head = (
        f"PUT /sessions/{c.session_id}/progress HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\n"
        f"Authorization: Bearer {c.session_token}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    half = len(body) // 2
    writer.write(head + body[:half])
    await writer.drain()
    return reader, writer, body[half:]


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, JSON]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    data: JSON = json.loads(await reader.readexactly(length)) if length else {}
    return status, data


async def _wait_exit(server: ServerProcess, within_s: float) -> tuple[int | None, float]:
    began = time.monotonic()
    while time.monotonic() - began < within_s:
        if not server.running:
            break
        await asyncio.sleep(0.02)
    took = time.monotonic() - began
    if server.running:
        return None, took
    return server.terminate(), took  # already exited: only reaps and returns its code


async def _prepare(
    client: httpx.AsyncClient, server: ServerProcess, count: int
) -> tuple[list[Candidate], Candidate, Candidate, Candidate]:
    """Candidates with the test started and every question delivered, plus one
    for the live socket, one for the held save and one that logs in late."""
    admin = server.admin_headers
    await put_quiz(client, admin, quiz_definition("drain"))
    tokens = await invite(client, admin, "drain", count + 3)
    people = [Candidate(t) for t in tokens]
    rng = random.Random(1)

    async def ready(c: Candidate) -> None:
        r = await login(client, c)
        assert r.status_code == 201, r.text
        await start_test(client, c)
        while (question := await next_question(client, c)) is not None:
            body = {
                "question_id": question["id"],
                "answer": random_answer(question, rng),
                "op_id": f"first-{question['id']}",
            }
            r = await client.put(f"/sessions/{c.session_id}/progress", json=body, headers=c.auth)
            assert r.status_code == 200, r.text

    await asyncio.gather(*(ready(c) for c in people[:-1]))
    return people[:count], people[count], people[count + 1], people[count + 2]


async def _answer_ops(client: httpx.AsyncClient, server: ServerProcess, attempt_id: str) -> JSON:
    r = await client.get(f"/admin/attempts/{attempt_id}/events", headers=server.admin_headers)
    assert r.status_code == 200, r.text
    return {e["data"]["op_id"]: e["data"] for e in r.json() if e["type"] == "answer_saved"}


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_sigterm_drains_under_load(server_factory: ServerFactory) -> None:
    server = server_factory("drain")
    await server.start_async()
    assert server.pid is not None
    load = Load()
    stop = asyncio.Event()
    limits = httpx.Limits(max_connections=N_CANDIDATES + 8)
    client = httpx.AsyncClient(base_url=server.url, timeout=15.0, limits=limits)
    probe = httpx.AsyncClient(base_url=server.url, timeout=5.0)
    tasks: list[asyncio.Task[None]] = []
    ws: ClientConnection | None = None
    try:
        savers, live, held, late = await _prepare(client, server, N_CANDIDATES)
        ws = await _open_live(server, live)
        tasks = [
            asyncio.create_task(_saver(i, client, c, load, stop)) for i, c in enumerate(savers)
        ]
        await asyncio.sleep(LOAD_BEFORE_SIGTERM_S)
        held_question = next(iter(held.questions.values()))
        held_answer = random_answer(held_question, random.Random(9))
        reader, writer, rest = await _held_save(server, held, held_question, "held", held_answer)
        await asyncio.sleep(0.3)  # its head is parsed: the request is admitted

        load.sigterm_at = time.monotonic()
        os.kill(server.pid, signal.SIGTERM)  # our own server process, by its pid

        # The live socket is told to reconnect elsewhere, then closed with 1012.
        while True:
            message = await _ws_recv(ws)
            if message["type"] == "drain":
                break
            assert message["type"] in ("tick", "pong"), message
        assert message["reconnect"] is True, message
        with pytest.raises(ConnectionClosed) as closed:
            await _ws_recv(ws)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == CLOSE_DRAIN == 1012

        # While the held save keeps the drain open: new work is refused.
        r = await probe.get("/readyz")
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "draining"
        assert (await probe.get("/healthz")).status_code == 200
        r = await probe.post("/sessions", json={"invite_token": late.invite_token})
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "draining", r.text
        assert r.headers["retry-after"] == "1"
        with pytest.raises(InvalidStatus) as denied:
            await _ws_connect(server, live.session_id)
        assert denied.value.response.status_code == 503
        assert json.loads(denied.value.response.body or b"{}")["code"] == "draining"
        assert server.running

        # The save that was in flight when the signal came completes and counts.
        await asyncio.sleep(max(0.0, load.sigterm_at + HOLD_IN_FLIGHT_S - time.monotonic()))
        writer.write(rest)
        await writer.drain()
        status, view = await _read_response(reader)
        writer.close()
        assert status == 200, view
        load.acks["held"] = (held.attempt_id, held_question["id"], held_answer)

        code, took = await _wait_exit(server, EXIT_WITHIN_S)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 15)
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if ws is not None:
            await ws.close()
        await client.aclose()
        await probe.aclose()

    log = server.log_text()
    assert code == 0, (code, log[-3000:])
    assert took < EXIT_WITHIN_S
    assert "quizsession: drained in" in log, log[-3000:]
    assert "1 live socket(s) told to reconnect" in log, log[-3000:]
    assert "quizsession: shutdown complete (drained, store closed)" in log, log[-3000:]
    assert_no_traceback(log)

    # Nothing but 200, 503 draining or a connection error; after the first
    # 503 draining was seen (the drain had begun), never a 200.
    bad = [o for o in load.outcomes if o.status not in (200, 503, None)]
    bad += [o for o in load.outcomes if o.status == 503 and o.code != "draining"]
    assert not bad, bad[:5]
    drained = [o for o in load.outcomes if o.status == 503]
    assert drained, "no request saw 503 draining"
    first_refusal = min(o.received for o in drained)
    late_ok = [o for o in load.outcomes if o.status == 200 and o.sent > first_refusal]
    assert not late_ok, late_ok[:5]
    before = sum(1 for o in load.outcomes if o.status == 200)
    assert before > N_CANDIDATES, "the load did not run"

    # After a restart every acknowledged save is in the store, with its answer.
    await server.start_async()
    async with httpx.AsyncClient(base_url=server.url, timeout=30.0) as check:
        attempts = {attempt for attempt, _, _ in load.acks.values()}
        stored: dict[str, JSON] = {}
        for attempt in attempts:
            stored.update(await _answer_ops(check, server, attempt))
    missing = [op for op in load.acks if op not in stored]
    assert not missing, f"{len(missing)} acknowledged saves lost: {missing[:10]}"
    for op, (_, question_id, answer) in load.acks.items():
        assert stored[op]["question_id"] == question_id
        assert stored[op]["answer"] == answer
    server.terminate()
    print(
        f"\ndrain: {len(load.acks)} saves acknowledged, "
        f"{len(drained)} refused with 503 draining, "
        f"{sum(1 for o in load.outcomes if o.status is None)} connection errors after SIGTERM; "
        f"exit 0 {took:.2f}s after the held save completed"
    )


@pytest.mark.slow
@pytest.mark.timeout(60)
async def test_second_signal_exits_at_once(server_factory: ServerFactory) -> None:
    server = server_factory("twice")
    await server.start_async()
    assert server.pid is not None
    async with httpx.AsyncClient(base_url=server.url, timeout=15.0) as client:
        [c], _live, _held, _late = await _prepare(client, server, 1)
    question = next(iter(c.questions.values()))
    # A save held in flight keeps the drain waiting (up to its 10 s bound).
    _reader, writer, _rest = await _held_save(server, c, question, "never", True)
    await asyncio.sleep(0.3)
    os.kill(server.pid, signal.SIGTERM)
    async with httpx.AsyncClient(base_url=server.url, timeout=5.0) as probe:
        deadline = time.monotonic() + 5
        while (await probe.get("/readyz")).status_code != 503:
            assert time.monotonic() < deadline, "never started draining"
            await asyncio.sleep(0.02)
    assert server.running  # still waiting for the held save
    os.kill(server.pid, signal.SIGTERM)
    code, took = await _wait_exit(server, 3.0)
    writer.close()
    assert code == 128 + signal.SIGTERM, server.log_text()[-3000:]
    assert took < 3.0
    assert "second signal 15: exiting now" in server.log_text()
