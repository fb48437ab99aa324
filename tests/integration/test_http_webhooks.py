"""Webhook endpoints over HTTP: the admin routes, their refusals (each bad input
a problem+json with a stable code, nothing changed), the audit lines, and a
submission's deliveries in the endpoint's log, redelivered on request (a fake
sink in place of the network, the real memory store and engine)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from litestar import Litestar

from quizsession.adapters.store.memory import MemoryStore
from quizsession.api.webhooks import WebhookDeliveryCounts, WebhookEndpointPatch
from quizsession.client import AsyncQuizClient
from tests.integration.conftest import API_KEY, Api, assert_problem
from testsupport.fake_sink import FakeSink

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


async def add(api: Api, **body: Any) -> dict[str, Any]:
    r = await api.client.post(
        "/admin/webhooks", json={"url": "https://hooks.test/ok", **body}, headers=api.admin
    )
    assert r.status_code == 201, r.text
    found: dict[str, Any] = r.json()
    return found


def destinations(api: Api) -> dict[str, Any]:
    store = api.container.store
    assert isinstance(store, MemoryStore)
    return dict(store._destinations)


async def test_register_list_get_update_and_remove(api: Api) -> None:
    made = await add(api, event_types=["attempt.scored", "attempt.started"], secret=SECRET)
    assert made["secret"] == SECRET
    assert made["event_types"] == ["attempt.started", "attempt.scored"]
    generated = await add(api)
    assert generated["secret"].startswith("whsec_")
    listed = (await api.client.get("/admin/webhooks", headers=api.admin)).json()["endpoints"]
    assert sorted(e["id"] for e in listed) == sorted([made["id"], generated["id"]])
    assert all(e["secret"] is None for e in listed)
    one = f"/admin/webhooks/{made['id']}"
    r = await api.client.patch(one, json={"enabled": False}, headers=api.admin)
    assert (r.status_code, r.json()["enabled"], r.json()["secret"]) == (200, False, None)
    r = await api.client.patch(one, json={"rotate_secret": True}, headers=api.admin)
    assert r.json()["secret"].startswith("whsec_")
    assert r.json()["previous_secret_expires_at"] == api.clock.now() + 86_400
    assert (await api.client.get(one, headers=api.admin)).json()["secret"] is None
    assert (await api.client.delete(one, headers=api.admin)).status_code == 204
    assert_problem(await api.client.get(one, headers=api.admin), 404, "not_found")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"url": "ftp://hooks.test/"}, 422, "webhook_invalid"),
        ({"url": "https://u:p@hooks.test/"}, 422, "webhook_invalid"),
        ({"url": "javascript:alert(1)"}, 422, "webhook_invalid"),
        ({"url": "https://hooks.test/", "secret": "whsec_short"}, 422, "webhook_invalid"),
        ({"url": "https://hooks.test/", "event_types": ["attempt.eaten"]}, 422, "validation_error"),
        ({"url": "https://hooks.test/", "event_types": []}, 422, "validation_error"),
        ({"url": "https://hooks.test/", "extra": 1}, 422, "validation_error"),
        ({"url": ""}, 422, "validation_error"),
        ({}, 422, "validation_error"),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(
    api: Api, body: dict[str, Any], status: int, code: str
) -> None:
    before = destinations(api)
    request = api.client.post("/admin/webhooks", json=body, headers=api.admin)
    await api.refused(request, status, code)
    assert destinations(api) == before


async def test_refusals_of_the_other_routes(api: Api) -> None:
    made = await add(api)
    one = f"/admin/webhooks/{made['id']}"
    before = destinations(api)
    for request, status, code in [
        (
            api.client.patch(one, json={"url": "file:///etc"}, headers=api.admin),
            422,
            "webhook_invalid",
        ),
        (api.client.patch(one, json={"secret": SECRET}, headers=api.admin), 422, "webhook_invalid"),
        (
            api.client.patch(one, json={"previous_secret_valid_s": -1}, headers=api.admin),
            422,
            "validation_error",
        ),
        (api.client.patch("/admin/webhooks/wh_no", json={}, headers=api.admin), 404, "not_found"),
        (api.client.delete("/admin/webhooks/wh_no", headers=api.admin), 404, "not_found"),
        (
            api.client.get(one + "/deliveries", params={"status": "odd"}, headers=api.admin),
            422,
            "validation_error",
        ),
        (api.client.post(one + "/deliveries/7/redeliver", headers=api.admin), 404, "not_found"),
        (api.client.get("/admin/webhooks"), 401, "api_key_required"),
    ]:
        await api.refused(request, status, code)
    assert destinations(api) == before


async def test_a_submission_shows_in_the_delivery_log_and_redelivers(
    api: Api, demo: dict[str, Any]
) -> None:
    made = await add(api, event_types=["attempt.submitted", "attempt.scored"])
    sink = FakeSink()
    api.container.delivery.add_sink(sink)
    session = await api.started()
    r = await api.client.post(f"{session.path}/complete", json={}, headers=session.headers)
    assert r.status_code == 200, r.text
    assert await api.container.delivery.run_once() == (1, 2)
    log = f"/admin/webhooks/{made['id']}/deliveries"
    deliveries = (await api.client.get(log, headers=api.admin)).json()["deliveries"]
    assert [(d["type"], d["status"], d["attempts"], d["last_status"]) for d in deliveries] == [
        ("attempt.scored", "delivered", 1, 204),
        ("attempt.submitted", "delivered", 1, 204),
    ]
    r = await api.client.post(f"{log}/{deliveries[0]['id']}/redeliver", headers=api.admin)
    assert (r.status_code, r.json()["status"]) == (202, "pending")
    await api.container.delivery.run_once()
    assert [e.type for _, e in sink.sent] == ["attempt.submitted", "attempt.scored"] * 1 + [
        "attempt.scored"
    ]


ZEROS = {"pending": 0, "delivered": 0, "failed": 0, "oldest_pending_at": None}


async def test_the_endpoints_show_their_delivery_counts(api: Api, demo: dict[str, Any]) -> None:
    types = ["attempt.submitted", "attempt.scored"]
    good = await add(api, event_types=types)
    gone = await add(api, url="https://hooks.test/status/410", event_types=types)
    assert good["deliveries"] == gone["deliveries"] == ZEROS
    api.container.delivery.add_sink(FakeSink())
    session = await api.started()
    r = await api.client.post(f"{session.path}/complete", json={}, headers=session.headers)
    assert r.status_code == 200, r.text
    fanned_at = api.clock.now()
    assert await api.container.delivery.fan_out_once() == 1

    async def counts() -> dict[str, dict[str, Any]]:
        r = await api.client.get("/admin/webhooks", headers=api.admin)
        return {e["id"]: e["deliveries"] for e in r.json()["endpoints"]}

    waiting = {"pending": 2, "delivered": 0, "failed": 0, "oldest_pending_at": fanned_at}
    assert await counts() == {good["id"]: waiting, gone["id"]: waiting}
    api.clock.advance(5)
    while await api.container.delivery.deliver_once():
        pass
    # The 410 failed its first delivery and disabled the endpoint: the second waits.
    after = {
        good["id"]: {**ZEROS, "delivered": 2},
        gone["id"]: {"pending": 1, "delivered": 0, "failed": 1, "oldest_pending_at": fanned_at},
    }
    assert await counts() == after
    for endpoint_id, expected in after.items():
        r = await api.client.get(f"/admin/webhooks/{endpoint_id}", headers=api.admin)
        assert r.json()["deliveries"] == expected
    r = await api.client.patch(
        f"/admin/webhooks/{gone['id']}", json={"description": "x"}, headers=api.admin
    )
    assert r.json()["deliveries"] == after[gone["id"]]


async def test_changes_are_audited(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="quizsession.audit")
    made = await add(api)
    await api.client.patch(
        f"/admin/webhooks/{made['id']}", json={"enabled": False}, headers=api.admin
    )
    await api.client.delete(f"/admin/webhooks/{made['id']}", headers=api.admin)
    lines = [r for r in caplog.records if r.name == "quizsession.audit"]
    assert [(r.actor, r.action, r.status) for r in lines] == [  # type: ignore[attr-defined]
        ("admin:ops", "add_webhook", 201),
        ("admin:ops", "update_webhook", 200),
        ("admin:ops", "remove_webhook", 204),
    ]
    assert lines[2].endpoint_id == made["id"]  # type: ignore[attr-defined]


async def test_the_typed_client(api: Api, app: Litestar) -> None:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with AsyncQuizClient("http://testserver", api_key=API_KEY, transport=transport) as qc:
        made = await qc.add_webhook("https://hooks.test/ok", event_types=["attempt.voided"])
        assert made.secret is not None
        assert [e.id for e in await qc.webhooks()] == [made.id]
        assert (await qc.webhook(made.id)).deliveries == WebhookDeliveryCounts(
            pending=0, delivered=0, failed=0, oldest_pending_at=None
        )
        changed = await qc.update_webhook(made.id, WebhookEndpointPatch(enabled=False))
        assert changed.enabled is False
        assert (await qc.webhook_deliveries(made.id)).deliveries == []
        await qc.remove_webhook(made.id)
        assert await qc.webhooks() == []
