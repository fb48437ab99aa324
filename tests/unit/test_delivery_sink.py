"""The sink contract: the webhook sink against a real receiver on loopback
(which verifies every signature with the ``standardwebhooks`` reference
implementation) and the fake sink of the engine's tests answer alike."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Protocol

import pytest

from quizsession.adapters.webhooks import WebhookSink
from quizsession.adapters.webhooks.signing import body
from quizsession.app.clock import SystemClock
from quizsession.app.outbound import Destination, OutboundEvent, SendOutcome
from testsupport.fake_sink import FakeSink
from testsupport.webhook_receiver import Receiver, read_log

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"


class AnySink(Protocol):
    @property
    def kind(self) -> str: ...

    async def send(self, destination: Destination, event: OutboundEvent) -> SendOutcome: ...


def event(seq: int = 3) -> OutboundEvent:
    return OutboundEvent(
        event_id=f"evt_{seq}",
        type="attempt.scored",
        attempt_id="a1",
        quiz_id="q1",
        candidate_id="c1",
        seq=seq,
        at=1_700_000_000.5,
        data={"score": {"points": 1.5, "max": 2.0}},
    )


def destination(url: str, secrets: list[dict[str, object]] | None = None) -> Destination:
    return Destination(
        id="wh_1",
        kind="webhook",
        url=url,
        event_types=("attempt.scored",),
        config={"secrets": secrets or [{"secret": SECRET, "expires_at": None}]},
    )


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    r = Receiver([SECRET], tmp_path / "received.jsonl").start()
    yield r
    r.stop()


@pytest.fixture(params=["webhook", "fake"])
async def sink(request: pytest.FixtureRequest) -> AsyncIterator[AnySink]:
    if request.param == "fake":
        yield FakeSink(timeout_s=0.5)
        return
    real = WebhookSink(WebhookSink.client(0.5), SystemClock(), timeout_s=0.5)
    yield real
    await real.close()


@pytest.mark.parametrize(
    ("path", "ok", "status", "retry", "disable"),
    [
        ("/ok", True, 204, True, False),
        ("/status/200", True, 200, True, False),
        ("/status/500", False, 500, True, False),
        ("/status/404", False, 404, True, False),
        ("/status/302", False, 302, True, False),
        ("/status/410", False, 410, False, True),
    ],
)
async def test_a_sink_says_how_a_send_went(
    sink: AnySink, receiver: Receiver, path: str, ok: bool, status: int, retry: bool, disable: bool
) -> None:
    outcome = await sink.send(destination(receiver.url + path), event())
    assert (outcome.ok, outcome.status, outcome.retry, outcome.disable) == (
        ok,
        status,
        retry,
        disable,
    )
    assert (outcome.error is None) == ok


async def test_a_sink_gives_up_on_a_slow_endpoint_and_says_so(
    sink: AnySink, receiver: Receiver
) -> None:
    outcome = await sink.send(destination(receiver.url + "/slow/1"), event())
    assert (outcome.ok, outcome.retry, outcome.status) == (False, True, None)
    assert outcome.error is not None
    assert "0.5 s" in outcome.error


async def test_a_sink_never_raises_for_an_unreachable_endpoint(sink: AnySink) -> None:
    outcome = await sink.send(destination("http://127.0.0.1:9/ok"), event())
    assert (outcome.ok, outcome.retry) == (False, True)


async def test_the_webhook_is_signed_per_standard_webhooks(
    receiver: Receiver, tmp_path: Path
) -> None:
    sink = WebhookSink(WebhookSink.client(2.0), SystemClock(), timeout_s=2.0)
    try:
        assert (await sink.send(destination(receiver.url + "/ok"), event())).ok
        assert (await sink.send(destination(receiver.url + "/ok"), event())).ok
    finally:
        await sink.close()
    first, again = read_log(receiver.log)
    assert first["verified"]
    assert again["verified"]
    assert first["id"] == again["id"] == "evt_3"  # a retry keeps its webhook-id
    assert first["event"] == {
        "type": "attempt.scored",
        "timestamp": "2023-11-14T22:13:20.500000Z",
        "data": {
            "event_id": "evt_3",
            "attempt_id": "a1",
            "quiz_id": "q1",
            "candidate_id": "c1",
            "seq": 3,
            "at": 1_700_000_000.5,
            "score": {"points": 1.5, "max": 2.0},
        },
    }
    assert body(
        event()
    ) == b'{"type":"attempt.scored","timestamp":"2023-11-14T22:13:20.500000Z",' + (
        b'"data":{"event_id":"evt_3","attempt_id":"a1","quiz_id":"q1","candidate_id":"c1",'
        b'"seq":3,"at":1700000000.5,"score":{"points":1.5,"max":2.0}}}'
    )


async def test_during_a_rotation_both_secrets_sign_and_an_expired_one_stops(
    tmp_path: Path,
) -> None:
    old_only = Receiver([OLD], tmp_path / "old.jsonl").start()
    clock = SystemClock()
    sink = WebhookSink(WebhookSink.client(2.0), clock, timeout_s=2.0)
    rotating: list[dict[str, object]] = [
        {"secret": SECRET, "expires_at": None},
        {"secret": OLD, "expires_at": clock.now() + 3600},
    ]
    expired: list[dict[str, object]] = [
        {"secret": SECRET, "expires_at": None},
        {"secret": OLD, "expires_at": 1.0},
    ]
    try:
        assert (await sink.send(destination(old_only.url + "/ok", rotating), event())).ok
        assert (await sink.send(destination(old_only.url + "/ok", expired), event())).ok
    finally:
        await sink.close()
        old_only.stop()
    during, after = read_log(old_only.log)
    assert (during["signatures"], during["verified"]) == (2, True)
    assert (after["signatures"], after["verified"]) == (1, False)
