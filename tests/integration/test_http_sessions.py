"""Candidate routes, happy paths: ``/sessions`` and the attempt flow over HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.integration.conftest import (
    DEMO_MAX_SCORE,
    DEMO_RIGHT,
    DEMO_TEST_ORDER,
    START,
    Api,
)

pytestmark = pytest.mark.usefixtures("demo")

VIEW_KEYS = {
    "attempt_id",
    "quiz_id",
    "quiz_version",
    "quiz_title",
    "candidate_id",
    "status",
    "state",
    "section",
    "version",
    "epoch",
    "server_time",
    "deadline",
    "time_remaining_s",
    "grace_s",
    "heartbeat_s",
    "duration_s",
    "answers",
    "current_question_id",
    "delivered",
    "total",
}


def assert_view(view: dict[str, Any], api: Api) -> None:
    """An attempt view: every field there, the time from the server's clock."""
    assert set(view) >= VIEW_KEYS, VIEW_KEYS - set(view)
    assert view["server_time"] == api.clock.now()
    assert "time_remaining_s" in view


async def test_open_session_with_invite(api: Api) -> None:
    invite = await api.invite(name="Ann Example", email="ann@example.org")
    r = await api.client.post("/sessions", json={"invite_token": invite["token"]})
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"session_id", "session_token", "expires_at", "attempt"}
    assert body["session_id"].startswith("s_")
    assert body["expires_at"] == START + api.container.settings.token_ttl_s
    view = body["attempt"]
    assert_view(view, api)
    assert view["quiz_id"] == "demo"
    assert view["quiz_version"] == 1
    assert view["candidate_id"] == invite["candidate_id"]
    assert view["status"] == "open"
    assert view["state"] == "practice_not_started"
    assert view["epoch"] == 1
    assert view["deadline"] is None
    assert view["time_remaining_s"] is None  # the clock starts with the test
    assert view["answers"] == {}
    events = await api.events(view["attempt_id"])
    assert [e["type"] for e in events] == ["attempt_created", "session_opened"]
    assert events[0]["data"]["candidate_name"] == "Ann Example"


async def test_backend_login_with_api_key(api: Api) -> None:
    r = await api.client.post(
        "/sessions",
        json={"user_id": "user-42", "quiz_id": "demo", "name": "Bo Backend"},
        headers=api.admin,
    )
    assert r.status_code == 201, r.text
    view = r.json()["attempt"]
    assert_view(view, api)
    assert view["candidate_id"] == "user-42"
    detail = await api.detail(view["attempt_id"])
    assert detail["candidate_name"] == "Bo Backend"
    assert detail["live_session"] == r.json()["session_id"]


async def test_get_session_view(api: Api) -> None:
    session = await api.open_session()
    api.clock.advance(7)
    r = await api.client.get(session.path, headers=session.headers)
    assert r.status_code == 200, r.text
    view = r.json()
    assert_view(view, api)
    assert view["server_time"] == START + 7
    assert view["attempt_id"] == session.attempt_id
    assert view["quiz_title"] == "Demo: general knowledge"
    assert view["duration_s"] == 600
    assert view["grace_s"] == 5
    assert view["heartbeat_s"] == 5


async def test_practice_round(api: Api) -> None:
    session = await api.open_session()
    view = await api.start(session, "practice")
    assert_view(view, api)
    assert view["state"] == "practice_started"
    assert view["section"] == "practice"
    assert view["deadline"] is None
    nxt = await api.question(session)
    assert nxt["question"]["id"] == "p-colour"
    assert nxt["question"]["section"] == "practice"
    r = await api.save(session, "p-colour", "a", "p1")
    assert r.status_code == 200, r.text
    assert r.json()["time_remaining_s"] is None  # practice is not timed
    r = await api.client.post(f"{session.path}/complete", headers=session.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["score"] is None
    assert body["max_score"] is None
    assert body["attempt"]["state"] == "test_not_started"
    assert body["attempt"]["status"] == "open"


async def test_start_test_sets_the_deadline(api: Api) -> None:
    session = await api.open_session()
    r = await api.client.post(
        f"{session.path}/start",
        json={"section": "test", "op_id": "start-1"},
        headers=session.headers,
    )
    assert r.status_code == 200, r.text
    view = r.json()
    assert_view(view, api)
    assert view["state"] == "test_started"
    assert view["section"] == "test"
    assert view["deadline"] == START + 600
    assert view["time_remaining_s"] == 600
    assert view["total"] == 10
    # A retry with the same op id changes nothing.
    r = await api.client.post(
        f"{session.path}/start",
        json={"section": "test", "op_id": "start-1"},
        headers=session.headers,
    )
    assert r.status_code == 200
    assert r.json()["version"] == view["version"]
    api.clock.advance(100)
    r = await api.client.get(session.path, headers=session.headers)
    assert r.json()["time_remaining_s"] == 500
    assert r.json()["server_time"] == START + 100


async def test_question_is_delivered_once(api: Api) -> None:
    session = await api.open_session()
    await api.start(session)
    first = await api.question(session)
    assert set(first) == {"question", "remaining", "server_time", "time_remaining_s"}
    assert first["server_time"] == api.clock.now()
    assert first["time_remaining_s"] == 600
    assert first["remaining"] == 9
    question = first["question"]
    assert question["id"] == "capital-au"
    assert question["number"] == 1
    assert question["total"] == 10
    assert question["kind"] == "single"
    assert question["answer"] is None
    assert [c["id"] for c in question["choices"]] == ["sydney", "canberra", "melbourne", "perth"]
    assert all(set(c) == {"id", "text"} for c in question["choices"])  # no answer key
    # Asking again shows the same unanswered question, never a new one.
    again = await api.question(session)
    assert again["question"]["id"] == "capital-au"
    events = await api.events(session.attempt_id)
    assert [e["type"] for e in events].count("question_delivered") == 1


async def test_saved_answer_is_visible(api: Api) -> None:
    session = await api.open_session()
    await api.start(session)
    await api.question(session)
    api.clock.advance(12.5)
    r = await api.save(session, "capital-au", "canberra", "op-1")
    assert r.status_code == 200, r.text
    saved = r.json()
    assert saved["saved"] is True
    assert saved["replayed"] is False
    assert saved["question_id"] == "capital-au"
    assert saved["server_time"] == START + 12.5
    assert saved["deadline"] == START + 600
    assert saved["time_remaining_s"] == 587.5
    view = (await api.client.get(session.path, headers=session.headers)).json()
    assert view["answers"] == {"capital-au": "canberra"}
    assert view["version"] == saved["version"]
    # The next question comes only after the current one is answered.
    nxt = await api.question(session)
    assert nxt["question"]["id"] == "primes"
    assert nxt["question"]["number"] == 2


async def test_changed_answer_replaces_the_old_one(api: Api) -> None:
    session = await api.started()
    assert (await api.save(session, "capital-au", "sydney", "op-1")).status_code == 200
    assert (await api.save(session, "capital-au", "canberra", "op-2")).status_code == 200
    view = (await api.client.get(session.path, headers=session.headers)).json()
    assert view["answers"] == {"capital-au": "canberra"}


async def test_save_retry_returns_the_first_result(api: Api) -> None:
    session = await api.started()
    first = await api.save(session, "capital-au", "canberra", "op-1")
    count = (await api.snapshot()).event_count(session.attempt_id)
    retry = await api.save(session, "capital-au", "canberra", "op-1")
    assert retry.status_code == 200
    assert retry.json()["replayed"] is True
    assert retry.json()["version"] == first.json()["version"]
    assert (await api.snapshot()).event_count(session.attempt_id) == count


async def test_save_with_expected_version(api: Api) -> None:
    session = await api.started()
    version = (await api.client.get(session.path, headers=session.headers)).json()["version"]
    r = await api.save(session, "capital-au", "canberra", "op-1", expected_version=version)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == version + 1


async def test_heartbeat(api: Api) -> None:
    session = await api.started()
    api.clock.advance(5)
    r = await api.client.post(f"{session.path}/heartbeat", headers=session.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"session_token", "expires_at", "lease_ttl_s", "attempt"}
    assert body["lease_ttl_s"] == 15
    assert body["expires_at"] == START + 5 + api.container.settings.token_ttl_s
    assert_view(body["attempt"], api)
    assert body["attempt"]["time_remaining_s"] == 595
    # The refreshed token works.
    fresh = {"Authorization": f"Bearer {body['session_token']}"}
    assert (await api.client.get(session.path, headers=fresh)).status_code == 200


async def test_heartbeat_records_the_question_on_screen(api: Api) -> None:
    session = await api.started()
    r = await api.client.post(
        f"{session.path}/heartbeat", json={"question_id": "capital-au"}, headers=session.headers
    )
    assert r.status_code == 200, r.text
    events = await api.events(session.attempt_id)
    assert events[-1]["type"] == "question_viewed"
    assert events[-1]["data"]["question_id"] == "capital-au"
    # The same question again is not a new event.
    r = await api.client.post(
        f"{session.path}/heartbeat", json={"question_id": "capital-au"}, headers=session.headers
    )
    assert r.status_code == 200
    assert len(await api.events(session.attempt_id)) == len(events)


async def test_complete_scores_and_is_idempotent(api: Api) -> None:
    session = await api.open_session()
    await api.start(session)
    for n in range(len(DEMO_TEST_ORDER)):
        await api.answer_current(session, f"op-{n}")
    done = await api.question(session)
    assert done["question"] is None
    assert done["remaining"] == 0
    api.clock.advance(30)
    r = await api.client.post(
        f"{session.path}/complete", json={"op_id": "submit-1"}, headers=session.headers
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["score"] == DEMO_MAX_SCORE
    assert body["max_score"] == DEMO_MAX_SCORE
    view = body["attempt"]
    assert_view(view, api)
    assert view["status"] == "submitted"
    assert view["state"] == "test_finished"
    assert view["time_remaining_s"] == 0
    assert view["result"]["reason"] == "candidate"
    assert view["result"]["finished_at"] == START + 30
    assert view["answers"] == {qid: DEMO_RIGHT[qid] for qid in DEMO_TEST_ORDER}
    count = (await api.snapshot()).event_count(session.attempt_id)
    # Submitting twice (with or without the op id) returns the same score.
    again = await api.client.post(f"{session.path}/complete", headers=session.headers)
    assert again.status_code == 200
    assert again.json()["score"] == DEMO_MAX_SCORE
    assert again.json()["attempt"]["result"] == view["result"]
    assert (await api.snapshot()).event_count(session.attempt_id) == count


async def test_wrong_answers_cost_their_penalty(api: Api) -> None:
    session = await api.started()
    assert (await api.save(session, "capital-au", "sydney", "op-1")).status_code == 200
    r = await api.client.post(f"{session.path}/complete", headers=session.headers)
    assert r.json()["score"] == -0.25


async def test_logout_then_resume(api: Api) -> None:
    invite = await api.invite()
    session = await api.login(invite["token"])
    await api.start(session)
    await api.question(session)
    assert (await api.save(session, "capital-au", "canberra", "op-1")).status_code == 200
    r = await api.client.delete(session.path, headers=session.headers)
    assert r.status_code == 204
    assert r.content == b""
    events = await api.events(session.attempt_id)
    assert events[-1]["type"] == "session_closed"
    assert events[-1]["data"]["reason"] == "logout"
    # A new login resumes the same attempt with its answers.
    again = await api.login(invite["token"])
    assert again.attempt_id == session.attempt_id
    assert again.session_id != session.session_id
    view = again.opened["attempt"]
    assert view["epoch"] == 2
    assert view["answers"] == {"capital-au": "canberra"}
    assert view["state"] == "test_started"


async def test_resume_shows_the_current_question_again(api: Api) -> None:
    invite = await api.invite()
    session = await api.login(invite["token"])
    await api.start(session)
    first = await api.question(session)
    await api.client.delete(session.path, headers=session.headers)
    again = await api.login(invite["token"])
    assert (await api.question(again))["question"]["id"] == first["question"]["id"]


async def test_takeover_where_the_quiz_allows_it(api: Api) -> None:
    invite = await api.invite()
    first = await api.login(invite["token"])
    second = await api.login(invite["token"], takeover=True)
    assert second.attempt_id == first.attempt_id
    assert second.opened["attempt"]["epoch"] == 2
    events = await api.events(first.attempt_id)
    assert [e["type"] for e in events][-2:] == ["session_superseded", "session_opened"]
    assert events[-1]["data"]["takeover"] is True
    assert (await api.client.get(second.path, headers=second.headers)).status_code == 200


async def test_second_login_after_the_lease_lapses(api: Api) -> None:
    invite = await api.invite()
    first = await api.login(invite["token"])
    api.clock.advance(16)  # lease TTL 15 s: the first tab stopped heartbeating
    second = await api.login(invite["token"])
    assert second.opened["attempt"]["epoch"] == 2
    assert first.session_id != second.session_id


async def test_deadline_submits_at_the_deadline(api: Api) -> None:
    invite = await api.invite()
    session = await api.login(invite["token"])
    await api.start(session)
    await api.question(session)
    assert (await api.save(session, "capital-au", "canberra", "op-1")).status_code == 200
    api.clock.advance(600 + 5 + 1)
    assert await api.reap() == 1
    detail = await api.detail(session.attempt_id)
    result = detail["attempt"]["result"]
    assert result["reason"] == "deadline"
    assert result["finished_at"] == START + 600
    assert result["score"] == 1
    # The session stays open to read the result; writes are refused as late
    # (as they were before the server submitted).
    assert detail["live_session"] == session.session_id
    view = await api.client.get(session.path, headers=session.headers)
    assert view.json()["result"]["reason"] == "deadline"
    late = await api.save(session, "capital-au", "perth", "op-late")
    assert late.status_code == 409
    assert late.json()["code"] == "deadline_passed"
    # Logging in again shows the result.
    again = await api.login(invite["token"])
    view = again.opened["attempt"]
    assert view["status"] == "submitted"
    assert view["time_remaining_s"] == 0
    assert view["result"] == result


async def test_session_responses_carry_the_server_clock(api: Api) -> None:
    """Every session response tells the client the server's time."""
    session = await api.started()
    api.clock.advance(42)
    now = api.clock.now()
    responses: list[dict[str, Any]] = [
        (await api.client.get(session.path, headers=session.headers)).json(),
        (await api.client.get(f"{session.path}/question", headers=session.headers)).json(),
        (await api.save(session, "capital-au", "canberra", "op-1")).json(),
        (await api.client.post(f"{session.path}/heartbeat", headers=session.headers)).json()[
            "attempt"
        ],
        (await api.client.post(f"{session.path}/complete", headers=session.headers)).json()[
            "attempt"
        ],
    ]
    for body in responses:
        assert body["server_time"] == now, body
        assert "time_remaining_s" in body


async def test_concurrent_logins_open_one_session(api: Api) -> None:
    """One writer: of simultaneous logins to one attempt exactly one gets in."""
    invite = await api.invite()
    responses = await asyncio.gather(
        *(api.client.post("/sessions", json={"invite_token": invite["token"]}) for _ in range(6))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409, 409, 409, 409], [r.text for r in responses]
    for r in responses:
        if r.status_code == 409:
            assert r.json()["code"] == "session_active"
    attempt_id = next(r for r in responses if r.status_code == 201).json()["attempt"]["attempt_id"]
    events = await api.events(attempt_id)
    assert [e["type"] for e in events] == ["attempt_created", "session_opened"]


async def test_concurrent_saves_are_all_kept(api: Api) -> None:
    session = await api.started()
    await api.save(session, "capital-au", "canberra", "op-0")
    await api.question(session)
    answers = [["n2"], ["n2", "n11"], ["n17"], ["n2", "n11", "n17"], ["n9"]]
    responses = await asyncio.gather(
        *(api.save(session, "primes", a, f"op-{n + 1}") for n, a in enumerate(answers))
    )
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    versions = sorted(r.json()["version"] for r in responses)
    assert len(set(versions)) == len(answers)  # each acknowledged write is its own event
    events = await api.events(session.attempt_id)
    saved = [e["data"]["op_id"] for e in events if e["type"] == "answer_saved"]
    assert sorted(saved) == sorted(["op-0"] + [f"op-{n + 1}" for n in range(len(answers))])


async def test_a_room_behind_one_address_can_log_in(api: Api) -> None:
    room = api.container.settings.login_limit_per_minute + 10
    invites = [await api.invite(name=f"Candidate {n}") for n in range(room)]
    for invite in invites:
        r = await api.client.post("/sessions", json={"invite_token": invite["token"]})
        assert r.status_code == 201, r.text
