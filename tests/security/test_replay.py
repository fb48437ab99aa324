"""Replays: requests from a session that has been superseded or logged out, old
tokens, and old operation ids sent again with another payload.

A stale session is refused on every route with the documented code
(``session_superseded`` 409 after a takeover, ``session_closed`` 401 after a
logout) and changes nothing. The one thing it gets back is what promise 6 says
any retry gets: the exact retry of a write that was acknowledged returns the
recorded result (``replayed: true``) and writes nothing. An old ``op_id`` with a
different payload is ``op_id_conflict``, whoever sends it.
"""

from __future__ import annotations

from typing import Any

import pytest

from quizsession.app.sessions.activity import WRITE_EVERY_S
from tests.integration.conftest import Api, Session

pytestmark = pytest.mark.usefixtures("demo")


def routes(s: Session, op: str) -> list[tuple[str, str, Any]]:
    return [
        ("GET", s.path, None),
        ("GET", f"{s.path}/question", None),
        ("GET", f"{s.path}/questions/capital-au", None),
        ("POST", f"{s.path}/start", {"section": "test"}),
        ("POST", f"{s.path}/start", {"section": "test", "op_id": f"{op}-start"}),
        (
            "PUT",
            f"{s.path}/progress",
            {"question_id": "capital-au", "answer": "perth", "op_id": op},
        ),
        ("POST", f"{s.path}/heartbeat", None),
        ("POST", f"{s.path}/heartbeat", {"question_id": "capital-au"}),
        ("POST", f"{s.path}/complete", None),
        ("POST", f"{s.path}/complete", {"op_id": f"{op}-complete"}),
    ]


async def two_sessions(api: Api) -> tuple[dict[str, Any], Session, Session]:
    """An attempt whose first session saved one answer (op ``first``) and was
    then taken over by a second session."""
    invite = await api.invite()
    old = await api.login(invite["token"])
    await api.start(old)
    await api.question(old)
    r = await api.save(old, "capital-au", "canberra", "first")
    assert r.status_code == 200, r.text
    api.clock.advance(1)
    new = await api.login(invite["token"], takeover=True)
    return invite, old, new


async def assert_stale(api: Api, stale: Session, status: int, code: str) -> None:
    for method, path, body in routes(stale, "stale-op"):
        await api.refused(
            api.client.request(method, path, json=body, headers=stale.headers), status, code
        )
    # Logging out a session that is no longer live is refused like every other
    # route: the store and the live session's lease are untouched.
    await api.refused(api.client.delete(stale.path, headers=stale.headers), status, code)


async def live_session_unharmed(api: Api, invite: dict[str, Any], live: Session) -> None:
    await api.refused(
        api.client.post("/sessions", json={"invite_token": invite["token"]}),
        409,
        "session_active",
    )
    r = await api.client.get(live.path, headers=live.headers)
    assert r.status_code == 200, r.text
    if r.json()["state"] == "test_started":
        api.clock.advance(1)
        r = await api.save(live, "capital-au", "sydney", f"live-{api.clock.now()}")
        assert r.status_code == 200, r.text


async def test_superseded_session_is_refused_everywhere(api: Api) -> None:
    invite, old, new = await two_sessions(api)
    await assert_stale(api, old, 409, "session_superseded")
    await live_session_unharmed(api, invite, new)


async def test_superseded_session_refreshed_token_is_refused_too(api: Api) -> None:
    """A token the old session refreshed by heartbeat before the takeover is the
    same session: refused the same way."""
    invite = await api.invite()
    old = await api.login(invite["token"])
    await api.start(old)
    await api.question(old)
    r = await api.client.post(f"{old.path}/heartbeat", headers=old.headers)
    refreshed = Session(old.session_id, r.json()["session_token"], old.attempt_id, {})
    api.clock.advance(1)
    new = await api.login(invite["token"], takeover=True)
    await assert_stale(api, refreshed, 409, "session_superseded")
    await live_session_unharmed(api, invite, new)


async def test_session_after_lease_expiry_is_superseded_by_the_next_login(api: Api) -> None:
    """A crashed tab (no heartbeats) lets the lease lapse; the next login needs no
    takeover, and the crashed tab's requests are refused when it comes back."""
    invite = await api.invite()
    old = await api.login(invite["token"])
    await api.start(old)
    await api.question(old)
    api.clock.advance(16)  # lease TTL 15 s
    new = await api.login(invite["token"])
    await assert_stale(api, old, 409, "session_superseded")
    await live_session_unharmed(api, invite, new)


async def test_logged_out_session_is_refused_everywhere(api: Api) -> None:
    invite = await api.invite()
    session = await api.login(invite["token"])
    await api.start(session)
    await api.question(session)
    r = await api.client.post(f"{session.path}/heartbeat", headers=session.headers)
    refreshed = Session(session.session_id, r.json()["session_token"], session.attempt_id, {})
    r = await api.client.delete(session.path, headers=session.headers)
    assert r.status_code == 204
    await assert_stale(api, session, 401, "session_closed")
    await assert_stale(api, refreshed, 401, "session_closed")
    # The candidate logs in again (a new epoch); the old tokens stay dead, now as
    # an older epoch's session.
    again = await api.login(invite["token"])
    await assert_stale(api, session, 409, "session_superseded")
    await live_session_unharmed(api, invite, again)


async def test_idle_session_is_refused_after_it_times_out(api: Api) -> None:
    await api.load_demo("idle", policies={"idle_timeout_s": 60, "second_login": "takeover"})
    invite = await api.invite("idle")
    session = await api.login(invite["token"])
    api.clock.advance(61 + WRITE_EVERY_S)  # an idle close is at most this late
    r = await api.client.get(session.path, headers=session.headers)
    assert r.json()["code"] == "session_idle_timeout"
    again = await api.login(invite["token"])
    for method, path, body in routes(session, "idle-op"):
        r = await api.client.request(method, path, json=body, headers=session.headers)
        assert r.status_code in (401, 409), r.text
        assert r.json()["code"] in ("session_idle_timeout", "session_closed"), r.text
    await live_session_unharmed(api, invite, again)


# -- acknowledged writes retried by a stale session ----------------------------------------


async def test_exact_retry_of_an_acknowledged_write_gets_the_first_result(api: Api) -> None:
    """Promise 6 (a retry returns the first result) holds for a session that has
    since been superseded: the write did happen, the retry writes nothing."""
    _invite, old, _new = await two_sessions(api)
    before = await api.snapshot()
    r = await api.save(old, "capital-au", "canberra", "first")
    assert r.status_code == 200, r.text
    assert r.json()["replayed"] is True
    assert await api.snapshot() == before


async def test_stale_session_with_an_old_op_id_and_new_payload(api: Api) -> None:
    _invite, old, _new = await two_sessions(api)
    await api.refused(api.save(old, "capital-au", "sydney", "first"), 409, "op_id_conflict")
    await api.refused(api.save(old, "capital-au", "sydney", "fresh"), 409, "session_superseded")


# -- old op ids with another payload ---------------------------------------------------------


async def test_op_id_conflicts(api: Api) -> None:
    session = await api.started()
    assert (await api.save(session, "capital-au", "canberra", "op-1")).status_code == 200
    nxt = (await api.question(session))["question"]
    assert nxt is not None
    # Same op id, another question (with an answer that would be valid there).
    await api.refused(api.save(session, nxt["id"], ["n2"], "op-1"), 409, "op_id_conflict")
    # Same op id, same answer in another JSON shape is the same payload.
    r = await api.client.put(
        f"{session.path}/progress",
        content=b'{ "op_id" : "op-1", "answer" : "canberra", "question_id" : "capital-au" }',
        headers={**session.headers, "content-type": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["replayed"] is True
    # Same op id for another kind of write.
    await api.refused(
        api.client.post(
            f"{session.path}/start",
            json={"section": "test", "op_id": "op-1"},
            headers=session.headers,
        ),
        409,
        "op_id_conflict",
    )


async def test_op_ids_belong_to_the_attempt_not_the_session(api: Api) -> None:
    """After a takeover the new session cannot reuse the old session's op id for
    another answer (it would silently hide a write), but an exact retry is the
    same write."""
    _invite, _old, new = await two_sessions(api)
    await api.refused(api.save(new, "capital-au", "sydney", "first"), 409, "op_id_conflict")
    before = await api.snapshot()
    r = await api.save(new, "capital-au", "canberra", "first")
    assert r.status_code == 200, r.text
    assert r.json()["replayed"] is True
    assert await api.snapshot() == before


async def test_op_ids_do_not_cross_attempts(api: Api) -> None:
    a = await api.started()
    b = await api.started()
    assert (await api.save(a, "capital-au", "canberra", "shared-op")).status_code == 200
    r = await api.save(b, "capital-au", "sydney", "shared-op")
    assert r.status_code == 200, r.text
    assert r.json()["replayed"] is False


async def test_submit_replayed_after_the_end(api: Api) -> None:
    session = await api.started()
    r = await api.client.post(
        f"{session.path}/complete", json={"op_id": "done"}, headers=session.headers
    )
    assert r.status_code == 200, r.text
    first = r.json()
    before = await api.snapshot()
    r = await api.client.post(
        f"{session.path}/complete", json={"op_id": "done"}, headers=session.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["score"] == first["score"]
    assert await api.snapshot() == before
    await api.refused(
        api.save(session, "capital-au", "canberra", "after-the-end"), 409, "attempt_closed"
    )
