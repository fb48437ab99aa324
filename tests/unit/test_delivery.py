"""The delivery engine with a fake clock, a fake sink (which passes the sink
tests of ``test_delivery_sink.py``) and real stores (memory and SQLite): the
fan-out follows the log, retries back off with jitter and end, a 410 disables,
an attempt's events go in order, a redelivery sends again with the same id, and
two dispatchers (or a dispatcher killed mid-send) never lose an event."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from quizsession.adapters.store.memory import MemoryStore
from quizsession.adapters.store.sqlite import SqliteStore
from quizsession.app.clock import FakeClock
from quizsession.app.delivery.admin import WebhookAdmin
from quizsession.app.delivery.engine import DeliveryEngine, DeliverySettings, backoff
from quizsession.app.delivery.events import event_id, outbound_events
from quizsession.app.ports import AttemptIndexRow, BacklogEntry, RecordedEvent, Store
from quizsession.domain.errors import DomainError, ErrorCode
from quizsession.domain.events import (
    AnswerSaved,
    AttemptCreated,
    AttemptEvent,
    DurationChanged,
    Reopened,
    SectionStarted,
    Submitted,
    TimeAccommodated,
    TimeExtended,
    Voided,
    outage_credit_reason,
)
from testsupport.fake_sink import FakeSink

T0 = 1_800_000_000.0
SETTINGS = DeliverySettings(first_retry_s=5, max_backoff_s=3600, retry_for_s=86_400, lease_s=60)


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    s: Store = MemoryStore() if request.param == "memory" else SqliteStore(str(tmp_path / "d.db"))
    await s.open()
    yield s
    await s.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


def row(attempt_id: str) -> AttemptIndexRow:
    return AttemptIndexRow(
        attempt_id=attempt_id,
        quiz_id="quiz-1",
        candidate_id="cand-1",
        status="open",
        state="test_started",
        version=0,
        updated_at=T0,
    )


async def log(store: Store, attempt_id: str, *events: AttemptEvent) -> None:
    current = len(await store.read(attempt_id))
    if current == 0:
        created = AttemptCreated(
            at=T0, attempt_id=attempt_id, quiz_id="quiz-1", quiz_version=1, candidate_id="cand-1"
        )
        events = (created, *events)
    await store.append(attempt_id, current, list(events), row(attempt_id))


def started() -> SectionStarted:
    return SectionStarted(at=T0 + 1, section="test", seed=1, plan=["q1"])


def submitted(score: float = 1.5) -> Submitted:
    return Submitted(at=T0 + 9, reason="deadline", finished_at=T0 + 8, score=score, max_score=2.0)


def engine(store: Store, sink: FakeSink, clock: FakeClock, draw: float = 0.5) -> DeliveryEngine:
    return DeliveryEngine(store, {"webhook": sink}, clock, SETTINGS, draw=lambda: draw)


async def endpoint(store: Store, clock: FakeClock, path: str = "/ok", **fields: object) -> str:
    view = await WebhookAdmin(store, clock).register(url="https://hooks.test" + path, **fields)  # type: ignore[arg-type]
    return view.id


def sent_types(sink: FakeSink) -> list[tuple[str, int, str]]:
    return [(e.attempt_id, e.seq, e.type) for _, e in sink.sent]


# -- the mapping from the log (pure) -----------------------------------------------------


def test_each_log_event_that_matters_outside_maps_to_its_outbound_events() -> None:
    entry = BacklogEntry(attempt_id="a1", quiz_id="q", candidate_id="c", cursor=0, latest=9)

    def mapped(event: AttemptEvent) -> list[tuple[str, dict[str, object]]]:
        record = RecordedEvent(attempt_id="a1", seq=4, event=event)
        return [(e.type, e.data) for e in outbound_events(entry, record)]

    assert mapped(started()) == [("attempt.started", {"started_at": T0 + 1})]
    assert mapped(SectionStarted(at=T0, section="practice", seed=1, plan=[])) == []
    assert mapped(TimeExtended(at=T0, seconds=60, by="admin:ops", reason="fire alarm")) == [
        ("attempt.extended", {"seconds": 60, "source": "admin"})
    ]
    credit = TimeExtended(at=T0, seconds=9, by="system", reason=outage_credit_reason(T0, T0 + 9))
    assert mapped(credit) == [("attempt.extended", {"seconds": 9, "source": "outage_credit"})]
    accommodated = TimeAccommodated(
        at=T0, seconds=30, multiplier=1.5, extra_seconds=0, by="admin:x"
    )
    assert mapped(accommodated) == [
        ("attempt.extended", {"seconds": 30, "source": "accommodation"})
    ]
    timing = DurationChanged(at=T0, duration_s=900, quiz_version=2, by="admin:ops")
    assert mapped(timing) == [("attempt.extended", {"duration_s": 900, "source": "timing_change"})]
    assert mapped(submitted()) == [
        ("attempt.submitted", {"reason": "deadline", "finished_at": T0 + 8}),
        (
            "attempt.scored",
            {"score": {"points": 1.5, "max": 2.0}, "finished_at": T0 + 8, "cause": "submission"},
        ),
    ]
    assert mapped(Voided(at=T0, by="admin:ops", reason="cheating")) == [
        ("attempt.voided", {"by": "admin"})
    ]
    assert mapped(Reopened(at=T0, by="admin:ops", extra_seconds=120)) == [
        ("attempt.reopened", {"by": "admin", "extra_seconds": 120})
    ]
    answer = AnswerSaved(
        at=T0, section="test", question_id="q", answer="x", op_id="o", session_id="s"
    )
    assert mapped(answer) == []
    [scored] = outbound_events(entry, RecordedEvent(attempt_id="a1", seq=4, event=submitted()))[1:]
    assert (scored.event_id, scored.seq, scored.at) == (
        event_id("a1", 4, "attempt.scored"),
        4,
        T0 + 9,
    )
    assert scored.event_id != event_id("a1", 4, "attempt.submitted")


# -- the engine --------------------------------------------------------------------------


async def test_a_submission_reaches_each_subscribed_endpoint_in_log_order(
    store: Store, clock: FakeClock
) -> None:
    everything = await endpoint(store, clock)
    scores = await endpoint(store, clock, event_types=["attempt.scored"])
    await log(store, "a1", started())
    await log(
        store,
        "a1",
        AnswerSaved(
            at=T0 + 2, section="test", question_id="q1", answer="x", op_id="o", session_id="s"
        ),
    )
    await log(store, "a1", submitted())
    sink = FakeSink()
    assert await engine(store, sink, clock).run_once() == (1, 4)
    by_endpoint = {
        d: [(e.seq, e.type) for dest, e in sink.sent if dest == d] for d in (everything, scores)
    }
    assert by_endpoint == {
        everything: [(2, "attempt.started"), (4, "attempt.submitted"), (4, "attempt.scored")],
        scores: [(4, "attempt.scored")],
    }
    assert await engine(store, sink, clock).run_once() == (0, 0)  # nothing twice
    [latest] = await store.list_deliveries(scores)
    assert (latest.status, latest.attempts, latest.last_status) == ("delivered", 1, 204)


async def test_no_delivery_is_written_for_a_destination_the_sink_does_not_reach(
    store: Store, clock: FakeClock
) -> None:
    # An LMS gradebook hears only of attempts launched from it.
    dest = await endpoint(store, clock)
    await log(store, "a1", started())
    await log(store, "a2", started())
    sink = FakeSink()
    sink.unreached.add("a2")
    assert await engine(store, sink, clock).run_once() == (2, 1)
    assert [(e.attempt_id, e.type) for _, e in sink.sent] == [("a1", "attempt.started")]
    assert [d.event.attempt_id for d in await store.list_deliveries(dest)] == ["a1"]


async def test_a_failing_endpoint_is_retried_with_backoff_then_failed(
    store: Store, clock: FakeClock
) -> None:
    hook = await endpoint(store, clock, "/status/503")
    await log(store, "a1", submitted())
    sink = FakeSink()
    run = engine(store, sink, clock, draw=0.0)
    await run.run_once()
    waits = []
    for _ in range(200):
        pending = await store.list_deliveries(hook, status="pending")
        if not pending:
            break
        d = pending[-1]  # the oldest: the one the others wait behind
        waits.append(d.next_try_at - clock.now())
        clock.advance(d.next_try_at - clock.now())
        await run.run_once()
    assert waits[:5] == [2.5, 5.0, 10.0, 20.0, 40.0]  # half of 5 s doubling (draw 0)
    assert max(waits) == 1800.0  # half of the one-hour cap
    assert clock.now() - T0 == pytest.approx(86_400, abs=1)  # about a day, then failed
    deliveries = await store.list_deliveries(hook)
    assert {d.status for d in deliveries} == {"failed"}
    assert deliveries[0].last_error == "HTTP 503"
    # the scored event waited behind the submitted one throughout, then failed in turn
    assert [t for _, _, t in sent_types(sink)][:2] == ["attempt.submitted", "attempt.submitted"]


def test_the_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    assert [backoff(n, SETTINGS, lambda: 0.999999) for n in (1, 2, 3)] == pytest.approx([5, 10, 20])
    assert backoff(30, SETTINGS, lambda: 0.0) == 1800
    assert backoff(200, SETTINGS, lambda: 0.5) == 2700


async def test_a_410_disables_the_endpoint_and_its_deliveries_wait(
    store: Store, clock: FakeClock
) -> None:
    hook = await endpoint(store, clock, "/status/410")
    await log(store, "a1", submitted())
    sink = FakeSink()
    await engine(store, sink, clock).run_once()
    assert sent_types(sink) == [("a1", 2, "attempt.submitted")]
    view = await WebhookAdmin(store, clock).get(hook)
    assert (view.enabled, view.disabled_reason) == (False, "the destination answered 410: disabled")
    clock.advance(3600)
    await engine(store, sink, clock).run_once()
    assert len(sink.sent) == 1
    await log(store, "a1", Reopened(at=T0 + 99, by="admin:ops"))
    await engine(store, sink, clock).run_once()
    assert len(sink.sent) == 1  # a disabled endpoint gets no new deliveries either
    await WebhookAdmin(store, clock).update(hook, url="https://hooks.test/ok", enabled=True)
    await engine(store, sink, clock).run_once()
    assert sent_types(sink)[1:] == [("a1", 2, "attempt.scored")]


async def test_a_later_event_waits_while_an_earlier_one_is_retrying(
    store: Store, clock: FakeClock
) -> None:
    hook = await endpoint(store, clock)
    sink = FakeSink()
    sink.script[hook] = ["/status/500"]  # the first send fails (a1's start)
    await log(store, "a1", started())
    await log(store, "a2", started())
    await log(store, "a1", submitted())
    run = engine(store, sink, clock)
    await run.run_once()
    assert sent_types(sink) == [("a1", 2, "attempt.started"), ("a2", 2, "attempt.started")]
    clock.advance(3)
    await run.run_once()
    assert len(sink.sent) == 2  # a1's retry is not due (3.75 s); its later events wait
    clock.advance(1)
    await run.run_once()
    assert sent_types(sink)[2:] == [
        ("a1", 2, "attempt.started"),
        ("a1", 3, "attempt.submitted"),
        ("a1", 3, "attempt.scored"),
    ]


async def test_redeliver_sends_a_delivery_again_with_the_same_id(
    store: Store, clock: FakeClock
) -> None:
    hook = await endpoint(store, clock, event_types=["attempt.voided"])
    await log(store, "a1", Voided(at=T0 + 5, by="admin:ops"))
    sink = FakeSink()
    await engine(store, sink, clock).run_once()
    [delivery] = await store.list_deliveries(hook)
    admin = WebhookAdmin(store, clock)
    again = await admin.redeliver(hook, delivery.id)
    assert (again.status, again.next_try_at) == ("pending", clock.now())
    await engine(store, sink, clock).run_once()
    assert [e.event_id for _, e in sink.sent] == [delivery.event.event_id] * 2
    with pytest.raises(DomainError) as refused:
        await admin.redeliver("wh_other", delivery.id)
    assert refused.value.code is ErrorCode.NOT_FOUND


async def test_two_dispatchers_send_each_event_once(store: Store, clock: FakeClock) -> None:
    await endpoint(store, clock)
    for n in range(20):
        await log(store, f"a{n:02}", started(), submitted())
    sink = FakeSink()
    one, two = engine(store, sink, clock), engine(store, sink, clock)
    await one.fan_out_once()
    await two.fan_out_once()  # nothing left to fan out, nothing written twice
    while await one.deliver_once() + await two.deliver_once():
        pass
    ids = [e.event_id for _, e in sink.sent]
    assert len(ids) == len(set(ids)) == 60


async def test_a_dispatcher_killed_mid_send_leaves_its_delivery_to_another(
    store: Store, clock: FakeClock
) -> None:
    hook = await endpoint(store, clock)
    await log(store, "a1", Voided(at=T0 + 5, by="admin:ops"))
    # A fan-out that crashed before its transaction committed: nothing written.
    # The next one does it all; a claim that is never finished (the process died
    # mid-send) lapses after the lease.
    dead = engine(store, FakeSink(), clock)
    await dead.fan_out_once()
    [claimed] = await store.claim_deliveries(clock.now(), SETTINGS.lease_s, 10, "dead")
    sink = FakeSink()
    alive = engine(store, sink, clock)
    await alive.run_once()
    assert sink.sent == []  # leased by the dead one
    clock.advance(SETTINGS.lease_s)
    await alive.run_once()
    assert [e.event_id for _, e in sink.sent] == [claimed.delivery.event.event_id]
    [done] = await store.list_deliveries(hook)
    assert done.status == "delivered"


async def test_bad_endpoint_input_is_refused_and_changes_nothing(
    store: Store, clock: FakeClock
) -> None:
    admin = WebhookAdmin(store, clock)
    bad: Sequence[dict[str, object]] = [
        {"url": "ftp://hooks.test/x"},
        {"url": "https://user:pw@hooks.test/x"},
        {"url": "https://hooks.test/x#frag"},
        {"url": "https:///nohost"},
        {"url": "https://hooks.test/a b"},
        {"url": "https://hooks.test:99999/"},
        {"url": "https://hooks.test/", "secret": "nope"},
        {"url": "https://hooks.test/", "secret": "whsec_c2hvcnQ="},
        {"url": "https://hooks.test/", "secret": "whsec_!!!"},
    ]
    for fields in bad:
        with pytest.raises(DomainError) as refused:
            await admin.register(**fields)  # type: ignore[arg-type]
        assert refused.value.code is ErrorCode.WEBHOOK_INVALID, fields
    assert await admin.endpoints() == []


async def test_rotating_keeps_the_previous_secret_for_a_while(
    store: Store, clock: FakeClock
) -> None:
    admin = WebhookAdmin(store, clock)
    created = await admin.register(url="https://hooks.test/ok")
    assert created.secret is not None
    assert created.secret.startswith("whsec_")
    assert (await admin.get(created.id)).secret is None
    rotated = await admin.update(created.id, rotate_secret=True, previous_secret_valid_s=600)
    assert rotated.secret not in (None, created.secret)
    assert rotated.previous_secret_expires_at == clock.now() + 600
    record = await store.get_destination(created.id)
    assert record is not None
    assert record.destination.config["secrets"] == [
        {"secret": rotated.secret, "expires_at": None},
        {"secret": created.secret, "expires_at": clock.now() + 600},
    ]


def test_the_sql_triggers_skip_exactly_the_quiet_event_types() -> None:
    from quizsession.adapters.store.outbound_common import QUIET_EVENT_TYPES, QUIET_SQL
    from quizsession.adapters.store.postgres.schema import MIGRATIONS as PG
    from quizsession.adapters.store.sqlite.schema import MIGRATIONS as SQLITE

    assert {t.strip(" '") for t in QUIET_SQL.split(",")} == QUIET_EVENT_TYPES
    sqlite_step = " ".join(" ".join(SQLITE[6]).split())
    pg_step = " ".join(PG[6].split())
    assert f"NEW.type NOT IN ({QUIET_SQL})" in sqlite_step
    assert f"NEW.type NOT IN ({QUIET_SQL})" in pg_step
