"""Operations: ``/metrics`` (Prometheus text, behind the API key), request ids,
structured JSON logs and the audit trail of administrators' changes, none of
which ever carries a secret."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from quizsession.adapters.metrics_prometheus import PrometheusMetrics
from quizsession.app.attempts import AttemptExecutor, QuizCache
from quizsession.app.clock import FakeClock
from quizsession.app.live import LiveConnection
from quizsession.bootstrap import build
from quizsession.domain.commands import SaveAnswer, SessionRef
from quizsession.entrypoints.http.app import create_app
from quizsession.observability import REQUEST_ID, JsonFormatter, json_handler
from tests.integration.conftest import (
    ADMIN_NAME,
    API_KEY,
    OTHER_API_KEY,
    Api,
    assert_problem,
    demo_definition,
    make_settings,
)

BY = f"admin:{ADMIN_NAME}"
WRONG_KEY = "wrong-key-0123456789abcdef-not-configured"
GENERATED_ID = re.compile(r"[0-9a-f]{32}")


# -- helpers -------------------------------------------------------------------------


class Scrape:
    """One ``/metrics`` answer, parsed."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples: list[tuple[str, dict[str, str], float]] = [
            (s.name, dict(s.labels), s.value)
            for family in text_string_to_metric_families(text)
            for s in family.samples
        ]

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples named ``name`` whose labels include ``labels``."""
        return sum(
            v
            for n, found, v in self.samples
            if n == name and all(found.get(k) == w for k, w in labels.items())
        )

    def label_values(self, name: str, label: str) -> set[str]:
        return {found[label] for n, found, _v in self.samples if n == name and label in found}


async def scrape(client: AsyncTestClient[Litestar]) -> Scrape:
    r = await client.get("/metrics", headers={"X-API-Key": API_KEY})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain"), r.headers
    return Scrape(r.text)


@contextlib.asynccontextmanager
async def serving(clock: FakeClock, **overrides: Any) -> AsyncIterator[Api]:
    """An app of its own (settings ``overrides``), with its own metrics registry."""
    container = build(make_settings(**overrides), clock=clock)
    app = create_app(container, manage_lifespan=False)
    await container.start(reaper=False)
    try:
        async with AsyncTestClient(app) as client:
            yield Api(client, container, clock)
    finally:
        await container.stop()


class Captured:
    """What the JSON handler wrote, line by line."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for raw in self.text.splitlines():
            line = json.loads(raw)  # every line is one JSON object
            assert isinstance(line, dict), raw
            found.append(line)
        return found

    def by(self, logger: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line["logger"] == logger]


@pytest.fixture
def logs() -> Iterator[Captured]:
    """Everything the service logs (``quizsession.*``), through the JSON handler
    ``serve`` installs."""
    stream = io.StringIO()
    handler = json_handler(stream)
    logger = logging.getLogger("quizsession")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield Captured(stream)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


# -- /metrics --------------------------------------------------------------------------


async def test_metrics_need_the_api_key(api: Api) -> None:
    r = await api.client.get("/metrics")
    assert_problem(r, 401, "api_key_required")
    r = await api.client.get("/metrics", headers={"X-API-Key": WRONG_KEY})
    assert_problem(r, 401, "api_key_invalid")
    r = await api.client.get("/metrics", headers={"X-API-Key": OTHER_API_KEY})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    found = Scrape(r.text)
    # Both refusals were counted (the answer that counts them is not refused).
    assert found.value("quizsession_refusals_total", code="api_key_required") == 1
    assert found.value("quizsession_refusals_total", code="api_key_invalid") == 1
    names = {family.name for family in text_string_to_metric_families(r.text)}
    assert {
        "quizsession_live_sessions",
        "quizsession_saves",
        "quizsession_conflicts",
        "quizsession_refusals",
        "quizsession_heartbeat_gap_seconds",
        "quizsession_auto_submits",
        "quizsession_reaper_lag_seconds",
        "quizsession_request_duration_seconds",
        "quizsession_store_append_seconds",
    } <= names
    # No circuit breaker in front of the in-process live state: no breaker gauge.
    assert "quizsession_live_breaker_open" not in names


async def test_metrics_public_when_configured(clock: FakeClock, api: Api) -> None:
    async with serving(clock, metrics_public=True) as public:
        r = await public.client.get("/metrics")
        assert r.status_code == 200, r.text
        assert "quizsession_saves_total 0.0" in r.text
        # The other app (its own registry) saw none of this app's requests.
        mine = Scrape(r.text)
        assert mine.value("quizsession_refusals_total") == 0
    r = await api.client.get("/metrics")
    assert_problem(r, 401, "api_key_required")


@pytest.mark.usefixtures("demo")
async def test_a_flow_moves_the_counters(api: Api) -> None:
    before = await scrape(api.client)
    session = await api.started()
    await api.answer_current(session, "op-1")
    after = await scrape(api.client)
    assert after.value("quizsession_saves_total") == before.value("quizsession_saves_total") + 1
    assert after.value("quizsession_store_append_seconds_count") > before.value(
        "quizsession_store_append_seconds_count"
    )
    # A replayed operation is not a second save.
    r = await api.save(session, "capital-au", "canberra", "op-1")
    assert r.status_code == 200, r.text
    assert r.json()["replayed"] is True
    assert (await scrape(api.client)).value("quizsession_saves_total") == after.value(
        "quizsession_saves_total"
    )

    # A refused request is counted by its code.
    refused = api.client.put(
        f"{session.path}/progress",
        json={"question_id": "capital-au", "answer": "canberra", "op_id": "op-x"},
        headers={"Authorization": "Bearer not-a-token"},
    )
    assert_problem(await refused, 401, "token_invalid")
    now = await scrape(api.client)
    assert now.value("quizsession_refusals_total", code="token_invalid") == 1 + before.value(
        "quizsession_refusals_total", code="token_invalid"
    )

    # Heartbeats: the gap between two of the same session (fake clock: exact).
    for _ in range(2):
        r = await api.client.post(f"{session.path}/heartbeat", headers=session.headers)
        assert r.status_code == 200, r.text
        api.clock.advance(4)
    beats = await scrape(api.client)
    assert beats.value("quizsession_heartbeat_gap_seconds_count") == 1
    assert beats.value("quizsession_heartbeat_gap_seconds_sum") == pytest.approx(4.0)
    assert beats.value("quizsession_heartbeat_gap_seconds_bucket", le="4.0") == 1

    # The reaper submits 2 s after deadline + grace.
    r = await api.client.get(session.path, headers=session.headers)
    deadline = r.json()["deadline"]
    api.clock.advance(deadline + 5 + 2 - api.clock.now())
    assert await api.reap() == 1
    reaped = await scrape(api.client)
    assert reaped.value("quizsession_auto_submits_total") == 1
    assert reaped.value("quizsession_reaper_lag_seconds_count") == 1
    assert reaped.value("quizsession_reaper_lag_seconds_sum") == pytest.approx(2.0)
    assert await api.reap() == 0
    assert (await scrape(api.client)).value("quizsession_auto_submits_total") == 1


@pytest.mark.usefixtures("demo")
async def test_a_stale_append_counts_a_conflict(api: Api) -> None:
    session = await api.started()
    # Another writer (another instance's executor) moves the attempt behind the
    # back of this instance's cache: its next append is refused and retried.
    store = api.container.store
    other = AttemptExecutor(store, QuizCache(store), api.clock)
    ref = SessionRef(session_id=session.session_id, epoch=session.opened["attempt"]["epoch"])
    await other.execute(
        session.attempt_id,
        lambda _l: SaveAnswer(
            session=ref, question_id="capital-au", answer="canberra", op_id="op-elsewhere"
        ),
    )
    before = await scrape(api.client)
    r = await api.save(session, "capital-au", "sydney", "op-here")
    assert r.status_code == 200, r.text
    after = await scrape(api.client)
    assert (
        after.value("quizsession_conflicts_total")
        == before.value("quizsession_conflicts_total") + 1
    )
    assert after.value("quizsession_saves_total") == before.value("quizsession_saves_total") + 1


@pytest.mark.usefixtures("demo")
async def test_request_durations_are_labelled_by_route_template(api: Api) -> None:
    session = await api.started()
    await api.answer_current(session, "op-1")
    await api.events(session.attempt_id)
    r = await api.client.get("/no/such/s_place")
    assert_problem(r, 404, "not_found")
    found = await scrape(api.client)
    name = "quizsession_request_duration_seconds_count"
    routes = found.label_values(name, "route")
    assert {
        "/sessions",
        "/sessions/{session_id}/start",
        "/sessions/{session_id}/question",
        "/sessions/{session_id}/progress",
        "/admin/attempts/{attempt_id}/events",
        "/admin/quizzes/{quiz_id}/invites",
        "unmatched",
    } <= routes
    for route in routes:
        assert session.session_id not in route
        assert session.attempt_id not in route
        assert "s_place" not in route
    assert found.value(name, route="/sessions/{session_id}/progress", method="PUT", status="200")
    assert found.value(name, route="unmatched", method="GET", status="404") == 1
    assert session.session_id not in found.text
    assert session.attempt_id not in found.text


async def test_the_live_sessions_gauge_counts_this_instances_sockets(api: Api) -> None:
    async def nothing(*_args: Any) -> None:
        return None

    assert (await scrape(api.client)).value("quizsession_live_sessions") == 0
    conn = LiveConnection(session_id="s_1", attempt_id="a_1", send=nothing, close=nothing)
    api.container.hub.add(conn)
    assert (await scrape(api.client)).value("quizsession_live_sessions") == 1
    api.container.hub.discard(conn)
    assert (await scrape(api.client)).value("quizsession_live_sessions") == 0


class FakeBreaker:
    def __init__(self) -> None:
        self.state = "closed"
        self.trips = 0
        self.fallbacks = 0


def test_the_breaker_gauge_follows_the_breaker() -> None:
    breaker = FakeBreaker()
    metrics = PrometheusMetrics(breaker=breaker)
    assert Scrape(metrics.exposition()[0].decode()).value("quizsession_live_breaker_open") == 0
    breaker.state, breaker.trips, breaker.fallbacks = "open", 1, 7
    found = Scrape(metrics.exposition()[0].decode())
    assert found.value("quizsession_live_breaker_open") == 1
    assert found.value("quizsession_live_breaker_trips_total") == 1
    assert found.value("quizsession_live_breaker_fallbacks_total") == 7
    breaker.state = "half_open"  # still store-only until a probe succeeds
    assert Scrape(metrics.exposition()[0].decode()).value("quizsession_live_breaker_open") == 1


def test_each_container_has_its_own_registry(clock: FakeClock) -> None:
    one = build(make_settings(), clock=clock)
    two = build(make_settings(), clock=clock)
    one.metrics.refused("not_found")
    assert b'code="not_found"' in one.metrics.exposition()[0]
    assert b'code="not_found"' not in two.metrics.exposition()[0]


# -- request ids -----------------------------------------------------------------------


async def test_a_safe_request_id_is_echoed(api: Api) -> None:
    r = await api.client.get("/healthz", headers={"X-Request-ID": "trace-42.A_b"})
    assert r.headers["x-request-id"] == "trace-42.A_b"
    # On a refusal too, and on a path no route matches.
    r = await api.client.get("/metrics", headers={"X-Request-ID": "x" * 64})
    assert r.status_code == 401
    assert r.headers["x-request-id"] == "x" * 64
    r = await api.client.get("/nowhere", headers={"X-Request-ID": "r1"})
    assert r.status_code == 404
    assert r.headers["x-request-id"] == "r1"


@pytest.mark.parametrize(
    "sent",
    [None, "", "x" * 65, "has space", "semi;colon", "slash/y", 'quote"d', "a+b", "a:b"],
)
async def test_a_request_id_is_made_when_missing_or_unsafe(api: Api, sent: str | None) -> None:
    headers = {} if sent is None else {"X-Request-ID": sent}
    first = await api.client.get("/healthz", headers=headers)
    second = await api.client.get("/healthz", headers=headers)
    made = first.headers["x-request-id"]
    assert GENERATED_ID.fullmatch(made), made
    assert made != second.headers["x-request-id"]
    assert first.headers.get_list("x-request-id") == [made]


# -- structured logs ---------------------------------------------------------------------


async def test_access_log_lines_are_json_with_the_request_id(
    clock: FakeClock, logs: Captured
) -> None:
    async with serving(clock, access_log=True) as api:
        await api.load_demo()
        session = await api.open_session()
        r = await api.client.get(session.path, headers={**session.headers, "X-Request-ID": "req-1"})
        assert r.status_code == 200
        r = await api.client.get("/healthz")
        made = r.headers["x-request-id"]
    lines = logs.lines()
    assert lines, "nothing was logged"
    for line in lines:
        assert {"ts", "level", "logger", "msg", "request_id"} <= line.keys(), line
    access = logs.by("quizsession.access")
    [mine] = [line for line in access if line["request_id"] == "req-1"]
    assert mine["level"] == "INFO"
    assert mine["method"] == "GET"
    assert mine["route"] == "/sessions/{session_id}"
    assert mine["status"] == 200
    assert isinstance(mine["duration_ms"], float | int)
    assert session.session_id not in json.dumps(access)  # templates, never raw paths
    [health] = [line for line in access if line["route"] == "/healthz"]
    assert health["request_id"] == made
    assert health["msg"].startswith("GET /healthz 200 ")


async def test_no_access_log_by_default(api: Api, logs: Captured) -> None:
    r = await api.client.get("/healthz")
    assert r.status_code == 200
    assert logs.by("quizsession.access") == []


class Odd:
    def __repr__(self) -> str:
        return "<odd>"


def test_the_formatter_writes_one_json_object_per_record() -> None:
    formatter = JsonFormatter()
    record = logging.LogRecord("quizsession.x", logging.INFO, __file__, 1, "a %s", ("b",), None)
    record.attempt_id = "a_1"
    record.odd = Odd()  # not JSON: written as its repr
    line = json.loads(formatter.format(record))
    assert line["msg"] == "a b"
    assert line["level"] == "INFO"
    assert line["logger"] == "quizsession.x"
    assert line["request_id"] is None
    assert line["attempt_id"] == "a_1"
    assert line["odd"] == "<odd>"
    assert line["ts"].startswith("20")
    token = REQUEST_ID.set("abc")
    try:
        line = json.loads(formatter.format(record))
    finally:
        REQUEST_ID.reset(token)
    assert line["request_id"] == "abc"
    try:
        raise ValueError("boom")
    except ValueError:
        failed = logging.LogRecord(
            "quizsession.x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    text = formatter.format(failed)
    assert "\n" not in text
    assert "ValueError: boom" in json.loads(text)["exc"]


# -- audit -------------------------------------------------------------------------------


def _audit(logs: Captured, action: str) -> list[dict[str, Any]]:
    return [line for line in logs.by("quizsession.audit") if line.get("action") == action]


async def test_admin_changes_are_audited_without_secrets(
    clock: FakeClock, logs: Captured, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets: list[str] = [API_KEY, OTHER_API_KEY, WRONG_KEY]
    async with serving(clock, access_log=True) as api:
        r = await api.client.put(
            "/admin/quizzes/demo",
            json=demo_definition(),
            headers={**api.admin, "X-Request-ID": "put-1"},
        )
        assert r.status_code == 200, r.text
        invite = await api.invite()
        secrets.append(invite["token"])
        session = await api.login(invite["token"])
        secrets.append(session.token)
        await api.start(session)
        saved = await api.answer_current(session, "op-1")
        assert saved["saved"]
        beat = await api.client.post(f"{session.path}/heartbeat", headers=session.headers)
        secrets.append(beat.json()["session_token"])
        # Reads are not audited.
        await api.detail(session.attempt_id)
        await api.events(session.attempt_id)

        attempt = session.attempt_id
        posts: list[tuple[str, dict[str, Any] | None]] = [
            (f"/admin/attempts/{attempt}/extend", {"seconds": 60, "reason": "fire alarm"}),
            (f"/admin/attempts/{attempt}/unlock", None),
            (f"/admin/attempts/{attempt}/void", {"reason": "impersonation"}),
            (f"/admin/attempts/{attempt}/reopen", {"reason": "cleared", "extra_seconds": 0}),
            ("/admin/quizzes/demo/apply-timing", None),
        ]
        for path, body in posts:
            r = await api.client.post(path, json=body, headers=api.admin)
            assert r.status_code == 200, (path, r.text)
        # A refused change by an administrator is audited as refused.
        r = await api.client.post(
            "/admin/attempts/a_missing/extend", json={"seconds": 5}, headers=api.admin
        )
        assert r.status_code == 404
        # A bad key: a warning, the key nowhere.
        r = await api.client.post(
            f"/admin/attempts/{attempt}/void",
            json={"reason": "x"},
            headers={"X-API-Key": WRONG_KEY, "X-Request-ID": "bad-key-1"},
        )
        assert_problem(r, 401, "api_key_invalid")
        # No key at all is no authentication attempt.
        r = await api.client.post(f"/admin/attempts/{attempt}/void", json={"reason": "x"})
        assert_problem(r, 401, "api_key_required")

    [put] = _audit(logs, "put_quiz")
    assert put["level"] == "INFO"
    assert put["actor"] == BY
    assert put["quiz_id"] == "demo"
    assert put["request_id"] == "put-1"
    assert put["status"] == 200
    assert put["outcome"] == "done"
    [invites] = _audit(logs, "create_invites")
    assert invites["quiz_id"] == "demo"
    for action in ("extend", "unlock", "void", "reopen"):
        lines = [line for line in _audit(logs, action) if line["outcome"] == "done"]
        assert len(lines) == 1, (action, lines)
        assert lines[0]["attempt_id"] == attempt
        assert lines[0]["actor"] == BY
        assert GENERATED_ID.fullmatch(lines[0]["request_id"])
    [timing] = _audit(logs, "apply_timing")
    assert timing["quiz_id"] == "demo"
    [missing] = [line for line in _audit(logs, "extend") if line["outcome"] == "refused"]
    assert missing["attempt_id"] == "a_missing"
    assert missing["status"] == 404
    [bad] = _audit(logs, "authenticate")
    assert bad["level"] == "WARNING"
    assert bad["request_id"] == "bad-key-1"
    assert bad["route"] == "/admin/attempts/{attempt_id}/void"
    # Candidates' requests and reads leave no audit line.
    audited = {line["action"] for line in logs.by("quizsession.audit")}
    assert audited == {
        "put_quiz",
        "create_invites",
        "extend",
        "unlock",
        "void",
        "reopen",
        "apply_timing",
        "authenticate",
    }

    everything = logs.text + "\n" + caplog.text
    for secret in secrets:
        assert secret not in everything
    assert "canberra" not in everything  # answers are never logged
    assert "fire alarm" not in everything  # nor free text from the bodies


def test_a_breaker_in_front_of_the_live_state_is_exposed(clock: FakeClock) -> None:
    # Built only (nothing connects): Redis behind the circuit breaker.
    container = build(make_settings(redis_url="redis://127.0.0.1:1/0"), clock=clock)
    found = Scrape(container.metrics.exposition()[0].decode())
    assert found.value("quizsession_live_breaker_open") == 0
    assert "quizsession_live_breaker_open 0.0" in found.text
