"""Fixtures and helpers for the browser tests: a real ``quizsession serve``
process (``testsupport/service.py``), a real headless Chromium driven by Playwright,
and an administrator client to set quizzes up and check what the server stored.

Chromium is Debian's ``/usr/bin/chromium`` (Playwright's own browser download
cannot work here). Without it the browser tests are skipped, except on CI
(``CI=true``), where a missing browser fails the run loudly. The same holds for
axe-core (the npm package pinned in ``package.json``), which ``axe`` runs inside
a page: ``await axe.check(page, "what")`` fails on any WCAG 2.2 A/AA violation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    async_playwright,
    expect,
)

from tests.e2e.conftest import ServerFactory
from testsupport.ci import unavailable
from testsupport.scenario import quiz_definition
from testsupport.service import ServerProcess

__all__ = [
    "CHROMIUM",
    "AdminApi",
    "Axe",
    "BrowserRun",
    "admin_api",
    "answer",
    "answer_and_next",
    "axe",
    "browser",
    "browser_run",
    "chromium_path",
    "expect_header_one_line",
    "expect_question",
    "expect_saved",
    "next_question",
    "shot",
    "start_test",
    "web_server",
]

JSON = dict[str, Any]

CHROMIUM = Path(os.environ.get("QUIZSESSION_E2E_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"
#: The WCAG levels checked: 2.0, 2.1 and 2.2, A and AA.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]

#: The demo quiz's right answers (questions are delivered in this fixed order).
RIGHT: dict[str, Any] = {
    "p-colour": "a",
    "p-sky": True,
    "p-sum": 12,
    "capital-au": "canberra",
    "primes": ["n2", "n11", "n17"],
    "noble-gases": ["he", "ar"],
    "great-wall": False,
    "water-boils": True,
    "red-planet": "Mars",
    "hamlet-author": "Shakespeare",
    "speed-of-light": 300,
    "pi-digits": 3.14,
    "largest-ocean": "pacific",
}
TEST_ORDER = [
    "capital-au",
    "primes",
    "noble-gases",
    "great-wall",
    "water-boils",
    "red-planet",
    "hamlet-author",
    "speed-of-light",
    "pi-digits",
    "largest-ocean",
]
MAX_SCORE = 13.0

expect.set_options(timeout=10_000)


@pytest.fixture
def chromium_path() -> Path:
    """The Chromium executable; skips (or fails on CI) when it is missing."""
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests")
    return CHROMIUM


class Axe:
    """axe-core in a page. The script is evaluated through the DevTools protocol,
    so the page's own Content-Security-Policy stays in force."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.version = json.loads((AXE_SCRIPT.parent / "package.json").read_text())["version"]

    async def run(self, page: Page) -> dict[str, Any]:
        if not await page.evaluate("typeof window.axe === 'object'"):
            await page.evaluate(self.source + "\n;undefined")
        found: dict[str, Any] = await page.evaluate(
            """(tags) => axe.run(document, {
                runOnly: {type: 'tag', values: tags},
                resultTypes: ['violations'],
            })""",
            AXE_TAGS,
        )
        return found

    async def check(self, page: Page, what: str) -> dict[str, Any]:
        """Fail with every violation listed when axe finds any on ``page``."""
        results = await self.run(page)
        violations: list[dict[str, Any]] = results["violations"]
        assert not violations, f"axe-core {self.version}, {what}:\n" + describe_violations(
            violations
        )
        assert results["passes"], f"{what}: axe checked nothing"
        return results


def describe_violations(violations: list[dict[str, Any]]) -> str:
    """One readable block per violation: rule, impact, help, the elements and why."""
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"][:6]:
            summary = " ".join(str(node.get("failureSummary", "")).split())
            lines.append(f"    at {json.dumps(node['target'])}: {node['html'][:160]}")
            if summary:
                lines.append(f"      {summary[:400]}")
    return "\n".join(lines)


@pytest.fixture(scope="session")
def axe() -> Axe:
    """axe-core; skips (or fails on CI) when the npm package is missing."""
    if not AXE_SCRIPT.exists():
        unavailable(f"{AXE_SCRIPT.relative_to(ROOT)} is missing: run `npm ci` to install axe-core")
    return Axe(AXE_SCRIPT.read_text(encoding="utf-8"))


@pytest.fixture
async def browser(chromium_path: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(
            executable_path=str(chromium_path), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def web_server(server_factory: ServerFactory) -> ServerProcess:
    """A running server process (stopped by ``server_factory`` at teardown)."""
    server = server_factory("web")
    await server.start_async()
    return server


class AdminApi:
    """The administrator API of ``server``, for setting up and checking."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        async with httpx.AsyncClient(base_url=self.server.url, timeout=10.0) as client:
            r = await client.request(method, path, json=body, headers=self.server.admin_headers)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
        return r.json()

    async def put_quiz(
        self,
        quiz_id: str,
        *,
        duration_s: float = 600.0,
        grace_s: float = 2.0,
        second_login: str = "takeover",
        practice: bool = False,
        heartbeat_s: float | None = None,
    ) -> str:
        definition = quiz_definition(
            quiz_id,
            duration_s=duration_s,
            grace_s=grace_s,
            second_login=second_login,
            practice=practice,
        )
        if heartbeat_s is not None:
            definition["policies"]["heartbeat_s"] = heartbeat_s
            definition["policies"]["lease_ttl_s"] = 3 * heartbeat_s
        await self._call("PUT", f"/admin/quizzes/{quiz_id}", definition)
        return quiz_id

    async def invite(
        self, quiz_id: str, name: str = "Ada Candidate", valid_until: str = "2099-01-01"
    ) -> str:
        slug = re.sub(r"[^a-z0-9]+", ".", name.lower()).strip(".")
        body = {
            "roster": [{"name": name, "email": f"{slug}@example.org", "valid_until": valid_until}]
        }
        found = await self._call("POST", f"/admin/quizzes/{quiz_id}/invites", body)
        token: str = found["invites"][0]["token"]
        return token

    async def extend(self, attempt_id: str, seconds: float, reason: str = "") -> JSON:
        found: JSON = await self._call(
            "POST", f"/admin/attempts/{attempt_id}/extend", {"seconds": seconds, "reason": reason}
        )
        return found

    async def unlock(self, attempt_id: str) -> JSON:
        found: JSON = await self._call("POST", f"/admin/attempts/{attempt_id}/unlock")
        return found

    async def live(self, quiz_id: str) -> list[JSON]:
        found = await self._call("GET", f"/admin/quizzes/{quiz_id}/live")
        rows: list[JSON] = found["attempts"]
        return rows

    async def only_attempt(self, quiz_id: str) -> JSON:
        rows = await self.live(quiz_id)
        assert len(rows) == 1, rows
        return rows[0]

    async def events(self, attempt_id: str) -> list[JSON]:
        found: list[JSON] = await self._call("GET", f"/admin/attempts/{attempt_id}/events")
        return found

    async def detail(self, attempt_id: str) -> JSON:
        found: JSON = await self._call("GET", f"/admin/attempts/{attempt_id}")
        return found

    async def saved_answers(self, attempt_id: str) -> dict[str, Any]:
        """question id -> the last answer stored for it (from the event log)."""
        answers: dict[str, Any] = {}
        for event in await self.events(attempt_id):
            if event["type"] == "answer_saved":
                answers[event["data"]["question_id"]] = event["data"]["answer"]
        return answers

    async def wait_for(
        self,
        check: Callable[[], Awaitable[bool]],
        *,
        within_s: float,
        what: str,
    ) -> None:
        """Poll ``check`` until it is true (bounded by ``within_s`` seconds)."""
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            if await check():
                return
            await asyncio.sleep(0.25)
        raise AssertionError(f"timed out after {within_s:.0f}s waiting for {what}")


@pytest.fixture
def admin_api(web_server: ServerProcess) -> AdminApi:
    return AdminApi(web_server)


class BrowserRun:
    """Pages of one test, with the JavaScript errors they raised (a test fails
    if any page threw)."""

    def __init__(self, browser: Browser, server: ServerProcess, name: str) -> None:
        self.browser = browser
        self.server = server
        self.name = name
        self.errors: list[str] = []
        self.contexts: list[BrowserContext] = []

    async def context(self, *, width: int = 1100, height: int = 850) -> BrowserContext:
        context = await self.browser.new_context(
            viewport={"width": width, "height": height}, base_url=self.server.url
        )
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        return context

    async def page(self, context: BrowserContext | None = None) -> Page:
        ctx = context if context is not None else await self.context()
        page = await ctx.new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))
        page.on("console", lambda msg: self._console(page, msg))
        return page

    def _console(self, page: Page, msg: ConsoleMessage) -> None:
        if msg.type == "error" and "Content Security Policy" in msg.text:
            self.errors.append(f"{page.url}: {msg.text}")

    async def candidate(self, invite_token: str, context: BrowserContext | None = None) -> Page:
        page = await self.page(context)
        await page.goto(f"/take#{invite_token}")
        return page

    async def close(self) -> None:
        for context in self.contexts:
            with contextlib.suppress(Exception):  # already closed with its browser
                await context.close()


@pytest.fixture
async def browser_run(
    browser: Browser, web_server: ServerProcess, request: pytest.FixtureRequest
) -> AsyncIterator[BrowserRun]:
    run = BrowserRun(browser, web_server, request.node.name)
    try:
        yield run
    finally:
        await run.close()
    assert not run.errors, "JavaScript errors:\n" + "\n".join(run.errors)


async def shot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as ``test-artifacts/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(path), full_page=True)
    return path


async def answer(page: Page, value: Any) -> None:
    """Answer the question on screen with ``value`` (a choice id, a list of
    choice ids, a bool, a string or a number), as a user would."""
    body = page.locator("#q-body")
    kind = await body.locator("[data-kind]").get_attribute("data-kind")
    if kind == "single":
        await body.locator(f'input[value="{value}"]').check()
    elif kind == "true_false":
        await body.locator(f'input[value="{"true" if value else "false"}"]').check()
    elif kind == "multiple":
        for box in await body.locator("input[type=checkbox]").all():
            wanted = await box.get_attribute("value") in value
            if wanted != await box.is_checked():
                await box.set_checked(wanted)
    elif kind in ("short_text", "numeric"):
        await body.locator("input").fill(str(value))
    else:
        raise AssertionError(f"unknown question kind {kind!r}")


async def expect_question(page: Page, question_id: str, within_ms: float = 15_000) -> None:
    await expect(page.locator("#screen-question")).to_be_visible(timeout=within_ms)
    await expect(page.locator("#q-body")).to_have_attribute(
        "data-question", question_id, timeout=within_ms
    )


async def expect_saved(page: Page, within_ms: float = 15_000) -> None:
    await expect(page.locator("#save-state")).to_have_text("All answers saved", timeout=within_ms)


async def next_question(page: Page) -> None:
    await page.locator("#q-next").click()


async def start_test(page: Page) -> None:
    try:
        await expect(page.locator("#screen-test-intro")).to_be_visible()
    except AssertionError as exc:
        last = await page.evaluate("document.body.dataset.lastError || 'none'")
        raise AssertionError(f"no test instructions (last error: {last})") from exc
    await page.get_by_role("button", name="Start the test").click()
    await expect_question(page, TEST_ORDER[0])


async def answer_and_next(page: Page, question_id: str) -> None:
    await expect_question(page, question_id)
    await answer(page, RIGHT[question_id])
    await next_question(page)


async def expect_header_one_line(page: Page) -> None:
    """The header's title, timer and save state sit on one line."""
    boxes = await page.evaluate(
        """() => ['quiz-title', 'timer-box', 'save-state'].map((id) => {
            const r = document.getElementById(id).getBoundingClientRect();
            return {id, top: r.top, bottom: r.bottom, height: r.height, width: r.width};
        })"""
    )
    shown = [b for b in boxes if b["width"] > 0]
    assert len(shown) == 3, boxes
    tops = [b["top"] for b in shown]
    bottoms = [b["bottom"] for b in shown]
    # Every item overlaps every other vertically: one row.
    assert max(tops) < min(bottoms), boxes
    assert all(b["height"] < 48 for b in shown), boxes
