"""Accommodations over HTTP: the admin routes and their refusals (each bad input
is 422 with a stable code and changes nothing), what the candidate is told
before starting, a change while the test runs, and one run end to end with a
fake clock: x1.5 on a 10-minute quiz is submitted by the server at 15 minutes,
its finish time the deadline."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import pytest
from litestar import Litestar

from quizsession.adapters.store.memory import MemoryStore
from quizsession.client import Accommodation, AsyncQuizClient, NotFound, ValidationFailed
from tests.integration.conftest import API_KEY, START, Api, Session, assert_problem

PATH = "/admin/candidates/{}/accommodation"
DURATION = 600.0  # the demo quiz: 10 minutes
GRACE = 5.0


def path(candidate_id: str) -> str:
    return PATH.format(candidate_id)


async def put(api: Api, candidate_id: str, body: Any, **headers: str) -> httpx.Response:
    return await api.client.put(path(candidate_id), json=body, headers=headers or api.admin)


async def accommodate(api: Api, candidate_id: str, **body: Any) -> dict[str, Any]:
    r = await put(api, candidate_id, body)
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


def stored(api: Api) -> dict[str, Any]:
    store = api.container.store
    assert isinstance(store, MemoryStore)
    return dict(store._accommodations)


async def refused(api: Api, request: Any, status: int, code: str) -> dict[str, Any]:
    """``api.refused`` (the attempts unchanged), and the accommodations unchanged."""
    before = stored(api)
    body = await api.refused(request, status, code)
    assert stored(api) == before, "a refused request changed the accommodations"
    return body


async def view(api: Api, session: Session) -> dict[str, Any]:
    r = await api.client.get(session.path, headers=session.headers)
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


async def keep_alive(api: Api, session: Session, minutes: int) -> Session:
    """Let ``minutes`` pass with the page's heartbeats (a new token each time)."""
    for _ in range(minutes):
        api.clock.advance(60)
        r = await api.client.post(f"{session.path}/heartbeat", json={}, headers=session.headers)
        assert r.status_code == 200, r.text
        session = dataclasses.replace(session, token=r.json()["session_token"])
    return session


# ----------------------------------------------------------------- the admin API


async def test_put_get_list_delete(api: Api, demo: dict[str, Any]) -> None:
    set_ = await accommodate(
        api, "cand-1", multiplier=1.5, note="approved by the disability office"
    )
    assert set_ == {
        "candidate_id": "cand-1",
        "multiplier": 1.5,
        "extra_seconds": 0.0,
        "note": "approved by the disability office",
        "set_by": "admin:ops",
        "set_at": START,
    }
    r = await api.client.get(path("cand-1"), headers=api.admin)
    assert (r.status_code, r.json()) == (200, set_)
    api.clock.advance(10)
    changed = await accommodate(api, "cand-1", extra_seconds=1200)
    assert (changed["multiplier"], changed["extra_seconds"]) == (1.0, 1200.0)
    assert changed["set_at"] == START + 10
    await accommodate(api, "cand-0", multiplier=2)
    r = await api.client.get("/admin/accommodations", headers=api.admin)
    assert r.status_code == 200
    listed = r.json()
    assert [a["candidate_id"] for a in listed["accommodations"]] == ["cand-0", "cand-1"]
    assert (listed["limit"], listed["offset"]) == (100, 0)
    r = await api.client.get(
        "/admin/accommodations", params={"limit": 1, "offset": 1}, headers=api.admin
    )
    assert [a["candidate_id"] for a in r.json()["accommodations"]] == ["cand-1"]
    r = await api.client.delete(path("cand-1"), headers=api.admin)
    assert r.status_code == 204
    assert_problem(await api.client.get(path("cand-1"), headers=api.admin), 404, "not_found")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"multiplier": 0.5},
        {"multiplier": 4.5},
        {"multiplier": 1.0},
        {"multiplier": 1.0, "extra_seconds": 0},
        {"extra_seconds": -1},
        {"extra_seconds": 86_401},
    ],
    ids=[
        "nothing",
        "below-1",
        "above-4",
        "x1-only",
        "no-time",
        "negative-extra",
        "extra-over-a-day",
    ],
)
async def test_a_bad_accommodation_is_422_and_changes_nothing(
    api: Api, demo: dict[str, Any], body: dict[str, Any]
) -> None:
    await accommodate(api, "cand-1", multiplier=1.25)
    await refused(api, put(api, "cand-1", body), 422, "accommodation_invalid")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"multiplier": "1.5"}, "validation_error"),
        ({"multiplier": 1.5, "why": "x"}, "validation_error"),
        ({"extra_seconds": True}, "validation_error"),
        ([1.5], "validation_error"),
        ({"multiplier": 1.5, "note": "x" * 501}, "validation_error"),
    ],
    ids=["string", "unknown-field", "bool", "not-an-object", "long-note"],
)
async def test_a_malformed_body_is_refused_and_changes_nothing(
    api: Api, demo: dict[str, Any], body: Any, code: str
) -> None:
    await refused(api, put(api, "cand-1", body), 422, code)
    assert stored(api) == {}


async def test_not_json_and_a_bad_candidate_id_change_nothing(
    api: Api, demo: dict[str, Any]
) -> None:
    raw = api.client.put(
        path("cand-1"),
        content=b"{not json",
        headers={**api.admin, "Content-Type": "application/json"},
    )
    await refused(api, raw, 400, "malformed_json")
    huge = api.client.put(
        path("cand-1"),
        content=b'{"multiplier": 1e400}',
        headers={**api.admin, "Content-Type": "application/json"},
    )
    await refused(api, huge, 400, "malformed_json")
    long_id = "c" * 129
    await refused(api, put(api, long_id, {"multiplier": 1.5}), 422, "accommodation_invalid")
    await refused(api, put(api, "a%20b", {"multiplier": 1.5}), 422, "accommodation_invalid")
    assert stored(api) == {}


async def test_without_a_valid_key_nothing_happens(api: Api, demo: dict[str, Any]) -> None:
    await accommodate(api, "cand-1", multiplier=1.5)
    no_key = api.client.put(path("cand-1"), json={"multiplier": 2})
    await refused(api, no_key, 401, "api_key_required")
    bad_key = api.client.put(
        path("cand-1"), json={"multiplier": 2}, headers={"X-API-Key": API_KEY + "x"}
    )
    await refused(api, bad_key, 401, "api_key_invalid")
    await refused(api, api.client.delete(path("cand-1")), 401, "api_key_required")
    assert_problem(await api.client.get(path("cand-1")), 401, "api_key_required")
    assert_problem(await api.client.get("/admin/accommodations"), 401, "api_key_required")


async def test_unknown_accommodations_and_bad_pages(api: Api, demo: dict[str, Any]) -> None:
    assert_problem(await api.client.get(path("nobody"), headers=api.admin), 404, "not_found")
    await refused(api, api.client.delete(path("nobody"), headers=api.admin), 404, "not_found")
    r = await api.client.get("/admin/accommodations", params={"limit": 0}, headers=api.admin)
    assert_problem(r, 422, "validation_error")


async def test_changes_are_audited(
    api: Api, demo: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="quizsession.audit")
    await accommodate(api, "cand-1", multiplier=1.5)
    await api.client.delete(path("cand-1"), headers=api.admin)
    lines = [r for r in caplog.records if r.name == "quizsession.audit"]
    assert [(r.actor, r.action, r.candidate_id, r.status) for r in lines] == [  # type: ignore[attr-defined]
        ("admin:ops", "put_accommodation", "cand-1", 200),
        ("admin:ops", "delete_accommodation", "cand-1", 204),
    ]


# ------------------------------------------------------ what the candidate is told


async def test_the_view_before_the_start_carries_the_accommodated_time(
    api: Api, demo: dict[str, Any]
) -> None:
    await accommodate(api, "cand-1", extra_seconds=900)
    session = await api.backend_login("cand-1")
    opened = session.opened["attempt"]
    assert (opened["test_duration_s"], opened["extra_time_s"]) == (1500.0, 900.0)
    assert (opened["cut_by_close"], opened["closes_at"]) == (False, None)
    assert opened["effective_time_s"] == 1500.0
    # Changed before the start: the view follows, and the start takes it.
    await accommodate(api, "cand-1", multiplier=1.5)
    assert (await view(api, session))["test_duration_s"] == 900.0
    started = await api.start(session)
    assert started["deadline"] == START + 900
    assert (started["test_duration_s"], started["extra_time_s"]) == (900.0, 300.0)


async def test_the_view_says_when_the_window_close_cuts_the_time(api: Api) -> None:
    await api.load_demo("window", opens_at=START - 60, closes_at=START + 32 * 60)
    await accommodate(api, "cand-1", multiplier=4.5 / 1.5)  # 30 minutes
    session = await api.backend_login("cand-1", "window")
    api.clock.advance(5 * 60)
    shown = await view(api, session)
    assert shown["test_duration_s"] == 1800.0
    assert shown["cut_by_close"] is True
    assert shown["closes_at"] == START + 32 * 60
    assert shown["effective_time_s"] == 27 * 60
    started = await api.start(session)
    assert started["deadline"] == START + 32 * 60
    assert started["cut_by_close"] is True


async def test_without_an_accommodation_nothing_changes(api: Api, demo: dict[str, Any]) -> None:
    session = await api.backend_login("cand-1")
    opened = session.opened["attempt"]
    assert (opened["test_duration_s"], opened["extra_time_s"]) == (DURATION, 0.0)
    started = await api.start(session)
    assert started["deadline"] == START + DURATION
    types = [e["type"] for e in await api.events(session.attempt_id)]
    assert "time_accommodated" not in types


# ---------------------------------------------------------- while the test runs


async def test_a_raise_while_running_extends_the_test_by_the_admin(
    api: Api, demo: dict[str, Any]
) -> None:
    await accommodate(api, "cand-1", multiplier=1.5)
    session = await api.backend_login("cand-1")
    await api.start(session)
    api.clock.advance(60)
    r = await api.client.put(
        path("cand-1"), json={"multiplier": 2.0}, headers={"X-API-Key": "lms-key-fedcba9876543210"}
    )
    assert r.status_code == 200, r.text
    events = await api.events(session.attempt_id)
    accommodated = [e["data"] for e in events if e["type"] == "time_accommodated"]
    assert [(e["seconds"], e["by"]) for e in accommodated] == [
        (300.0, "admin:ops"),
        (300.0, "admin:lms"),
    ]
    assert (await view(api, session))["deadline"] == START + 1200
    # A decrease applies to future attempts only; so does a removal.
    await accommodate(api, "cand-1", multiplier=1.25)
    assert (await api.client.delete(path("cand-1"), headers=api.admin)).status_code == 204
    assert (await view(api, session))["deadline"] == START + 1200
    assert len(await api.events(session.attempt_id)) == len(events)


async def test_end_to_end_x15_on_a_10_minute_quiz_is_submitted_at_15_minutes(
    api: Api, demo: dict[str, Any]
) -> None:
    await accommodate(api, "cand-1", multiplier=1.5, note="language allowance")
    session = await api.backend_login("cand-1")
    assert session.opened["attempt"]["test_duration_s"] == 900.0
    await api.start(session)
    await api.answer_current(session, "op-1")
    # At 14 minutes the unaccommodated deadline is long past; writes still count.
    session = await keep_alive(api, session, 14)
    await api.answer_current(session, "op-2")
    assert await api.reap() == 0
    session = await keep_alive(api, session, 1)
    assert await api.reap() == 0  # the deadline, not yet its grace
    # At 15 minutes + grace the server submits on its own.
    api.clock.advance(GRACE + 1)
    assert await api.reap() == 1
    detail = await api.detail(session.attempt_id)
    result = detail["attempt"]["result"]
    assert result["reason"] == "deadline"
    assert result["finished_at"] == START + 900 == detail["attempt"]["deadline"]
    r = await api.save(session, "primes", ["n2"], "op-late")
    assert_problem(r, 409, "deadline_passed")


async def test_the_typed_client(api: Api, app: Litestar, demo: dict[str, Any]) -> None:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with AsyncQuizClient("http://testserver", api_key=API_KEY, transport=transport) as qc:
        set_ = await qc.accommodate("cand-1", multiplier=1.5, extra_seconds=60, note="DO")
        assert set_ == Accommodation(
            candidate_id="cand-1",
            multiplier=1.5,
            extra_seconds=60.0,
            note="DO",
            set_by="admin:ops",
            set_at=START,
        )
        assert await qc.accommodation("cand-1") == set_
        assert (await qc.list_accommodations()).accommodations == [set_]
        with pytest.raises(ValidationFailed) as bad:
            await qc.accommodate("cand-1", multiplier=9)
        assert bad.value.code == "accommodation_invalid"
        await qc.clear_accommodation("cand-1")
        with pytest.raises(NotFound):
            await qc.accommodation("cand-1")
