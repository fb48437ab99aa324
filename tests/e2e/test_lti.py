"""LTI 1.3 end to end, over loopback: quizsession served by uvicorn on a SQLite
file, and a minimal platform built on the specifications
(``testsupport/lti_platform.py``) on another port. Login, launch, the attempt
taken through the API, the score received by the platform's gradebook; the deep
linking round trip; and every refused launch with its stable code, changing
nothing."""

from __future__ import annotations

import asyncio
import html
import importlib.resources
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import uvicorn
import yaml

from quizsession.app.lti.platforms import ags_destination
from quizsession.app.outbound import OutboundEvent
from quizsession.bootstrap import Container, build
from quizsession.client import AsyncQuizClient
from quizsession.domain.events import AttemptCreated
from quizsession.entrypoints.http.app import create_app
from quizsession.settings import Settings
from testsupport.lti_platform import INSTRUCTOR, Launch, LtiPlatform, form_of, new_rsa_key
from testsupport.net import free_port

API_KEY = "lti-admin-key-0123456789"
QUIZ = "demo-general-knowledge"


@dataclass
class Tool:
    url: str
    container: Container
    admin: dict[str, str]


@pytest.fixture
async def platform() -> AsyncIterator[LtiPlatform]:
    lms = LtiPlatform()
    async with lms.serve():
        yield lms


@pytest.fixture
async def tool(tmp_path: Path, platform: LtiPlatform) -> AsyncIterator[Tool]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(
        store_url=f"sqlite:///{tmp_path / 'quizsession.db'}",
        api_keys=f"admin={API_KEY}",
        base_url=url,
    )
    container = build(settings)
    server = uvicorn.Server(
        uvicorn.Config(create_app(container), host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        admin = {"x-api-key": API_KEY}
        async with httpx.AsyncClient(base_url=url, headers=admin) as http:
            answer = await http.post("/admin/lti/platforms", json=platform.registration())
            assert answer.status_code == 201, answer.text
            text = importlib.resources.files("quizsession").joinpath("examples/demo.yaml")
            definition = yaml.safe_load(text.read_text())
            assert (await http.put(f"/admin/quizzes/{QUIZ}", json=definition)).status_code in (
                200,
                201,
            )
        platform.tool_jwks_url = url + "/lti/jwks"
        yield Tool(url=url, container=container, admin=admin)
    finally:
        server.should_exit = True
        await task


async def login(
    browser: httpx.AsyncClient, tool: Tool, platform: LtiPlatform, hint: str, **extra: str
) -> dict[str, str]:
    """The platform's login initiation, the tool's redirect, the platform's
    answer: the form (id_token, state) the browser is to post to the tool."""
    params = platform.login_params(hint, tool.url + "/lti/launch", **extra)
    answer = await browser.get(tool.url + "/lti/login", params=params)
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    assert location.startswith(platform.url + "/auth?")
    page = await browser.get(location)
    assert page.status_code == 200, page.text
    action, fields = form_of(page.text)
    assert action == tool.url + "/lti/launch"
    return fields


async def launch(
    tool: Tool, platform: LtiPlatform, hint: str, spec: Launch
) -> tuple[httpx.Response, dict[str, str], httpx.Cookies]:
    platform.prepare(hint, spec)
    async with httpx.AsyncClient() as browser:
        fields = await login(browser, tool, platform, hint)
        cookies = httpx.Cookies(browser.cookies)
        answer = await browser.post(tool.url + "/lti/launch", data=fields)
    return answer, fields, cookies


def handed_session(page: str) -> dict[str, str]:
    found = re.search(r'name="session" value="([^"]*)"', page)
    assert found is not None, page
    session: dict[str, str] = json.loads(html.unescape(found.group(1)))
    return session


async def attempts(tool: Tool) -> list[Any]:
    return await tool.container.data.list_attempts()


async def test_a_learner_launch_takes_the_quiz_and_the_score_reaches_the_gradebook(
    tool: Tool, platform: LtiPlatform
) -> None:
    spec = Launch(sub="learner-1", custom={"quiz_id": QUIZ}, lineitem=platform.lineitem(7))
    answer, _fields, _ = await launch(tool, platform, "l1", spec)
    assert answer.status_code == 200, answer.text
    assert "script-src 'nonce-" in answer.headers["content-security-policy"]
    assert "quizsession.session" in answer.text
    assert "/take" in answer.text
    session = handed_session(answer.text)
    assert session["token"] not in str(answer.url)
    # The state cookie is spent.
    assert "Max-Age=0" in answer.headers["set-cookie"]

    async with AsyncQuizClient(tool.url, timeout=10.0) as client:
        handle = client.session(session["id"], session["token"])
        view = await handle.start("test")
        assert view.attempt_id == session["attemptId"]
        result = await handle.complete()
    assert result.max_score is not None
    assert result.score is not None

    link = await tool.container.data.get_lti_link(session["attemptId"])
    assert link is not None
    assert link.subject == "learner-1"
    assert link.lineitem == platform.lineitem(7)
    # The name is in the attempt's log (encrypted at rest when keys are set), never
    # in the launch link.
    assert (link.name, link.email) == ("", "")
    created = (await tool.container.data.read(session["attemptId"]))[0].event
    assert isinstance(created, AttemptCreated)
    assert created.candidate_name == "Ada Lovelace"
    # The delivery engine follows the log: the score reaches the gradebook.
    for _ in range(200):
        if platform.scores:
            break
        await asyncio.sleep(0.05)
    (score,) = platform.scores
    timestamp = score.pop("timestamp")
    assert score == {
        "userId": "learner-1",
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "scoreGiven": result.score,
        "scoreMaximum": result.max_score,
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", timestamp)
    assert platform.score_urls == [platform.url + "/lineitems/7/scores?course=c1"]
    # The sink alone: a later score (one pending manual grading) reuses the token.
    (registered,) = await tool.container.lti.platforms.all()
    event = OutboundEvent(
        event_id="evt-later",
        type="attempt.scored",
        attempt_id=session["attemptId"],
        quiz_id=QUIZ,
        candidate_id="c",
        seq=99,
        at=1_800_000_000.25,
        data={"score": {"points": 2.0, "max": 13.0}, "cause": "regrade"},
    )
    assert (await tool.container.lti_sink.send(ags_destination(registered), event)).ok
    assert platform.scores[-1]["timestamp"] == "2027-01-15T08:00:00.250Z"
    assert platform.scores[-1]["scoreGiven"] == 2.0
    pending = msgspec_replace(event, data={"score": {"points": 1.0, "max": 13.0, "pending": True}})
    assert (await tool.container.lti_sink.send(ags_destination(registered), pending)).ok
    assert platform.scores[-1]["gradingProgress"] == "PendingManual"
    assert len(platform.tokens_issued) == 1
    # The platform failing: 5xx retried, 4xx not.
    platform.fail_scores_with = 503
    outcome = await tool.container.lti_sink.send(ags_destination(registered), event)
    assert not outcome.ok
    assert outcome.retry
    assert outcome.status == 503
    platform.fail_scores_with = 422
    outcome = await tool.container.lti_sink.send(ags_destination(registered), event)
    assert not outcome.ok
    assert not outcome.retry


def msgspec_replace(event: OutboundEvent, **changes: Any) -> OutboundEvent:
    return msgspec.structs.replace(event, **changes)


async def test_deep_linking_round_trip(tool: Tool, platform: LtiPlatform) -> None:
    spec = Launch(sub="teacher-1", message_type="LtiDeepLinkingRequest", roles=[INSTRUCTOR])
    answer, _, _ = await launch(tool, platform, "t1", spec)
    assert answer.status_code == 200, answer.text
    action, fields = form_of(answer.text)
    assert action == "/lti/deep-link"
    async with httpx.AsyncClient() as browser:
        chosen = await browser.post(tool.url + "/lti/deep-link", data={**fields, "quiz_id": QUIZ})
        assert chosen.status_code == 200, chosen.text
        back, answer_fields = form_of(chosen.text)
        assert back == platform.url + "/deep-link-return"
        posted = await browser.post(back, data=answer_fields)
        assert posted.status_code == 200, posted.text
    (claims,) = platform.deep_links
    dl = "https://purl.imsglobal.org/spec/lti-dl/claim/"
    lti = "https://purl.imsglobal.org/spec/lti/claim/"
    assert claims[lti + "message_type"] == "LtiDeepLinkingResponse"
    assert claims[lti + "deployment_id"] == "dep-1"
    assert claims[dl + "data"] == "opaque-data-1"
    (item,) = claims[dl + "content_items"]
    assert item["type"] == "ltiResourceLink"
    assert item["url"] == tool.url + "/lti/launch"
    assert item["custom"] == {"quiz_id": QUIZ}
    assert item["lineItem"]["scoreMaximum"] > 0
    assert await attempts(tool) == []


async def test_an_instructor_launch_shows_the_quiz_and_starts_no_attempt(
    tool: Tool, platform: LtiPlatform
) -> None:
    spec = Launch(sub="teacher-2", roles=[INSTRUCTOR], custom={"quiz_id": QUIZ})
    answer, _, _ = await launch(tool, platform, "t2", spec)
    assert answer.status_code == 200, answer.text
    assert "Demo: general knowledge" in answer.text
    assert await attempts(tool) == []


async def test_the_tool_key_set_has_a_kid(tool: Tool) -> None:
    async with httpx.AsyncClient() as http:
        keys = (await http.get(tool.url + "/lti/jwks")).json()["keys"]
        urls = (await http.get(tool.url + "/admin/lti/urls", headers=tool.admin)).json()
    (key,) = keys
    assert key["kty"] == "RSA"
    assert key["alg"] == "RS256"
    assert key["kid"]
    assert "d" not in key
    assert urls["login_url"] == tool.url + "/lti/login"
    assert urls["jwks_url"] == tool.url + "/lti/jwks"


def _code(answer: httpx.Response) -> str:
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.text
    code: str = answer.json()["code"]
    return code


def learner(**fields: Any) -> Launch:
    """A learner's launch of the quiz, with ``fields`` changed."""
    return Launch(**{"sub": "x", "custom": {"quiz_id": QUIZ}, **fields})


@pytest.mark.parametrize(
    ("spec", "code"),
    [
        (learner(kid="unknown-kid"), "lti_token_invalid"),
        (learner(key=new_rsa_key()), "lti_token_invalid"),
        (
            learner(lifetime_s=60, issued_offset_s=-900),
            "lti_token_expired",
        ),
        (learner(deployment_id="dep-unknown"), "lti_deployment_unknown"),
        (learner(claims={"aud": "another-tool"}), "lti_token_invalid"),
        (
            learner(claims={"iss": "https://unknown.example"}),
            "lti_platform_unknown",
        ),
        (
            learner(claims={"https://purl.imsglobal.org/spec/lti/claim/version": "1.1"}),
            "lti_message_invalid",
        ),
        (Launch(sub="x"), "lti_message_invalid"),  # no quiz_id
    ],
    ids=[
        "wrong-kid",
        "wrong-key",
        "expired",
        "unknown-deployment",
        "wrong-audience",
        "unknown-issuer",
        "wrong-version",
        "no-quiz",
    ],
)
async def test_a_refused_launch_has_its_code_and_changes_nothing(
    tool: Tool, platform: LtiPlatform, spec: Launch, code: str
) -> None:
    answer, _, _ = await launch(tool, platform, "n1", spec)
    assert answer.status_code in (401, 422), answer.text
    assert _code(answer) == code
    assert await attempts(tool) == []


async def test_a_replayed_launch_is_refused(tool: Tool, platform: LtiPlatform) -> None:
    spec = Launch(sub="learner-r", custom={"quiz_id": QUIZ})
    answer, fields, cookies = await launch(tool, platform, "r1", spec)
    assert answer.status_code == 200, answer.text
    before = await attempts(tool)
    async with httpx.AsyncClient(cookies=cookies) as browser:  # the same cookie, again
        again = await browser.post(tool.url + "/lti/launch", data=fields)
    assert again.status_code == 401
    assert _code(again) == "lti_nonce_replayed"
    assert await attempts(tool) == before


async def test_a_launch_without_the_login_cookie_or_with_another_state_is_refused(
    tool: Tool, platform: LtiPlatform
) -> None:
    platform.prepare("s1", Launch(sub="learner-s", custom={"quiz_id": QUIZ}))
    platform.prepare("s2", Launch(sub="learner-s", custom={"quiz_id": QUIZ}))
    async with httpx.AsyncClient() as browser:
        first = await login(browser, tool, platform, "s1")
        second = await login(browser, tool, platform, "s2")
        # One login's token with the other's state: the nonce does not match.
        mixed = await browser.post(
            tool.url + "/lti/launch", data={**first, "state": second["state"]}
        )
        assert mixed.status_code == 401
        assert _code(mixed) == "lti_state_invalid"
        forged = await browser.post(
            tool.url + "/lti/launch", data={**first, "state": first["state"] + "x"}
        )
        assert forged.status_code == 401
        assert _code(forged) == "lti_state_invalid"
    async with httpx.AsyncClient() as elsewhere:  # another browser: no cookie
        answer = await elsewhere.post(tool.url + "/lti/launch", data=first)
        assert answer.status_code == 401
        assert _code(answer) == "lti_state_invalid"
        page = await elsewhere.post(
            tool.url + "/lti/launch", data=first, headers={"accept": "text/html"}
        )
        assert page.status_code == 401
        assert 'id="code">lti_state_invalid<' in page.text
    assert await attempts(tool) == []


async def test_a_login_from_an_unknown_issuer_or_deployment_is_refused(
    tool: Tool, platform: LtiPlatform
) -> None:
    async with httpx.AsyncClient() as browser:
        params = platform.login_params("u", tool.url + "/lti/launch")
        unknown = await browser.get(
            tool.url + "/lti/login", params={**params, "iss": "https://unknown.example"}
        )
        assert unknown.status_code == 401
        assert _code(unknown) == "lti_platform_unknown"
        deployment = await browser.post(
            tool.url + "/lti/login", data={**params, "lti_deployment_id": "nope"}
        )
        assert deployment.status_code == 401
        assert _code(deployment) == "lti_deployment_unknown"
        missing = await browser.post(tool.url + "/lti/login", data={"iss": platform.issuer})
        assert missing.status_code == 422
        assert _code(missing) == "lti_message_invalid"
        assert not browser.cookies
