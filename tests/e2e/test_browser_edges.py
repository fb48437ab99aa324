"""The candidate page's finer points in a real headless Chromium: when answers
are saved, Enter in a typed answer, a decimal comma, notices for an extension,
warnings before the deadline, the finish dialog's counts, the sticky header and
the size of what can be clicked.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.async_api import Page, expect

from tests.e2e.browser_conftest import *  # noqa: F403 - the fixtures
from tests.e2e.browser_conftest import (
    RIGHT,
    TEST_ORDER,
    AdminApi,
    BrowserRun,
    answer,
    answer_and_next,
    expect_question,
    expect_saved,
    shot,
    start_test,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


async def go_to(page: Page, question_id: str) -> None:
    """Answer the test's questions right up to ``question_id``."""
    for qid in TEST_ORDER[: TEST_ORDER.index(question_id)]:
        await answer_and_next(page, qid)
    await expect_question(page, question_id)


async def pending_answers(page: Page) -> int:
    found: int = await page.evaluate(
        """() => Object.keys(localStorage)
            .filter((k) => k.startsWith('quizsession.pending.'))
            .map((k) => Object.keys(JSON.parse(localStorage.getItem(k))).length)
            .reduce((a, b) => a + b, 0)"""
    )
    return found


async def test_saves_follow_clicks_at_once_and_typing_after_a_pause(
    browser_run: BrowserRun, admin_api: AdminApi
) -> None:
    """A click is saved at once; typing is saved after a second of quiet; Enter in
    a typed answer saves it and stays on the question."""
    quiz = await admin_api.put_quiz("save-timing")
    token = await admin_api.invite(quiz)
    page = await browser_run.candidate(token)
    await start_test(page)

    started = time.monotonic()
    await answer(page, RIGHT["capital-au"])
    await expect_saved(page, within_ms=1_000)
    assert time.monotonic() - started < 1.2

    await go_to(page, "red-planet")
    field = page.get_by_label("Which planet is known as the Red Planet?")
    await field.press_sequentially("Ma", delay=50)
    await page.wait_for_timeout(300)
    assert await pending_answers(page) == 1, "typing waits for a pause"
    await expect_saved(page, within_ms=3_000)
    assert await pending_answers(page) == 0

    await field.press_sequentially("rs")
    await field.press("Enter")
    await expect_saved(page, within_ms=1_000)
    await expect_question(page, "red-planet")
    await expect(field).to_be_focused()
    row = await admin_api.only_attempt(quiz)
    saved = await admin_api.saved_answers(row["attempt_id"])
    assert saved["red-planet"] == "Mars"


async def test_decimal_comma(browser_run: BrowserRun, admin_api: AdminApi) -> None:
    """ "3,14" is 3.14; "1,234,5" is refused with a visible message and not saved."""
    quiz = await admin_api.put_quiz("decimal-comma")
    token = await admin_api.invite(quiz)
    page = await browser_run.candidate(token)
    await start_test(page)
    await go_to(page, "speed-of-light")

    field = page.locator("#q-body input")
    await field.fill("1,234,5")
    message = page.locator("#q-message")
    await expect(message).to_contain_text("more than one dot or comma")
    await expect(field).to_have_attribute("aria-invalid", "true")
    await page.locator("#q-next").click()
    await expect_question(page, "speed-of-light")
    await expect(message).to_contain_text("more than one dot or comma")
    await shot(page, "take-numeric-refused")
    await field.fill("300")
    await expect(message).to_have_text("")
    await page.locator("#q-next").click()

    await expect_question(page, "pi-digits")
    await page.locator("#q-body input").fill("3,14")
    await expect_saved(page)
    row = await admin_api.only_attempt(quiz)
    saved = await admin_api.saved_answers(row["attempt_id"])
    assert saved["pi-digits"] == 3.14
    assert saved["speed-of-light"] == 300


async def test_warnings_and_extension_notice(browser_run: BrowserRun, admin_api: AdminApi) -> None:
    """A minute before the deadline a warning is shown and said; an extension
    shows a notice by the timer; neither moves the focus; the status region is
    polite and the timer itself is not announced every second."""
    quiz = await admin_api.put_quiz("warn", duration_s=64)
    token = await admin_api.invite(quiz)
    page = await browser_run.candidate(token)
    await start_test(page)
    await go_to(page, "red-planet")
    field = page.get_by_label("Which planet is known as the Red Planet?")
    await field.focus()

    status = page.locator("#status-announce")
    assert await status.get_attribute("role") == "status"
    assert await status.get_attribute("aria-live") == "polite"
    assert await page.locator("#save-state").get_attribute("role") == "status"
    assert await page.locator("#timer").get_attribute("aria-live") in (None, "off")

    notice = page.locator("#notice-text")
    await expect(notice).to_have_text("1 minute left.", timeout=15_000)
    await expect(status).to_have_text("1 minute left.")
    await expect(field).to_be_focused()
    await shot(page, "take-warning-1-minute")
    said = await status.text_content()
    await page.wait_for_timeout(2_000)
    assert await status.text_content() == said, "the status region is quiet between events"

    row = await admin_api.only_attempt(quiz)
    await admin_api.extend(row["attempt_id"], 300, "room change")
    await expect(notice).to_have_text("Your time was extended by 5 minutes.", timeout=15_000)
    await expect(page.locator("#notice")).to_be_visible()
    await expect(status).to_have_text("Your time was extended by 5 minutes.")
    await expect(page.locator("#timer")).to_have_text(re.compile(r"^5:[45]\d$"))
    await expect(field).to_be_focused()
    await shot(page, "take-extension-notice")
    await page.set_viewport_size({"width": 360, "height": 740})
    await shot(page, "take-extension-notice-360px")


async def test_finish_dialog_counts(browser_run: BrowserRun, admin_api: AdminApi) -> None:
    """The finish dialog says how many questions were never seen or left blank."""
    quiz = await admin_api.put_quiz("finish-counts")
    token = await admin_api.invite(quiz)
    page = await browser_run.candidate(token)
    await start_test(page)
    await answer_and_next(page, "capital-au")
    await expect_question(page, "primes")  # seen, left blank

    await page.get_by_role("button", name="Finish the test now…").click()
    dialog = page.locator("#finish-dialog")
    await expect(dialog).to_be_visible()
    text = page.locator("#finish-text")
    await expect(text).to_contain_text("8 questions you have not seen yet")
    await expect(text).to_contain_text("1 question left blank")
    await shot(page, "take-finish-dialog")
    await dialog.get_by_role("button", name="Keep working").click()
    await expect(dialog).to_be_hidden()

    await answer(page, ["n2"])
    await page.get_by_role("button", name="Finish the test now…").click()
    await expect(text).to_contain_text("8 questions you have not seen yet")
    await expect(text).not_to_contain_text("blank")
    await dialog.get_by_role("button", name="Keep working").click()


async def test_sticky_header_and_target_sizes(browser_run: BrowserRun, admin_api: AdminApi) -> None:
    """A field focused from under the sticky header is scrolled clear of it, and
    everything that can be clicked is at least 24 x 24 px, at 360 px wide."""
    quiz = await admin_api.put_quiz("targets")
    token = await admin_api.invite(quiz)
    context = await browser_run.context(width=360, height=420)
    page = await browser_run.candidate(token, context)
    await start_test(page)
    await answer_and_next(page, "capital-au")
    await expect_question(page, "primes")

    small = await page.evaluate(
        """() => [...document.querySelectorAll('button, input, a, select, textarea, summary')]
            .filter((e) => e.offsetParent !== null && !e.closest('[hidden]'))
            .filter((e) => !e.classList.contains('skip-link'))
            .map((e) => ({id: e.id || e.value || e.textContent.trim(),
                          r: e.getBoundingClientRect()}))
            .filter(({r}) => r.width < 24 || r.height < 24)
            .map(({id, r}) => `${id}: ${r.width}x${r.height}`)"""
    )
    assert small == [], small

    # Scroll so that the last choice sits under the header, then move the focus
    # to it from the choice before, with the keyboard.
    inputs = page.locator("#q-body input")
    last = inputs.last
    await inputs.nth(3).evaluate("(input) => input.focus()")
    where = await page.evaluate(
        """() => {
            // Room below, as under a long question, so the page can scroll that far.
            document.body.style.paddingBottom = '2000px';
            const input = [...document.querySelectorAll('#q-body input')].pop();
            const header = document.querySelector('.topbar').getBoundingClientRect();
            const top = input.getBoundingClientRect().top + window.scrollY;
            window.scrollTo(0, top - header.height / 2);
            return {top: input.getBoundingClientRect().top, header: header.bottom};
        }"""
    )
    assert where["top"] < where["header"], f"the set-up did not hide the field: {where}"
    await page.keyboard.press("Tab")
    await expect(last).to_be_focused()
    covered = await page.evaluate(
        """() => {
            const input = document.activeElement.getBoundingClientRect();
            const header = document.querySelector('.topbar').getBoundingClientRect();
            return input.top < header.bottom;
        }"""
    )
    assert not covered, "the focused field is hidden under the sticky header"


async def test_unlock_notice_and_continue(browser_run: BrowserRun, admin_api: AdminApi) -> None:
    """An administrator's unlock stops the page with a visible notice; "Continue in
    this window" carries on in one click."""
    quiz = await admin_api.put_quiz("unlock-notice")
    token = await admin_api.invite(quiz)
    page = await browser_run.candidate(token)
    await start_test(page)
    await answer(page, RIGHT["capital-au"])
    await expect_saved(page)

    row = await admin_api.only_attempt(quiz)
    await admin_api.unlock(row["attempt_id"])
    await expect(page.locator("#screen-stopped")).to_be_visible(timeout=15_000)
    await expect(page.locator("#notice-text")).to_contain_text("Unlocked by an administrator")
    await expect(page.locator("#status-announce")).to_contain_text("Unlocked")
    await shot(page, "take-unlocked-notice")
    await page.get_by_role("button", name="Continue in this window").click()
    await expect_question(page, "capital-au")
    await expect(page.locator('#q-body input[value="canberra"]')).to_be_checked()
