"""The ``OutboundStore`` part of the store contract: ``StoreContract``
(``test_store.py``) inherits these tests, so every adapter (memory, SQLite,
PostgreSQL, and the encrypted variants) runs them unchanged."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import msgspec

from quizsession.app.outbound import Destination, OutboundEvent, OutboundType
from quizsession.app.ports import (
    AttemptIndexRow,
    DeliveryCounts,
    DeliveryResult,
    DestinationRecord,
    NewDelivery,
    Store,
)
from quizsession.domain.events import (
    AnswerSaved,
    AttemptCreated,
    AttemptEvent,
    SessionOpened,
    Submitted,
    Voided,
)

T0 = 1_700_000_000.0
DAY = 86_400.0


def endpoint(
    destination_id: str, *, enabled: bool = True, kind: str = "webhook"
) -> DestinationRecord:
    return DestinationRecord(
        destination=msgspec.convert(
            {
                "id": destination_id,
                "kind": kind,
                "url": f"https://example.test/{destination_id}",
                "event_types": ["attempt.submitted", "attempt.scored"],
                "enabled": enabled,
                "config": {"secrets": [{"secret": "whsec_c2VjcmV0", "expires_at": None}]},
            },
            Destination,
        ),
        created_at=T0,
        updated_at=T0 + 1,
    )


def outbound(attempt_id: str, seq: int, type_: OutboundType = "attempt.submitted") -> OutboundEvent:
    return OutboundEvent(
        event_id=f"evt-{attempt_id}-{seq}-{type_}",
        type=type_,
        attempt_id=attempt_id,
        quiz_id="quiz-1",
        candidate_id="cand-1",
        seq=seq,
        at=T0 + seq,
        data={"score": {"points": 1.5, "max": 2.0}},
    )


def _row(attempt_id: str) -> AttemptIndexRow:
    return AttemptIndexRow(
        attempt_id=attempt_id,
        quiz_id="quiz-1",
        candidate_id="cand-1",
        status="open",
        state="test_started",
        version=0,
        updated_at=T0,
    )


async def log(store: Store, attempt_id: str, events: Sequence[AttemptEvent]) -> int:
    current = len(await store.read(attempt_id))
    return await store.append(attempt_id, current, events, _row(attempt_id))


def created(attempt_id: str) -> AttemptCreated:
    return AttemptCreated(
        at=T0, attempt_id=attempt_id, quiz_id="quiz-1", quiz_version=1, candidate_id="cand-1"
    )


def saved(n: int) -> AnswerSaved:
    return AnswerSaved(
        at=T0 + n, section="test", question_id=f"q{n}", answer="a", op_id=f"o{n}", session_id="s"
    )


def submitted() -> Submitted:
    return Submitted(at=T0 + 50, reason="candidate", finished_at=T0 + 50, score=1.5, max_score=2)


def ok(at: float) -> DeliveryResult:
    return DeliveryResult(status="delivered", next_try_at=at, at=at, last_status=200)


async def pending_chain(store: Store, attempt_id: str = "a1", n: int = 2) -> None:
    await store.put_destination(endpoint("d1"))
    deliveries = [
        NewDelivery(destination_id="d1", event=outbound(attempt_id, s)) for s in range(1, n + 1)
    ]
    await store.fan_out(attempt_id, n, deliveries, T0, T0 + DAY)


class OutboundContract:
    async def test_destinations_round_trip_list_by_id_and_delete(self, store: Store) -> None:
        assert await store.get_destination("d1") is None
        await store.put_destination(endpoint("d2"))
        await store.put_destination(endpoint("d1", enabled=False))
        await store.put_destination(endpoint("lms", kind="lti_ags"))
        assert await store.get_destination("d1") == endpoint("d1", enabled=False)
        assert [r.destination.id for r in await store.list_destinations()] == ["d1", "d2", "lms"]
        assert [r.destination.id for r in await store.list_destinations("webhook")] == ["d1", "d2"]
        changed = msgspec.structs.replace(endpoint("d2"), disabled_reason="410", updated_at=T0 + 9)
        await store.put_destination(changed)
        assert await store.get_destination("d2") == changed
        assert await store.delete_destination("d2") is True
        assert await store.delete_destination("d2") is False
        assert await store.get_destination("d2") is None

    async def test_the_backlog_follows_the_log_and_skips_the_quiet_events(
        self, store: Store
    ) -> None:
        await log(store, "a1", [created("a1"), SessionOpened(at=T0, session_id="s", epoch=1)])
        await log(store, "quiet", [saved(1)])  # only quiet events: never in the backlog
        backlog = await store.outbound_backlog()
        assert [(b.attempt_id, b.cursor, b.latest) for b in backlog] == [("a1", 0, 1)]
        assert (backlog[0].quiz_id, backlog[0].candidate_id) == ("quiz-1", "cand-1")
        await log(store, "a1", [saved(1), saved(2), submitted(), saved(3)])
        backlog = await store.outbound_backlog()
        assert [(b.attempt_id, b.cursor, b.latest) for b in backlog] == [("a1", 0, 5)]

    async def test_fan_out_moves_the_cursor_never_back_and_writes_each_delivery_once(
        self, store: Store
    ) -> None:
        await store.put_destination(endpoint("d1"))
        await log(store, "a1", [created("a1"), submitted()])
        await log(store, "a0", [created("a0")])
        assert [b.attempt_id for b in await store.outbound_backlog(limit=1)] == ["a0"]
        deliveries = [
            NewDelivery(destination_id="d1", event=outbound("a1", 2)),
            NewDelivery(destination_id="d1", event=outbound("a1", 2, "attempt.scored"), sub=1),
            NewDelivery(destination_id="gone", event=outbound("a1", 2)),  # no such destination
        ]
        assert await store.fan_out("a1", 2, deliveries, T0, T0 + DAY) == 2
        assert await store.fan_out("a1", 2, deliveries, T0 + 5, T0 + DAY) == 0  # a repeat
        assert await store.fan_out("a1", 1, [], T0, T0 + DAY) == 0  # the cursor stays at 2
        assert [b.attempt_id for b in await store.outbound_backlog()] == ["a0"]
        await log(store, "a1", [Voided(at=T0 + 60, by="admin:ops")])
        assert [(b.attempt_id, b.cursor, b.latest) for b in await store.outbound_backlog()] == [
            ("a0", 0, 1),
            ("a1", 2, 3),
        ]
        listed = await store.list_deliveries("d1")
        assert [(d.event.seq, d.sub, d.status, d.attempts) for d in listed] == [
            (2, 1, "pending", 0),
            (2, 0, "pending", 0),
        ]
        assert listed[1].event == outbound("a1", 2)
        assert (listed[1].next_try_at, listed[1].give_up_at) == (T0, T0 + DAY)

    async def test_a_claim_takes_due_deliveries_in_order_per_attempt_and_leases_them(
        self, store: Store
    ) -> None:
        await pending_chain(store, "a1", 2)
        await pending_chain(store, "a2", 1)
        claimed = await store.claim_deliveries(T0, 60, 10, "c1")
        # Only the head of each attempt's chain: a2's first and a1's first.
        assert sorted((c.delivery.event.attempt_id, c.delivery.event.seq) for c in claimed) == [
            ("a1", 1),
            ("a2", 1),
        ]
        assert all(c.delivery.next_try_at == T0 + 60 for c in claimed)
        assert claimed[0].destination == endpoint("d1").destination
        assert await store.claim_deliveries(T0 + 59, 60, 10, "c2") == []  # leased
        again = await store.claim_deliveries(T0 + 60, 60, 10, "c3")  # the lease lapsed
        assert sorted(c.delivery.id for c in again) == sorted(c.delivery.id for c in claimed)
        first = next(c.delivery for c in again if c.delivery.event.attempt_id == "a1")
        assert await store.finish_delivery(first.id, "c1", ok(T0 + 61)) is False  # stale claim
        assert await store.finish_delivery(first.id, "c3", ok(T0 + 61)) is True
        assert await store.finish_delivery(first.id, "c3", ok(T0 + 61)) is False
        done = await store.get_delivery(first.id)
        assert done is not None
        assert (done.status, done.attempts, done.last_status, done.delivered_at) == (
            "delivered",
            1,
            200,
            T0 + 61,
        )
        nxt = await store.claim_deliveries(T0 + 61, 60, 10, "c4")
        assert [(c.delivery.event.attempt_id, c.delivery.event.seq) for c in nxt] == [("a1", 2)]

    async def test_a_later_event_waits_while_an_earlier_one_is_retrying(self, store: Store) -> None:
        await pending_chain(store, "a1", 2)
        [first] = await store.claim_deliveries(T0, 60, 10, "c1")
        retry = DeliveryResult(
            status="pending", next_try_at=T0 + 30, at=T0 + 1, last_status=500, last_error="boom"
        )
        assert await store.finish_delivery(first.delivery.id, "c1", retry)
        assert await store.claim_deliveries(T0 + 10, 60, 10, "c2") == []
        [again] = await store.claim_deliveries(T0 + 30, 60, 10, "c2")
        assert again.delivery.id == first.delivery.id
        assert (again.delivery.attempts, again.delivery.last_error) == (1, "boom")
        failed = DeliveryResult(status="failed", next_try_at=T0 + 31, at=T0 + 31, last_status=500)
        assert await store.finish_delivery(again.delivery.id, "c2", failed)
        [second] = await store.claim_deliveries(T0 + 31, 60, 10, "c3")
        assert second.delivery.event.seq == 2

    async def test_a_disabled_destination_is_not_claimed_and_a_410_disables(
        self, store: Store
    ) -> None:
        await pending_chain(store, "a1", 2)
        [first] = await store.claim_deliveries(T0, 60, 10, "c1")
        gone = DeliveryResult(
            status="failed",
            next_try_at=T0 + 1,
            at=T0 + 1,
            last_status=410,
            disable_destination="410",
        )
        assert await store.finish_delivery(first.delivery.id, "c1", gone)
        record = await store.get_destination("d1")
        assert record is not None
        assert (record.destination.enabled, record.disabled_reason) == (False, "410")
        assert await store.claim_deliveries(T0 + 100, 60, 10, "c2") == []
        await store.put_destination(endpoint("d1"))  # enabled again
        [second] = await store.claim_deliveries(T0 + 100, 60, 10, "c2")
        assert second.delivery.event.seq == 2

    async def test_deliveries_list_newest_first_by_status_and_page(self, store: Store) -> None:
        await pending_chain(store, "a1", 3)
        [first] = await store.claim_deliveries(T0, 60, 10, "c1")
        await store.finish_delivery(first.delivery.id, "c1", ok(T0 + 1))
        listed = await store.list_deliveries("d1")
        assert [d.event.seq for d in listed] == [3, 2, 1]
        assert [d.event.seq for d in await store.list_deliveries("d1", limit=1, offset=1)] == [2]
        assert [d.event.seq for d in await store.list_deliveries("d1", status="delivered")] == [1]
        assert [d.event.seq for d in await store.list_deliveries("d1", status="pending")] == [3, 2]
        assert await store.list_deliveries("other") == []

    async def test_delivery_counts_per_status_and_the_oldest_pending_per_destination(
        self, store: Store
    ) -> None:
        assert await store.delivery_counts("d1") == DeliveryCounts()  # unknown: zeros
        await store.put_destination(endpoint("d1"))
        assert await store.delivery_counts("d1") == DeliveryCounts()  # no deliveries yet
        await pending_chain(store, "a1", 2)  # created at T0
        await store.put_destination(endpoint("d2"))
        later = [NewDelivery(destination_id="d2", event=outbound("a2", 1))]
        await store.fan_out("a2", 1, later, T0 + 5, T0 + DAY)
        await store.fan_out(
            "a3", 1, [NewDelivery(destination_id="d1", event=outbound("a3", 1))], T0 + 7, T0 + DAY
        )
        assert await store.delivery_counts("d1") == DeliveryCounts(pending=3, oldest_pending_at=T0)
        assert await store.delivery_counts("d2") == DeliveryCounts(
            pending=1, oldest_pending_at=T0 + 5
        )
        claimed = await store.claim_deliveries(T0 + 7, 60, 10, "c1")
        by_attempt = {c.delivery.event.attempt_id: c.delivery.id for c in claimed}
        # A claimed delivery is still pending; a retry keeps it pending.
        assert (await store.delivery_counts("d1")).pending == 3
        assert await store.finish_delivery(by_attempt["a1"], "c1", ok(T0 + 1))
        failed = DeliveryResult(status="failed", next_try_at=T0 + 2, at=T0 + 2, last_status=500)
        assert await store.finish_delivery(by_attempt["a3"], "c1", failed)
        retry = DeliveryResult(status="pending", next_try_at=T0 + 90, at=T0 + 3, last_status=503)
        assert await store.finish_delivery(by_attempt["a2"], "c1", retry)
        # a1's second event (created at T0) is the oldest still pending.
        assert await store.delivery_counts("d1") == DeliveryCounts(
            pending=1, delivered=1, failed=1, oldest_pending_at=T0
        )
        assert await store.delivery_counts("d2") == DeliveryCounts(
            pending=1, oldest_pending_at=T0 + 5
        )
        [second] = await store.claim_deliveries(T0 + 10, 60, 10, "c2")
        assert await store.finish_delivery(second.delivery.id, "c2", ok(T0 + 11))
        assert await store.delivery_counts("d1") == DeliveryCounts(delivered=2, failed=1)
        assert await store.redeliver(by_attempt["a3"], T0 + 20, T0 + DAY)
        assert await store.delivery_counts("d1") == DeliveryCounts(
            pending=1,
            delivered=2,
            oldest_pending_at=T0 + 7,  # its creation time stays
        )
        assert await store.delete_destination("d1")
        assert await store.delivery_counts("d1") == DeliveryCounts()
        assert (await store.delivery_counts("d2")).pending == 1

    async def test_redeliver_makes_a_delivery_pending_again(self, store: Store) -> None:
        await pending_chain(store, "a1", 1)
        [first] = await store.claim_deliveries(T0, 60, 10, "c1")
        await store.finish_delivery(first.delivery.id, "c1", ok(T0 + 1))
        assert await store.redeliver(first.delivery.id, T0 + 100, T0 + 100 + DAY) is True
        assert await store.redeliver(999_999, T0, T0) is False
        again = await store.get_delivery(first.delivery.id)
        assert again is not None
        assert (again.status, again.next_try_at, again.give_up_at, again.attempts) == (
            "pending",
            T0 + 100,
            T0 + 100 + DAY,
            1,
        )
        [claimed] = await store.claim_deliveries(T0 + 100, 60, 10, "c2")
        assert claimed.delivery.id == first.delivery.id

    async def test_deleting_a_destination_deletes_its_deliveries(self, store: Store) -> None:
        await pending_chain(store, "a1", 2)
        [first] = await store.list_deliveries("d1", limit=1)
        assert await store.delete_destination("d1")
        assert await store.get_delivery(first.id) is None
        assert await store.claim_deliveries(T0, 60, 10, "c1") == []

    async def test_concurrent_claims_never_share_a_delivery(self, store: Store) -> None:
        await store.put_destination(endpoint("d1"))
        for n in range(12):
            attempt_id = f"a{n:02}"
            await store.fan_out(
                attempt_id,
                1,
                [NewDelivery(destination_id="d1", event=outbound(attempt_id, 1))],
                T0,
                T0 + DAY,
            )
        results = await asyncio.gather(
            *(store.claim_deliveries(T0, 60, 5, f"c{n}") for n in range(4))
        )
        ids = [c.delivery.id for claimed in results for c in claimed]
        assert len(ids) == len(set(ids)) == 12
