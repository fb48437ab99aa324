"""Report routes: results (JSON, CSV), item analysis, the HTML report and one
attempt's analytics, all behind the API key.

``reports_router`` is registered in ``create_app`` by the lead; until it is, the
``app`` fixture below adds it to the app it builds (and does nothing once it is
there), so these tests run either way.
"""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser
from typing import Any

import pytest
from litestar import Litestar

from quizsession.adapters.store.encrypted import new_key
from quizsession.adapters.store.memory import MemoryStore
from quizsession.bootstrap import Container
from quizsession.domain.events import AttemptCreated
from quizsession.entrypoints.http.app import create_app
from quizsession.entrypoints.http.routes_reports import reports_router
from quizsession.settings import Settings
from tests.integration.conftest import (
    DEMO_MAX_SCORE,
    DEMO_RIGHT,
    DEMO_TEST_ORDER,
    START,
    Api,
    Session,
    make_settings,
)

REPORT_PATHS = {
    "/admin/quizzes/{quiz_id:str}/results",
    "/admin/quizzes/{quiz_id:str}/item-analysis",
    "/admin/quizzes/{quiz_id:str}/report.html",
    "/admin/attempts/{attempt_id:str}/analytics",
}
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def app(container: Container) -> Litestar:
    """The real app, plus the reports router if app.py does not register it yet."""
    built = create_app(container, manage_lifespan=False)
    if not {route.path for route in built.routes} >= REPORT_PATHS:
        built.register(reports_router)
    return built


async def answer_all(api: Api, session: Session, wrong: frozenset[str] = frozenset()) -> None:
    """Answer every test question: right, except those in ``wrong`` (a wrong
    single-choice / text / number answer), 10 s of fake time per question."""
    wrong_answers: dict[str, Any] = {"capital-au": "sydney", "red-planet": "Venus"}
    for n, qid in enumerate(DEMO_TEST_ORDER):
        question = (await api.question(session))["question"]
        assert question["id"] == qid
        api.clock.advance(10)
        answer = wrong_answers[qid] if qid in wrong else DEMO_RIGHT[qid]
        r = await api.save(session, qid, answer, f"{session.attempt_id}-op-{n}")
        assert r.status_code == 200, r.text


async def scenario(api: Api) -> dict[str, Session]:
    """Three candidates: one all right, one with two wrong answers (one with a
    penalty), and one whose attempt is voided; all on the demo quiz."""
    ann = await api.started(name=SCRIPT)
    await answer_all(api, ann)
    r = await api.client.post(f"{ann.path}/complete", headers=ann.headers)
    assert r.status_code == 200, r.text
    bob = await api.started(name='Bob "=cmd", Jr')
    await answer_all(api, bob, wrong=frozenset({"capital-au", "red-planet"}))
    r = await api.client.post(f"{bob.path}/complete", headers=bob.headers)
    assert r.status_code == 200, r.text
    eve = await api.started(name="Eve")
    r = await api.client.post(
        f"/admin/attempts/{eve.attempt_id}/void", json={"reason": "x"}, headers=api.admin
    )
    assert r.status_code == 200, r.text
    return {"ann": ann, "bob": bob, "eve": eve}


@pytest.mark.usefixtures("demo")
async def test_results_json(api: Api) -> None:
    people = await scenario(api)
    r = await api.client.get("/admin/quizzes/demo/results", headers=api.admin)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["quiz_id"] == "demo"
    assert body["versions"] == [1]
    assert body["question_ids"] == DEMO_TEST_ORDER
    results = {row["attempt_id"]: row for row in body["results"]}
    ann = results[people["ann"].attempt_id]
    assert ann["candidate_name"] == SCRIPT
    assert (ann["status"], ann["score"], ann["max_score"], ann["percentage"]) == (
        "submitted",
        DEMO_MAX_SCORE,
        DEMO_MAX_SCORE,
        100.0,
    )
    assert ann["submit_reason"] == "candidate"
    assert ann["started_at"] == START
    assert ann["time_used_s"] == 100.0  # ten questions, 10 s each
    assert [a["question_id"] for a in ann["answers"]] == DEMO_TEST_ORDER
    bob = results[people["bob"].attempt_id]
    # capital-au wrong costs its 0.25 penalty, red-planet wrong costs nothing
    assert bob["score"] == DEMO_MAX_SCORE - 1 - 0.25 - 1
    points = {a["question_id"]: a["points"] for a in bob["answers"]}
    assert (points["capital-au"], points["red-planet"]) == (-0.25, 0.0)
    assert results[people["eve"].attempt_id]["status"] == "voided"
    assert body["summary"]["attempts"] == 3
    assert body["summary"]["scored"] == 2
    assert body["summary"]["voided"] == 1


@pytest.mark.usefixtures("demo")
async def test_results_csv(api: Api) -> None:
    people = await scenario(api)
    r = await api.client.get("/admin/quizzes/demo/results?format=csv", headers=api.admin)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == 'attachment; filename="demo-results.csv"'
    rows = list(csv.reader(io.StringIO(r.text, newline="")))
    header = rows[0]
    assert header[:3] == ["attempt_id", "candidate_id", "candidate_name"]
    assert "capital-au points" in header
    assert "largest-ocean answer" in header
    by_id = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert len(by_id) == 3
    bob = by_id[people["bob"].attempt_id]
    assert bob["candidate_name"] == 'Bob "=cmd", Jr'
    assert (bob["capital-au points"], bob["capital-au answer"]) == ("-0.25", "sydney")
    assert bob["primes answer"] == "n2;n11;n17"


@pytest.mark.usefixtures("demo")
async def test_item_analysis(api: Api) -> None:
    await scenario(api)
    r = await api.client.get("/admin/quizzes/demo/item-analysis", headers=api.admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scored_attempts"] == 2
    items = {item["question_id"]: item for item in body["items"]}
    assert list(items) == DEMO_TEST_ORDER
    capital = items["capital-au"]
    assert (capital["delivered"], capital["answered"]) == (2, 2)
    # Ann right (1), Bob wrong (-0.25): the facility index is Moodle's, over the
    # range [-0.25, 1], so half right reads 50 % (not (1 - 0.25) / 2 = 37.5 %).
    assert capital["facility"] == 50.0
    assert (capital["mean_points"], capital["min_points"], capital["max_points"]) == (
        0.375,
        -0.25,
        1.0,
    )
    assert (capital["right"], capital["right_percentage"]) == (1, 50.0)
    # Ann 13 (rest 12), Bob 10.75 (rest 11): item up, rest up -> r = 1
    assert capital["discrimination"] == 1.0
    assert items["primes"]["discrimination"] is None  # both right: no variance
    assert {o["option"]: o["count"] for o in capital["options"]} == {
        "sydney": 1,
        "canberra": 1,
        "melbourne": 0,
        "perth": 0,
    }
    assert (capital["median_time_s"], capital["mean_time_s"]) == (10.0, 10.0)


@pytest.mark.usefixtures("demo")
async def test_html_report(api: Api) -> None:
    await scenario(api)
    r = await api.client.get("/admin/quizzes/demo/report.html?timelines=true", headers=api.admin)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    page = r.text
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    images: list[str] = []

    class Images(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "img":
                images.append(dict(attrs)["src"] or "")

    parser = Images()
    parser.feed(page)
    parser.close()
    assert len(images) == 3
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert "<details>" in page  # the timelines
    assert "Bob &quot;=cmd&quot;, Jr" in page  # names, not only ids
    assert page.count('<meta charset="utf-8">') == 1


REPORT_TEXT_URLS = [
    "/admin/quizzes/demo/report.html",
    "/admin/quizzes/demo/report.html?timelines=true",
    "/admin/quizzes/demo/results?format=csv",
]


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize("url", REPORT_TEXT_URLS)
async def test_report_pages_send_one_charset(api: Api, url: str) -> None:
    await scenario(api)
    r = await api.client.get(url, headers=api.admin)
    assert r.status_code == 200, r.text
    [content_type] = r.headers.get_list("content-type")
    assert content_type.lower().replace(" ", "").count("charset=") == 1, content_type
    media, *params = [part.strip() for part in content_type.split(";")]
    assert media in ("text/html", "text/csv")
    assert params == ["charset=utf-8"]
    assert r.content.decode("utf-8") == r.text


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize("settings", [make_settings(encryption_keys=f"k1:{new_key()}")])
async def test_names_encrypted_at_rest_show_in_the_report(api: Api, settings: Settings) -> None:
    """The report reads through the decrypting store the container gives: names
    sealed in the log come out in clear on the page, in the CSV and in the JSON."""
    assert settings.encryption_keys
    people = await scenario(api)
    store = api.container.store
    assert isinstance(store, MemoryStore)
    [created, *_] = await store.read(people["bob"].attempt_id)
    assert isinstance(created.event, AttemptCreated)
    assert created.event.candidate_name.startswith("enc:v1:")  # sealed at rest
    page = (await api.client.get("/admin/quizzes/demo/report.html", headers=api.admin)).text
    assert "Bob &quot;=cmd&quot;, Jr" in page
    assert "enc:v1:" not in page
    r = await api.client.get("/admin/quizzes/demo/results", headers=api.admin)
    names = {row["candidate_name"] for row in r.json()["results"]}
    assert names == {SCRIPT, 'Bob "=cmd", Jr', "Eve"}


@pytest.mark.usefixtures("demo")
async def test_attempt_analytics(api: Api) -> None:
    first = await api.started()
    api.clock.advance(20)
    r = await api.save(first, DEMO_TEST_ORDER[0], DEMO_RIGHT[DEMO_TEST_ORDER[0]], "op-1")
    assert r.status_code == 200, r.text
    api.clock.advance(120)  # no events: a running test's gap ends at its last event
    detail = await api.detail(first.attempt_id)
    r = await api.client.get(f"/admin/attempts/{first.attempt_id}/analytics", headers=api.admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["attempt_id"] == first.attempt_id
    assert body["quiz_id"] == "demo"
    assert body["sessions"]["sessions"] == 1
    assert body["sessions"]["disconnects"] == 0
    assert body["result"]["status"] == "open"
    assert body["result"]["score"] is None
    assert body["result"]["answers"][0]["points"] == 1.0
    assert body["sessions"]["longest_gap_s"] == 20.0
    assert body["timeline"][0].endswith(f"created demo v1 {detail['attempt']['candidate_id']}")


@pytest.mark.usefixtures("demo")
async def test_takeover_counts_in_analytics(api: Api) -> None:
    invite = await api.invite()
    first = await api.login(invite["token"])
    await api.start(first)
    await api.question(first)
    api.clock.advance(30)
    second = await api.login(invite["token"], takeover=True)
    api.clock.advance(45)
    await api.save(second, DEMO_TEST_ORDER[0], DEMO_RIGHT[DEMO_TEST_ORDER[0]], "op-1")
    r = await api.client.get(f"/admin/attempts/{first.attempt_id}/analytics", headers=api.admin)
    assert r.status_code == 200, r.text
    sessions = r.json()["sessions"]
    assert (sessions["sessions"], sessions["takeovers"], sessions["disconnects"]) == (2, 1, 1)
    assert sessions["longest_gap_s"] == 45.0


# ---------------------------------------------------------------------- refusals


REPORT_URLS = [
    "/admin/quizzes/demo/results",
    "/admin/quizzes/demo/results?format=csv",
    "/admin/quizzes/demo/item-analysis",
    "/admin/quizzes/demo/report.html",
    "/admin/attempts/{attempt}/analytics",
]


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize("url", REPORT_URLS)
async def test_reports_need_the_api_key(api: Api, url: str) -> None:
    session = await api.started()
    target = url.format(attempt=session.attempt_id)
    await api.refused(api.client.get(target), 401, "api_key_required")
    await api.refused(
        api.client.get(target, headers={"X-API-Key": "wrong-key-0123456789"}),
        401,
        "api_key_invalid",
    )


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize(
    "url",
    [
        "/admin/quizzes/nope/results",
        "/admin/quizzes/nope/results?format=csv",
        "/admin/quizzes/nope/item-analysis",
        "/admin/quizzes/nope/report.html",
        "/admin/attempts/nope/analytics",
    ],
)
async def test_unknown_quiz_or_attempt_is_404(api: Api, url: str) -> None:
    await api.refused(api.client.get(url, headers=api.admin), 404, "not_found")


@pytest.mark.usefixtures("demo")
async def test_unknown_format_is_refused(api: Api) -> None:
    body = await api.refused(
        api.client.get("/admin/quizzes/demo/results?format=xlsx", headers=api.admin),
        422,
        "validation_error",
    )
    assert body["problems"][0]["path"] == "/format"


@pytest.mark.usefixtures("demo")
async def test_a_quiz_without_attempts(api: Api) -> None:
    r = await api.client.get("/admin/quizzes/demo/results", headers=api.admin)
    assert r.status_code == 200, r.text
    assert r.json()["results"] == []
    r = await api.client.get("/admin/quizzes/demo/report.html", headers=api.admin)
    assert r.status_code == 200, r.text
    assert r.text.count("<img ") == 3


async def test_report_routes_are_in_the_openapi_document(api: Api) -> None:
    r = await api.client.get("/schema/openapi.json")
    assert r.status_code == 200, r.text
    assert {
        "/admin/quizzes/{quiz_id}/results",
        "/admin/quizzes/{quiz_id}/item-analysis",
        "/admin/quizzes/{quiz_id}/report.html",
        "/admin/attempts/{attempt_id}/analytics",
    } <= set(r.json()["paths"])
