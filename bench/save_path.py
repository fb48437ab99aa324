"""CPU per save through the application itself, without a network or a server.

Run from the project root::

    .venv/bin/python -m bench.save_path                   # SQLite file, 20 000 saves
    .venv/bin/python -m bench.save_path --store memory --saves 50000
    .venv/bin/python -m bench.save_path --profile         # cProfile's top functions

One process builds the service (``bootstrap.build`` + ``create_app``) on a fresh
SQLite file in a temporary directory (or the memory store), sets up candidates
through the HTTP API in-process (quiz, invites, logins, test started, one
question delivered each), then calls the ASGI application directly with
``PUT /sessions/{id}/progress`` requests, ``--concurrency`` at a time, every one
a new ``op_id`` (a new event in the log), and then as many ``GET /healthz``.
No socket, no HTTP parser: what is left is the cost of the middlewares, the
routing, the token check, the body check, the executor, the domain and the
store's append. Prints the process's CPU (every thread: the store's writer
thread included) per save and per bare request, their ratio, and a JSON line.

This isolates the part of ``bench.saves``'s ``server CPU per save`` that the
application owns; compare two trees by running it in each. Figures are not
assertions: see DESIGN.md, "Benchmarks are not tests".
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from quizsession.app.clock import SystemClock
from quizsession.bootstrap import build
from quizsession.entrypoints.http.app import create_app
from quizsession.settings import load_settings
from testsupport.scenario import (
    Candidate,
    invite,
    login,
    next_question,
    put_quiz,
    quiz_definition,
    random_answer,
    start_test,
)

API_KEY = "bench-key-0123456789abcdef"
SECRET = "bench-save-path-secret-" + "x" * 40
ASGI = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class _Target:
    """One candidate's save request, ready to send as ASGI messages."""

    __slots__ = ("answers", "headers", "n", "path", "question_id")

    def __init__(self, c: Candidate, question_id: str, answers: list[str]) -> None:
        self.path = f"/sessions/{c.session_id}/progress"
        self.headers = [
            (b"host", b"127.0.0.1"),
            (b"authorization", f"Bearer {c.session_token}".encode()),
            (b"content-type", b"application/json"),
        ]
        self.question_id = question_id
        self.answers = answers
        self.n = 0

    def body(self, run: str) -> bytes:
        self.n += 1
        answer = self.answers[self.n % len(self.answers)]
        return (
            f'{{"question_id":"{self.question_id}","answer":{answer},'
            f'"op_id":"{run}-{id(self)}-{self.n}"}}'
        ).encode()


def _scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": list(headers),
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8002),
        "state": {},
    }


async def _call(app: ASGI, scope: dict[str, Any], body: bytes) -> int:
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # a disconnect never comes
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def _setup(app: Any, count: int) -> list[_Target]:
    rng = random.Random(42)
    admin = {"X-API-Key": API_KEY}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        await put_quiz(client, admin, quiz_definition("bench-path"))
        tokens = await invite(client, admin, "bench-path", count, "p")
        targets = []
        for token in tokens:
            c = Candidate(token)
            (await login(client, c)).raise_for_status()
            await start_test(client, c)
            question = await next_question(client, c)
            assert question is not None
            answers = [json.dumps(random_answer(question, rng)) for _ in range(4)]
            targets.append(_Target(c, question["id"], answers))
        return targets


async def _drive(app: ASGI, targets: list[_Target], total: int, mode: str, run: str) -> float:
    """``total`` requests over the targets, one in flight per target; returns
    the process CPU seconds they took."""
    left = total
    statuses: dict[int, int] = {}
    healthz = [(b"host", b"127.0.0.1")]

    async def one(target: _Target) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            if mode == "save":
                scope = _scope("PUT", target.path, target.headers)
                status = await _call(app, scope, target.body(run))
            else:
                status = await _call(app, _scope("GET", "/healthz", healthz), b"")
            statuses[status] = statuses.get(status, 0) + 1

    began = time.process_time()
    await asyncio.gather(*(one(t) for t in targets))
    spent = time.process_time() - began
    if set(statuses) != {200}:
        raise RuntimeError(f"{mode}: unexpected statuses {statuses}")
    return spent


async def _main(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    url = "memory://" if args.store == "memory" else f"sqlite:///{workdir / 'bench.db'}"
    settings = load_settings(
        {},
        store_url=url,
        api_keys=f"bench={API_KEY}",
        secret_key=SECRET,
        write_limit_per_second=1_000_000,
        login_limit_per_minute=1_000_000,
        failed_login_limit_per_minute=1_000_000,
        workers=1,
    )
    container = build(settings, clock=SystemClock())
    await container.start(reaper=False)
    try:
        app = create_app(container, manage_lifespan=False)
        targets = await _setup(app, args.concurrency)
        handler: ASGI = app  # type: ignore[assignment]
        await _drive(handler, targets, min(2000, args.saves), "save", "warm")
        await _drive(handler, targets, min(2000, args.saves), "bare", "warm")
        profile = cProfile.Profile() if args.profile else None
        if profile is not None:
            profile.enable()
        save_s = await _drive(handler, targets, args.saves, "save", "run")
        if profile is not None:
            profile.disable()
        bare_s = await _drive(handler, targets, args.saves, "bare", "run")
    finally:
        await container.stop()
    if profile is not None:
        stats = pstats.Stats(profile, stream=sys.stdout)
        stats.sort_stats("tottime").print_stats(args.profile_top)
    save_us = save_s / args.saves * 1e6
    bare_us = bare_s / args.saves * 1e6
    return {
        "bench": "save_path",
        "store": args.store,
        "saves": args.saves,
        "concurrency": args.concurrency,
        "cpu_us_per_save": round(save_us, 1),
        "cpu_us_per_bare": round(bare_us, 1),
        "ratio_save_bare_cpu": round(save_us / bare_us, 3) if bare_us else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--store", choices=("sqlite", "memory"), default="sqlite")
    parser.add_argument("--saves", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--profile", action="store_true", help="cProfile the save phase")
    parser.add_argument("--profile-top", type=int, default=40)
    args = parser.parse_args(argv)
    if args.saves < 1 or args.concurrency < 1:
        parser.error("need saves >= 1 and concurrency >= 1")
    import uvloop

    with tempfile.TemporaryDirectory(prefix="quizsession-save-path-") as tmp:
        result = uvloop.run(_main(args, Path(tmp)))
    print(
        f"save path ({result['store']}, {args.concurrency} in flight, no network): "
        f"{result['cpu_us_per_save']} us CPU per save, {result['cpu_us_per_bare']} us per "
        f"GET /healthz, x{result['ratio_save_bare_cpu']}"
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
