"""Invite-token guessing is slowed per client address: after
``failed_login_limit_per_minute`` wrong invites in a moving 60 s window, the
address gets 429 ``rate_limited`` (``Retry-After: 60``) for everything it sends to
``POST /sessions`` — even a correct invite — until the oldest failure leaves the
window. Other addresses are not affected. Time is the FakeClock's: nothing sleeps.

``tests/integration/test_http_errors.py::test_rate_limited_invite_guessing``
covers the basic lockout; this file adds addresses, the window's timing, what
counts as a failure, and forged forwarding headers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar

from quizsession.app.clock import FakeClock
from quizsession.bootstrap import build
from quizsession.entrypoints.http.app import create_app
from tests.integration.conftest import START, Api, assert_problem, make_settings

pytestmark = pytest.mark.usefixtures("demo")

Client = Callable[[str], Any]


@asynccontextmanager
async def from_address(app: Litestar, host: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests arrive from ``host`` (the ASGI scope's client)."""
    transport = httpx.ASGITransport(app=app, client=(host, 40_000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        yield c


def guess(n: int) -> dict[str, str]:
    return {"invite_token": f"guess-{n:06d}-abcdefghijklmnop"}


async def fail(client: httpx.AsyncClient, n: int) -> None:
    r = await client.post("/sessions", json=guess(n))
    assert_problem(r, 401, "invite_invalid")


async def locked(api: Api, client: httpx.AsyncClient, invite_token: str) -> None:
    """``client``'s address is locked out: a correct invite gets 429 with
    Retry-After, and nothing changes in the store."""
    before = await api.snapshot()
    r = await client.post("/sessions", json={"invite_token": invite_token})
    body = assert_problem(r, 429, "rate_limited")
    assert r.headers["retry-after"] == "60"
    assert body["retry_after"] == 60
    assert await api.snapshot() == before


async def test_other_addresses_are_not_affected(api: Api, app: Litestar) -> None:
    limit = api.container.settings.failed_login_limit_per_minute
    invite_a, invite_b = await api.invite(), await api.invite()
    async with from_address(app, "203.0.113.7") as a, from_address(app, "198.51.100.9") as b:
        for n in range(limit):
            await fail(a, n)
        await locked(api, a, invite_a["token"])
        r = await a.post("/sessions", json=guess(999))
        assert_problem(r, 429, "rate_limited")
        # Another address: its own wrong guesses are plain 401s, its login works.
        for n in range(limit - 1):
            await fail(b, n)
        r = await b.post("/sessions", json={"invite_token": invite_b["token"]})
        assert r.status_code == 201, r.text
        # ... and the candidate of A's invite can log in from elsewhere.
        r = await b.post("/sessions", json={"invite_token": invite_a["token"]})
        assert r.status_code == 201, r.text
        await fail(b, 1000)  # B's limit-th failure: allowed, then locked
        await locked(api, b, invite_b["token"])
    async with from_address(app, "2001:db8::1") as c:
        await fail(c, 0)


async def test_the_window_moves_with_the_oldest_failure(api: Api, app: Litestar) -> None:
    limit = api.container.settings.failed_login_limit_per_minute
    half = limit // 2
    invite = await api.invite()
    async with from_address(app, "203.0.113.8") as a:
        t0 = api.clock.now()
        for n in range(half):
            await fail(a, n)
        api.clock.advance(30)
        for n in range(half, limit):
            await fail(a, n)
        await locked(api, a, invite["token"])
        api.clock.advance(29.9)  # t0 + 59.9: the first failures are still in the window
        await locked(api, a, invite["token"])
        api.clock.advance(0.1)  # t0 + 60: the first half has left the window
        assert api.clock.now() == pytest.approx(t0 + 60)
        for n in range(half):
            await fail(a, limit + n)
        await locked(api, a, invite["token"])
        api.clock.advance(30)  # t0 + 90: the second half has left too
        r = await a.post("/sessions", json={"invite_token": invite["token"]})
        assert r.status_code == 201, r.text


async def test_refused_requests_do_not_extend_the_lockout(api: Api, app: Litestar) -> None:
    """While locked, hammering counts nothing: the lockout ends 60 s after the
    failures, however much is sent meanwhile."""
    limit = api.container.settings.failed_login_limit_per_minute
    invite = await api.invite()
    async with from_address(app, "203.0.113.9") as a:
        for n in range(limit):
            await fail(a, n)
        for second in range(59):
            api.clock.advance(1)
            for n in range(5):
                r = await a.post("/sessions", json=guess(10_000 + second * 5 + n))
                assert_problem(r, 429, "rate_limited")
        api.clock.advance(1)
        r = await a.post("/sessions", json={"invite_token": invite["token"]})
        assert r.status_code == 201, r.text


async def test_a_correct_invite_does_not_reset_the_count(api: Api, app: Litestar) -> None:
    """Holding one valid invite does not buy an attacker more guesses."""
    limit = api.container.settings.failed_login_limit_per_minute
    own, other = await api.invite(), await api.invite()
    async with from_address(app, "203.0.113.10") as a:
        for n in range(limit - 1):
            await fail(a, n)
        r = await a.post("/sessions", json={"invite_token": own["token"]})
        assert r.status_code == 201, r.text
        await fail(a, limit)
        await locked(api, a, other["token"])


async def test_expired_invites_are_not_counted_as_guesses(api: Api, app: Litestar) -> None:
    """A real but expired invite is an honest candidate who is late, not a guess."""
    limit = api.container.settings.failed_login_limit_per_minute
    expired = await api.invite(valid_until="2027-01-15T08:30:00+00:00")  # START + 30 min
    fresh = await api.invite()
    assert api.clock.now() == START
    api.clock.advance(3600)
    async with from_address(app, "203.0.113.11") as a:
        for _ in range(limit + 5):
            r = await a.post("/sessions", json={"invite_token": expired["token"]})
            assert_problem(r, 401, "invite_expired")
        r = await a.post("/sessions", json={"invite_token": fresh["token"]})
        assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    "header",
    ["X-Forwarded-For", "X-Real-IP", "Forwarded", "True-Client-IP", "CF-Connecting-IP"],
)
async def test_forged_forwarding_headers_do_not_dodge_the_limit(
    api: Api, app: Litestar, header: str
) -> None:
    """The app counts the transport's peer address. (Behind a reverse proxy the
    server must be told which proxies to trust — see SECURITY.md.)"""
    limit = api.container.settings.failed_login_limit_per_minute
    async with from_address(app, "203.0.113.12") as a:
        for n in range(limit):
            value = f"for=10.0.{n}.1" if header == "Forwarded" else f"10.0.{n}.1"
            r = await a.post("/sessions", json=guess(n), headers={header: value})
            assert_problem(r, 401, "invite_invalid")
        r = await a.post("/sessions", json=guess(99), headers={header: "10.9.9.9"})
        assert_problem(r, 429, "rate_limited")


async def test_guesses_never_touch_the_store(api: Api, app: Litestar) -> None:
    limit = api.container.settings.failed_login_limit_per_minute
    before = await api.snapshot()
    async with from_address(app, "203.0.113.13") as a:
        for n in range(limit + 10):
            r = await a.post("/sessions", json=guess(n))
            assert r.status_code in (401, 429), r.text
    assert await api.snapshot() == before


# -- concurrent guesses (the limit is a check, then a count) ---------------------------


@pytest.fixture
async def sqlite_app(tmp_path: Path) -> AsyncIterator[tuple[Litestar, Any]]:
    """The app on the embedded SQLite store (lookups run off the event loop, as
    in production)."""
    clock = FakeClock(START)
    container = build(make_settings(store_url=f"sqlite:///{tmp_path / 'guess.db'}"), clock=clock)
    await container.start(reaper=False)
    try:
        yield create_app(container, manage_lifespan=False), container
    finally:
        await container.stop()


async def test_a_concurrent_burst_gets_no_more_answers_than_the_limit(
    sqlite_app: tuple[Litestar, Any],
) -> None:
    app, container = sqlite_app
    limit = container.settings.failed_login_limit_per_minute
    async with from_address(app, "203.0.113.14") as a:
        responses = await asyncio.gather(
            *(a.post("/sessions", json=guess(n)) for n in range(limit * 5))
        )
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {401, 429}, statuses
    answered = statuses.count(401)
    assert answered <= limit, f"{answered} guesses answered in one window (limit {limit})"
