"""Free navigation in a real headless Chromium against a real server process:
the panel of questions, jumping and going back, a flag, the summary before
submitting, and the submit. axe-core checks the panel and the summary (WCAG 2.2
A/AA); focus moves to the question's heading on navigation, and a flag's status
message is announced without moving the focus."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Locator, Page, expect

from tests.e2e.browser_conftest import *  # noqa: F403 - the fixtures
from tests.e2e.browser_conftest import (
    RIGHT,
    TEST_ORDER,
    AdminApi,
    Axe,
    BrowserRun,
    answer,
    expect_question,
    expect_saved,
    shot,
    start_test,
)
from testsupport.scenario import quiz_definition

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


async def put_free_quiz(admin_api: AdminApi, quiz_id: str) -> str:
    definition = quiz_definition(quiz_id, duration_s=900, grace_s=2, second_login="takeover")
    definition["navigation"] = "free"
    await admin_api._call("PUT", f"/admin/quizzes/{quiz_id}", definition)
    return quiz_id


def panel_button(page: Page, label: str) -> Locator:
    return page.get_by_role("navigation", name="Questions").get_by_role(
        "button", name=label, exact=True
    )


async def expect_heading_focused(page: Page) -> None:
    await expect(page.locator("#q-heading")).to_be_focused()


async def test_free_navigation_panel_flags_and_summary(
    browser_run: BrowserRun, admin_api: AdminApi, axe: Axe
) -> None:
    quiz = await put_free_quiz(admin_api, "free-nav")
    page = await browser_run.candidate(await admin_api.invite(quiz))
    await start_test(page)  # the first question of the plan opens
    panel = page.get_by_role("navigation", name="Questions")
    await expect(panel.get_by_role("button")).to_have_count(len(TEST_ORDER))
    first = panel_button(page, "Question 1, not answered")
    await expect(first).to_have_attribute("aria-current", "step")
    await expect(panel_button(page, "Question 3, not seen yet")).to_be_visible()

    # Answer question 1, then jump to question 3.
    await answer(page, RIGHT[TEST_ORDER[0]])
    await expect_saved(page)
    await panel_button(page, "Question 3, not seen yet").click()
    await expect_question(page, TEST_ORDER[2])
    await expect_heading_focused(page)
    await expect(page.locator("#q-heading")).to_have_text("Question 3 of 10")
    await expect(panel_button(page, "Question 1, answered")).to_be_visible()
    await expect(panel_button(page, "Question 3, not answered")).to_have_attribute(
        "aria-current", "step"
    )

    # Previous goes to question 2; flag it: the status is said, focus stays.
    await page.get_by_role("button", name="Previous question").click()
    await expect_question(page, TEST_ORDER[1])
    await expect_heading_focused(page)
    flag = page.get_by_role("button", name="Flag for review")
    await expect(flag).to_have_attribute("aria-pressed", "false")
    await flag.click()
    await expect(flag).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("#status-announce")).to_have_text("Question 2 flagged for review.")
    await expect(flag).to_be_focused()
    await expect(panel_button(page, "Question 2, not answered, flagged")).to_be_visible()
    await axe.check(page, "free navigation: the panel with a flag")
    await shot(page, "take-nav-01-panel")

    # Back to question 1: its answer is still there.
    await page.get_by_role("button", name="Previous question").click()
    await expect_question(page, TEST_ORDER[0])
    await expect(page.locator(f'#q-body input[value="{RIGHT[TEST_ORDER[0]]}"]')).to_be_checked()

    # The summary lists the unanswered and flagged questions.
    await page.get_by_role("button", name="Finish the test now…").click()
    await expect(page.locator("#screen-summary")).to_be_visible()
    await expect(page.locator("#summary-title")).to_be_focused()
    await expect(page.locator("#summary-counts")).to_have_text(
        "1 question answered, 9 not answered, 1 flagged for review."
    )
    rows = page.locator("#summary-rows tr")
    await expect(rows).to_have_count(len(TEST_ORDER))
    await expect(rows.nth(0)).to_contain_text("Answered")
    await expect(rows.nth(1)).to_contain_text("Not answered")
    await expect(rows.nth(1)).to_contain_text("Flagged")
    await expect(rows.nth(3)).to_contain_text("Not seen yet")
    await axe.check(page, "free navigation: the summary")
    await shot(page, "take-nav-02-summary")

    # A link back to question 2, answer it, then submit from the summary.
    await page.get_by_role("button", name="Go to Question 2, not answered, flagged").click()
    await expect_question(page, TEST_ORDER[1])
    await expect_heading_focused(page)
    await answer(page, RIGHT[TEST_ORDER[1]])
    await expect_saved(page)
    await page.get_by_role("button", name="Finish the test now…").click()
    await expect(page.locator("#summary-counts")).to_have_text(
        "2 questions answered, 8 not answered, 1 flagged for review."
    )
    await page.get_by_role("button", name="Submit all and finish").click()
    dialog = page.locator("#finish-dialog")
    await expect(dialog).to_be_visible()
    await expect(page.locator("#finish-text")).to_have_text(
        re.compile(r"7 questions you have not seen yet and 1 question left blank")
    )
    await page.locator("#finish-confirm").click()
    await expect(page.locator("#screen-result")).to_be_visible()

    row = await admin_api.only_attempt(quiz)
    assert row["status"] == "submitted"
    events = await admin_api.events(row["attempt_id"])
    delivered = [e["data"]["question_id"] for e in events if e["type"] == "question_delivered"]
    assert delivered == [TEST_ORDER[0], TEST_ORDER[2], TEST_ORDER[1]]
    flags = [e["data"] for e in events if e["type"] == "question_flagged"]
    assert [(f["question_id"], f["flagged"]) for f in flags] == [(TEST_ORDER[1], True)]
    saved = await admin_api.saved_answers(row["attempt_id"])
    assert saved[TEST_ORDER[0]] == RIGHT[TEST_ORDER[0]]
    assert sorted(saved[TEST_ORDER[1]]) == sorted(RIGHT[TEST_ORDER[1]])


async def test_an_emptied_answer_is_cleared(browser_run: BrowserRun, admin_api: AdminApi) -> None:
    """A candidate who empties a text field takes the answer back (a blank costs
    no penalty): the page saves ``null``, the panel says "not answered" again and
    a reload shows the field empty. A number that cannot be read ("3x") changes
    nothing saved."""
    quiz = await put_free_quiz(admin_api, "free-clear")
    page = await browser_run.candidate(await admin_api.invite(quiz))
    await start_test(page)
    attempt_id = (await admin_api.only_attempt(quiz))["attempt_id"]

    async def saved_is(question_id: str, value: object) -> None:
        async def check() -> bool:
            answers = await admin_api.saved_answers(attempt_id)
            return question_id in answers and answers[question_id] == value

        await admin_api.wait_for(check, within_s=15, what=f"{question_id} saved as {value!r}")

    # A short text answer, then emptied.
    text_at = TEST_ORDER.index("red-planet") + 1
    await panel_button(page, f"Question {text_at}, not seen yet").click()
    await expect_question(page, "red-planet")
    field = page.locator("#q-body input")
    await field.fill("Mars")
    await saved_is("red-planet", "Mars")
    await expect_saved(page)
    await expect(panel_button(page, f"Question {text_at}, answered")).to_be_visible()
    await field.fill("   ")
    await saved_is("red-planet", None)
    await expect_saved(page)
    await expect(panel_button(page, f"Question {text_at}, not answered")).to_be_visible()

    # A number that cannot be read yet does not clear the one saved.
    number_at = TEST_ORDER.index("speed-of-light") + 1
    await panel_button(page, f"Question {number_at}, not seen yet").click()
    await expect_question(page, "speed-of-light")
    number = page.locator("#q-body input")
    await number.fill("300")
    await saved_is("speed-of-light", 300)
    await number.fill("3x")
    await expect(page.locator("#q-message")).not_to_have_text("")
    # Past the typing pause: nothing was sent, the saved 300 stands.
    await page.wait_for_timeout(2_500)
    await expect_saved(page)
    assert (await admin_api.saved_answers(attempt_id))["speed-of-light"] == 300
    await number.fill("")
    await saved_is("speed-of-light", None)

    await page.reload()
    await expect_question(page, "speed-of-light")
    await expect(page.locator("#q-body input")).to_have_value("")
    await panel_button(page, f"Question {text_at}, not answered").click()
    await expect_question(page, "red-planet")
    await expect(page.locator("#q-body input")).to_have_value("")
    answers = await admin_api.saved_answers(attempt_id)
    assert answers["red-planet"] is None
    assert answers["speed-of-light"] is None
