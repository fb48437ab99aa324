"""The candidate and admin pages in a real headless Chromium against a real
server process: the whole flow, a reload, a second tab, a network cut, a server
crash, and the deadline with the page open and closed.

Every page state is saved as a screenshot in ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import asyncio
import re
import time

import httpx
import pytest
from playwright.async_api import expect

from tests.e2e.browser_conftest import *  # noqa: F403 - the fixtures
from tests.e2e.browser_conftest import (
    MAX_SCORE,
    RIGHT,
    TEST_ORDER,
    AdminApi,
    BrowserRun,
    answer,
    answer_and_next,
    expect_header_one_line,
    expect_question,
    expect_saved,
    next_question,
    shot,
    start_test,
)
from testsupport.service import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


# ------------------------------------------------------------------------------ tests


async def test_full_flow(browser_run: BrowserRun, admin_api: AdminApi) -> None:
    """Invite -> instructions -> practice -> test (every kind) -> submit -> result."""
    quiz = await admin_api.put_quiz("flow", practice=True)
    token = await admin_api.invite(quiz)
    page = await browser_run.candidate(token)

    await expect(page.locator("#screen-intro")).to_be_visible()
    # The invite left the address bar for sessionStorage.
    assert token not in page.url
    assert "#" not in page.url
    assert await page.evaluate("sessionStorage.getItem('quizsession.invite')") == token
    await shot(page, "take-01-instructions")

    await page.get_by_role("button", name="Start the practice round").click()
    await expect_question(page, "p-colour")
    await expect(page.locator("#q-section")).to_have_text("Practice round")
    await expect(page.locator("#timer-box")).to_be_hidden()  # the practice is untimed
    await page.get_by_label("Green").check()  # every choice is labelled
    await shot(page, "take-02-practice-question")
    await next_question(page)
    await answer_and_next(page, "p-sky")
    await expect_question(page, "p-sum")
    await page.get_by_label("How much is 7 + 5?").fill("12")
    await next_question(page)

    await expect(page.locator("#screen-section-done")).to_be_visible()
    await expect(page.locator("#done-title")).to_have_text("Practice round complete")
    await shot(page, "take-03-practice-done")
    await page.get_by_role("button", name="Continue to the test").click()
    await expect(page.locator("#screen-test-intro")).to_be_visible()
    await shot(page, "take-04-test-instructions")
    await start_test(page)

    await expect(page.locator("#timer-box")).to_be_visible()
    await expect(page.locator("#timer")).to_have_text(re.compile(r"^(10:00|9:[0-5]\d)$"))
    # The live channel is a WebSocket; the page falls back to HTTP heartbeats only
    # when the server cannot speak WebSocket (uvicorn without a WebSocket library).
    await expect(page.locator("body")).to_have_attribute("data-live", re.compile("socket|http"))
    if await page.locator("body").get_attribute("data-live") != "socket":
        log = browser_run.server.log_text()
        assert "No supported WebSocket library" in log, "the socket failed: " + log[-2000:]
    shots = {
        "capital-au": "take-05-single",
        "primes": "take-06-multiple",
        "great-wall": "take-07-true-false",
        "red-planet": "take-08-short-text",
        "speed-of-light": "take-09-numeric",
    }
    for question_id in TEST_ORDER:
        await expect_question(page, question_id)
        await answer(page, RIGHT[question_id])
        if question_id in shots:
            await expect_saved(page)
            await shot(page, shots[question_id])
        if question_id == "primes":
            await page.set_viewport_size({"width": 360, "height": 780})
            await shot(page, "take-06-multiple-360px")
            await page.set_viewport_size({"width": 1100, "height": 850})
        if question_id == TEST_ORDER[-1]:
            await expect(page.locator("#q-next")).to_have_text("Save and finish")
        await next_question(page)

    await expect(page.locator("#screen-section-done")).to_be_visible()
    await expect(page.locator("#done-title")).to_have_text("All questions answered")
    await shot(page, "take-10-all-answered")
    await page.get_by_role("button", name="Submit the test").click()

    await expect(page.locator("#screen-result")).to_be_visible()
    await expect(page.locator("#result-score [aria-hidden]")).to_have_text("13 / 13")
    await expect(page.locator("#timer-box")).to_be_hidden()
    await shot(page, "take-11-result")
    await page.set_viewport_size({"width": 360, "height": 700})
    await shot(page, "take-11-result-360px")

    row = await admin_api.only_attempt(quiz)
    assert row["status"] == "submitted"
    assert row["score"] == MAX_SCORE
    saved = await admin_api.saved_answers(row["attempt_id"])
    for question_id in TEST_ORDER:
        value = saved[question_id]
        expected = RIGHT[question_id]
        if isinstance(expected, list):
            assert sorted(value) == sorted(expected), question_id
        else:
            assert value == expected, question_id


async def test_invite_errors(browser_run: BrowserRun, admin_api: AdminApi) -> None:
    """A wrong invite and an expired one are told plainly; so is a missing one."""
    page = await browser_run.candidate("this-is-not-an-invite-token")
    await expect(page.locator("#error-title")).to_have_text("This invitation link is not valid")
    await shot(page, "take-error-invite-invalid")

    quiz = await admin_api.put_quiz("expired")
    token = await admin_api.invite(quiz, valid_until="2001-01-01")
    expired = await browser_run.candidate(token)
    await expect(expired.locator("#error-title")).to_have_text("This invitation has expired")
    await shot(expired, "take-error-invite-expired")

    bare = await browser_run.page()
    await bare.goto("/take")
    await expect(bare.locator("#error-title")).to_have_text("Open your invitation link")


async def test_reload_resumes(browser_run: BrowserRun, admin_api: AdminApi) -> None:
    """A reload mid-test resumes the same session on the same question with every
    answer kept, including one not yet sent when the page went away."""
    quiz = await admin_api.put_quiz("reload")
    token = await admin_api.invite(quiz)
    context = await browser_run.context(width=360, height=760)
    page = await browser_run.candidate(token, context)
    await start_test(page)
    await answer_and_next(page, "capital-au")
    await expect_question(page, "primes")
    await answer(page, ["n2", "n11"])
    await expect_saved(page)

    # Answered and saved but "next" not pressed: the same question comes back.
    await page.reload()
    await expect_question(page, "primes")
    await expect(page.locator('#q-body input[value="n2"]')).to_be_checked()
    await expect(page.locator('#q-body input[value="n11"]')).to_be_checked()
    await expect(page.locator('#q-body input[value="n17"]')).not_to_be_checked()
    await shot(page, "take-reload-resumed-360px")

    # A change not yet acknowledged when the page reloads (here: the network is cut
    # as it is made) is kept on the device and sent after the reload.
    await context.set_offline(True)
    await page.locator('#q-body input[value="n17"]').check()
    pending = await page.evaluate("Object.keys(localStorage).filter(k => k.includes('pending'))")
    assert pending, "the unsent answer must be in localStorage"
    await context.set_offline(False)
    await page.reload()
    await expect_question(page, "primes")
    await expect(page.locator('#q-body input[value="n17"]')).to_be_checked()
    await expect_saved(page)

    # The API's current (unanswered) question also survives a reload.
    await next_question(page)
    await expect_question(page, "noble-gases")
    await page.reload()
    await expect_question(page, "noble-gases")

    row = await admin_api.only_attempt(quiz)
    saved = await admin_api.saved_answers(row["attempt_id"])
    assert saved["capital-au"] == "canberra"
    assert sorted(saved["primes"]) == ["n11", "n17", "n2"]
    events = await admin_api.events(row["attempt_id"])
    logins = [e for e in events if e["type"] == "session_opened"]
    assert len(logins) == 1, "a reload resumes the session instead of logging in again"


async def test_second_tab(browser_run: BrowserRun, admin_api: AdminApi) -> None:
    """A second tab is told the quiz is open elsewhere; it takes over; the first
    one says it was taken over and stops. Without takeover, no button."""
    quiz = await admin_api.put_quiz("tabs", second_login="takeover")
    token = await admin_api.invite(quiz)
    context = await browser_run.context()
    first = await browser_run.candidate(token, context)
    await start_test(first)
    await answer_and_next(first, "capital-au")
    await expect_question(first, "primes")
    await answer(first, ["n2"])
    await expect_saved(first)

    second = await browser_run.candidate(token, context)
    await expect(second.locator("#screen-busy")).to_be_visible()
    await expect(second.locator("#busy-title")).to_have_text("This quiz is open in another window")
    # The quiz's title shows before this tab has a session of its own.
    await expect(second.locator("#quiz-title")).to_have_text("Demo: general knowledge")
    takeover = second.get_by_role("button", name="Take over in this window")
    await expect(takeover).to_be_visible()
    await shot(second, "take-second-tab-busy")

    await takeover.click()
    await expect_question(second, "primes")
    await expect(second.locator('#q-body input[value="n2"]')).to_be_checked()
    await expect(first.locator("#screen-stopped")).to_be_visible(timeout=20_000)
    await expect(first.locator("#stopped-title")).to_contain_text("taken over")
    await shot(first, "take-first-tab-taken-over")

    # The taken-over tab says so visibly, not only on its stopped screen.
    await expect(first.locator("#notice")).to_be_visible()
    await expect(first.locator("#notice-text")).to_contain_text("Taken over")

    # The new tab writes; the old one cannot.
    await answer(second, ["n2", "n11", "n17"])
    await expect_saved(second)
    row = await admin_api.only_attempt(quiz)
    saved = await admin_api.saved_answers(row["attempt_id"])
    assert sorted(saved["primes"]) == ["n11", "n17", "n2"]

    # "Continue in this window" takes the quiz back in one click.
    await first.get_by_role("button", name="Continue in this window").click()
    await expect_question(first, "primes")
    await expect(first.locator('#q-body input[value="n17"]')).to_be_checked()
    await expect(first.locator("#notice-text")).to_contain_text("You took over")
    await expect(second.locator("#screen-stopped")).to_be_visible(timeout=20_000)

    strict = await admin_api.put_quiz("tabs-refuse", second_login="refuse")
    token = await admin_api.invite(strict, name="Bo Candidate")
    one = await browser_run.candidate(token, context)
    await start_test(one)
    other = await browser_run.candidate(token, context)
    await expect(other.locator("#screen-busy")).to_be_visible()
    await expect(other.get_by_role("button", name="Take over in this window")).to_be_hidden()
    await shot(other, "take-second-tab-refused")


async def test_network_cut(browser_run: BrowserRun, admin_api: AdminApi) -> None:
    """Offline for 20 s: the banner shows, the answer given offline is kept and
    saved once the network is back; nothing is lost."""
    quiz = await admin_api.put_quiz("offline")
    token = await admin_api.invite(quiz)
    context = await browser_run.context()
    page = await browser_run.candidate(token, context)
    await start_test(page)
    await answer_and_next(page, "capital-au")
    await expect_question(page, "primes")

    await context.set_offline(True)
    cut_at = time.monotonic()
    await answer(page, ["n2", "n9"])
    await answer(page, ["n2", "n11", "n17"])  # changed offline: the last one counts
    await expect(page.locator("#save-state")).to_have_attribute("data-state", "error")
    await next_question(page)  # cannot move on before the answer is saved
    await expect(page.locator("#q-message")).to_contain_text("not saved yet")
    await expect_question(page, "primes")
    await expect(page.locator("#banner")).to_be_visible(timeout=20_000)
    await expect(page.locator("#banner")).to_contain_text("Connection lost")
    await shot(page, "take-offline-banner")
    # The header stays on one line offline, on a desktop and on a phone.
    await expect_header_one_line(page)
    await page.set_viewport_size({"width": 360, "height": 780})
    await expect_header_one_line(page)
    await shot(page, "take-offline-banner-360px")
    await page.set_viewport_size({"width": 1100, "height": 850})
    await asyncio.sleep(max(0.0, 20.0 - (time.monotonic() - cut_at)))
    await context.set_offline(False)

    await expect(page.locator("#banner")).to_be_hidden(timeout=20_000)
    await expect_saved(page, within_ms=20_000)
    # Nothing on the page still says the answer is not saved.
    await expect(page.locator("#q-message")).not_to_contain_text("not saved")
    await shot(page, "take-offline-recovered")
    await next_question(page)
    await expect_question(page, "noble-gases")

    row = await admin_api.only_attempt(quiz)
    saved = await admin_api.saved_answers(row["attempt_id"])
    assert saved["capital-au"] == "canberra"
    assert sorted(saved["primes"]) == ["n11", "n17", "n2"]


async def test_server_restart(browser_run: BrowserRun, admin_api: AdminApi) -> None:
    """SIGKILL the server mid-test and start it again on the same port and file:
    the page recovers and the answer given meanwhile is saved."""
    server = browser_run.server
    quiz = await admin_api.put_quiz("restart")
    token = await admin_api.invite(quiz)
    page = await browser_run.candidate(token)
    await start_test(page)
    await answer_and_next(page, "capital-au")
    await expect_question(page, "primes")

    server.kill()
    await answer(page, ["n2", "n11", "n17"])
    await expect(page.locator("#save-state")).to_have_attribute("data-state", "error")
    await shot(page, "take-server-down")
    await asyncio.sleep(2.0)
    await server.start_async()

    await expect_saved(page, within_ms=30_000)
    await next_question(page)
    await expect_question(page, "noble-gases")
    await answer(page, ["he", "ar"])
    await expect_saved(page)
    await shot(page, "take-server-restarted")

    row = await admin_api.only_attempt(quiz)
    saved = await admin_api.saved_answers(row["attempt_id"])
    assert saved["capital-au"] == "canberra"
    assert sorted(saved["primes"]) == ["n11", "n17", "n2"]
    assert sorted(saved["noble-gases"]) == ["ar", "he"]


async def test_deadline_with_page_open(browser_run: BrowserRun, admin_api: AdminApi) -> None:
    """At the deadline the open page shows the result the server computed."""
    quiz = await admin_api.put_quiz("deadline-open", duration_s=10, grace_s=1)
    token = await admin_api.invite(quiz)
    page = await browser_run.candidate(token)
    await start_test(page)
    await answer_and_next(page, "capital-au")
    await expect_question(page, "primes")
    await answer(page, RIGHT["primes"])  # saved, "next" never pressed
    await expect_saved(page)

    await expect(page.locator("#timer-box")).to_have_class(re.compile(r"\blow\b"))
    await shot(page, "take-deadline-timer-low")
    await expect(page.locator("#screen-waiting")).to_be_visible(timeout=20_000)
    await shot(page, "take-deadline-time-up")
    await expect(page.locator("#screen-result")).to_be_visible(timeout=20_000)
    await expect(page.locator("#result-score [aria-hidden]")).to_have_text("3 / 13")
    await expect(page.locator("#result-text")).to_contain_text("time ran out")
    await shot(page, "take-deadline-result")

    row = await admin_api.only_attempt(quiz)
    detail = await admin_api.detail(row["attempt_id"])
    result = detail["attempt"]["result"]
    assert result["reason"] == "deadline"
    assert result["score"] == 3.0
    assert result["finished_at"] == detail["attempt"]["deadline"]


async def test_deadline_with_page_closed(browser_run: BrowserRun, admin_api: AdminApi) -> None:
    """With the page closed the server submits the attempt at deadline + grace."""
    quiz = await admin_api.put_quiz("deadline-closed", duration_s=8, grace_s=1)
    token = await admin_api.invite(quiz)
    context = await browser_run.context()
    page = await browser_run.candidate(token, context)
    await start_test(page)
    await answer(page, RIGHT["capital-au"])
    await expect_saved(page)
    await context.close()

    row = await admin_api.only_attempt(quiz)
    attempt_id = row["attempt_id"]

    async def submitted() -> bool:
        found = await admin_api.only_attempt(quiz)
        return bool(found["status"] == "submitted")

    await admin_api.wait_for(submitted, within_s=30, what="the server to submit the attempt")
    detail = await admin_api.detail(attempt_id)
    result = detail["attempt"]["result"]
    assert result["reason"] == "deadline"
    assert result["score"] == 1.0
    assert result["finished_at"] == detail["attempt"]["deadline"]


async def test_admin_page(browser_run: BrowserRun, admin_api: AdminApi) -> None:
    """Sign in with the key (kept in memory only), watch the attempts live,
    extend, read the timeline, void with a confirmation."""
    quiz = await admin_api.put_quiz("proctor")
    token = await admin_api.invite(quiz, name="Cy Candidate")
    candidate = await browser_run.candidate(token)
    await start_test(candidate)
    await answer(candidate, RIGHT["capital-au"])
    await expect_saved(candidate)

    admin = await browser_run.page()
    await admin.goto("/admin")
    await expect(admin.get_by_label("API key")).to_be_focused()
    await admin.get_by_label("API key").fill("wrong-key-wrong-key-wrong")
    await admin.get_by_role("button", name="Sign in").click()
    await expect(admin.locator("#login-message")).to_have_text("This API key is not valid.")
    await shot(admin, "admin-01-sign-in-refused")
    await admin.get_by_label("API key").fill(browser_run.server.admin_key)
    await admin.get_by_role("button", name="Sign in").click()
    await expect(admin.locator("#quiz-panel")).to_be_visible()
    assert browser_run.server.admin_key not in admin.url
    stored = await admin.evaluate(
        "JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])"
    )
    assert browser_run.server.admin_key not in stored

    await admin.get_by_label("Choose a quiz").select_option(quiz)
    row = admin.locator("#attempts-body tr").first
    await expect(row).to_contain_text("Cy Candidate")
    await expect(row).to_contain_text("Taking the test")
    await expect(row).to_contain_text("Connected")
    await expect(row).to_contain_text("1 / 10")
    await shot(admin, "admin-02-live")

    before = (await admin_api.only_attempt(quiz))["deadline"]
    await admin.get_by_role("button", name="Manage the attempt of Cy Candidate").click()
    await expect(admin.locator("#timeline")).to_contain_text("login")
    await admin.get_by_label("Extra time (seconds)").fill("120")
    await admin.locator("#extend-reason").fill("fire alarm")
    await admin.get_by_role("button", name="Extend").click()
    await expect(admin.locator("#detail-message")).to_contain_text("Extended")
    after = (await admin_api.only_attempt(quiz))["deadline"]
    assert after == pytest.approx(before + 120)
    await expect(admin.locator("#timeline")).to_contain_text("fire alarm")
    await shot(admin, "admin-03-attempt")
    await admin.set_viewport_size({"width": 360, "height": 800})
    await shot(admin, "admin-03-attempt-360px")
    await admin.set_viewport_size({"width": 1100, "height": 850})

    await admin.locator("#void-reason").fill("test of the void button")
    await admin.get_by_role("button", name="Void…").click()
    dialog = admin.locator("#void-dialog")
    await expect(dialog).to_be_visible()
    await shot(admin, "admin-04-void-confirm")
    await dialog.get_by_role("button", name="Void the attempt").click()
    await expect(admin.locator("#detail-message")).to_contain_text("voided")
    await expect(row).to_contain_text("Voided")

    await expect(candidate.locator("#screen-stopped")).to_be_visible(timeout=20_000)
    await expect(candidate.locator("#stopped-title")).to_have_text("This attempt was cancelled")
    await shot(candidate, "take-voided")


async def test_keyboard_only(browser_run: BrowserRun, admin_api: AdminApi) -> None:
    """The test can be taken with the keyboard alone, at 360 px."""
    quiz = await admin_api.put_quiz("keyboard")
    token = await admin_api.invite(quiz)
    context = await browser_run.context(width=360, height=740)
    page = await browser_run.candidate(token, context)
    await expect(page.locator("#screen-test-intro")).to_be_visible()
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="Start the test")).to_be_focused()
    await shot(page, "take-keyboard-focus-360px")
    await page.keyboard.press("Enter")
    await expect_question(page, "capital-au")

    await page.keyboard.press("Tab")  # into the radio group
    await expect(page.locator('#q-body input[value="sydney"]')).to_be_focused()
    await page.keyboard.press("ArrowDown")  # Canberra
    await expect(page.locator('#q-body input[value="canberra"]')).to_be_checked()
    await shot(page, "take-keyboard-radio-360px")
    await page.keyboard.press("Tab")
    await expect(page.locator("#q-next")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect_question(page, "primes")

    await page.keyboard.press("Tab")
    await page.keyboard.press("Space")  # 2
    for _ in range(2):
        await page.keyboard.press("Tab")
    await page.keyboard.press("Space")  # 11
    await expect(page.locator('#q-body input[value="n11"]')).to_be_checked()
    await expect_saved(page)

    await next_question(page)
    for question_id in ("noble-gases", "great-wall", "water-boils"):
        await answer_and_next(page, question_id)
    await expect_question(page, "red-planet")
    await page.keyboard.press("Tab")
    field = page.get_by_label("Which planet is known as the Red Planet?")
    await expect(field).to_be_focused()
    await page.keyboard.type("Mars")
    # Enter in a text answer saves it but stays on the question (no accidental
    # "next"); the button moves on.
    await page.keyboard.press("Enter")
    await expect_saved(page)
    await expect_question(page, "red-planet")
    await expect(field).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(page.locator("#q-next")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect_question(page, "hamlet-author")

    row = await admin_api.only_attempt(quiz)
    saved = await admin_api.saved_answers(row["attempt_id"])
    assert saved["capital-au"] == "canberra"
    assert saved["primes"] == ["n2", "n11"]
    assert saved["red-planet"] == "Mars"


async def test_pages_and_headers(web_server: ServerProcess) -> None:
    """The pages carry a strict CSP and are revalidated; assets are versioned
    and cacheable; the API is not affected."""
    async with httpx.AsyncClient(base_url=web_server.url, timeout=10.0) as client:
        for path in ("/take", "/admin"):
            r = await client.get(path)
            assert r.status_code == 200, r.text
            assert r.headers["content-type"].startswith("text/html")
            csp = r.headers["content-security-policy"]
            assert "default-src 'self'" in csp
            assert "connect-src 'self' ws: wss:" in csp
            assert "frame-ancestors 'none'" in csp
            assert r.headers["cache-control"] == "no-cache"
            assert r.headers["x-content-type-options"] == "nosniff"
            assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', r.text)
            assert assets, r.text
            for asset in assets:
                assert re.search(r"\?v=[0-9a-f]{12}$", asset), asset
                a = await client.get(asset)
                assert a.status_code == 200, asset
                assert a.headers["cache-control"] == "no-cache"
                assert a.headers["x-content-type-options"] == "nosniff"
        r = await client.get("/static/api.js")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/javascript")
        # Imported modules are fetched by plain name: always revalidated, so a
        # deploy never mixes a new entry module with old imported ones.
        assert r.headers["cache-control"] == "no-cache"
        r = await client.get("/static/../web/take.html")
        assert r.status_code == 404
        r = await client.get("/static/nope.js")
        assert r.status_code == 404


async def test_wrong_client_clock(browser_run: BrowserRun, admin_api: AdminApi) -> None:
    """The timer follows the server's clock: a computer clock an hour behind,
    which then jumps two hours ahead, changes nothing on screen."""
    quiz = await admin_api.put_quiz("clock", duration_s=300)
    token = await admin_api.invite(quiz)
    page = await browser_run.page()
    await page.clock.install(time=time.time() - 3600)
    await page.goto(f"/take#{token}")
    await start_test(page)
    timer = page.locator("#timer")
    await expect(timer).to_have_text(re.compile(r"^(5:00|4:[45]\d)$"))
    await page.clock.set_system_time(time.time() + 3600)
    await page.wait_for_timeout(1500)
    await expect(timer).to_have_text(re.compile(r"^4:[345]\d$"))
    await expect(page.locator("#screen-question")).to_be_visible()
    await answer(page, RIGHT["capital-au"])
    await expect_saved(page)
