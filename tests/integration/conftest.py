"""In-process HTTP fixtures: the app on the memory store with a fake clock.

Time moves only when a test calls ``clock.advance``; the background reaper is not
started (``api.reap()`` runs one pass), so nothing happens behind a test's back.
``api.refused(...)`` is the workhorse of the error tests: it snapshots the whole
store, sends the request, checks the problem+json answer and checks that the
store is exactly as it was.
"""

from __future__ import annotations

import copy
import importlib.resources
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
import pytest
import yaml
from litestar import Litestar
from litestar.testing import AsyncTestClient

from quizsession.adapters.store.memory import MemoryStore
from quizsession.app.clock import FakeClock
from quizsession.app.ports import AttemptIndexRow, Invite
from quizsession.bootstrap import Container, build
from quizsession.entrypoints.http.app import create_app
from quizsession.settings import Settings, load_settings

ADMIN_NAME = "ops"
API_KEY = "ops-key-0123456789abcdef"
OTHER_ADMIN_NAME = "lms"
OTHER_API_KEY = "lms-key-fedcba9876543210"
SECRET_KEY = "integration-test-secret-" + "x" * 40
PROBLEM_JSON = "application/problem+json"
START = 1_800_000_000.0  # FakeClock's default start: 2027-01-15 08:00:00 UTC
DEMO_ID = "demo"

# Test question ids of the demo quiz, in their fixed delivery order.
DEMO_TEST_ORDER = [
    "capital-au",
    "primes",
    "noble-gases",
    "great-wall",
    "water-boils",
    "red-planet",
    "hamlet-author",
    "speed-of-light",
    "pi-digits",
    "largest-ocean",
]
# A right answer to every test question of the demo quiz (13 points in all).
DEMO_RIGHT: dict[str, Any] = {
    "capital-au": "canberra",
    "primes": ["n2", "n11", "n17"],
    "noble-gases": ["he", "ar"],
    "great-wall": False,
    "water-boils": True,
    "red-planet": "mars",
    "hamlet-author": "Shakespeare",
    "speed-of-light": 300,
    "pi-digits": 3.14,
    "largest-ocean": "pacific",
}
DEMO_MAX_SCORE = 13.0


def demo_definition(quiz_id: str = DEMO_ID, **changes: Any) -> dict[str, Any]:
    """The sample quiz as a mapping, with ``quiz_id`` and top-level ``changes``."""
    text = importlib.resources.files("quizsession").joinpath("examples/demo.yaml").read_text()
    raw = yaml.safe_load(text)
    assert isinstance(raw, dict)
    raw = copy.deepcopy(raw)
    raw["id"] = quiz_id
    for key, value in changes.items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    return raw


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The RFC 9457 body of ``response``, checked for ``status`` and ``code``."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body = response.json()
    assert isinstance(body, dict)
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["type"] == f"/problems/{code}"
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    return body


@dataclass(frozen=True)
class Session:
    session_id: str
    token: str
    attempt_id: str
    opened: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def path(self) -> str:
        return f"/sessions/{self.session_id}"


@dataclass(frozen=True)
class StoreSnapshot:
    """Everything the memory store holds, plus each attempt's folded admin view
    (without the fields that move with the clock)."""

    logs: dict[str, tuple[bytes, ...]]
    index: dict[str, AttemptIndexRow]
    quizzes: dict[str, tuple[bytes, ...]]
    invites: dict[str, Invite]
    views: dict[str, Any]

    def event_count(self, attempt_id: str) -> int:
        return len(self.logs.get(attempt_id, ()))


class Api:
    """Helpers over the client, the container and the clock."""

    def __init__(
        self, client: AsyncTestClient[Litestar], container: Container, clock: FakeClock
    ) -> None:
        self.client = client
        self.container = container
        self.clock = clock
        self.admin = {"X-API-Key": API_KEY}
        self._emails = 0

    # -- admin -----------------------------------------------------------------

    async def put_quiz(self, raw: dict[str, Any], quiz_id: str | None = None) -> dict[str, Any]:
        target = quiz_id or str(raw["id"])
        r = await self.client.put(f"/admin/quizzes/{target}", json=raw, headers=self.admin)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def load_demo(self, quiz_id: str = DEMO_ID, **changes: Any) -> dict[str, Any]:
        return await self.put_quiz(demo_definition(quiz_id, **changes))

    async def invite(
        self,
        quiz_id: str = DEMO_ID,
        *,
        name: str = "Ann Example",
        email: str | None = None,
        valid_until: str = "2099-12-31",
    ) -> dict[str, Any]:
        if email is None:
            self._emails += 1
            email = f"candidate{self._emails}@example.org"
        r = await self.client.post(
            f"/admin/quizzes/{quiz_id}/invites",
            json={"roster": [{"name": name, "email": email, "valid_until": valid_until}]},
            headers=self.admin,
        )
        assert r.status_code == 201, r.text
        invite: dict[str, Any] = r.json()["invites"][0]
        return invite

    async def events(self, attempt_id: str) -> list[dict[str, Any]]:
        r = await self.client.get(f"/admin/attempts/{attempt_id}/events", headers=self.admin)
        assert r.status_code == 200, r.text
        found: list[dict[str, Any]] = r.json()
        return found

    async def detail(self, attempt_id: str) -> dict[str, Any]:
        r = await self.client.get(f"/admin/attempts/{attempt_id}", headers=self.admin)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def reap(self) -> int:
        return await self.container.reaper.run_once()

    # -- candidate ---------------------------------------------------------------

    async def login(self, invite_token: str, *, takeover: bool = False) -> Session:
        body: dict[str, Any] = {"invite_token": invite_token}
        if takeover:
            body["takeover"] = True
        r = await self.client.post("/sessions", json=body)
        assert r.status_code == 201, r.text
        return self._session(r.json())

    async def backend_login(
        self, user_id: str, quiz_id: str = DEMO_ID, *, takeover: bool = False
    ) -> Session:
        r = await self.client.post(
            "/sessions",
            json={"user_id": user_id, "quiz_id": quiz_id, "takeover": takeover},
            headers=self.admin,
        )
        assert r.status_code == 201, r.text
        return self._session(r.json())

    @staticmethod
    def _session(opened: dict[str, Any]) -> Session:
        return Session(
            session_id=opened["session_id"],
            token=opened["session_token"],
            attempt_id=opened["attempt"]["attempt_id"],
            opened=opened,
        )

    async def open_session(self, quiz_id: str = DEMO_ID, **invite: Any) -> Session:
        """Invite a new candidate to ``quiz_id`` and log them in."""
        issued = await self.invite(quiz_id, **invite)
        return await self.login(issued["token"])

    async def start(self, session: Session, section: str = "test") -> dict[str, Any]:
        r = await self.client.post(
            f"{session.path}/start", json={"section": section}, headers=session.headers
        )
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def question(self, session: Session) -> dict[str, Any]:
        r = await self.client.get(f"{session.path}/question", headers=session.headers)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def save(
        self,
        session: Session,
        question_id: str,
        answer: Any,
        op_id: str,
        **extra: Any,
    ) -> httpx.Response:
        return await self.client.put(
            f"{session.path}/progress",
            json={"question_id": question_id, "answer": answer, "op_id": op_id, **extra},
            headers=session.headers,
        )

    async def answer_current(self, session: Session, op_id: str) -> dict[str, Any]:
        """Fetch the current test question and save the right answer to it."""
        question = (await self.question(session))["question"]
        assert question is not None
        r = await self.save(session, question["id"], DEMO_RIGHT[question["id"]], op_id)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def started(self, quiz_id: str = DEMO_ID, **invite: Any) -> Session:
        """A session whose test section is running, with its first question delivered."""
        session = await self.open_session(quiz_id, **invite)
        await self.start(session, "test")
        await self.question(session)
        return session

    # -- the store -----------------------------------------------------------------

    async def snapshot(self) -> StoreSnapshot:
        store = self.container.store
        assert isinstance(store, MemoryStore)
        logs = {k: tuple(v) for k, v in store._logs.items()}
        views: dict[str, Any] = {}
        for attempt_id in logs:
            detail = await self.container.admin.detail(attempt_id, with_events=False)
            view = msgspec.to_builtins(detail)
            view["attempt"].pop("server_time")
            view["attempt"].pop("time_remaining_s")
            views[attempt_id] = view
        return StoreSnapshot(
            logs=logs,
            index=dict(store._index),
            quizzes={k: tuple(v) for k, v in store._quizzes.items()},
            invites=dict(store._invites),
            views=views,
        )

    async def refused(
        self, request: Awaitable[httpx.Response], status: int, code: str
    ) -> dict[str, Any]:
        """Send ``request`` (an un-awaited client call), check that it is refused
        with ``status`` and ``code`` as problem+json, and that the store did not
        change. Returns the problem body."""
        before = await self.snapshot()
        response = await request
        body = assert_problem(response, status, code)
        after = await self.snapshot()
        assert after == before, "a refused request changed the store"
        return body


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "store_url": "memory://",
        "api_keys": f"{ADMIN_NAME}={API_KEY},{OTHER_ADMIN_NAME}={OTHER_API_KEY}",
        "secret_key": SECRET_KEY,
    }
    values.update(overrides)
    return load_settings({}, **values)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
def container(settings: Settings, clock: FakeClock) -> Container:
    return build(settings, clock=clock)


@pytest.fixture
def app(container: Container) -> Litestar:
    return create_app(container, manage_lifespan=False)


@pytest.fixture
async def client(container: Container, app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    await container.start(reaper=False)
    try:
        async with AsyncTestClient(app) as test_client:
            yield test_client
    finally:
        await container.stop()


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"X-API-Key": API_KEY}


@pytest.fixture
def api(client: AsyncTestClient[Litestar], container: Container, clock: FakeClock) -> Api:
    return Api(client, container, clock)


@pytest.fixture
async def demo(api: Api) -> dict[str, Any]:
    """The demo quiz stored as ``demo`` (version 1)."""
    return await api.load_demo()
