"""The HTML report in a real headless Chromium, checked by axe-core: a real server
process (SQLite, names encrypted at rest), candidates who took the quiz over HTTP,
and the page as ``/admin/quizzes/{id}/report.html`` serves it.

axe-core is the npm package pinned in ``package.json`` (``npm ci`` puts it in
``node_modules/axe-core``). Like the browser, it is required on CI (``CI=true``):
a missing one fails the run; elsewhere the test is skipped with the reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, ConsoleMessage

from quizsession.adapters.store.encrypted import new_key
from tests.e2e.browser_conftest import *  # noqa: F403 - the fixtures
from tests.e2e.browser_conftest import RIGHT, SCREENSHOTS, TEST_ORDER
from tests.e2e.conftest import ServerFactory
from testsupport.ci import unavailable
from testsupport.scenario import quiz_definition
from testsupport.service import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
QUIZ = "a11y-report-with-a-rather-long-quiz-identifier"
#: Names that a report must show as they are (HTML, accents, a long one).
NAMES = ["Zo\u00eb \u00c5berg", "<b>Bob</b> O'Neil", "Maximiliane " + "Hochgebirgs" * 4]
WRONG: dict[str, Any] = {"capital-au": "sydney", "red-planet": "Venus", "great-wall": True}


@pytest.fixture
def axe_source() -> str:
    """axe-core's script; skips (or fails on CI) when the npm package is missing."""
    if not AXE.exists():
        unavailable(f"{AXE.relative_to(ROOT)} is missing: run `npm ci` to install axe-core")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture
async def report_server(server_factory: ServerFactory) -> ServerProcess:
    """A server whose store encrypts names and answers at rest."""
    server = server_factory("report", env={"QUIZSESSION_ENCRYPTION_KEYS": f"k1:{new_key()}"})
    await server.start_async()
    return server


async def take(client: httpx.AsyncClient, token: str, wrong: bool, submit: bool) -> None:
    r = await client.post("/sessions", json={"invite_token": token})
    assert r.status_code == 201, r.text
    opened = r.json()
    path = f"/sessions/{opened['session_id']}"
    auth = {"Authorization": f"Bearer {opened['session_token']}"}
    r = await client.post(f"{path}/start", json={"section": "test"}, headers=auth)
    assert r.status_code == 200, r.text
    for n, qid in enumerate(TEST_ORDER if submit else TEST_ORDER[:3]):
        r = await client.get(f"{path}/question", headers=auth)
        assert r.status_code == 200, r.text
        assert r.json()["question"]["id"] == qid
        answer = WRONG[qid] if wrong and qid in WRONG else RIGHT[qid]
        body = {"question_id": qid, "answer": answer, "op_id": f"{token[:8]}-{n}"}
        r = await client.put(f"{path}/progress", json=body, headers=auth)
        assert r.status_code == 200, r.text
    if submit:
        r = await client.post(f"{path}/complete", headers=auth)
        assert r.status_code == 200, r.text


async def fill(server: ServerProcess) -> None:
    """Two candidates submit (one with wrong answers, one with a penalty), one is
    still answering."""
    async with httpx.AsyncClient(base_url=server.url, timeout=15.0) as client:
        r = await client.put(
            f"/admin/quizzes/{QUIZ}", json=quiz_definition(QUIZ), headers=server.admin_headers
        )
        assert r.status_code < 300, r.text
        roster = [
            {"name": name, "email": f"c{n}@example.org", "valid_until": "2099-01-01"}
            for n, name in enumerate(NAMES)
        ]
        r = await client.post(
            f"/admin/quizzes/{QUIZ}/invites", json={"roster": roster}, headers=server.admin_headers
        )
        assert r.status_code < 300, r.text
        tokens = [item["token"] for item in r.json()["invites"]]
        await take(client, tokens[0], wrong=False, submit=True)
        await take(client, tokens[1], wrong=True, submit=True)
        await take(client, tokens[2], wrong=False, submit=False)


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = [node["target"] for node in v["nodes"]][:5]
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} at {json.dumps(targets)}")
    return "\n".join(lines)


async def test_the_report_page_has_no_accessibility_violations(
    browser: Browser, report_server: ServerProcess, axe_source: str
) -> None:
    await fill(report_server)
    url = f"{report_server.url}/admin/quizzes/{QUIZ}/report.html?timelines=true"

    # As served: its own CSP holds (no violation reported), one charset.
    plain = await browser.new_context(extra_http_headers=report_server.admin_headers)
    try:
        page = await plain.new_page()
        blocked: list[str] = []

        def console(msg: ConsoleMessage) -> None:
            if msg.type == "error":
                blocked.append(msg.text)

        page.on("console", console)
        response = await page.goto(url)
        assert response is not None
        assert response.status == 200, await response.text()
        content_type = response.headers["content-type"]
        assert content_type == "text/html; charset=utf-8", content_type
        assert await page.evaluate("document.characterSet") == "UTF-8"
        assert await page.evaluate("document.documentElement.lang") == "en"
        for name in NAMES:
            assert await page.get_by_text(name, exact=False).count() >= 1, name
        assert blocked == []
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "report-a11y.png"), full_page=True)
    finally:
        await plain.close()

    # axe-core needs to run a script, which the page's CSP forbids: this context
    # bypasses the CSP for the injected script only; the page is the same.
    checked = await browser.new_context(
        extra_http_headers=report_server.admin_headers, bypass_csp=True
    )
    try:
        page = await checked.new_page()
        await page.goto(url)
        await page.add_script_tag(content=axe_source)
        version = await page.evaluate("axe.version")
        assert version == json.loads((AXE.parent / "package.json").read_text())["version"]
        results: dict[str, Any] = await page.evaluate(
            "() => axe.run(document, {resultTypes: ['violations']})"
        )
    finally:
        await checked.close()
    violations = results["violations"]
    assert violations == [], describe(violations)
    # The rules that matter here did run (a page axe could not read passes nothing).
    ran = {rule["id"] for rule in results["passes"]}
    assert {"image-alt", "html-has-lang", "color-contrast", "th-has-data-cells"} <= ran
