"""Page helpers shared by the browser tests of the question kinds
(``test_browser_kinds.py``) and of a whole exam (``test_exam_end_to_end.py``):
each kind answered through its control as a person would (the ordering question
with the keyboard only), images answered by the browser itself, free navigation
into the test, and the administrator's page signed in.

The right answers are those of the questions of ``examples/every_kind.yaml``
(``testsupport/sample_kinds.py``).
"""

from __future__ import annotations

import base64
from typing import Any

from playwright.async_api import BrowserContext, Locator, Page, Route, expect

from tests.e2e.browser_conftest import Axe, answer
from testsupport.service import ServerProcess

__all__ = [
    "ESSAY",
    "EXPECTED",
    "PIXEL",
    "admin_sign_in",
    "answer_kind",
    "enter_free_test",
    "order_with_keyboard",
    "panel_button",
    "serve_images_locally",
    "shown_order",
]

#: A 1 x 1 transparent PNG, served for every https image of a page.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)

ESSAY = "Sunlight is scattered by the air.\nBlue light scatters the most."

#: What the page stores for each question of the sample answered by ``answer_kind``.
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
    """Answer every https image request with ``PIXEL``: no request leaves the machine."""

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
    """Answer the sample's question of ``kind`` on screen as ``EXPECTED`` says
    (the essay first over its word limit, checked by axe)."""
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


def panel_button(page: Page, label: str) -> Locator:
    """A button of the free navigation's panel of questions, by its full name."""
    return page.get_by_role("navigation", name="Questions").get_by_role(
        "button", name=label, exact=True
    )


async def enter_free_test(page: Page, first: str = "Information") -> None:
    """Press "Start the test" (free navigation) and open the question ``first``
    (its panel name up to the comma): the test may open on its summary or on a
    question."""
    await page.get_by_role("button", name="Start the test").click()
    summary = page.get_by_role("button", name=f"Go to {first}")
    shown = page.locator("#screen-question:not([hidden])").or_(summary)
    await expect(shown.first).to_be_visible()
    if await summary.is_visible():
        await summary.click()


async def admin_sign_in(page: Page, server: ServerProcess, quiz_id: str) -> None:
    """Open the administrator's page, sign in with the server's key and choose the quiz."""
    await page.goto("/admin")
    await page.get_by_label("API key").fill(server.admin_key)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_label("Choose a quiz").select_option(quiz_id)
