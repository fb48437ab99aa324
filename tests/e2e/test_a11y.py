"""Accessibility of the candidate's and the administrator's pages, measured in a
real headless Chromium: axe-core (WCAG 2.0/2.1/2.2, A and AA) on every page
state, with no violation allowed, and what axe cannot see checked directly:

- status messages (the save state, time warnings, notices) are live regions and
  never move the focus;
- a dialog takes the focus when it opens and gives it back to its opener;
- the focus is always visible, and the sticky header never covers it;
- every visible interactive element is at least 24 x 24 CSS pixels.

The page's own Content-Security-Policy stays in force (axe is evaluated through
the DevTools protocol, see ``Axe`` in ``browser_conftest.py``).
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.browser_conftest import *  # noqa: F403 - the fixtures
from tests.e2e.browser_conftest import (
    RIGHT,
    TEST_ORDER,
    AdminApi,
    Axe,
    BrowserRun,
    answer,
    answer_and_next,
    expect_question,
    expect_saved,
    next_question,
    start_test,
)
from testsupport.service import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

#: One question of each kind in the demo quiz's test.
KINDS = {
    "capital-au": "single",
    "primes": "multiple",
    "great-wall": "true_false",
    "red-planet": "short_text",
    "speed-of-light": "numeric",
}

SMALL_TARGETS = """() => {
    const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, '
        + '[role=button], [tabindex]:not([tabindex="-1"])';
    const small = [];
    for (const node of document.querySelectorAll(selector)) {
        const r = node.getBoundingClientRect();
        const style = getComputedStyle(node);
        if (r.width === 0 || r.height === 0 || style.visibility === 'hidden') continue;
        if (node.closest('[hidden], [inert]')) continue;
        const dialog = node.closest('dialog');
        if (dialog && !dialog.open) continue;
        if (r.width < 24 || r.height < 24) {
            const label = node.getAttribute('aria-label') || node.textContent || '';
            small.push(`${node.tagName.toLowerCase()}#${node.id || ''}`
                + `[${label.trim().slice(0, 40)}] ${r.width.toFixed(1)}x${r.height.toFixed(1)}`);
        }
    }
    return small;
}"""

FOCUS_STATE = """() => {
    const node = document.activeElement;
    if (!node || node === document.body) return null;
    const r = node.getBoundingClientRect();
    let ring = null;
    for (let n = node, depth = 0; n && depth < 3; n = n.parentElement, depth++) {
        const s = getComputedStyle(n);
        if (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) {
            ring = `${n.tagName} outline ${s.outlineWidth}`;
            break;
        }
    }
    let covered = false;
    for (const bar of document.querySelectorAll('.topbar, .banner')) {
        const s = getComputedStyle(bar);
        if (s.position !== 'sticky' && s.position !== 'fixed') continue;
        if (bar.contains(node)) continue;
        const b = bar.getBoundingClientRect();
        if (b.height > 0 && r.top < b.bottom && r.bottom > b.top) covered = true;
    }
    const inView = r.bottom > 0 && r.top < window.innerHeight;
    const label = node.getAttribute('aria-label') || node.value || node.textContent || '';
    const name = `${node.tagName.toLowerCase()}#${node.id || ''}[${label.trim().slice(0, 30)}]`;
    return {name, ring, covered, inView, top: r.top};
}"""


async def expect_big_targets(page: Page, what: str) -> None:
    small = await page.evaluate(SMALL_TARGETS)
    assert small == [], f"{what}: targets under 24 x 24 px: {small}"


async def expect_focus_visible(page: Page, what: str, *, steps: int = 40) -> None:
    """Tab through the page: every element that takes the focus shows it, in
    view and not under the sticky header."""
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    seen: list[str] = []
    problems: list[str] = []
    for _ in range(steps):
        await page.keyboard.press("Tab")
        state: dict[str, Any] | None = await page.evaluate(FOCUS_STATE)
        if state is None:
            continue
        if state["name"] in seen[:1] and len(seen) > 1:
            break  # back at the start: every stop was checked
        seen.append(state["name"])
        if state["name"].startswith("a#[Skip"):
            continue  # the skip link shows itself when focused (checked by axe)
        if not state["ring"]:
            problems.append(f"{state['name']}: no visible focus indicator")
        if state["covered"]:
            problems.append(f"{state['name']}: under the sticky header (top {state['top']:.0f})")
        if not state["inView"]:
            problems.append(f"{state['name']}: focused out of view")
    assert len(seen) > 1, f"{what}: the keyboard reached nothing"
    assert problems == [], f"{what}:\n" + "\n".join(problems)


async def check_state(page: Page, axe: Axe, what: str) -> None:
    await axe.check(page, what)
    await expect_big_targets(page, what)


# --------------------------------------------------------------------- the candidate


async def test_candidate_page_every_screen(
    browser_run: BrowserRun, admin_api: AdminApi, axe: Axe
) -> None:
    """Invite errors, instructions, practice, each question kind, the finish
    dialog, the result: no violation; focus, targets and status messages hold."""
    page = await browser_run.candidate("this-is-not-an-invite-token")
    await expect(page.locator("#error-title")).to_have_text("This invitation link is not valid")
    await check_state(page, axe, "unknown invite")
    expired_quiz = await admin_api.put_quiz("a11y-expired")
    token = await admin_api.invite(expired_quiz, valid_until="2001-01-01")
    page = await browser_run.candidate(token)
    await expect(page.locator("#error-title")).to_have_text("This invitation has expired")
    await check_state(page, axe, "expired invite")

    quiz = await admin_api.put_quiz("a11y-take", practice=True)
    token = await admin_api.invite(quiz, name="Zo\u00eb \u00c5berg")
    context = await browser_run.context(width=1100, height=850)
    page = await browser_run.candidate(token, context)
    await expect(page.locator("#screen-intro")).to_be_visible()
    await check_state(page, axe, "instructions")
    await expect_focus_visible(page, "instructions")

    await page.get_by_role("button", name="Start the practice round").click()
    await expect_question(page, "p-colour")
    await check_state(page, axe, "practice question")
    # Answering: the save state is a polite status message; the focus stays.
    choice = page.get_by_label("Green")
    await choice.check()
    await expect(choice).to_be_focused()
    save_state = page.locator("#save-state")
    await expect(save_state).to_have_attribute("role", "status")
    await expect(save_state).to_have_attribute("aria-live", "polite")
    await expect_saved(page)
    await expect(choice).to_be_focused()
    await page.get_by_role("button", name="Skip the rest of the practice").click()
    await expect(page.locator("#screen-section-done, #screen-test-intro").first).to_be_visible()
    if await page.locator("#screen-section-done").is_visible():
        await check_state(page, axe, "practice done")
        await page.locator("#done-continue").click()
    await expect(page.locator("#screen-test-intro")).to_be_visible()
    await check_state(page, axe, "test instructions")
    await start_test(page)

    for question_id in TEST_ORDER:
        await expect_question(page, question_id)
        if question_id in KINDS:
            await check_state(page, axe, f"question {question_id} ({KINDS[question_id]})")
        if question_id == "primes":
            await expect_focus_visible(page, "a question")
            await check_finish_dialog(page, axe)
        await answer(page, RIGHT[question_id])
        await next_question(page)

    await expect(page.locator("#screen-section-done")).to_be_visible()
    await check_state(page, axe, "all answered")
    await page.get_by_role("button", name="Submit the test").click()
    await expect(page.locator("#screen-result")).to_be_visible()
    await check_state(page, axe, "result")


async def check_finish_dialog(page: Page, axe: Axe) -> None:
    """The finish dialog takes the focus and gives it back to its opener."""
    opener = page.get_by_role("button", name="Finish the test now")
    await opener.focus()
    await page.keyboard.press("Enter")
    dialog = page.locator("#finish-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_role("button", name="Keep working")).to_be_focused()
    await check_state(page, axe, "finish dialog")
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(opener).to_be_focused()
    await opener.click()
    await dialog.get_by_role("button", name="Keep working").click()
    await expect(opener).to_be_focused()


async def test_candidate_page_on_a_phone_keeps_the_focus_clear(
    browser_run: BrowserRun, admin_api: AdminApi, axe: Axe
) -> None:
    """At 360 x 480 the sticky header takes a good part of the screen: tabbing
    down a question never leaves the focus under it; targets stay 24 px."""
    quiz = await admin_api.put_quiz("a11y-phone")
    token = await admin_api.invite(quiz)
    context = await browser_run.context(width=360, height=480)
    page = await browser_run.candidate(token, context)
    await start_test(page)
    await answer_and_next(page, "capital-au")
    await expect_question(page, "primes")
    await check_state(page, axe, "question at 360 px")
    await expect_focus_visible(page, "question at 360 px")


async def test_candidate_page_busy_offline_and_notices(
    browser_run: BrowserRun, admin_api: AdminApi, axe: Axe
) -> None:
    """The busy (second tab) screen, the taken-over screen and its notice, a
    time warning, an extension notice and the offline banner: no violation; the
    warnings are status messages that leave the focus where it was."""
    quiz = await admin_api.put_quiz("a11y-notices", duration_s=303, heartbeat_s=2.0)
    token = await admin_api.invite(quiz)
    context = await browser_run.context()
    first = await browser_run.candidate(token, context)
    await start_test(first)
    field = first.locator('#q-body input[value="canberra"]')
    await field.check()
    await expect(field).to_be_focused()

    # The 5-minute warning comes as the time left crosses 5:00: shown and said,
    # the focus stays on the answer.
    notice = first.locator("#notice")
    await expect(notice).to_be_visible(timeout=15_000)
    await expect(first.locator("#notice-text")).to_contain_text("5 minutes")
    announce = first.locator("#status-announce")
    await expect(announce).to_have_attribute("role", "status")
    await expect(announce).to_contain_text("5 minutes")
    await expect(field).to_be_focused()
    await check_state(first, axe, "time warning")

    row = await admin_api.only_attempt(quiz)
    await admin_api.extend(row["attempt_id"], 120, "fire alarm")
    await expect(first.locator("#notice-text")).to_contain_text("extended", timeout=15_000)
    await expect(field).to_be_focused()
    await check_state(first, axe, "extension notice")

    second = await browser_run.candidate(token, context)
    await expect(second.locator("#screen-busy")).to_be_visible()
    await check_state(second, axe, "busy (second tab)")
    await second.get_by_role("button", name="Take over in this window").click()
    await expect_question(second, "capital-au")
    await expect(first.locator("#screen-stopped")).to_be_visible(timeout=20_000)
    await expect(first.locator("#notice")).to_be_visible()
    await check_state(first, axe, "taken over")

    await context.set_offline(True)
    await answer(second, "sydney")
    await expect(second.locator("#banner")).to_be_visible(timeout=20_000)
    await check_state(second, axe, "offline banner")
    await expect_focus_visible(second, "offline")
    await context.set_offline(False)
    await expect(second.locator("#banner")).to_be_hidden(timeout=20_000)


# ---------------------------------------------------------------- the administrator


async def sign_in(page: Page, key: str) -> None:
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#quiz-panel")).to_be_visible()


async def submit_by_api(server: ServerProcess, token: str, answers: int) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=15.0) as client:
        r = await client.post("/sessions", json={"invite_token": token})
        assert r.status_code == 201, r.text
        opened = r.json()
        path = f"/sessions/{opened['session_id']}"
        auth = {"Authorization": f"Bearer {opened['session_token']}"}
        r = await client.post(f"{path}/start", json={"section": "test"}, headers=auth)
        assert r.status_code == 200, r.text
        for n, qid in enumerate(TEST_ORDER[:answers]):
            r = await client.get(f"{path}/question", headers=auth)
            assert r.status_code == 200, r.text
            body = {"question_id": qid, "answer": RIGHT[qid], "op_id": f"a11y-{n}"}
            r = await client.put(f"{path}/progress", json=body, headers=auth)
            assert r.status_code == 200, r.text
        r = await client.post(f"{path}/complete", headers=auth)
        assert r.status_code == 200, r.text


async def test_admin_page_every_state(
    browser_run: BrowserRun, admin_api: AdminApi, axe: Axe
) -> None:
    """Sign-in (and refused), empty states, the list (wide and as cards), the
    detail panel with disabled actions, the void dialog: no violation; focus,
    targets and the dialog's focus hold."""
    server = browser_run.server
    empty_quiz = await admin_api.put_quiz("a11y-admin-empty")
    quiz = await admin_api.put_quiz("a11y-admin")
    await submit_by_api(server, await admin_api.invite(quiz, name="Bea Smith"), answers=10)
    await admin_api.invite(quiz, name="Ada Lovelace")
    running = await browser_run.candidate(await admin_api.invite(quiz, name="Cy Candidate"))
    await start_test(running)

    page = await browser_run.page()
    await page.goto("/admin")
    await check_state(page, axe, "admin sign-in")
    await expect_focus_visible(page, "admin sign-in")
    await page.get_by_label("API key").fill("wrong-key-wrong-key-wrong")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#login-message")).to_have_text("This API key is not valid.")
    await check_state(page, axe, "admin sign-in refused")
    await sign_in(page, server.admin_key)
    await check_state(page, axe, "admin quiz choice")

    await page.get_by_label("Choose a quiz").select_option(empty_quiz)
    await expect(page.locator("#attempts-empty")).to_have_text("No attempts yet.")
    await expect(page.locator("#results-empty")).to_be_visible()
    await check_state(page, axe, "admin empty quiz")

    await page.get_by_label("Choose a quiz").select_option(quiz)
    await expect(page.locator("#attempts-body tr")).to_have_count(2)  # Ada never logged in
    await expect(page.locator("#attempts-count")).to_have_attribute("role", "status")
    await check_state(page, axe, "admin list")
    await expect_focus_visible(page, "admin list", steps=60)
    await page.get_by_label("Search by name").fill("nobody at all")
    await expect(page.locator("#attempts-empty")).to_contain_text("No attempt matches")
    await check_state(page, axe, "admin list, nothing matches")
    await page.get_by_label("Search by name").fill("")
    await page.set_viewport_size({"width": 360, "height": 800})
    await check_state(page, axe, "admin list as cards (360 px)")
    await page.set_viewport_size({"width": 1100, "height": 850})

    await page.get_by_role("button", name="Manage the attempt of Cy Candidate").click()
    await expect(page.locator("#detail-title")).to_be_focused()
    await expect(page.locator("#timeline li").first).to_be_visible()
    await expect(page.locator("#reopen-button")).to_be_disabled()
    await check_state(page, axe, "admin detail (open attempt)")

    opener = page.get_by_role("button", name="Void…")
    await opener.focus()
    await page.keyboard.press("Enter")
    dialog = page.locator("#void-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    await check_state(page, axe, "admin void dialog")
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(opener).to_be_focused()
    await opener.click()
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(opener).to_be_focused()

    await page.get_by_role("button", name="Manage the attempt of Bea Smith").click()
    await expect(page.locator("#extend-button")).to_be_disabled()
    await expect(page.locator("#extend-why")).to_be_visible()
    await check_state(page, axe, "admin detail (submitted attempt, actions disabled)")
    await page.set_viewport_size({"width": 360, "height": 800})
    await check_state(page, axe, "admin detail at 360 px")
    await expect(page.locator("#detail-message")).to_have_attribute("role", "status")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_label("API key")).to_be_focused()
    await check_state(page, axe, "admin signed out")
    assert re.search(r"/admin$", page.url), page.url
