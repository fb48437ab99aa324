"""From the log to the outside world: the one pure function that says which
outbound events a log event gives (``outbound_events``), and their ids.

A new kind of log event that matters outside (a grade, a regrade's changed
score) plugs in here: one more case below, nothing else (the stores' backlog
already notices every event but the quiet ones of answering). Payloads are
small: ids, times, the score as points and maximum, never answers or names.
``event_id`` is derived from the attempt id, the log position and the type, so
it is the same on every instance and after any restart: a receiver drops a
duplicate by it (``webhook-id``)."""

from __future__ import annotations

import hashlib

from quizsession.app.outbound import OutboundEvent, OutboundType
from quizsession.app.ports import BacklogEntry, RecordedEvent
from quizsession.domain.events import (
    Actor,
    AnswerGraded,
    DurationChanged,
    Regraded,
    Reopened,
    SectionStarted,
    Submitted,
    TimeAccommodated,
    TimeExtended,
    Voided,
    outage_window,
)


def event_id(attempt_id: str, seq: int, type_: OutboundType) -> str:
    digest = hashlib.sha256(f"{attempt_id}\x00{seq}\x00{type_}".encode()).hexdigest()
    return f"evt_{digest[:32]}"


def actor_kind(by: Actor) -> str:
    """Who did it, without the administrator's key name: ``candidate``,
    ``deadline``, ``system`` or ``admin``."""
    return "admin" if by.startswith("admin") else by


def _payloads(record: RecordedEvent) -> list[tuple[OutboundType, dict[str, object]]]:
    event = record.event
    match event:
        case SectionStarted(section="test"):
            return [("attempt.started", {"started_at": event.at})]
        case TimeExtended():
            source = "outage_credit" if outage_window(event) is not None else actor_kind(event.by)
            return [("attempt.extended", {"seconds": event.seconds, "source": source})]
        case TimeAccommodated():
            return [("attempt.extended", {"seconds": event.seconds, "source": "accommodation"})]
        case DurationChanged():
            return [
                (
                    "attempt.extended",
                    {"duration_s": event.duration_s, "source": "timing_change"},
                )
            ]
        case Submitted():
            return [
                (
                    "attempt.submitted",
                    {"reason": event.reason, "finished_at": event.finished_at},
                ),
                (
                    "attempt.scored",
                    {
                        "score": _score(event.score, event.max_score, event.pending),
                        "finished_at": event.finished_at,
                        "cause": "submission",
                    },
                ),
            ]
        case AnswerGraded(pending=0, score=float() as points, max_score=float() as maximum):
            # The last answer waiting for a grader is graded (or a grade changed
            # once every answer was): the final score.
            score = _score(points, maximum, 0)
            return [
                ("attempt.graded", {"score": score, "by": actor_kind(event.by)}),
                ("attempt.scored", {"score": score, "cause": "grading"}),
            ]
        case Regraded():
            maximum = event.max_score if event.max_score is not None else 0.0
            score = _score(event.new_score, maximum, event.pending)
            return [
                (
                    "attempt.regraded",
                    {
                        "quiz_version": event.quiz_version,
                        "old_score": event.old_score,
                        "score": score,
                        "questions_changed": sorted(event.changes),
                    },
                ),
                ("attempt.scored", {"score": score, "cause": "regrade"}),
            ]
        case Voided():
            return [("attempt.voided", {"by": actor_kind(event.by)})]
        case Reopened():
            return [
                (
                    "attempt.reopened",
                    {"by": actor_kind(event.by), "extra_seconds": event.extra_seconds},
                )
            ]
        case _:
            return []


def _score(points: float, maximum: float, pending: int) -> dict[str, object]:
    """``{"points", "max"}``, with ``"pending": true`` while answers graded by
    hand wait for a grader (``points`` is then the automatic part)."""
    score: dict[str, object] = {"points": points, "max": maximum}
    if pending:
        score["pending"] = True
    return score


def outbound_events(attempt: BacklogEntry, record: RecordedEvent) -> list[OutboundEvent]:
    """The outbound events of one log event, in the order they go out (may be
    none: most events stay inside)."""
    return [
        OutboundEvent(
            event_id=event_id(record.attempt_id, record.seq, type_),
            type=type_,
            attempt_id=record.attempt_id,
            quiz_id=attempt.quiz_id,
            candidate_id=attempt.candidate_id,
            seq=record.seq,
            at=record.event.at,
            data=data,
        )
        for type_, data in _payloads(record)
    ]
