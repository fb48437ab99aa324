"""The candidate's page with one question of every kind (``testsupport/sample_kinds.py``),
in a real headless Chromium: each kind answered through its control as a person
would (the ordering question with the keyboard only), the answers the server
stored checked through the administrator API, and axe-core (WCAG 2.x A/AA) on
every question screen.

The sample's image is a data: URL, and any https image would be answered by the
browser itself (a route), so no request leaves the machine.
"""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.browser_conftest import *  # noqa: F403 - the fixtures
from tests.e2e.browser_conftest import AdminApi, Axe, BrowserRun, expect_question, expect_saved
from tests.e2e.exam_pages import EXPECTED, answer_kind, enter_free_test, serve_images_locally
from tests.e2e.test_a11y import expect_big_targets
from testsupport.sample_kinds import sample_quiz

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


async def test_every_kind_answered_through_the_page(
    browser_run: BrowserRun, admin_api: AdminApi, axe: Axe
) -> None:
    quiz = sample_quiz()
    await admin_api._call("PUT", f"/admin/quizzes/{quiz['id']}", quiz)
    token = await admin_api.invite(quiz["id"])
    context = await browser_run.context()
    await serve_images_locally(context)
    page = await browser_run.candidate(token, context)
    await expect(page.locator("#screen-test-intro")).to_be_visible()
    # Free navigation: the test may open on its summary; the information first.
    await enter_free_test(page)

    questions = quiz["test"]["questions"]
    for question in questions:
        kind = question["kind"]
        await expect_question(page, question["id"])
        body = page.locator("#q-body")
        await expect(body.locator("[data-kind]")).to_have_attribute("data-kind", kind)
        for image in question.get("images", []):
            img = body.locator(f'img[src="{image["url"]}"]')
            await expect(img).to_have_attribute("alt", image["alt"])
        if kind == "description":
            await expect(page.locator("#q-heading")).to_have_text("Information")
            await expect(page.locator("#q-next")).to_have_text("Continue")
            await expect(body.locator("input, select, textarea")).to_have_count(0)
            await axe.check(page, "information screen")
        else:
            await axe.check(page, f"question {question['id']} ({kind})")
            await expect_big_targets(page, f"question {question['id']} ({kind})")
            await answer_kind(page, kind, axe)
            await axe.check(page, f"question {question['id']} ({kind}), answered")
            await expect_saved(page)
        if question is not questions[-1]:
            await page.locator("#q-next").click()

    row = await admin_api.only_attempt(quiz["id"])
    saved = await admin_api.saved_answers(row["attempt_id"])
    assert saved == EXPECTED


async def test_information_in_sequential_navigation(
    browser_run: BrowserRun, admin_api: AdminApi, axe: Axe
) -> None:
    """In sequential navigation the information screen says "Continue" and goes on
    to the next question; it is not numbered."""
    quiz = sample_quiz()
    quiz["id"] = "sample-kinds-sequential"
    quiz["navigation"] = "sequential"
    await admin_api._call("PUT", f"/admin/quizzes/{quiz['id']}", quiz)
    token = await admin_api.invite(quiz["id"])
    context = await browser_run.context()
    await serve_images_locally(context)
    page = await browser_run.candidate(token, context)
    await page.get_by_role("button", name="Start the test").click()
    await expect_question(page, "k-description")
    await expect(page.locator("#q-heading")).to_have_text("Information")
    await expect(page.locator("#q-marks")).to_have_text("")
    await axe.check(page, "information screen, sequential")
    await page.get_by_role("button", name="Continue").click()
    await expect_question(page, "k-single")
    await expect(page.locator("#q-heading")).to_have_text("Question 1 of 9")
