"""Attempts written straight into a store (a SQLite file or a PostgreSQL
database), before a server is started on it.

Every attempt's events are decided by the domain itself (``decide`` then
``apply``, the path the service takes) for a handful of template attempts; each
attempt is a template's events with its own attempt id, candidate id and session
id (``attempt_id_for(quiz, candidate)``, so a backend login ``{user_id, quiz_id}``
for that candidate resumes it). They are appended through the store's ``append``
(``SqliteStore`` or ``PostgresStore``: one append per attempt, many in flight,
so the store's group commit writes them in large transactions) with the index
row the service would write.
"""

from __future__ import annotations

import asyncio
import copy
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from quizsession.app.attempts import index_row
from quizsession.app.ports import AttemptIndexRow, AttemptRecords
from quizsession.app.sessions.logins import attempt_id_for
from quizsession.domain.attempt import AttemptState, apply, decide
from quizsession.domain.commands import (
    AttemptCommand,
    CloseSession,
    CreateAttempt,
    DeliverNext,
    OpenSession,
    SaveAnswer,
    SessionRef,
    StartSection,
    Submit,
    ViewQuestion,
)
from quizsession.domain.events import (
    AnswerSaved,
    AttemptCreated,
    AttemptEvent,
    SessionClosed,
    SessionOpened,
)
from quizsession.domain.quiz import Question, Quiz
from quizsession.domain.quiz_validation import parse_quiz
from testsupport.scenario import random_answer

CHUNK = 1024  # appends prepared together (the store commits up to 1024 per transaction)
CHUNKS_IN_FLIGHT = 4
IN_FLIGHT = CHUNK * CHUNKS_IN_FLIGHT


@dataclass(frozen=True)
class Shape:
    """One template attempt: the test started at ``started_at``, ``answered``
    questions delivered, viewed and answered, then optionally one more delivered
    (on screen), then logged out (``close``) or submitted (``submit``)."""

    started_at: float
    answered: int
    on_screen: bool = True
    close: bool = False
    submit: bool = False
    seed: int = 1


@dataclass
class Template:
    events: list[AttemptEvent]
    state: AttemptState
    quiz: Quiz

    def question_on_screen(self) -> str | None:
        progress = self.state.test
        return None if progress is None else progress.current_question()


def _answer(question: Question, rng: random.Random) -> Any:
    view = {"kind": question.kind, "choices": [{"id": c.id} for c in question.choices]}
    return random_answer(view, rng)


def build_template(quiz: Quiz, shape: Shape) -> Template:
    """Decide and apply the commands of one attempt at times from ``started_at``."""
    state = AttemptState()
    events: list[AttemptEvent] = []
    rng = random.Random(shape.seed)
    now = shape.started_at - 2.0

    def run(command: AttemptCommand, step: float = 0.5) -> None:
        nonlocal now
        for event in decide(state, quiz, command, now):
            apply(state, event)
            events.append(event)
        now += step

    ref = SessionRef(session_id="s_template", epoch=1)
    run(
        CreateAttempt(
            attempt_id="a_template",
            quiz_id=quiz.id,
            quiz_version=quiz.version,
            candidate_id="template",
        ),
        0.1,
    )
    run(OpenSession(session_id="s_template"), 1.9)
    assert now == shape.started_at
    run(StartSection(session=ref, section="test", seed=shape.seed, op_id="start"), 1.0)
    for n in range(shape.answered + (1 if shape.on_screen else 0)):
        run(DeliverNext(session=ref), 0.5)
        qid = state.test.current_question() if state.test else None
        if qid is None:
            break
        run(ViewQuestion(session=ref, question_id=qid), 5.0)
        if n < shape.answered:
            question = quiz.test.question(qid)
            assert question is not None
            answer = _answer(question, rng)
            run(SaveAnswer(session=ref, question_id=qid, answer=answer, op_id=f"save-{n}"), 1.0)
    if shape.submit:
        run(Submit(reason="candidate", session=ref, op_id="submit"))
    elif shape.close:
        run(CloseSession(session=ref, reason="logout"))
    return Template(events=events, state=state, quiz=quiz)


def clone(
    template: Template, attempt_id: str, candidate_id: str, session_id: str
) -> tuple[list[AttemptEvent], AttemptIndexRow]:
    """The template's events and index row for another candidate and session."""
    replace = msgspec.structs.replace
    events: list[AttemptEvent] = []
    for event in template.events:
        if isinstance(event, AttemptCreated):
            event = replace(
                event, attempt_id=attempt_id, candidate_id=candidate_id, candidate_name=candidate_id
            )
        elif isinstance(event, SessionOpened | SessionClosed | AnswerSaved):
            event = replace(event, session_id=session_id)
        events.append(event)
    row = index_row(template.state, template.quiz, template.state.last_event_at)
    return events, replace(row, attempt_id=attempt_id, candidate_id=candidate_id)


async def put_quiz(store: AttemptRecords, definition: dict[str, Any]) -> Quiz:
    return await store.put_quiz(parse_quiz(definition))


async def populate(
    store: AttemptRecords,
    quiz: Quiz,
    count: int,
    templates: Sequence[Template],
    *,
    prefix: str = "cand-",
    progress: Callable[[int], None] | None = None,
) -> tuple[list[str], list[str], int]:
    """``count`` attempts (candidates ``{prefix}{i}``), template ``i % len``.
    Returns (candidate ids, attempt ids, events written)."""
    candidates = [f"{prefix}{i}" for i in range(count)]
    attempts = [attempt_id_for(quiz.id, c) for c in candidates]
    # In attempt id order: each B-tree (the log's key starts with the attempt id)
    # then grows at its right edge instead of at random pages.
    order = sorted(range(count), key=attempts.__getitem__)
    written = 0
    pending: list[asyncio.Future[list[int]]] = []
    for begin in range(0, count, CHUNK):
        jobs = []
        for i in order[begin : begin + CHUNK]:
            events, row = clone(
                templates[i % len(templates)], attempts[i], candidates[i], f"s_g{i}"
            )
            written += len(events)
            jobs.append(store.append(attempts[i], 0, events, row))
        # Keep a few chunks in flight: the writer thread commits one while this
        # loop prepares the next.
        pending.append(asyncio.gather(*jobs))
        if len(pending) >= CHUNKS_IN_FLIGHT:
            await pending.pop(0)
            if progress is not None:
                progress(begin)
    for chunk in pending:
        await chunk
    return candidates, attempts, written


async def append_one_each(
    store: AttemptRecords, attempts: Sequence[tuple[str, str]], template: Template
) -> float:
    """Append one event (the candidate viewing the question on screen again, as
    the domain decides it) to each attempt (``(attempt_id, candidate_id)``)
    through the store, all in flight together; returns the wall time it took.
    The attempts must be clones of ``template`` with nothing appended since."""
    state = copy.deepcopy(template.state)
    qid = template.question_on_screen()
    assert qid is not None, "the template has no question on screen"
    # Look at another question first so that viewing the one on screen is news.
    state.viewed = None
    ref = SessionRef(session_id=template.state.live_session or "", epoch=template.state.epoch)
    now = time.time()
    [event] = decide(state, template.quiz, ViewQuestion(session=ref, question_id=qid), now)
    version = template.state.version
    row = index_row(template.state, template.quiz, now)
    replace = msgspec.structs.replace
    began = time.perf_counter()
    for start in range(0, len(attempts), IN_FLIGHT):
        chunk = attempts[start : start + IN_FLIGHT]
        await asyncio.gather(
            *(
                store.append(
                    a,
                    version,
                    [event],
                    replace(row, attempt_id=a, candidate_id=c, version=version + 1),
                )
                for a, c in chunk
            )
        )
    return time.perf_counter() - began


def demo_quiz_definition(quiz_id: str, *, duration_s: float, grace_s: float) -> dict[str, Any]:
    from testsupport.scenario import quiz_definition

    return quiz_definition(quiz_id, duration_s=duration_s, grace_s=grace_s)
