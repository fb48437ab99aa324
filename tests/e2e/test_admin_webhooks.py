"""The administrator page's webhooks panel, in a real headless Chromium against
a real server sending to a real receiver on loopback
(``testsupport/webhook_receiver.py``): endpoints registered on the page (one
answering 204, one 500, one 410 Gone), the secret shown once and copied, a
candidate's attempt taken and submitted through the API so that deliveries
happen, the delivery log newest first in the viewer's time zone with a retrying
delivery, a redelivery arriving with the same ``webhook-id``, disabling and
enabling, rotating the secret, removing after the confirmation dialog; axe-core
on every state of the panel, with the dialog's focus and the status messages
checked too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from quizsession.app.outbound import OUTBOUND_TYPES
from tests.e2e.browser_conftest import *  # noqa: F403 - the fixtures
from tests.e2e.browser_conftest import AdminApi, Axe, BrowserRun, shot
from tests.e2e.conftest import ServerFactory
from tests.e2e.test_a11y import check_state
from testsupport.scenario import Candidate, login
from testsupport.scenario import start_test as start_by_api
from testsupport.service import ServerProcess
from testsupport.webhook_receiver import Receiver, read_log

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

ZONE = "Europe/Paris"
QUIZ = "hooked"
#: Retries come quickly (the first after about 2 s), a send never hangs.
ENV = {
    "QUIZSESSION_OUTBOUND_FIRST_RETRY_S": "2",
    "QUIZSESSION_WEBHOOK_TIMEOUT_S": "2",
    "QUIZSESSION_OUTBOUND_LEASE_S": "3",
}
JSON = dict[str, Any]
DASH = "\u2013"  # no value
EVENTS = ("attempt.started", "attempt.submitted", "attempt.scored")


@pytest.fixture(name="web_server")
async def quick_retry_server(server_factory: ServerFactory) -> ServerProcess:
    """The browser fixtures' server, with quick retries."""
    server = server_factory("web", env=ENV)
    await server.start_async()
    return server


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    """A receiver on loopback that knows no secret yet (the page shows them)."""
    found = Receiver([], tmp_path / "received.jsonl").start()
    try:
        yield found
    finally:
        found.stop()


async def sit_and_submit(server: ServerProcess, admin_api: AdminApi) -> str:
    """A candidate starts the test and submits it: started, submitted, scored."""
    await admin_api.put_quiz(QUIZ)
    candidate = Candidate(invite_token=await admin_api.invite(QUIZ, name="Ada Hook"))
    async with httpx.AsyncClient(base_url=server.url, timeout=15.0) as client:
        assert (await login(client, candidate)).status_code == 201
        await start_by_api(client, candidate)
        r = await client.post(
            f"/sessions/{candidate.session_id}/complete", json={}, headers=candidate.auth
        )
        assert r.status_code == 200, r.text
    return candidate.attempt_id


async def api(server: ServerProcess, method: str, path: str) -> JSON:
    async with httpx.AsyncClient(base_url=server.url, timeout=10.0) as client:
        r = await client.request(method, path, headers=server.admin_headers)
    assert r.status_code < 300, r.text
    found: JSON = r.json()
    return found


async def endpoints(server: ServerProcess) -> dict[str, JSON]:
    found = await api(server, "GET", "/admin/webhooks")
    return {e["url"]: e for e in found["endpoints"]}


async def deliveries(server: ServerProcess, endpoint_id: str) -> list[JSON]:
    found = await api(server, "GET", f"/admin/webhooks/{endpoint_id}/deliveries?limit=100")
    rows: list[JSON] = found["deliveries"]
    return rows


async def register(page: Page, url: str, description: str = "") -> str:
    """Register ``url`` on the page; the secret shown once, then put away."""
    await page.get_by_label("URL", exact=True).fill(url)
    await page.get_by_label("Description (optional)").fill(description)
    await page.get_by_role("button", name="Register the endpoint").click()
    secret_field = page.get_by_label(f"Signing secret of {url}")
    await expect(secret_field).to_be_focused()
    secret = await secret_field.input_value()
    assert secret.startswith("whsec_"), secret
    await page.get_by_role("button", name="I have stored it").click()
    await expect(page.locator("#webhook-secret-box")).to_be_hidden()
    await expect(page.locator("#webhooks-title")).to_be_focused()
    return secret


async def test_webhooks_on_the_admin_page(
    browser_run: BrowserRun,
    admin_api: AdminApi,
    web_server: ServerProcess,
    receiver: Receiver,
    axe: Axe,
) -> None:
    ok_url = f"{receiver.url}/ok"
    failing_url = f"{receiver.url}/status/500"
    gone_url = f"{receiver.url}/status/410"
    context = await browser_run.browser.new_context(
        viewport={"width": 1280, "height": 900}, base_url=web_server.url, timezone_id=ZONE
    )
    browser_run.contexts.append(context)
    await context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = await browser_run.page(context)
    await page.goto("/admin")
    await page.get_by_label("API key").fill(web_server.admin_key)
    await page.get_by_role("button", name="Sign in").click()
    panel = page.locator("#webhooks-panel")
    message = page.locator("#webhooks-message")
    await expect(panel).to_be_visible()
    await expect(page.locator("#webhooks-empty")).to_have_text("No webhook endpoints yet.")
    await check_state(page, axe, "webhooks, none yet")

    # The form refuses what the server would, each field saying why.
    url_field = page.get_by_label("URL", exact=True)
    await url_field.fill("ftp://example.org/hooks")
    for box in await page.locator("#webhook-type-boxes input").all():
        await box.uncheck()
    await page.get_by_role("button", name="Register the endpoint").click()
    await expect(url_field).to_be_focused()
    await expect(url_field).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#webhook-url-error")).to_contain_text("https://")
    await expect(page.locator("#webhook-types-error")).to_contain_text("at least one")
    await expect(message).to_contain_text("not registered")
    await check_state(page, axe, "webhooks, register form with errors")
    assert await endpoints(web_server) == {}
    await page.get_by_label("Attempt started").check()
    await page.get_by_label("Attempt submitted").check()
    await page.get_by_label("Attempt scored").check()

    # Registered: the secret is shown once, with a copy button.
    await url_field.fill(ok_url)
    await page.get_by_label("Description (optional)").fill("grades backend")
    await page.get_by_role("button", name="Register the endpoint").click()
    secret_field = page.get_by_label(f"Signing secret of {ok_url}")
    await expect(secret_field).to_be_focused()
    await expect(page.locator("#webhook-secret-note")).to_contain_text("Store it now")
    secret = await secret_field.input_value()
    assert secret.startswith("whsec_")
    receiver.secrets.append(secret)
    await check_state(page, axe, "webhooks, secret shown")
    await page.get_by_role("button", name="Copy the secret").click()
    await expect(message).to_have_text("The signing secret was copied to the clipboard.")
    assert await page.evaluate("navigator.clipboard.readText()") == secret
    await expect(page.get_by_role("button", name="Copy the secret")).to_be_focused()
    await page.get_by_role("button", name="I have stored it").click()
    await expect(page.locator("#webhook-secret-box")).to_be_hidden()
    await expect(secret_field).to_have_value("")
    registered = (await endpoints(web_server))[ok_url]
    assert registered["event_types"] == list(EVENTS)
    assert registered["description"] == "grades backend"
    assert "secret" not in registered or registered["secret"] is None

    # Every event type is ticked again for the next one.
    ticked = page.locator("#webhook-type-boxes input:checked")
    await expect(ticked).to_have_count(len(OUTBOUND_TYPES))
    receiver.secrets.append(await register(page, failing_url))
    receiver.secrets.append(await register(page, gone_url))
    rows = page.locator("#webhooks-body tr")
    await expect(rows).to_have_count(3)
    await expect(rows.filter(has_text=ok_url)).to_contain_text("Attempt started, Attempt submitted")
    counts = "td[data-label=Deliveries]"
    await expect(rows.locator(counts)).to_have_text(["0 pending, 0 delivered, 0 failed"] * 3)
    await expect(rows.filter(has_text=gone_url)).to_contain_text("Every event")
    await check_state(page, axe, "webhooks, list")

    # A candidate sits the test: the deliveries go out (204, 500, 410).
    attempt_id = await sit_and_submit(web_server, admin_api)
    by_url = await endpoints(web_server)
    ok_id, failing_id = by_url[ok_url]["id"], by_url[failing_url]["id"]

    async def settled() -> bool:
        ok = await deliveries(web_server, ok_id)
        failing = await deliveries(web_server, failing_id)
        gone = (await endpoints(web_server))[gone_url]
        return (
            len(ok) == 3
            and all(d["status"] == "delivered" for d in ok)
            and any(d["attempts"] >= 1 and d["last_status"] == 500 for d in failing)
            and not gone["enabled"]
        )

    await admin_api.wait_for(settled, within_s=20, what="the first sends")
    await page.get_by_role("button", name="Reload the endpoints").click()
    await expect(message).to_have_text("The endpoints were reloaded.")
    await expect(rows.filter(has_text=gone_url)).to_contain_text("Disabled after 410 Gone")

    # The counts, as text: the 410 failed the first event and disabled the
    # endpoint (the others wait); the 500 keeps all three pending (retrying).
    # While some wait, the oldest pending one's creation time (viewer's zone).
    ok_counts = rows.filter(has_text=ok_url).locator(counts)
    await expect(ok_counts).to_have_text("0 pending, 3 delivered, 0 failed")
    await expect(ok_counts.locator("time")).to_have_count(0)
    gone_counts = rows.filter(has_text=gone_url).locator(counts)
    await expect(gone_counts).to_contain_text("2 pending, 0 delivered, 1 failed")
    await expect(gone_counts).to_contain_text("Oldest pending: ")
    await expect(gone_counts.locator("time")).to_contain_text(" UTC+0")
    failing_counts = rows.filter(has_text=failing_url).locator(counts)
    await expect(failing_counts).to_contain_text("3 pending, 0 delivered, 0 failed")
    oldest = (await endpoints(web_server))[failing_url]["deliveries"]["oldest_pending_at"]
    iso = await page.evaluate("(s) => new Date(Math.floor(s) * 1000).toISOString()", oldest)
    await expect(failing_counts.locator("time")).to_have_attribute(
        "datetime", iso.replace(".000Z", "Z")
    )

    # The failing endpoint's log: newest first; the first event retrying after
    # a 500, the later ones of the attempt waiting for it (no redelivery).
    await page.get_by_role("button", name=f"Deliveries to {failing_url}").click()
    await expect(page.locator("#webhook-log-title")).to_be_focused()
    await expect(page.locator("#webhook-log-title")).to_have_text(f"Deliveries to {failing_url}")
    log_rows = page.locator("#webhook-log-body tr")
    await expect(log_rows).to_have_count(3)
    await expect(page.locator("#webhook-log-count")).to_have_text(
        "Deliveries 1\u20133, newest first."
    )
    await expect(page.locator("#webhook-log-zone")).to_contain_text(f"Times in {ZONE} (UTC+0")
    retrying = log_rows.last
    await expect(retrying).to_contain_text("Attempt started")
    await expect(retrying).to_contain_text(attempt_id)
    await expect(retrying.locator("td[data-label=Status]")).to_have_text("Retrying")
    await expect(retrying.locator("td[data-label='Last status']")).to_have_text("500")
    await expect(retrying.locator("td[data-label='Last error']")).not_to_have_text(DASH)
    await expect(retrying.locator("td[data-label='Next try'] time")).to_have_count(1)
    await expect(retrying.get_by_role("button", name="Redeliver")).to_be_enabled()
    newest = log_rows.first
    await expect(newest).to_contain_text("Attempt scored")
    await expect(newest.locator("td[data-label=Status]")).to_have_text("Waiting")
    await expect(newest.get_by_role("button", name="Redeliver")).to_be_disabled()
    await expect(newest.locator(".why")).to_contain_text("Not sent yet")
    await check_state(page, axe, "webhooks, delivery log")
    await shot(page, "admin-webhooks-log")
    await page.set_viewport_size({"width": 360, "height": 800})
    await check_state(page, axe, "webhooks, delivery log as cards (360 px)")
    await shot(page, "admin-webhooks-log-360")
    await page.set_viewport_size({"width": 1280, "height": 900})

    # Redeliver a delivered event: it arrives again, with the same webhook-id.
    await page.get_by_role("button", name=f"Deliveries to {ok_url}").click()
    await expect(page.locator("#webhook-log-title")).to_have_text(f"Deliveries to {ok_url}")
    started = log_rows.filter(has_text="attempt.started")
    await expect(started.locator("td[data-label=Status]")).to_have_text("Delivered")
    await started.get_by_role("button", name="Redeliver").click()
    log_message = page.locator("#webhook-log-message")
    await expect(log_message).to_contain_text("is being sent again now")
    await expect(log_message).to_have_attribute("role", "status")
    await expect(started.get_by_role("button", name="Redeliver")).to_be_focused()

    async def arrived_twice() -> bool:
        got = [r for r in read_log(receiver.log) if r["event"]["type"] == "attempt.started"]
        return len([r for r in got if r["path"] == "/ok"]) == 2

    await admin_api.wait_for(arrived_twice, within_s=15, what="the redelivery")
    sent = [
        r
        for r in read_log(receiver.log)
        if r["path"] == "/ok" and r["event"]["type"] == "attempt.started"
    ]
    assert len({r["id"] for r in sent}) == 1
    assert all(r["verified"] for r in sent)

    # Disable, then enable: the row, the log's buttons and the server agree;
    # the focus stays on the row's button, the message speaks without moving it.
    ok_row = rows.filter(has_text=ok_url)
    await ok_row.get_by_role("button", name=f"Disable {ok_url}").click()
    await expect(message).to_contain_text("its deliveries wait")
    await expect(ok_row).to_contain_text("Disabled")
    await expect(ok_row.get_by_role("button", name=f"Enable {ok_url}")).to_be_focused()
    await expect(started.get_by_role("button", name="Redeliver")).to_be_disabled()
    await expect(started.locator(".why")).to_contain_text("enable it first")
    assert not (await endpoints(web_server))[ok_url]["enabled"]
    await ok_row.get_by_role("button", name=f"Enable {ok_url}").click()
    await expect(message).to_contain_text(f"Enabled {ok_url}")
    await expect(ok_row.get_by_role("button", name=f"Disable {ok_url}")).to_be_focused()
    await expect(started.get_by_role("button", name="Redeliver")).to_be_enabled()
    assert (await endpoints(web_server))[ok_url]["enabled"]

    # Rotate the secret: a new one, shown once; the previous one still signs.
    await ok_row.get_by_role("button", name=f"Rotate the secret of {ok_url}").click()
    await expect(page.locator("#webhook-secret-title")).to_have_text("New signing secret")
    await expect(secret_field).to_be_focused()
    rotated = await secret_field.input_value()
    assert rotated.startswith("whsec_")
    assert rotated != secret
    await expect(message).to_contain_text("was rotated")
    assert (await endpoints(web_server))[ok_url]["previous_secret_expires_at"] is not None
    await page.get_by_role("button", name="I have stored it").click()

    # Remove, after the confirmation: Escape keeps it (focus back on the
    # opener), confirming removes it (focus on the panel's title).
    opener = rows.filter(has_text=failing_url).get_by_role("button", name=f"Remove {failing_url}")
    await opener.click()
    dialog = page.locator("#webhook-remove-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text(failing_url)
    await expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    await check_state(page, axe, "webhooks, remove dialog")
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(opener).to_be_focused()
    await expect(rows).to_have_count(3)
    await opener.click()
    await dialog.get_by_role("button", name="Remove the endpoint").click()
    await expect(dialog).to_be_hidden()
    await expect(message).to_have_text(f"Removed {failing_url}.")
    await expect(rows).to_have_count(2)
    await expect(page.locator("#webhooks-title")).to_be_focused()
    assert failing_url not in await endpoints(web_server)
    await check_state(page, axe, "webhooks, after removing one")

    # Signing out forgets the panel.
    await page.get_by_role("button", name="Sign out").click()
    await expect(panel).to_be_hidden()
    await expect(page.locator("#webhooks-body tr")).to_have_count(0)
