"""The candidate's page with one question of every kind (``testsupport/sample_kinds.py``),
in a real headless Chromium: each kind answered through its control as a person
would (the ordering question with the keyboard only), the answers the server
stored checked through the administrator API, and axe-core (WCAG 2.x A/AA) on
every question screen.

The sample's image URLs are answered by the browser itself (a route), so no
request leaves the machine.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, Route, expect

from tests.e2e.browser_conftest import *  # noqa: F403 - the fixtures
from tests.e2e.browser_conftest import (
    AdminApi,
    Axe,
    BrowserRun,
    answer,
    expect_question,
    expect_saved,
)
from tests.e2e.test_a11y import expect_big_targets
from testsupport.sample_kinds import sample_quiz

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

#: A 1 x 1 transparent PNG, served for every https image of the sample.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)

ESSAY = "Sunlight is scattered by the air.\nBlue light scatters the most."

#: What the page should have stored for each question answered below.
EXPECTED: dict[str, Any] = {
    "k-single": "b",
    "k-multiple": ["a", "b"],
    "k-true_false": True,
    "k-short_text": "Paris",
    "k-numeric": 3.14,
    "k-essay": ESSAY,
    "k-matching": {"fr": "Paris", "de": "Berlin", "it": "Rome"},
    "k-ordering": ["one", "two", "three", "four"],
    "k-cloze": {"country": "fr", "product": 42, "colour": "Blue"},
}


async def serve_images_locally(context: BrowserContext) -> None:
    async def fulfil(route: Route) -> None:
        await route.fulfill(status=200, content_type="image/png", body=PIXEL)

    await context.route("https://**/*", fulfil)


async def shown_order(page: Page) -> list[str]:
    items: list[str] = await page.locator("#q-body li[data-item]").evaluate_all(
        "(rows) => rows.map((row) => row.dataset.item)"
    )
    return items


async def order_with_keyboard(page: Page, right: list[str]) -> None:
    """Put the items in order with "Move ... up" and Enter, the focus never moved
    by hand between presses of the same button."""
    body = page.locator("#q-body")
    status = body.locator("[role=status]")
    moved = False
    for target, item_id in enumerate(right):
        order = await shown_order(page)
        at = order.index(item_id)
        if at == target:
            continue
        text = await body.locator(f'li[data-item="{item_id}"]').get_attribute("data-text")
        button = body.get_by_role("button", name=f"Move {text} up", exact=True)
        await button.focus()
        for _ in range(at - target):
            await page.keyboard.press("Enter")
        await expect(button).to_be_focused()
        await expect(status).to_have_text(f"{text} moved to position {target + 1} of {len(right)}.")
        moved = True
    if not moved:
        await body.get_by_role("button", name="Keep this order").focus()
        await page.keyboard.press("Enter")
    assert await shown_order(page) == right


async def answer_kind(page: Page, kind: str, axe: Axe) -> None:
    body = page.locator("#q-body")
    if kind in ("single", "multiple", "true_false", "short_text", "numeric"):
        value = {"short_text": "Paris", "numeric": "3,14"}.get(kind, EXPECTED[f"k-{kind}"])
        await answer(page, value)
    elif kind == "essay":
        field = body.get_by_label("Explain why the sky is blue.")
        await expect(field).to_have_value("The sky is blue because")
        await field.fill(" ".join(["word"] * 201))
        await expect(body.locator(".word-count")).to_have_text("201 of 200 words")
        await expect(body.locator(".word-warning")).to_contain_text("Over the word limit by 1 word")
        await expect(body.get_by_role("status")).to_have_text(
            "Over the word limit: 201 of 200 words."
        )
        await axe.check(page, "essay over its word limit")
        await field.fill(ESSAY)
        await expect(body.locator(".word-count")).to_have_text("11 of 200 words")
        await expect(body.locator(".word-warning")).to_be_hidden()
    elif kind == "matching":
        for label, option in (("France", "Paris"), ("Germany", "Berlin"), ("Italy", "Rome")):
            select = body.get_by_label(label, exact=True)
            await expect(select.locator("option").first).to_have_text("Choose...")
            await select.select_option(option)
    elif kind == "ordering":
        await order_with_keyboard(page, EXPECTED["k-ordering"])
    elif kind == "cloze":
        await body.get_by_label("Gap 1 of 3").select_option("fr")
        await body.get_by_label("Gap 2 of 3").fill("42,0")
        await body.get_by_label("Gap 3 of 3").fill("Blue")
    else:
        raise AssertionError(f"no way to answer {kind!r}")


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
    await page.get_by_role("button", name="Start the test").click()
    # Free navigation: the test may open on its summary; the information first.
    summary = page.get_by_role("button", name="Go to Information")
    shown = page.locator("#screen-question:not([hidden])").or_(summary)
    await expect(shown.first).to_be_visible()
    if await summary.is_visible():
        await summary.click()

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
