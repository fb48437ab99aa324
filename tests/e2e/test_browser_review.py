"""What the candidate is told, in a real headless Chromium against a real server
process: the instructions with the warning about negative marks (before a
section and behind the "Instructions" button during it), the practice round's
"Check" feedback (announced through a status region), and the review on the
end screen as the quiz's review policy allows it. axe-core on every screen."""

from __future__ import annotations

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
    next_question,
    shot,
    start_test,
)
from testsupport.scenario import quiz_definition

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

ALL_ITEMS = [
    "score", "answers", "right_answers", "feedback", "general_feedback", "overall_feedback"
]  # fmt: skip
WARNING = "Wrong answers cost marks"
#: The quiz's overall feedback by grade band (13 / 13 is the top band).
OVERALL_FEEDBACK = [
    {"from_percent": 0, "text": "Keep practising."},
    {"from_percent": 90, "text": "Excellent work!\nYou know your general knowledge."},
]


async def put_quiz(admin_api: AdminApi, quiz_id: str, review: dict[str, list[str]] | None) -> str:
    definition = quiz_definition(quiz_id, duration_s=600, grace_s=2, practice=True)
    definition["policies"]["second_login"] = "takeover"
    definition["overall_feedback"] = OVERALL_FEEDBACK
    if review is not None:
        definition["review"] = review
    await admin_api._call("PUT", f"/admin/quizzes/{quiz_id}", definition)
    return quiz_id


async def answer_test(page: Page) -> None:
    for question_id in TEST_ORDER:
        await answer_and_next(page, question_id)
    await expect(page.locator("#screen-section-done")).to_be_visible()
    await page.get_by_role("button", name="Submit the test").click()
    await expect(page.locator("#screen-result")).to_be_visible()


async def finish_practice(page: Page) -> None:
    await page.get_by_role("button", name="Skip the rest of the practice").click()
    await expect(page.locator("#screen-test-intro")).to_be_visible()


async def test_instructions_practice_feedback_and_full_review(
    browser_run: BrowserRun, admin_api: AdminApi, axe: Axe
) -> None:
    quiz = await put_quiz(admin_api, "told", {"after_submit": ALL_ITEMS})
    page = await browser_run.candidate(await admin_api.invite(quiz))

    # Before anything starts: the quiz's instructions and the warning.
    await expect(page.locator("#screen-intro")).to_be_visible()
    intro = page.locator("#intro-instructions")
    await expect(intro).to_contain_text("10 minutes")
    await expect(intro.locator(".penalty-warning")).to_contain_text(WARNING)
    await axe.check(page, "instructions before the practice")
    await shot(page, "review-01-instructions")

    # The practice: the Instructions disclosure, and Check.
    await page.get_by_role("button", name="Start the practice round").click()
    await expect_question(page, "p-colour")
    toggle = page.get_by_role("button", name="Instructions")
    await expect(toggle).to_have_attribute("aria-expanded", "false")
    await toggle.click()
    await expect(toggle).to_have_attribute("aria-expanded", "true")
    panel = page.locator("#q-instructions")
    await expect(panel).to_be_visible()
    await expect(panel).to_contain_text("warm-up")
    await expect(panel.locator(".penalty-warning")).to_have_count(0)  # not scored
    await toggle.click()
    await expect(panel).to_be_hidden()

    feedback = page.locator("#q-feedback")
    await expect(feedback).to_have_attribute("role", "status")
    await answer(page, "b")
    await page.get_by_role("button", name="Check my answer").click()
    await expect(feedback).to_contain_text("Not right")
    await expect(feedback).to_contain_text("Green")
    await expect(feedback).to_have_attribute("data-verdict", "wrong")
    await axe.check(page, "practice feedback")
    await shot(page, "review-02-practice-check")
    await answer(page, RIGHT["p-colour"])
    await page.get_by_role("button", name="Check my answer").click()
    await expect(feedback).to_have_attribute("data-verdict", "right")
    await expect(feedback).to_contain_text("Right")
    # The next question starts without the last one's feedback.
    await next_question(page)
    await expect_question(page, "p-sky")
    await expect(feedback).to_be_empty()

    # Before the test: its instructions and the warning.
    await finish_practice(page)
    test_intro = page.locator("#test-intro-instructions")
    await expect(test_intro).to_contain_text("Ten questions")
    await expect(test_intro.locator(".penalty-warning")).to_contain_text(WARNING)
    await axe.check(page, "instructions before the test")
    await start_test(page)
    await expect(page.get_by_role("button", name="Check my answer")).to_be_hidden()
    await page.get_by_role("button", name="Instructions").click()
    await expect(page.locator("#q-instructions .penalty-warning")).to_contain_text(WARNING)
    await axe.check(page, "test question with its instructions open")

    # The end screen: everything the policy allows at once.
    await answer_test(page)
    await expect(page.locator("#result-score [aria-hidden]")).to_have_text("13 / 13")
    review = page.locator("#result-review")
    await expect(review.locator(".review-question")).to_have_count(len(TEST_ORDER))
    wall = review.locator('[data-question="great-wall"]')
    await expect(wall).to_contain_text("Right answer")
    await expect(wall).to_contain_text("A popular myth")
    await expect(wall).to_contain_text("1 out of 1")
    # The overall feedback for the grade, under the score, its line break kept.
    overall = page.get_by_role("region", name="Overall feedback")
    await expect(overall).to_be_visible()
    await expect(overall.get_by_role("heading", name="Overall feedback")).to_be_visible()
    text = page.locator("#result-overall-text")
    await expect(text).to_have_text("Excellent work!\nYou know your general knowledge.")
    assert await text.evaluate("e => e.getBoundingClientRect().height") > 30  # two lines
    await axe.check(page, "the result with the full review")
    await shot(page, "review-03-full-review")


async def test_default_policy_shows_the_score_only(
    browser_run: BrowserRun, admin_api: AdminApi, axe: Axe
) -> None:
    quiz = await put_quiz(admin_api, "scoreonly", None)
    page = await browser_run.candidate(await admin_api.invite(quiz))
    await page.get_by_role("button", name="Skip practice, go to the test").click()
    await start_test(page)
    await answer_test(page)
    await expect(page.locator("#result-score [aria-hidden]")).to_have_text("13 / 13")
    await expect(page.locator("body")).to_have_attribute("data-review", "shown")
    await expect(page.locator("#result-review")).to_be_hidden()
    await expect(page.locator(".review-question")).to_have_count(0)
    await expect(page.locator("#result-overall")).to_be_hidden()  # not in the policy yet
    await axe.check(page, "the result with the score only")


async def test_a_policy_without_the_score_shows_no_score(
    browser_run: BrowserRun, admin_api: AdminApi, axe: Axe
) -> None:
    # The overall feedback is never shown without the score (it would tell its range).
    policy = {"after_submit": ["answers", "overall_feedback"], "after_close": []}
    quiz = await put_quiz(admin_api, "noscore", policy)
    page = await browser_run.candidate(await admin_api.invite(quiz))
    await page.get_by_role("button", name="Skip practice, go to the test").click()
    await start_test(page)
    await answer_test(page)
    await expect(page.locator("body")).to_have_attribute("data-review", "shown")
    await expect(page.locator("#result-score")).to_be_hidden()
    await expect(page.locator("#result-overall")).to_be_hidden()
    review = page.locator("#result-review")
    await expect(review.locator(".review-question")).to_have_count(len(TEST_ORDER))
    await expect(review).to_contain_text("Your answer")
    await expect(review).not_to_contain_text("Right answer")
    await expect(review).not_to_contain_text("Marks")
    await axe.check(page, "the result with the answers only")
