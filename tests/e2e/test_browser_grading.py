"""Grading on the administrator's page, in a real headless Chromium against a real
server: two candidates write essays through the candidate API and submit; the
attempts list says their scores are pending; the grader works through the
"Grading" panel (its question filter offering the questions graded by hand)
with the keyboard (the answer with its line breaks, the word count against the
limit, the points range), a bad entry is refused at the field, "Save and next"
moves on with a status message, and the scores are final once every essay is
graded. axe finds no WCAG 2.2 A/AA violation on the panel.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from tests.e2e.browser_conftest import *  # noqa: F403 - the fixtures
from tests.e2e.browser_conftest import AdminApi, Axe, BrowserRun, shot
from testsupport.service import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

QUIZ = "essays"
DEFINITION: dict[str, Any] = {
    "id": QUIZ,
    "title": "Essays",
    "duration_s": 900,
    "navigation": "sequential",
    "test": {
        "questions": [
            {
                "id": "why",
                "kind": "essay",
                "text": "Why is the sky blue?",
                "points": 5,
                "word_limit": 5,
                "grader_info": "Full marks for Rayleigh scattering.",
            },
            {
                "id": "capital",
                "kind": "single",
                "text": "The capital of France?",
                "choices": [
                    {"id": "p", "text": "Paris", "correct": True},
                    {"id": "l", "text": "Lyon"},
                ],
            },
        ]
    },
}
ESSAYS = {
    "Ada Writer": "Rayleigh scattering:\nshort wavelengths scatter more.",
    "Bo Brief": "Because.",
}


async def write_essay(client: httpx.AsyncClient, token: str, essay: str) -> None:
    """A candidate answers through the candidate API and submits."""
    r = await client.post("/sessions", json={"invite_token": token})
    assert r.status_code == 201, r.text
    opened = r.json()
    path = f"/sessions/{opened['session_id']}"
    auth = {"Authorization": f"Bearer {opened['session_token']}"}
    r = await client.post(f"{path}/start", json={"section": "test"}, headers=auth)
    assert r.status_code == 200, r.text
    for n, answer in enumerate([essay, "p"]):
        r = await client.get(f"{path}/question", headers=auth)
        assert r.status_code == 200, r.text
        qid = r.json()["question"]["id"]
        body = {"question_id": qid, "answer": answer if qid == "why" else "p", "op_id": f"op{n}"}
        r = await client.put(f"{path}/progress", json=body, headers=auth)
        assert r.status_code == 200, r.text
    r = await client.post(f"{path}/complete", headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["attempt"]["result"]["pending"] is True


async def test_grading_on_the_admin_page(
    browser_run: BrowserRun, admin_api: AdminApi, web_server: ServerProcess, axe: Axe
) -> None:
    async with httpx.AsyncClient(base_url=web_server.url, timeout=20.0) as client:
        r = await client.put(
            f"/admin/quizzes/{QUIZ}", json=DEFINITION, headers=web_server.admin_headers
        )
        assert r.status_code == 200, r.text
        for name, essay in ESSAYS.items():
            await write_essay(client, await admin_api.invite(QUIZ, name), essay)

    page = await browser_run.page()
    await page.goto("/admin")
    await page.get_by_label("API key").fill(web_server.admin_key)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_label("Choose a quiz").select_option(QUIZ)
    rows = page.locator("#attempts-body tr")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text("Submitted, score pending")
    await expect(rows.first).to_contain_text("pending (1 / 6 so far)")

    panel = page.locator("#grading-panel")
    await expect(panel).to_be_visible()
    title = page.locator("#grading-item-title")
    await expect(title).to_contain_text("Answer 1 of 2: ")
    # The "Question" filter offers the questions the server says are graded by hand.
    await expect(page.locator("#grading-question option")).to_have_text(
        ["All questions", "why: Why is the sky blue?"]
    )
    first = "Ada Writer" if "Ada Writer" in (await title.text_content() or "") else "Bo Brief"
    second = "Bo Brief" if first == "Ada Writer" else "Ada Writer"
    await expect(page.locator("#grading-question-text")).to_have_text("Why is the sky blue?")
    await expect(page.locator("#grading-info")).to_have_text("Full marks for Rayleigh scattering.")
    # The answer as written: its line break kept, its words counted.
    answer = page.locator("#grading-answer")
    assert await answer.inner_text() == ESSAYS[first]
    words = len(ESSAYS[first].split())
    expected_words = (
        f"{words} words: over the limit of 5" if words > 5 else f"{words} words (limit 5)"
    )
    if words == 1:
        expected_words = "1 word (limit 5)"
    await expect(page.locator("#grading-words")).to_have_text(expected_words)
    await expect(page.locator("#grade-points-hint")).to_have_text("From 0 to 5 points.")
    await axe.check(page, "the grading panel")
    await shot(page, "admin-grading")

    # Keyboard only: a value out of range is refused at the field, nothing saved.
    points = page.get_by_label("Points")
    await points.focus()
    await page.keyboard.type("7")
    await page.keyboard.press("Enter")
    await expect(page.locator("#grade-points-error")).to_have_text("Enter a number from 0 to 5.")
    await expect(points).to_have_attribute("aria-invalid", "true")
    await expect(points).to_be_focused()
    await points.fill("")
    await page.keyboard.type("4.5")
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Comment for the candidate (optional)")).to_be_focused()
    await page.keyboard.type("Clear,\nbut brief.")
    await page.get_by_role("button", name="Save and next").press("Enter")
    status = page.locator("#grading-message")
    await expect(status).to_have_attribute("role", "status")
    await expect(status).to_contain_text(f"Saved 4.5 points for {first}.")
    await expect(status).to_contain_text("The attempt's score: 5.5 of 6.")
    # The next answer, with the focus on its heading.
    await expect(title).to_contain_text(f"Answer 1 of 1: {second}")
    await expect(title).to_be_focused()
    assert await answer.inner_text() == ESSAYS[second]
    await points.fill("1")
    await page.get_by_role("button", name="Save and next").click()
    await expect(status).to_contain_text(f"Saved 1 points for {second}.")
    await expect(page.locator("#grading-empty")).to_have_text("No answers wait for a grade.")
    await axe.check(page, "the grading panel, all graded")

    # The graded ones, with their grades, under "Graded".
    await page.get_by_label("Answers", exact=True).select_option("graded")
    await expect(title).to_contain_text("Answer 1 of 2")
    await expect(points).not_to_have_value("")

    # Final scores: the list says so, and so does the server.
    await expect(rows.filter(has_text="score pending")).to_have_count(0, timeout=10_000)
    live = {a["candidate_name"]: a for a in await admin_api.live(QUIZ)}
    assert (live[first]["score"], live[first]["pending"]) == (5.5, False)
    assert (live[second]["score"], live[second]["pending"]) == (2.0, False)
    detail = await admin_api.detail(live[first]["attempt_id"])
    assert detail["attempt"]["result"]["score"] == 5.5
