"""The administrator's page for a room of candidates, in a real headless Chromium
against a real server: 40 candidates created through the API, sorted, filtered
and searched on the page; the actions that cannot apply to a submitted attempt
disabled with the reason; reopening; the form fields reset between candidates;
the timeline newest first in the viewer's time zone; the results CSV and the
HTML report downloaded with the key in a header (never in a URL).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import unicodedata
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Locator, Page, expect

from tests.e2e.browser_conftest import *  # noqa: F403 - the fixtures
from tests.e2e.browser_conftest import RIGHT, TEST_ORDER, AdminApi, BrowserRun, shot
from testsupport.service import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

QUIZ = "room"
DASH = "\u2013"  # no value
ZONE = "America/New_York"
FIRST = ["Ada", "Bea", "Cy", "Dan", "Eve", "Finn", "Gus", "Hal"]
LAST = ["Smith", "Jones", "Lopez", "Ng", "Okafor"]
#: 40 candidates: every one logs in; how far each gets depends on its number.
NAMES = [f"{FIRST[n % 8]} {LAST[n // 8]}" for n in range(39)] + ["Zo\u00eb \u00c5berg"]
SUBMITTED = range(0, 40, 4)  # 10 submit, with 1..10 right answers
RUNNING = [n for n in range(40) if n % 4 in (1, 2)]  # 20 are taking the test
# the other 10 logged in only (not started)


def fold(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)
    ).casefold()


async def candidate(client: httpx.AsyncClient, n: int, token: str) -> None:
    r = await client.post("/sessions", json={"invite_token": token})
    assert r.status_code == 201, r.text
    opened = r.json()
    if n not in SUBMITTED and n not in RUNNING:
        return
    path = f"/sessions/{opened['session_id']}"
    auth = {"Authorization": f"Bearer {opened['session_token']}"}
    r = await client.post(f"{path}/start", json={"section": "test"}, headers=auth)
    assert r.status_code == 200, r.text
    right = n // 4 + 1 if n in SUBMITTED else 1
    for k, qid in enumerate(TEST_ORDER[:right]):
        r = await client.get(f"{path}/question", headers=auth)
        assert r.status_code == 200, r.text
        body = {"question_id": qid, "answer": RIGHT[qid], "op_id": f"c{n}-{k}"}
        r = await client.put(f"{path}/progress", json=body, headers=auth)
        assert r.status_code == 200, r.text
    if n in SUBMITTED:
        r = await client.post(f"{path}/complete", headers=auth)
        assert r.status_code == 200, r.text


async def fill_room(server: ServerProcess, admin_api: AdminApi) -> None:
    await admin_api.put_quiz(QUIZ, duration_s=1800)
    roster = [
        {"name": name, "email": f"c{n}@example.org", "valid_until": "2099-01-01"}
        for n, name in enumerate(NAMES)
    ]
    async with httpx.AsyncClient(base_url=server.url, timeout=20.0) as client:
        r = await client.post(
            f"/admin/quizzes/{QUIZ}/invites",
            json={"roster": roster},
            headers=server.admin_headers,
        )
        assert r.status_code == 201, r.text
        tokens = [item["token"] for item in r.json()["invites"]]
        for batch in range(0, 40, 8):
            await asyncio.gather(
                *(candidate(client, n, tokens[n]) for n in range(batch, min(batch + 8, 40)))
            )


async def column(page: Page, index: int) -> list[str]:
    """The text of column ``index`` of the attempts' table, top to bottom (the
    first line of the cell: the candidate's name without the id)."""
    cells: list[str] = await page.locator(f"#attempts-body tr td:nth-child({index})").evaluate_all(
        "cells => cells.map(c => (c.querySelector('span') || c).textContent.trim())"
    )
    return cells


def seconds(text: str) -> float:
    """ "4:09" -> 249; "not started" -> inf; a dash -> nan."""
    if text == "not started":
        return float("inf")
    if ":" not in text:
        return float("nan")
    parts = [int(p) for p in text.split(":")]
    return float(parts[0] * 60 + parts[1]) if len(parts) == 2 else float(parts[0] * 3600)


async def sort_by(page: Page, label: str) -> Locator:
    header = page.locator("#attempts-table th", has=page.get_by_role("button", name=label))
    await header.get_by_role("button").click()
    return header


async def test_a_room_of_forty(
    browser_run: BrowserRun, admin_api: AdminApi, web_server: ServerProcess
) -> None:
    await fill_room(web_server, admin_api)
    context = await browser_run.browser.new_context(
        viewport={"width": 1280, "height": 900},
        base_url=web_server.url,
        timezone_id=ZONE,
        accept_downloads=True,
    )
    browser_run.contexts.append(context)
    page = await browser_run.page(context)
    await page.goto("/admin")
    await page.get_by_label("API key").fill(web_server.admin_key)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_label("Choose a quiz").select_option(QUIZ)
    rows = page.locator("#attempts-body tr")
    await expect(rows).to_have_count(40)
    await expect(page.locator("#attempts-count")).to_have_text("40 attempts.")

    # Names shown (not only ids), sorted by name to start with; a click reverses.
    names = await column(page, 1)
    assert sorted(names) == sorted(NAMES)
    assert names == sorted(names, key=fold), names
    header = await sort_by(page, "Candidate")
    await expect(header).to_have_attribute("aria-sort", "descending")
    assert await column(page, 1) == sorted(names, key=fold, reverse=True)

    # By time left: the least time first, then those not started, closed last.
    header = await sort_by(page, "Time left")
    await expect(header).to_have_attribute("aria-sort", "ascending")
    left = [seconds(t) for t in await column(page, 3)]
    running = [v for v in left if v == v and v != float("inf")]
    assert len(running) == len(RUNNING)
    assert running == sorted(running)
    assert left[: len(RUNNING)] == running
    assert left[len(RUNNING) : len(RUNNING) + 10] == [float("inf")] * 10

    # By score: the best first (a share of the maximum), no score last.
    header = await sort_by(page, "Score")
    await expect(header).to_have_attribute("aria-sort", "descending")
    scores = await column(page, 7)
    shown = [float(s.split(" / ")[0]) for s in scores if s != DASH]
    assert len(shown) == len(SUBMITTED)
    assert shown == sorted(shown, reverse=True)
    assert (await column(page, 1))[0] == "Eve Okafor"  # the most answers right
    assert scores[len(SUBMITTED) :] == [DASH] * (40 - len(SUBMITTED))

    # By state: taking the test, not started, submitted.
    await sort_by(page, "State")
    states = await column(page, 2)
    assert states[:20] == ["Taking the test"] * 20, states
    assert set(states[20:30]) <= {"Logged in", "Before the test"}, states
    assert states[30:] == ["Submitted"] * 10, states

    # Filter by state, search by name (accents and case aside), both together.
    await page.get_by_label("State").select_option("submitted")
    await expect(rows).to_have_count(len(SUBMITTED))
    await expect(page.locator("#attempts-count")).to_have_text("Showing 10 of 40 attempts.")
    await page.get_by_label("Search by name").fill("smith")
    await expect(rows).to_have_count(2)  # Ada Smith (0) and Eve Smith (4)
    await page.get_by_label("State").select_option("running")
    await expect(rows).to_have_count(4)  # Bea, Cy, Finn and Gus Smith
    await page.get_by_label("State").select_option("all")
    await expect(rows).to_have_count(8)
    await page.get_by_label("Search by name").fill("ZOE aberg")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Zo\u00eb \u00c5berg")
    await page.get_by_label("Search by name").fill("nobody")
    await expect(rows).to_have_count(0)
    await expect(page.locator("#attempts-empty")).to_contain_text("No attempt matches")
    await page.get_by_label("Search by name").fill("")
    await expect(rows).to_have_count(40)
    await shot(page, "admin-room-40")

    # A submitted attempt: extend and unlock disabled, each with its reason; the
    # API says the same (attempt_closed).
    submitted = "Ada Smith"
    await page.get_by_role("button", name=f"Manage the attempt of {submitted}").click()
    await expect(page.locator("#detail-title")).to_have_text(f"Attempt of {submitted}")
    await expect(page.locator("#extend-button")).to_be_disabled()
    await expect(page.locator("#extend-why")).to_contain_text("submitted: reopen it")
    await expect(page.locator("#unlock-button")).to_be_disabled()
    await expect(page.locator("#unlock-why")).to_be_visible()
    await expect(page.locator("#reopen-button")).to_be_enabled()
    await expect(page.locator("#void-button")).to_be_enabled()
    live = {row["candidate_name"]: row for row in await admin_api.live(QUIZ)}
    attempt_id = live[submitted]["attempt_id"]
    async with httpx.AsyncClient(base_url=web_server.url, timeout=10.0) as client:
        r = await client.post(
            f"/admin/attempts/{attempt_id}/extend",
            json={"seconds": 60},
            headers=web_server.admin_headers,
        )
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "attempt_closed"
    await shot(page, "admin-room-submitted")

    # Fields typed for one candidate do not follow to the next.
    await page.get_by_label("Reason for reopening").fill("for Ada only")
    await page.get_by_role("button", name="Manage the attempt of Bea Smith").click()
    await expect(page.locator("#detail-title")).to_have_text("Attempt of Bea Smith")
    await expect(page.get_by_label("Reason for reopening")).to_have_value("")
    await expect(page.locator("#reopen-button")).to_be_disabled()  # Bea is still running
    await expect(page.locator("#reopen-why")).to_contain_text("still open")
    await page.get_by_label("Extra time (seconds)").fill("45")
    await page.locator("#extend-reason").fill("for Bea only")
    await page.get_by_label("Reason for voiding").fill("for Bea only")
    await page.get_by_role("button", name=f"Manage the attempt of {submitted}").click()
    await expect(page.locator("#detail-title")).to_have_text(f"Attempt of {submitted}")
    await expect(page.get_by_label("Extra time (seconds)")).to_have_value("300")
    await expect(page.locator("#extend-reason")).to_have_value("")
    await expect(page.get_by_label("Reason for voiding")).to_have_value("")

    # Reopen the submitted attempt with two minutes from now.
    await page.get_by_label("Time to give from now (seconds)").fill("120")
    await page.get_by_label("Reason for reopening").fill("submitted by mistake")
    await page.get_by_role("button", name="Reopen").click()
    await expect(page.locator("#detail-message")).to_contain_text("Reopened")
    row = page.locator("#attempts-body tr", has_text=submitted).first
    await expect(row).to_contain_text("Taking the test")
    await expect(page.locator("#extend-button")).to_be_enabled()
    await expect(page.locator("#reopen-button")).to_be_disabled()
    reopened = {r["candidate_name"]: r for r in await admin_api.live(QUIZ)}[submitted]
    assert reopened["status"] == "open"

    # The timeline: newest first (the reopen on top), in the viewer's zone, named.
    entries = page.locator("#timeline li")
    await expect(entries.first).to_contain_text("reopen by")
    await expect(entries.first).to_contain_text("submitted by mistake")
    await expect(entries.last).to_contain_text("created")
    zone = page.locator("#timeline-zone")
    await expect(zone).to_contain_text(f"Times in {ZONE} (UTC-0")
    times = await entries.locator("time").evaluate_all(
        "ts => ts.map(t => [t.getAttribute('datetime'), t.textContent])"
    )
    stamps = [dt.datetime.fromisoformat(iso) for iso, _ in times]
    assert stamps == sorted(stamps, reverse=True)
    for iso, text in times:
        local = dt.datetime.fromisoformat(iso).astimezone(ZoneInfo(ZONE))
        assert text == local.strftime("%Y-%m-%d %H:%M:%S"), (iso, text)
    events = await admin_api.events(attempt_id)
    newest = dt.datetime.fromtimestamp(int(events[-1]["at"]), tz=dt.UTC)
    assert stamps[0] == newest
    await shot(page, "admin-room-reopened")

    # Downloads: fetched with the key in a header and saved from a blob.
    await check_downloads(page, web_server)


async def check_downloads(page: Page, server: ServerProcess) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    async with page.expect_download() as csv_info:
        await page.get_by_role("button", name="Download the results (CSV)").click()
    csv = await csv_info.value
    assert csv.suggested_filename == f"{QUIZ}-results.csv"
    assert csv.url.startswith("blob:")
    text = (await csv.path()).read_text(encoding="utf-8-sig")
    assert "Zo\u00eb \u00c5berg" in text
    assert len([line for line in text.splitlines() if line.strip()]) == 41  # a header + 40
    await expect(page.locator("#download-message")).to_contain_text("Downloaded")

    async with page.expect_download() as html_info:
        await page.get_by_role("button", name="Download the report (HTML)").click()
    html = await html_info.value
    assert html.suggested_filename == f"{QUIZ}-report.html"
    assert html.url.startswith("blob:")
    body = (await html.path()).read_text(encoding="utf-8")
    assert re.search(r"<!doctype html>", body, re.IGNORECASE)
    assert "Demo" in body or QUIZ in body
    assert all(server.admin_key not in url for url in requests), requests
    assert server.admin_key not in page.url
