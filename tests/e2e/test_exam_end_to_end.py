"""One real exam, end to end, in a real headless Chromium against a real server
process: the teacher's quiz of every question kind (``examples/every_kind.yaml``:
free navigation, a practice round, instructions with a question that takes
marks off, a review that shows everything after the submit).

The candidate reads the instructions, practises with "Check my answer", starts
the test, answers every kind through the page, flags a question, goes back to an
earlier one and changes its answer, reads the summary (the unanswered and the
flagged ones), answers the last one from there and submits: the review shows
everything, the score pending because of the essay. The administrator grades the
essay in the admin page's Grading panel and reads the attempt's timeline; the
candidate reloads and the review shows the final score, the overall feedback for
that grade (pending until then) and the grader's comment.
Then the teacher fixes an answer key in a new version and regrades (API): the
regrade and the results report show the old score and the new one.

axe-core (WCAG 2.2 A/AA) runs on every screen visited.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.e2e.browser_conftest import *  # noqa: F403 - the fixtures
from tests.e2e.browser_conftest import (
    AdminApi,
    Axe,
    BrowserRun,
    answer,
    expect_question,
    expect_saved,
    shot,
)
from tests.e2e.exam_pages import (
    ESSAY,
    EXPECTED,
    admin_sign_in,
    answer_kind,
    enter_free_test,
    order_with_keyboard,
    panel_button,
)
from testsupport.sample_kinds import every_kind_quiz
from testsupport.service import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

CANDIDATE = "Cleo Candidate"
WARNING = "Wrong answers cost marks"
#: The short answer the first key refuses and the fixed key accepts.
SHORT_ANSWER = "Paris, France"
COMMENT = "Clear and right.\nName the effect: Rayleigh scattering."
MAX_SCORE = 21
#: Every automatic mark but the short answer's (0 with the first key).
AUTO_SCORE = 15
ESSAY_POINTS = 4


def question(quiz: dict[str, Any], question_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(q for q in quiz["test"]["questions"] if q["id"] == question_id)
    return found


async def practise(page: Page, axe: Axe) -> None:
    """The practice round: a wrong answer, then the right one, checked at once."""
    await page.get_by_role("button", name="Start the practice round").click()
    await expect_question(page, "p-colour")
    feedback = page.locator("#q-feedback")
    check = page.get_by_role("button", name="Check my answer")
    await answer(page, "purple")
    await check.click()
    await expect(feedback).to_have_attribute("data-verdict", "wrong")
    await expect(feedback).to_contain_text("Green")
    await axe.check(page, "practice: a wrong answer checked")
    await answer(page, "green")
    await check.click()
    await expect(feedback).to_have_attribute("data-verdict", "right")
    await page.locator("#q-next").click()
    await expect_question(page, "p-planets")
    await order_with_keyboard(page, ["mercury", "venus", "earth"])
    await check.click()
    await expect(feedback).to_have_attribute("data-verdict", "right")
    await axe.check(page, "practice: the ordering question checked")
    await expect(page.locator("#q-next")).to_have_text("Go to the summary")
    await page.locator("#q-next").click()
    await expect(page.locator("#summary-title")).to_have_text("Summary of the practice round")
    await page.get_by_role("button", name="Finish the practice round").click()
    await expect(page.locator("#screen-test-intro")).to_be_visible()


async def answer_the_test(page: Page, quiz: dict[str, Any], axe: Axe) -> None:
    """Every question in order; the single choice wrong at first, the short
    answer one the key does not accept yet, the numeric one flagged and the
    cloze left for later."""
    questions = quiz["test"]["questions"]
    for q in questions:
        await expect_question(page, q["id"])
        kind = q["kind"]
        if kind == "description":
            await expect(page.locator("#q-heading")).to_have_text("Information")
            image = q["images"][0]
            await expect(page.locator("#q-body img")).to_have_attribute("alt", image["alt"])
            await axe.check(page, "the information screen")
        elif q["id"] == "k-single":
            await answer(page, "a")
        elif q["id"] == "k-short_text":
            await answer(page, SHORT_ANSWER)
        elif q["id"] == "k-numeric":
            await answer_kind(page, kind, axe)
            flag = page.get_by_role("button", name="Flag for review")
            await flag.click()
            await expect(flag).to_have_attribute("aria-pressed", "true")
            await expect(page.locator("#status-announce")).to_have_text(
                "Question 5 flagged for review."
            )
        elif q["id"] != "k-cloze":
            await answer_kind(page, kind, axe)
        if kind != "description":
            await axe.check(page, f"question {q['id']} ({kind})")
            await expect_saved(page)
        if q is not questions[-1]:
            await page.locator("#q-next").click()


async def summary_then_submit(page: Page, axe: Axe) -> None:
    """The summary lists the blank and the flagged questions; the blank one is
    answered from there, then the test is submitted."""
    await page.get_by_role("button", name="Finish the test now…").click()
    await expect(page.locator("#screen-summary")).to_be_visible()
    await expect(page.locator("#summary-counts")).to_have_text(
        "8 questions answered, 1 not answered, 1 flagged for review."
    )
    rows = page.locator("#summary-rows tr")
    await expect(rows.filter(has_text="Not answered")).to_have_count(1)
    await expect(page.locator('#summary-rows tr[data-question="k-cloze"]')).to_contain_text(
        "Not answered"
    )
    await expect(page.locator('#summary-rows tr[data-question="k-numeric"]')).to_contain_text(
        "Flagged"
    )
    await axe.check(page, "the summary")
    await shot(page, "exam-01-summary")

    await page.get_by_role("button", name="Go to Question 9, not answered").click()
    await expect_question(page, "k-cloze")
    await answer_kind(page, "cloze", axe)
    await expect_saved(page)
    await page.get_by_role("button", name="Finish the test now…").click()
    await expect(page.locator("#summary-counts")).to_have_text(
        "9 questions answered, 0 not answered, 1 flagged for review."
    )
    await page.get_by_role("button", name="Submit all and finish").click()
    await expect(page.locator("#finish-dialog")).to_be_visible()
    await axe.check(page, "the finish dialog")
    await page.locator("#finish-confirm").click()
    await expect(page.locator("#screen-result")).to_be_visible()


async def grade_the_essay(page: Page, server: ServerProcess, quiz_id: str, axe: Axe) -> None:
    """The administrator's page: the attempt is pending; the essay graded in the
    Grading panel; the attempt's timeline reads well."""
    await admin_sign_in(page, server, quiz_id)
    row = page.locator("#attempts-body tr", has_text=CANDIDATE)
    await expect(row).to_contain_text("Submitted, score pending")
    await expect(row).to_contain_text(f"pending ({AUTO_SCORE} / {MAX_SCORE} so far)")
    await expect(page.locator("#grading-item-title")).to_contain_text(f"Answer 1 of 1: {CANDIDATE}")
    await expect(page.locator("#grading-info")).to_have_text("Mention Rayleigh scattering.")
    assert await page.locator("#grading-answer").inner_text() == ESSAY
    await expect(page.locator("#grading-words")).to_have_text("11 words (limit 200)")
    await axe.check(page, "the grading panel")
    await page.get_by_label("Points").fill(str(ESSAY_POINTS))
    await page.get_by_label("Comment for the candidate (optional)").fill(COMMENT)
    await page.get_by_role("button", name="Save and next").click()
    status = page.locator("#grading-message")
    await expect(status).to_contain_text(f"Saved {ESSAY_POINTS} points for {CANDIDATE}.")
    final = AUTO_SCORE + ESSAY_POINTS
    await expect(status).to_contain_text(f"The attempt's score: {final} of {MAX_SCORE}.")
    await expect(page.locator("#grading-empty")).to_have_text("No answers wait for a grade.")
    await expect(row.filter(has_text="score pending")).to_have_count(0)
    await shot(page, "exam-03-graded")

    # The attempt's timeline: the answers of the new kinds in words.
    await page.get_by_role("button", name=f"Manage the attempt of {CANDIDATE}").click()
    timeline = page.locator("#timeline")
    for line in (
        "response k-matching {France: Paris; Germany: Berlin; Italy: Rome} 3",
        "response k-ordering [1, 2, 3, 4] 4",
        "response k-cloze {gap 1: France; gap 2: 42; gap 3: Blue} 3",
        "response k-essay Sunlight is scattered by the air. Blue light scatters the most.",
        f"grade k-essay {ESSAY_POINTS} by",
    ):
        await expect(timeline).to_contain_text(line)
    await axe.check(page, "the attempt's detail and timeline")
    await shot(page, "exam-04-timeline")


async def expect_review(page: Page, quiz: dict[str, Any], score: str) -> None:
    await expect(page.locator("#result-score [aria-hidden]")).to_have_text(score)
    review = page.locator("#result-review")
    await expect(review.locator(".review-question")).to_have_count(len(quiz["test"]["questions"]))
    single = review.locator('[data-question="k-single"]')
    await expect(single).to_contain_text("1 out of 1")  # the changed answer counts
    short = review.locator('[data-question="k-short_text"]')
    await expect(short).to_contain_text(SHORT_ANSWER)
    await expect(short).to_contain_text("Right answer")
    await expect(short).to_contain_text(question(quiz, "k-short_text")["feedback"])


async def expect_report(
    run: BrowserRun, server: ServerProcess, quiz_id: str, scores: tuple[int, int], axe: Axe
) -> None:
    """The HTML report's row of the candidate: the score now and before the regrade."""
    context = await run.browser.new_context(
        base_url=server.url, extra_http_headers=server.admin_headers
    )
    run.contexts.append(context)
    page = await run.page(context)
    response = await page.goto(f"/admin/quizzes/{quiz_id}/report.html")
    assert response is not None
    assert response.status == 200
    row = page.locator("#results tbody tr", has_text=CANDIDATE)
    cells = await row.locator("th, td").all_inner_texts()
    now, before = scores
    assert (cells[5], cells[12]) == (str(now), str(before)), cells
    await axe.check(page, "the HTML report after the regrade")


async def test_an_exam_of_every_kind_from_instructions_to_regrade(
    browser_run: BrowserRun, admin_api: AdminApi, web_server: ServerProcess, axe: Axe
) -> None:
    quiz = every_kind_quiz()
    quiz_id = quiz["id"]
    await admin_api._call("PUT", f"/admin/quizzes/{quiz_id}", quiz)
    page = await browser_run.candidate(await admin_api.invite(quiz_id, CANDIDATE))

    # The instructions, with the warning about negative marks.
    await expect(page.locator("#screen-intro")).to_be_visible()
    intro = page.locator("#intro-instructions")
    await expect(intro).to_contain_text("30 minutes")
    await expect(intro.locator(".penalty-warning")).to_contain_text(WARNING)
    await axe.check(page, "the instructions")
    await practise(page, axe)
    await expect(page.locator("#test-intro-instructions")).to_contain_text("Nine questions")
    await axe.check(page, "the test's instructions")

    # The test, every kind through the page; then back to question 1 to change it.
    await enter_free_test(page)
    await answer_the_test(page, quiz, axe)
    await panel_button(page, "Question 1, answered").click()
    await expect_question(page, "k-single")
    await expect(page.locator('#q-body input[value="a"]')).to_be_checked()
    await answer(page, "b")
    await expect_saved(page)
    await summary_then_submit(page, axe)

    # The review: everything, the score pending because of the essay.
    await expect_review(page, quiz, f"Pending / {MAX_SCORE}")
    essay = page.locator('#result-review [data-question="k-essay"]')
    await expect(essay).to_contain_text(f"Pending (out of {question(quiz, 'k-essay')['points']})")
    assert await essay.locator('[data-line="answer"]').inner_text() == ESSAY  # lines kept
    overall = page.get_by_role("region", name="Overall feedback")
    await expect(overall).to_be_visible()
    await expect(overall).to_have_attribute("data-pending", "true")
    await expect(overall).to_contain_text("Pending")
    await axe.check(page, "the review, score pending")
    await shot(page, "exam-02-review-pending")

    # The administrator grades the essay.
    admin_page = await browser_run.page()
    await grade_the_essay(admin_page, web_server, quiz_id, axe)

    # The candidate reloads: the final score and the grader's comment.
    final = AUTO_SCORE + ESSAY_POINTS
    await page.reload()
    await expect_review(page, quiz, f"{final} / {MAX_SCORE}")
    await expect(essay).to_contain_text(f"{ESSAY_POINTS} out of 5")
    comment = essay.locator('[data-line="comment"]')
    assert await comment.inner_text() == COMMENT
    # 19 of 21 (90 %): the band from 85 %, its line break kept.
    await expect(overall).to_have_attribute("data-pending", "false")
    band = quiz["overall_feedback"][0]
    assert band["from_percent"] == 85
    text = await page.locator("#result-overall-text").inner_text()
    assert text == band["text"].strip()
    await axe.check(page, "the review, graded")
    await shot(page, "exam-05-review-graded")

    # The teacher accepts the short answer too (version 2) and regrades.
    question(quiz, "k-short_text")["accepted"] = ["Paris", SHORT_ANSWER]
    stored = await admin_api._call("PUT", f"/admin/quizzes/{quiz_id}", quiz)
    assert stored["version"] == 2
    report = await admin_api._call("POST", f"/admin/quizzes/{quiz_id}/regrade", {})
    (item,) = report["attempts"]
    assert (item["old_score"], item["new_score"], item["changes"]) == (
        final,
        final + 1,
        {"k-short_text": [0, 1]},
    )
    results = await admin_api._call("GET", f"/admin/quizzes/{quiz_id}/results?format=json")
    (row,) = results["results"]
    assert (row["score_before_regrade"], row["score"], row["regraded_version"]) == (
        final,
        final + 1,
        2,
    )
    saved = await admin_api.saved_answers(row["attempt_id"])
    practice = {"p-colour": "green", "p-planets": ["mercury", "venus", "earth"]}
    assert saved == {**practice, **EXPECTED, "k-short_text": SHORT_ANSWER}
    await expect_report(browser_run, web_server, quiz_id, (final + 1, final), axe)
    await page.reload()
    await expect(page.locator("#result-score [aria-hidden]")).to_have_text(
        re.compile(rf"^{final + 1} / {MAX_SCORE}$")
    )
