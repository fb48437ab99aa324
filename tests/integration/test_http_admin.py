"""Administrator and operations routes, happy paths. Every change an administrator
makes is an event recording ``by = admin:<key name>``."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.integration.conftest import (
    ADMIN_NAME,
    DEMO_MAX_SCORE,
    OTHER_ADMIN_NAME,
    OTHER_API_KEY,
    START,
    Api,
    demo_definition,
)

BY = f"admin:{ADMIN_NAME}"
TIMELINE_LINE = re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} \S.*$")


# -- quizzes ---------------------------------------------------------------------


async def test_put_quiz_versions(api: Api) -> None:
    raw = demo_definition("algebra")
    r = await api.client.put("/admin/quizzes/algebra", json=raw, headers=api.admin)
    assert r.status_code == 200, r.text
    assert r.json() == {"id": "algebra", "version": 1, "title": "Demo: general knowledge"}
    # The same definition again is the same version.
    r = await api.client.put("/admin/quizzes/algebra", json=raw, headers=api.admin)
    assert r.json()["version"] == 1
    # A changed one is the next version; the id may be left out of the body.
    changed = demo_definition("algebra", title="Algebra", duration_s=900)
    del changed["id"]
    r = await api.client.put("/admin/quizzes/algebra", json=changed, headers=api.admin)
    assert r.status_code == 200, r.text
    assert r.json() == {"id": "algebra", "version": 2, "title": "Algebra"}


async def test_list_and_get_quizzes(api: Api) -> None:
    await api.load_demo("b-quiz")
    await api.load_demo("a-quiz")
    await api.load_demo("a-quiz", title="A quiz, revised")
    r = await api.client.get("/admin/quizzes", headers=api.admin)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "quizzes": [
            {"id": "a-quiz", "version": 2, "title": "A quiz, revised"},
            {"id": "b-quiz", "version": 1, "title": "Demo: general knowledge"},
        ]
    }
    r = await api.client.get("/admin/quizzes/a-quiz", headers=api.admin)
    assert r.status_code == 200, r.text
    latest = r.json()
    assert latest["id"] == "a-quiz"
    assert latest["version"] == 2
    assert latest["title"] == "A quiz, revised"
    assert latest["duration_s"] == 600
    assert [q["id"] for q in latest["test"]["questions"]][:2] == ["capital-au", "primes"]
    r = await api.client.get("/admin/quizzes/a-quiz", params={"version": 1}, headers=api.admin)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1
    assert r.json()["title"] == "Demo: general knowledge"


async def test_exported_quiz_imports_as_the_same_version(api: Api) -> None:
    await api.load_demo()
    exported = (await api.client.get("/admin/quizzes/demo", headers=api.admin)).json()
    r = await api.client.put("/admin/quizzes/demo", json=exported, headers=api.admin)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1


# -- invites ---------------------------------------------------------------------


@pytest.mark.usefixtures("demo")
async def test_invites_from_roster(api: Api) -> None:
    r = await api.client.post(
        "/admin/quizzes/demo/invites",
        json={
            "roster": [
                {"name": "Ann Example", "email": "ann@example.org", "valid_until": "2099-12-31"},
                {
                    "name": "Bo Example",
                    "email": "bo@example.org",
                    "valid_until": "2030-06-01T12:00:00+00:00",
                    "candidate_id": "student-7",
                },
            ]
        },
        headers=api.admin,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["quiz_id"] == "demo"
    ann, bo = body["invites"]
    assert set(ann) == {"name", "email", "candidate_id", "valid_until", "token", "link"}
    assert ann["name"] == "Ann Example"
    assert ann["email"] == "ann@example.org"
    assert ann["valid_until"] == 4102444799.0  # 2099-12-31 23:59:59 UTC
    assert len(ann["token"]) >= 22
    assert ann["link"].endswith(f"/take#{ann['token']}")  # the token rides in the fragment
    assert bo["candidate_id"] == "student-7"
    assert bo["valid_until"] == 1906545600.0
    assert ann["token"] != bo["token"]
    for invite in (ann, bo):
        session = await api.login(invite["token"])
        assert session.opened["attempt"]["candidate_id"] == invite["candidate_id"]


@pytest.mark.usefixtures("demo")
async def test_invites_from_roster_text(api: Api) -> None:
    token_one = "rosterToken-0001-abcdefghijkl"
    token_two = "rosterToken-0002-abcdefghijkl"
    text = (
        "# name email valid-until token\n"
        "\n"
        f"Carla de la Cruz carla@example.org 2099-12-31 {token_one}\n"
        f"  Dev   dev@example.org 2030-01-01T00:00:00Z {token_two}  \n"
    )
    r = await api.client.post(
        "/admin/quizzes/demo/invites", json={"roster_text": text}, headers=api.admin
    )
    assert r.status_code == 201, r.text
    carla, dev = r.json()["invites"]
    assert carla["name"] == "Carla de la Cruz"
    assert carla["email"] == "carla@example.org"
    assert carla["token"] == token_one
    assert dev["name"] == "Dev"
    assert dev["token"] == token_two
    assert dev["valid_until"] == 1893456000.0
    session = await api.login(token_one)
    assert session.opened["attempt"]["candidate_id"] == carla["candidate_id"]


@pytest.mark.usefixtures("demo")
async def test_invites_from_roster_and_roster_text_together(api: Api) -> None:
    r = await api.client.post(
        "/admin/quizzes/demo/invites",
        json={
            "roster": [{"name": "Ann", "email": "ann@example.org", "valid_until": "2099-12-31"}],
            "roster_text": "Bo bo@example.org 2099-12-31 rosterToken-0003-abcdefghijkl",
        },
        headers=api.admin,
    )
    assert r.status_code == 201, r.text
    assert [i["name"] for i in r.json()["invites"]] == ["Ann", "Bo"]


# -- attempts --------------------------------------------------------------------


@pytest.mark.usefixtures("demo")
async def test_live_view_of_a_quiz(api: Api) -> None:
    connected = await api.started(name="Ann Example")
    assert (await api.save(connected, "capital-au", "canberra", "op-1")).status_code == 200
    gone = await api.open_session(name="Bo Example")
    await api.client.delete(gone.path, headers=gone.headers)
    api.clock.advance(10)
    r = await api.client.get("/admin/quizzes/demo/live", headers=api.admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["quiz_id"] == "demo"
    assert body["server_time"] == START + 10
    rows = {row["attempt_id"]: row for row in body["attempts"]}
    assert set(rows) == {connected.attempt_id, gone.attempt_id}
    ann = rows[connected.attempt_id]
    assert ann["candidate_name"] == "Ann Example"
    assert ann["connected"] is True
    assert ann["state"] == "test_started"
    assert ann["answered"] == 1
    assert ann["total"] == 10
    assert ann["time_remaining_s"] == 590
    assert ann["deadline"] == START + 600
    bo = rows[gone.attempt_id]
    assert bo["connected"] is False
    assert bo["answered"] == 0
    # Without heartbeats the lease lapses and the candidate shows as disconnected.
    api.clock.advance(6)
    r = await api.client.get("/admin/quizzes/demo/live", headers=api.admin)
    rows = {row["attempt_id"]: row for row in r.json()["attempts"]}
    assert rows[connected.attempt_id]["connected"] is False


async def test_list_attempts_with_filters(api: Api) -> None:
    await api.load_demo("demo")
    await api.load_demo("other")
    one = await api.open_session("demo")
    two = await api.started("demo")
    three = await api.open_session("other")
    r = await api.client.post(f"{two.path}/complete", headers=two.headers)
    assert r.status_code == 200
    r = await api.client.get("/admin/attempts", headers=api.admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["limit"] == 100
    assert body["offset"] == 0
    rows = body["attempts"]
    assert [row["attempt_id"] for row in rows] == sorted(
        [one.attempt_id, two.attempt_id, three.attempt_id]
    )
    assert set(rows[0]) >= {
        "attempt_id",
        "quiz_id",
        "candidate_id",
        "status",
        "state",
        "version",
        "updated_at",
        "deadline",
        "due_at",
    }

    async def ids(**params: Any) -> set[str]:
        r = await api.client.get("/admin/attempts", params=params, headers=api.admin)
        assert r.status_code == 200, r.text
        return {row["attempt_id"] for row in r.json()["attempts"]}

    assert await ids(quiz_id="demo") == {one.attempt_id, two.attempt_id}
    assert await ids(quiz_id="other") == {three.attempt_id}
    assert await ids(quiz_id="nobody") == set()
    assert await ids(status="submitted") == {two.attempt_id}
    assert await ids(status="open") == {one.attempt_id, three.attempt_id}
    assert await ids(status="voided") == set()
    assert await ids(quiz_id="demo", status="open") == {one.attempt_id}
    everyone = sorted([one.attempt_id, two.attempt_id, three.attempt_id])
    r = await api.client.get("/admin/attempts", params={"limit": 1, "offset": 1}, headers=api.admin)
    assert r.json()["limit"] == 1
    assert r.json()["offset"] == 1
    assert [row["attempt_id"] for row in r.json()["attempts"]] == everyone[1:2]
    submitted = next(row for row in rows if row["attempt_id"] == two.attempt_id)
    assert submitted["status"] == "submitted"
    assert submitted["state"] == "test_finished"
    assert submitted["due_at"] is None


@pytest.mark.usefixtures("demo")
async def test_attempt_detail_and_events(api: Api) -> None:
    session = await api.open_session(name="Ann Example")
    await api.start(session)
    await api.question(session)
    assert (await api.save(session, "capital-au", "canberra", "op-1")).status_code == 200
    r = await api.client.get(f"/admin/attempts/{session.attempt_id}", headers=api.admin)
    assert r.status_code == 200, r.text
    detail = r.json()
    assert detail["candidate_name"] == "Ann Example"
    assert detail["live_session"] == session.session_id
    view = detail["attempt"]
    assert view["answers"] == {"capital-au": "canberra"}
    assert view["server_time"] == api.clock.now()
    assert view["time_remaining_s"] == 600
    events = detail["events"]
    assert [e["type"] for e in events] == [
        "attempt_created",
        "session_opened",
        "section_started",
        "question_delivered",
        "answer_saved",
    ]
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5]
    r = await api.client.get(f"/admin/attempts/{session.attempt_id}/events", headers=api.admin)
    assert r.status_code == 200, r.text
    assert r.json() == events
    saved = events[-1]
    assert saved["at"] == START
    assert saved["data"]["type"] == "answer_saved"
    assert saved["data"]["question_id"] == "capital-au"
    assert saved["data"]["answer"] == "canberra"
    assert saved["data"]["op_id"] == "op-1"
    assert saved["data"]["session_id"] == session.session_id


@pytest.mark.usefixtures("demo")
async def test_timeline(api: Api) -> None:
    session = await api.started()
    api.clock.advance(61)
    assert (await api.save(session, "capital-au", "canberra", "op-1")).status_code == 200
    await api.question(session)
    assert (await api.save(session, "primes", ["n2", "n11"], "op-2")).status_code == 200
    await api.question(session)
    assert (await api.save(session, "noble-gases", ["he"], "op-3")).status_code == 200
    r = await api.client.get(f"/admin/attempts/{session.attempt_id}/timeline", headers=api.admin)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    lines = r.text.splitlines()
    assert r.text.endswith("\n")
    assert all(TIMELINE_LINE.match(line) for line in lines), lines
    assert (
        lines[0]
        == f"2027/01/15 08:00:00 created demo v1 {session.opened['attempt']['candidate_id']}"
    )
    assert lines[1] == f"2027/01/15 08:00:00 login {session.session_id} epoch 1"
    assert lines[2] == "2027/01/15 08:00:00 start test"
    assert lines[3] == "2027/01/15 08:00:00 deliver capital-au"
    responses = [line for line in lines if " response " in line]
    assert responses == [
        "2027/01/15 08:01:01 response capital-au canberra 1",
        "2027/01/15 08:01:01 response primes [n2,n11] 1.33333",
        "2027/01/15 08:01:01 response noble-gases [he] 0",
    ]


@pytest.mark.usefixtures("demo")
async def test_extend_is_audited(api: Api) -> None:
    session = await api.started()
    r = await api.client.post(
        f"/admin/attempts/{session.attempt_id}/extend",
        json={"seconds": 120, "reason": "fire alarm"},
        headers=api.admin,
    )
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["deadline"] == START + 720
    assert view["time_remaining_s"] == 720
    assert view["server_time"] == START
    event = (await api.events(session.attempt_id))[-1]
    assert event["type"] == "time_extended"
    assert event["data"]["by"] == BY
    assert event["data"]["seconds"] == 120
    assert event["data"]["reason"] == "fire alarm"
    # The candidate sees it.
    mine = (await api.client.get(session.path, headers=session.headers)).json()
    assert mine["deadline"] == START + 720


@pytest.mark.usefixtures("demo")
async def test_the_actor_is_the_key_name(api: Api) -> None:
    session = await api.started()
    r = await api.client.post(
        f"/admin/attempts/{session.attempt_id}/extend",
        json={"seconds": 30},
        headers={"X-API-Key": OTHER_API_KEY},
    )
    assert r.status_code == 200, r.text
    event = (await api.events(session.attempt_id))[-1]
    assert event["data"]["by"] == f"admin:{OTHER_ADMIN_NAME}"


@pytest.mark.usefixtures("demo")
async def test_unlock_is_audited_and_frees_the_attempt(api: Api) -> None:
    invite = await api.invite()
    session = await api.login(invite["token"])
    r = await api.client.post(f"/admin/attempts/{session.attempt_id}/unlock", headers=api.admin)
    assert r.status_code == 200, r.text
    assert r.json()["attempt_id"] == session.attempt_id
    event = (await api.events(session.attempt_id))[-1]
    assert event["type"] == "session_closed"
    assert event["data"]["reason"] == "unlock"
    assert event["data"]["by"] == BY
    assert event["data"]["session_id"] == session.session_id
    assert (await api.detail(session.attempt_id))["live_session"] is None
    # A second login no longer waits for the lease.
    again = await api.login(invite["token"])
    assert again.opened["attempt"]["epoch"] == 2


@pytest.mark.usefixtures("demo")
async def test_void_is_audited(api: Api) -> None:
    session = await api.started()
    r = await api.client.post(
        f"/admin/attempts/{session.attempt_id}/void",
        json={"reason": "impersonation"},
        headers=api.admin,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "voided"
    closed, voided = (await api.events(session.attempt_id))[-2:]
    assert closed["type"] == "session_closed"
    assert closed["data"]["reason"] == "voided"
    assert closed["data"]["by"] == BY
    assert voided["type"] == "voided"
    assert voided["data"]["by"] == BY
    assert voided["data"]["reason"] == "impersonation"
    rows = (await api.client.get("/admin/attempts?status=voided", headers=api.admin)).json()
    assert [row["attempt_id"] for row in rows["attempts"]] == [session.attempt_id]


@pytest.mark.usefixtures("demo")
async def test_reopen_is_audited(api: Api) -> None:
    session = await api.started()
    assert (await api.save(session, "capital-au", "canberra", "op-1")).status_code == 200
    r = await api.client.post(f"{session.path}/complete", headers=session.headers)
    assert r.json()["attempt"]["status"] == "submitted"
    api.clock.advance(60)
    r = await api.client.post(
        f"/admin/attempts/{session.attempt_id}/reopen",
        json={"reason": "submitted by mistake", "extra_seconds": 300},
        headers=api.admin,
    )
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["status"] == "open"
    assert view["state"] == "test_started"
    assert view["deadline"] == START + 60 + 300
    assert view["time_remaining_s"] == 300
    assert "result" not in view or view["result"] is None
    event = (await api.events(session.attempt_id))[-1]
    assert event["type"] == "reopened"
    assert event["data"]["by"] == BY
    assert event["data"]["reason"] == "submitted by mistake"
    assert event["data"]["extra_seconds"] == 300
    # The candidate carries on and submits again.
    await api.question(session)
    assert (await api.save(session, "primes", ["n2", "n11", "n17"], "op-2")).status_code == 200
    r = await api.client.post(f"{session.path}/complete", headers=session.headers)
    assert r.json()["score"] == 3


@pytest.mark.usefixtures("demo")
async def test_apply_timing_after_a_longer_version(api: Api) -> None:
    running = await api.started()
    waiting = await api.open_session()  # test not started: nothing to change
    await api.load_demo(duration_s=1200)
    r = await api.client.post("/admin/quizzes/demo/apply-timing", headers=api.admin)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "quiz_id": "demo",
        "quiz_version": 2,
        "duration_s": 1200,
        "attempts_changed": 1,
    }
    event = (await api.events(running.attempt_id))[-1]
    assert event["type"] == "duration_changed"
    assert event["data"]["by"] == BY
    assert event["data"]["duration_s"] == 1200
    assert event["data"]["quiz_version"] == 2
    view = (await api.client.get(running.path, headers=running.headers)).json()
    assert view["deadline"] == START + 1200
    assert view["duration_s"] == 1200
    assert view["quiz_version"] == 1  # the attempt keeps its version
    assert (await api.events(waiting.attempt_id))[-1]["type"] == "session_opened"
    # Applying again changes nothing.
    r = await api.client.post("/admin/quizzes/demo/apply-timing", headers=api.admin)
    assert r.json()["attempts_changed"] == 0


@pytest.mark.usefixtures("demo")
async def test_apply_timing_never_shortens(api: Api) -> None:
    running = await api.started()
    await api.load_demo(duration_s=60)
    r = await api.client.post("/admin/quizzes/demo/apply-timing", headers=api.admin)
    assert r.status_code == 200, r.text
    assert r.json()["attempts_changed"] == 0
    view = (await api.client.get(running.path, headers=running.headers)).json()
    assert view["deadline"] == START + 600


@pytest.mark.usefixtures("demo")
async def test_complete_score_in_admin_detail(api: Api) -> None:
    session = await api.open_session()
    await api.start(session)
    for n in range(10):
        await api.answer_current(session, f"op-{n}")
    await api.client.post(f"{session.path}/complete", headers=session.headers)
    result = (await api.detail(session.attempt_id))["attempt"]["result"]
    assert result["score"] == DEMO_MAX_SCORE
    assert result["max_score"] == DEMO_MAX_SCORE


# -- operations ------------------------------------------------------------------


async def test_healthz(api: Api) -> None:
    r = await api.client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


async def test_readyz(api: Api) -> None:
    r = await api.client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "store": True, "live": True}


async def test_readyz_when_the_store_is_down(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    async def down() -> bool:
        return False

    monkeypatch.setattr(api.container.store, "ping", down)
    r = await api.client.get("/readyz")
    assert r.status_code == 503
    assert r.json() == {"status": "unavailable", "store": False, "live": True}


async def test_openapi_document_is_served(api: Api) -> None:
    r = await api.client.get("/schema/openapi.json")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] == "quizsession"
    paths = set(doc["paths"])
    assert {
        "/sessions",
        "/sessions/{session_id}",
        "/sessions/{session_id}/start",
        "/sessions/{session_id}/question",
        "/sessions/{session_id}/progress",
        "/sessions/{session_id}/heartbeat",
        "/sessions/{session_id}/complete",
        "/admin/quizzes",
        "/admin/quizzes/{quiz_id}",
        "/admin/quizzes/{quiz_id}/apply-timing",
        "/admin/quizzes/{quiz_id}/live",
        "/admin/quizzes/{quiz_id}/invites",
        "/admin/attempts",
        "/admin/attempts/{attempt_id}",
        "/admin/attempts/{attempt_id}/events",
        "/admin/attempts/{attempt_id}/timeline",
        "/admin/attempts/{attempt_id}/extend",
        "/admin/attempts/{attempt_id}/unlock",
        "/admin/attempts/{attempt_id}/void",
        "/admin/attempts/{attempt_id}/reopen",
        "/healthz",
        "/readyz",
    } <= paths
