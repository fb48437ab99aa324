"""The in-process service a Hypothesis state machine drives through HTTP: the
memory store, a ``FakeClock`` at ``START``, the app without its lifespan, an
``httpx`` client on it, and an event loop of the machine's own."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import httpx
from hypothesis.stateful import RuleBasedStateMachine

from quizsession.app.clock import FakeClock
from quizsession.bootstrap import build
from quizsession.entrypoints.http.app import create_app
from tests.integration.conftest import START, make_settings


class ServiceMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FakeClock(START)
        self.container = build(make_settings(), clock=self.clock)
        self.app = create_app(self.container, manage_lifespan=False)
        self.run(self.container.start(reaper=False))
        transport = httpx.ASGITransport(app=self.app)  # type: ignore[arg-type]
        self.client = httpx.AsyncClient(transport=transport, base_url="http://testserver.local")
        self.ops = itertools.count()

    def run(self, awaitable: Any) -> Any:
        return self.loop.run_until_complete(awaitable)

    def teardown(self) -> None:
        self.run(self.client.aclose())
        self.run(self.container.stop())
        self.loop.close()
