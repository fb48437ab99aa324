"""The typed client against a real ``quizsession serve`` process on SQLite: a save
retried across a SIGKILL and a restart, with the same ``op_id``, lands exactly once.

Two moments for the kill, both with a real SIGKILL of the server's pid and a real
restart on the same file and port while the client keeps retrying (its retries
meet real refused connections until the new process listens):

- ``reply_lost``: the save reached the server and was acknowledged (so it is on
  disk); the server is killed before the client reads the answer, which the
  test's transport drops as a connection reset would. The retry must be answered
  from the log (``replayed``), not saved a second time.
- ``in_flight``: the server is killed while the save's body is half sent, so the
  client gets a real transport error from its connection. The save never landed;
  the retry saves it once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Literal

import httpx
import msgspec
import pytest
import yaml

from quizsession.client import AsyncQuizClient, RosterLine
from quizsession.domain.events import AnswerSaved, AttemptEvent
from tests.e2e.conftest import ServerFactory
from testsupport.service import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

QUIZ_ID = "client-demo"
OP_ID = "op-across-the-crash"
DEMO_YAML = Path(__file__).resolve().parents[2] / "src/quizsession/examples/demo.yaml"

Mode = Literal["reply_lost", "in_flight"]


class HalfThenRest(httpx.AsyncByteStream):
    """A request body sent in two halves, with ``between`` awaited in the middle."""

    def __init__(self, body: bytes, between: Callable[[], Awaitable[None]]) -> None:
        self.body = body
        self.between = between

    async def __aiter__(self) -> AsyncIterator[bytes]:
        half = len(self.body) // 2
        yield self.body[:half]
        await self.between()
        yield self.body[half:]


class CrashingTransport(httpx.AsyncBaseTransport):
    """A real HTTP transport that SIGKILLs ``server`` during the first save (at
    the moment ``mode`` says) and starts it again in the background."""

    def __init__(self, server: ServerProcess, mode: Mode) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.server = server
        self.mode = mode
        self.saves: list[bytes] = []  # the body of every save sent
        self.errors: list[str] = []  # what the client saw while the server was down
        self.restarted: asyncio.Task[None] | None = None

    def crash(self) -> None:
        assert self.restarted is None, "one crash per test"
        self.server.kill()
        self.restarted = asyncio.create_task(self.server.start_async())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        is_save = request.method == "PUT" and request.url.path.endswith("/progress")
        if is_save:
            self.saves.append(request.content)
        if not is_save or self.restarted is not None:
            try:
                return await self.inner.handle_async_request(request)
            except httpx.TransportError as exc:
                self.errors.append(type(exc).__name__)
                raise
        if self.mode == "reply_lost":
            response = await self.inner.handle_async_request(request)
            await response.aread()
            assert response.status_code == 200, response.text  # acknowledged: on disk
            self.crash()
            raise httpx.ReadError("connection reset before the answer was read", request=request)

        async def kill_now() -> None:
            self.crash()

        halved = httpx.Request(
            request.method,
            request.url,
            headers=request.headers,
            stream=HalfThenRest(request.content, kill_now),
        )
        try:
            await self.inner.handle_async_request(halved)
        except httpx.TransportError as exc:
            self.errors.append(type(exc).__name__)
            raise
        raise AssertionError("a save whose server was killed mid-body got an answer")

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize("mode", ["reply_lost", "in_flight"])
async def test_save_retried_across_a_crash_lands_once(
    server_factory: ServerFactory, mode: Mode
) -> None:
    server = server_factory(f"client-{mode}")
    await server.start_async()
    transport = CrashingTransport(server, mode)
    definition = yaml.safe_load(DEMO_YAML.read_text()) | {"id": QUIZ_ID}
    async with AsyncQuizClient(
        server.url,
        api_key=server.admin_key,
        transport=transport,
        timeout=5.0,
        retries=60,
        backoff_s=0.05,
        max_backoff_s=0.5,
    ) as client:
        await client.put_quiz(QUIZ_ID, definition)
        [issued] = await client.invite(
            QUIZ_ID, [RosterLine(name="Kim", email="kim@example.org", valid_until="2099-12-31")]
        )
        session = await client.open_session(invite_token=issued.token)
        await session.start("test")
        current = await session.next_question()
        assert current.question is not None
        question_id = current.question.id

        result = await session.save(question_id, "canberra", op_id=OP_ID)

        assert transport.restarted is not None, "the server was never killed"
        await transport.restarted
        assert server.kills == 1
        assert server.starts == 2
        assert result.saved
        assert result.question_id == question_id
        assert result.replayed is (mode == "reply_lost")
        assert len(transport.saves) >= 2, "the save was not retried"
        assert len(set(transport.saves)) == 1, "a retry changed the request (op_id)"
        if mode == "in_flight":
            assert transport.errors, "the client never saw the connection fail"

        assert session.attempt_id is not None
        events = await client.events(session.attempt_id)
        logged = [msgspec.convert(e.data, AttemptEvent) for e in events]  # mappings on a client
        saved = [e for e in logged if isinstance(e, AnswerSaved)]
        assert [(s.question_id, s.op_id, s.answer) for s in saved] == [
            (question_id, OP_ID, "canberra")
        ]
        view = await session.view()
        assert view.answers == {question_id: "canberra"}
