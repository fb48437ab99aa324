"""The typed client (``quizsession.client``) against the in-process app: a whole
attempt and every administrator call decoded into the server's own structs, each
error class raised for its code, and the retry rules (only idempotent requests,
the same ``op_id`` on every try)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar

from quizsession.api.models import (
    CompleteResult,
    HeartbeatResult,
    NextQuestion,
    OpenedSession,
    SaveResult,
)
from quizsession.app.admin import LiveAttempt, TimingResult
from quizsession.app.catalog import IssuedInvite
from quizsession.app.ports import AttemptIndexRow, QuizSummary
from quizsession.app.reports.model import AttemptAnalytics
from quizsession.app.views import AttemptView, QuestionView
from quizsession.client import (
    AsyncQuizClient,
    AttemptDetail,
    AttemptList,
    Conflict,
    DeadlinePassed,
    EventView,
    Forbidden,
    InternalError,
    InviteList,
    ItemAnalysisReport,
    LiveList,
    LogEntry,
    NotFound,
    QuizList,
    QuizResults,
    QuizSessionError,
    QuizStored,
    RateLimited,
    Readiness,
    RosterLine,
    SessionActive,
    SessionHandle,
    Superseded,
    TransportFailed,
    Unauthorized,
    Unavailable,
    UnexpectedResponse,
    ValidationFailed,
    error_from_response,
)
from quizsession.domain.events import AnswerSaved, AttemptCreated, AttemptEvent, Submitted
from quizsession.entrypoints.http import routes_admin, routes_reports
from tests.integration.conftest import (
    API_KEY,
    DEMO_ID,
    DEMO_MAX_SCORE,
    DEMO_RIGHT,
    DEMO_TEST_ORDER,
    START,
    Api,
    demo_definition,
)

BASE_URL = "http://testserver"
Handler = Callable[[httpx.Request], httpx.Response]


def logged(entries: list[LogEntry]) -> list[AttemptEvent]:
    """The client's log entries decoded into the domain's events."""
    return [msgspec.convert(e.data, AttemptEvent) for e in entries]


class FlakyTransport(httpx.AsyncBaseTransport):
    """Wraps a transport; ``fail_before`` / ``fail_after`` say, per request, whether
    to raise a transport error before sending it on (the request never arrives)
    or after (it is applied, the response is lost). Records every request."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.sent: list[httpx.Request] = []
        self.fail_before: Callable[[httpx.Request], bool] = lambda _r: False
        self.fail_after: Callable[[httpx.Request], bool] = lambda _r: False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        if self.fail_before(request):
            raise httpx.ConnectError("connection refused (test)", request=request)
        response = await self.inner.handle_async_request(request)
        if self.fail_after(request):
            await response.aread()
            raise httpx.ReadError("connection reset before the response (test)", request=request)
        return response

    def sent_to(self, method: str, suffix: str) -> list[httpx.Request]:
        return [r for r in self.sent if r.method == method and r.url.path.endswith(suffix)]


@pytest.fixture
def transport(api: Api, app: Litestar) -> FlakyTransport:
    """The app over ASGI (the ``api`` fixture has started the container)."""
    return FlakyTransport(httpx.ASGITransport(app=app))  # type: ignore[arg-type]


@pytest.fixture
async def qc(transport: FlakyTransport) -> AsyncIterator[AsyncQuizClient]:
    async with AsyncQuizClient(
        BASE_URL, api_key=API_KEY, transport=transport, backoff_s=0.001, max_backoff_s=0.01
    ) as client:
        yield client


@pytest.fixture
async def candidate(transport: FlakyTransport) -> AsyncIterator[AsyncQuizClient]:
    """A client without an API key, as a candidate's device would be."""
    async with AsyncQuizClient(
        BASE_URL, transport=transport, backoff_s=0.001, max_backoff_s=0.01
    ) as client:
        yield client


async def invite_one(qc: AsyncQuizClient, quiz_id: str = DEMO_ID, n: int = 1) -> IssuedInvite:
    invites = await qc.invite(
        quiz_id,
        [RosterLine(name=f"Ann {n}", email=f"ann{n}@example.org", valid_until="2099-12-31")],
    )
    assert len(invites) == 1
    return invites[0]


async def login(qc: AsyncQuizClient, candidate: AsyncQuizClient, n: int = 1) -> SessionHandle:
    issued = await invite_one(qc, n=n)
    return await candidate.open_session(invite_token=issued.token)


async def answer_all(session: SessionHandle) -> list[SaveResult]:
    saved: list[SaveResult] = []
    while True:
        current = await session.next_question()
        if current.question is None:
            return saved
        qid = current.question.id
        saved.append(await session.save(qid, DEMO_RIGHT[qid], op_id=f"op-{qid}"))


# -- a whole attempt -------------------------------------------------------------------


async def test_a_whole_attempt_through_the_client(
    api: Api, qc: AsyncQuizClient, candidate: AsyncQuizClient
) -> None:
    stored = await qc.put_quiz(DEMO_ID, demo_definition())
    assert stored == QuizStored(id=DEMO_ID, version=1, title=stored.title)

    issued = await invite_one(qc)
    assert isinstance(issued, IssuedInvite)
    assert issued.token
    assert issued.valid_until > START

    session = await candidate.open_session(invite_token=issued.token)
    assert isinstance(session.opened, OpenedSession)
    assert session.token == session.opened.session_token
    assert session.attempt_id is not None
    view = await session.view()
    assert isinstance(view, AttemptView)
    assert view.state == "practice_not_started"

    # The practice round: start, one answer, finish (unscored).
    practice = await session.start("practice")
    assert practice.state == "practice_started"
    first = await session.next_question()
    assert isinstance(first, NextQuestion)
    assert first.question is not None
    assert first.question.section == "practice"
    finished = await session.complete()
    assert isinstance(finished, CompleteResult)
    assert finished.score is None
    assert finished.attempt.state == "test_not_started"

    # The test: every question answered right, one save replayed by op_id.
    started = await session.start("test")
    assert started.state == "test_started"
    assert started.deadline == START + 600
    saved = await answer_all(session)
    assert [s.question_id for s in saved] == DEMO_TEST_ORDER
    assert all(isinstance(s, SaveResult) and s.saved and not s.replayed for s in saved)
    again = await session.save("capital-au", "canberra", op_id="op-capital-au")
    assert again.replayed
    assert again.version == saved[0].version

    # Going back to a delivered question shows the saved answer.
    back = await session.question("capital-au")
    assert isinstance(back, QuestionView)
    assert back.answer == "canberra"

    # A heartbeat refreshes the handle's token.
    api.clock.advance(30)
    old_token = session.token
    beat = await session.heartbeat("capital-au")
    assert isinstance(beat, HeartbeatResult)
    assert session.token == beat.session_token != old_token
    assert session.expires_at == beat.expires_at
    assert (await session.view()).time_remaining_s == pytest.approx(570)

    result = await session.complete(op_id="submit-1")
    assert result.score == DEMO_MAX_SCORE
    assert result.max_score == DEMO_MAX_SCORE
    assert result.attempt.status == "submitted"
    assert (await session.complete(op_id="submit-1")) == result  # submitting twice: same score
    await session.logout()
    with pytest.raises(Unauthorized) as closed:
        await session.view()
    assert closed.value.code == "session_closed"


async def test_backend_login_and_a_rebuilt_handle(
    api: Api, demo: dict[str, Any], qc: AsyncQuizClient, candidate: AsyncQuizClient
) -> None:
    session = await qc.open_session(user_id="u-42", quiz_id=DEMO_ID, name="Bob Backend")
    assert session.opened is not None
    assert session.opened.attempt.candidate_id == "u-42"
    again = qc.session(session.session_id, session.token)
    assert again.attempt_id is None
    assert (await again.view()).attempt_id == session.attempt_id

    with pytest.raises(Unauthorized) as refused:
        await candidate.open_session(user_id="u-43", quiz_id=DEMO_ID)
    assert refused.value.code == "api_key_required"
    with pytest.raises(ValueError, match="either invite_token"):
        await qc.open_session(user_id="u-44")


async def test_through_the_litestar_test_clients_transport(api: Api, demo: dict[str, Any]) -> None:
    transport = api.client._transport  # duck-typed: not an httpx.AsyncBaseTransport
    async with AsyncQuizClient(BASE_URL, api_key=API_KEY, transport=transport) as client:
        assert [q.id for q in await client.list_quizzes()] == [DEMO_ID]
        session = await client.open_session(user_id="u-7", quiz_id=DEMO_ID)
        assert (await session.start("test")).state == "test_started"


# -- every administrator call ----------------------------------------------------------


async def test_every_admin_call(api: Api, qc: AsyncQuizClient, candidate: AsyncQuizClient) -> None:
    await qc.put_quiz(DEMO_ID, demo_definition())
    done = await login(qc, candidate, 1)
    await done.start("test")
    await answer_all(done)
    await done.complete()
    running = await login(qc, candidate, 2)
    await running.start("test")
    await running.next_question()
    assert done.attempt_id is not None
    assert running.attempt_id is not None

    definition = await qc.get_quiz(DEMO_ID)
    assert definition["version"] == 1
    assert definition["id"] == DEMO_ID
    longer = {k: v for k, v in definition.items() if k != "version"} | {"duration_s": 900}
    assert (await qc.put_quiz(DEMO_ID, longer)).version == 2
    assert (await qc.get_quiz(DEMO_ID, version=1))["duration_s"] == 600
    assert await qc.list_quizzes() == [
        QuizSummary(id=DEMO_ID, version=2, title=definition["title"])
    ]

    timing = await qc.apply_timing(DEMO_ID)
    assert timing == TimingResult(
        quiz_id=DEMO_ID, quiz_version=2, duration_s=900, attempts_changed=1
    )

    live = await qc.live_attempts(DEMO_ID)
    assert isinstance(live, LiveList)
    assert {a.attempt_id for a in live.attempts} == {done.attempt_id, running.attempt_id}
    assert all(isinstance(a, LiveAttempt) for a in live.attempts)
    assert live.server_time == START

    page = await qc.list_attempts(quiz_id=DEMO_ID, limit=10)
    assert isinstance(page, AttemptList)
    assert (page.limit, page.offset) == (10, 0)
    assert all(isinstance(row, AttemptIndexRow) for row in page.attempts)
    submitted = await qc.list_attempts(status="submitted")
    assert [row.attempt_id for row in submitted.attempts] == [done.attempt_id]

    detail = await qc.attempt(done.attempt_id)
    assert isinstance(detail, AttemptDetail)
    assert detail.candidate_name == "Ann 1"
    assert detail.attempt.result is not None
    assert detail.attempt.result.score == DEMO_MAX_SCORE

    entries = await qc.events(done.attempt_id)
    assert all(isinstance(e, EventView) for e in entries)
    events = logged(entries)  # a client reads each event as a mapping
    assert isinstance(events[0], AttemptCreated)
    assert isinstance(events[-1], Submitted)
    assert sum(isinstance(e, AnswerSaved) for e in events) == len(DEMO_TEST_ORDER)
    assert [e.type for e in entries][-1] == "submitted"

    text = await qc.timeline(done.attempt_id)
    assert isinstance(text, str)
    assert "submit candidate 13/13" in text
    analytics = await qc.analytics(done.attempt_id)
    assert isinstance(analytics, AttemptAnalytics)
    assert analytics.sessions.sessions == 1

    extended = await qc.extend(running.attempt_id, 60, reason="fire alarm")
    assert extended.deadline == START + 900 + 60
    unlocked = await qc.unlock(running.attempt_id)
    assert isinstance(unlocked, AttemptView)
    assert (await qc.attempt(running.attempt_id)).live_session is None
    voided = await qc.void(running.attempt_id, reason="copying")
    assert voided.status == "voided"
    reopened = await qc.reopen(running.attempt_id, reason="appeal", extra_seconds=30)
    assert reopened.status == "open"

    results = await qc.results(DEMO_ID)
    assert isinstance(results, QuizResults)
    assert {r.attempt_id for r in results.results} == {done.attempt_id, running.attempt_id}
    assert results.summary.scored == 1
    csv_text = await qc.results(DEMO_ID, "csv")
    assert csv_text.splitlines()[0].startswith("attempt_id")
    assert len(csv_text.splitlines()) == 3

    items = await qc.item_analysis(DEMO_ID)
    assert isinstance(items, ItemAnalysisReport)
    assert items.scored_attempts == 1
    assert {i.question_id for i in items.items} == set(DEMO_TEST_ORDER)

    html = await qc.report_html(DEMO_ID)
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "<!doctype html" in (await qc.report_html(DEMO_ID, timelines=True)).lower()

    assert await qc.health() == {"status": "ok"}
    assert await qc.ready() == Readiness(status="ready", store=True, live=True)


async def test_invites_from_roster_text(
    api: Api, demo: dict[str, Any], qc: AsyncQuizClient
) -> None:
    token = "cleo-token-0123456789abcdef"
    invites = await qc.invite(DEMO_ID, roster_text=f"Cleo Text cleo@example.org 2099-12-31 {token}")
    assert [(i.name, i.email, i.token) for i in invites] == [
        ("Cleo Text", "cleo@example.org", token)
    ]
    with pytest.raises(ValidationFailed) as bad:
        await qc.invite(DEMO_ID, roster_text="\nno-token x@example.org 2099-12-31\n")
    assert [(p.line, p.path) for p in bad.value.problems] == [(2, "")]


# -- errors ------------------------------------------------------------------------------


async def test_session_active(
    api: Api, demo: dict[str, Any], qc: AsyncQuizClient, candidate: AsyncQuizClient
) -> None:
    issued = await invite_one(qc)
    await candidate.open_session(invite_token=issued.token)
    with pytest.raises(SessionActive) as active:
        await candidate.open_session(invite_token=issued.token)
    error = active.value
    assert isinstance(error, Conflict)
    assert (error.status, error.code) == (409, "session_active")
    assert error.takeover_allowed is True
    assert error.retry_after == 15
    assert error.body["type"] == "/problems/session_active"

    await qc.put_quiz("strict", demo_definition("strict", policies={"second_login": "refuse"}))
    strict = await invite_one(qc, "strict", n=2)
    await candidate.open_session(invite_token=strict.token)
    with pytest.raises(SessionActive) as refused:
        await candidate.open_session(invite_token=strict.token, takeover=True)
    assert refused.value.takeover_allowed is False


async def test_superseded(
    api: Api, demo: dict[str, Any], qc: AsyncQuizClient, candidate: AsyncQuizClient
) -> None:
    issued = await invite_one(qc)
    old = await candidate.open_session(invite_token=issued.token)
    await old.start("test")
    await old.next_question()
    new = await candidate.open_session(invite_token=issued.token, takeover=True)
    with pytest.raises(Superseded) as superseded:
        await old.save("capital-au", "canberra")
    assert superseded.value.code == "session_superseded"
    with pytest.raises(Superseded):
        await old.heartbeat()
    assert (await new.save("capital-au", "canberra")).saved


async def test_deadline_passed(
    api: Api, demo: dict[str, Any], qc: AsyncQuizClient, candidate: AsyncQuizClient
) -> None:
    session = await login(qc, candidate)
    await session.start("test")
    await session.next_question()
    api.clock.advance(600 + 5 + 0.001)
    with pytest.raises(DeadlinePassed) as late:
        await session.save("capital-au", "canberra")
    assert late.value.status == 409
    assert late.value.deadline == START + 600


async def test_invalid_key_and_token(
    api: Api, demo: dict[str, Any], transport: FlakyTransport, candidate: AsyncQuizClient
) -> None:
    async with AsyncQuizClient(BASE_URL, api_key="not-a-key-at-all", transport=transport) as bad:
        with pytest.raises(Unauthorized) as invalid:
            await bad.list_quizzes()
        assert (invalid.value.status, invalid.value.code) == (401, "api_key_invalid")
    with pytest.raises(Unauthorized) as missing:
        await candidate.list_attempts()
    assert missing.value.code == "api_key_required"
    with pytest.raises(Unauthorized) as invite:
        await candidate.open_session(invite_token="no-such-invite")
    assert invite.value.code == "invite_invalid"
    forged = candidate.session("s_nope", "not.a.token")
    with pytest.raises(Unauthorized) as token:
        await forged.view()
    assert token.value.code == "token_invalid"


async def test_unknown_attempt_and_quiz(api: Api, qc: AsyncQuizClient) -> None:
    for call in (
        qc.attempt("a_missing"),
        qc.events("a_missing"),
        qc.timeline("a_missing"),
        qc.extend("a_missing", 60),
        qc.get_quiz("missing"),
        qc.live_attempts("missing"),
        qc.results("missing"),
        qc.attempt("a/../../quizzes?x=1"),  # one path segment, whatever it holds
    ):
        with pytest.raises(NotFound) as missing:
            await call
        assert (missing.value.status, missing.value.code) == (404, "not_found")


async def test_validation(
    api: Api, demo: dict[str, Any], qc: AsyncQuizClient, candidate: AsyncQuizClient
) -> None:
    broken = demo_definition("broken", duration_s=-5)
    with pytest.raises(ValidationFailed) as invalid_quiz:
        await qc.put_quiz("broken", broken)
    assert (invalid_quiz.value.status, invalid_quiz.value.code) == (422, "quiz_invalid")
    assert "/duration_s" in {p.path for p in invalid_quiz.value.problems}

    session = await login(qc, candidate)
    await session.start("test")
    await session.next_question()
    with pytest.raises(ValidationFailed) as bad_id:
        await session.save("not a valid id!", "x")
    assert bad_id.value.code == "validation_error"
    assert [p.path for p in bad_id.value.problems] == ["/question_id"]

    assert session.attempt_id is not None
    with pytest.raises(ValidationFailed) as bad_seconds:
        await qc.extend(session.attempt_id, -1)
    assert bad_seconds.value.problems[0].path == "/seconds"

    with pytest.raises(ValidationFailed) as bad_limit:
        await qc.list_attempts(limit=0)
    assert bad_limit.value.code == "validation_error"


async def test_conflict_for_other_409s(
    api: Api, demo: dict[str, Any], qc: AsyncQuizClient, candidate: AsyncQuizClient
) -> None:
    session = await login(qc, candidate)
    await session.start("test")
    await session.next_question()
    with pytest.raises(Conflict) as unknown:
        await session.question("hamlet-author")  # not delivered yet
    assert unknown.value.code == "question_not_delivered"
    assert type(unknown.value) is Conflict


async def test_rate_limited(api: Api, demo: dict[str, Any], candidate: AsyncQuizClient) -> None:
    codes: list[str] = []
    with pytest.raises(RateLimited) as limited:
        for _ in range(50):
            try:
                await candidate.open_session(invite_token="guessing-an-invite")
            except Unauthorized as wrong:
                codes.append(wrong.code)
    assert set(codes) == {"invite_invalid"}
    assert (limited.value.status, limited.value.code) == (429, "rate_limited")
    assert limited.value.retry_after == 60


def _problem(status: int, code: str, **extra: Any) -> httpx.Response:
    body = {"type": f"/problems/{code}", "title": "t", "status": status, "code": code}
    return httpx.Response(
        status,
        content=json.dumps({**body, "detail": "d", **extra}).encode(),
        headers={"content-type": "application/problem+json"},
    )


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (409, "session_active", SessionActive),
        (409, "session_superseded", Superseded),
        (409, "deadline_passed", DeadlinePassed),
        (409, "attempt_closed", Conflict),
        (401, "token_expired", Unauthorized),
        (401, "api_key_invalid", Unauthorized),
        (403, "quiz_not_open", Forbidden),
        (404, "not_found", NotFound),
        (422, "validation_error", ValidationFailed),
        (400, "malformed_json", ValidationFailed),
        (413, "body_too_large", ValidationFailed),
        (429, "rate_limited", RateLimited),
        (503, "draining", Unavailable),
        (405, "method_not_allowed", ValidationFailed),
        (500, "internal", InternalError),
    ],
)
def test_error_class_for_each_code(status: int, code: str, cls: type[QuizSessionError]) -> None:
    error = error_from_response(_problem(status, code, retry_after=3))
    assert type(error) is cls
    assert (error.status, error.code, error.detail) == (status, code, "d")
    assert error.retry_after == 3


def test_an_error_that_is_not_a_problem() -> None:
    error = error_from_response(httpx.Response(502, text="<html>Bad gateway</html>"))
    assert type(error) is QuizSessionError
    assert (error.status, error.code, error.body) == (502, "http_502", {})
    assert "Bad gateway" in error.detail
    header = error_from_response(httpx.Response(503, headers={"Retry-After": "7"}))
    assert isinstance(header, Unavailable)
    assert header.retry_after == 7


# -- retries -----------------------------------------------------------------------------


async def test_a_lost_save_response_is_retried_with_the_same_op_id(
    api: Api, demo: dict[str, Any], qc: AsyncQuizClient, transport: FlakyTransport
) -> None:
    session = await login(qc, qc)
    await session.start("test")
    await session.next_question()
    lost = {"n": 0}

    def once(request: httpx.Request) -> bool:
        if request.method == "PUT" and lost["n"] == 0:
            lost["n"] += 1
            return True
        return False

    transport.fail_after = once  # the save lands, its response is lost
    result = await session.save("capital-au", "canberra")
    assert result.replayed  # the retry got the first result
    puts = transport.sent_to("PUT", "/progress")
    assert len(puts) == 2
    assert puts[0].content == puts[1].content  # the same op_id both times
    assert session.attempt_id is not None
    events = logged(await qc.events(session.attempt_id))
    assert sum(isinstance(e, AnswerSaved) for e in events) == 1


async def test_gets_and_completes_are_retried_on_connection_errors(
    api: Api, demo: dict[str, Any], qc: AsyncQuizClient, transport: FlakyTransport
) -> None:
    session = await login(qc, qc)
    await session.start("test")
    await session.next_question()
    refused = {"n": 0}

    def twice(_request: httpx.Request) -> bool:
        refused["n"] += 1
        return refused["n"] <= 2

    transport.fail_before = twice
    assert (await session.view()).state == "test_started"
    assert len(transport.sent_to("GET", session.session_id)) == 3

    refused["n"] = 0
    transport.fail_after = lambda r: r.url.path.endswith("/complete") and refused["n"] < 4
    done = await session.complete()
    assert done.attempt.status == "submitted"
    completes = transport.sent_to("POST", "/complete")
    assert len({r.content for r in completes}) == 1  # one op_id for every try


async def test_non_idempotent_calls_are_not_retried(
    api: Api, demo: dict[str, Any], qc: AsyncQuizClient, transport: FlakyTransport
) -> None:
    issued = await invite_one(qc)
    transport.fail_before = lambda _r: True
    with pytest.raises(TransportFailed) as login_failed:
        await qc.open_session(invite_token=issued.token)
    assert login_failed.value.attempts == 1
    assert isinstance(login_failed.value.__cause__, httpx.ConnectError)
    with pytest.raises(TransportFailed):
        await qc.extend("a_x", 10)
    assert len(transport.sent) == 3  # invite, one login, one extend

    transport.fail_before = lambda _r: False
    session = await qc.open_session(invite_token=issued.token)
    transport.fail_before = lambda _r: True
    before = len(transport.sent)
    for call in (session.heartbeat(), session.logout(), qc.apply_timing(DEMO_ID)):
        with pytest.raises(TransportFailed):
            await call
    assert len(transport.sent) == before + 3


async def test_retries_give_up(
    api: Api, demo: dict[str, Any], qc: AsyncQuizClient, transport: FlakyTransport
) -> None:
    transport.fail_before = lambda _r: True
    with pytest.raises(TransportFailed) as failed:
        await qc.list_quizzes()
    assert failed.value.attempts == qc.retries + 1
    assert len(transport.sent) == qc.retries + 1


async def test_idempotent_calls_wait_out_a_draining_instance() -> None:
    answers = [_problem(503, "draining", retry_after=1), _problem(503, "draining", retry_after=1)]
    answers.append(httpx.Response(200, json={"quizzes": []}))
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[len(seen) - 1]

    async with AsyncQuizClient(
        BASE_URL, api_key=API_KEY, transport=httpx.MockTransport(handler), max_backoff_s=0.01
    ) as client:
        assert await client.list_quizzes() == []
        assert len(seen) == 3
        seen.clear()
        answers[:] = [_problem(503, "draining", retry_after=1)]
        with pytest.raises(Unavailable):
            await client.extend("a_x", 10)  # not idempotent: raised at once
        assert len(seen) == 1


async def test_an_undecodable_answer() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"quizzes": "nope"})

    async with AsyncQuizClient(BASE_URL, transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(UnexpectedResponse) as bad:
            await client.list_quizzes()
        assert bad.value.status == 200


async def test_readiness_when_unavailable() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"status": "unavailable", "store": False, "live": True})

    async with AsyncQuizClient(BASE_URL, transport=httpx.MockTransport(handler)) as client:
        assert await client.ready() == Readiness(status="unavailable", store=False, live=True)


# -- the client's types are the server's --------------------------------------------------


@pytest.mark.parametrize(
    ("mine", "module"),
    [
        (QuizStored, routes_admin),
        (QuizList, routes_admin),
        (LiveList, routes_admin),
        (InviteList, routes_admin),
        (AttemptList, routes_admin),
        (QuizResults, routes_reports),
        (ItemAnalysisReport, routes_reports),
    ],
)
def test_envelopes_are_the_server_s(mine: type[Any], module: object) -> None:
    assert getattr(module, mine.__name__) is mine  # one wire module: quizsession.api.models


def test_the_server_narrows_only_the_event_type() -> None:
    """The server's log entries are the wire's with the domain's events in ``data``."""
    from quizsession.app import admin

    def shape(cls: type[Any]) -> list[tuple[str, str, bool]]:
        info = msgspec.inspect.type_info(cls)
        assert isinstance(info, msgspec.inspect.StructType)
        return [(f.name, f.encode_name, f.required) for f in info.fields]

    assert issubclass(admin.EventView, EventView)
    assert issubclass(admin.AttemptDetail, AttemptDetail)
    assert shape(admin.EventView) == shape(LogEntry)
    assert shape(admin.AttemptDetail) == shape(AttemptDetail[LogEntry])


def test_roster_line_is_accepted_by_the_server() -> None:
    line = RosterLine(name="A", email="a@example.org", valid_until="2099-12-31")
    decoded = msgspec.json.decode(msgspec.json.encode(line), type=RosterLine, strict=True)
    assert decoded.candidate_id is None
