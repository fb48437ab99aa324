"""Navigation within a running section: opening a question and flagging it, and
the candidate's map of the section (which questions exist, which are answered,
which are flagged). Pure: time is an argument.

A quiz navigates ``sequential`` (one question at a time, no going back to one not
yet delivered) or ``free`` (any question of the running section's plan, in any
order). Either way the first opening of a question is recorded as
``QuestionDelivered``: delivery stays the evidence of what the candidate saw, and
every rule about saves (fencing, deadline + grace, op ids) is unchanged. Flags
(``QuestionFlagged``) mark questions for review, in both modes.

Free navigation needs a plan fixed upfront; a quiz with adaptive selection is
refused free navigation by ``parse_quiz``, and navigates sequentially here if
one is built by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from quizsession.domain.attempt_rules import (
    replayed,
    require_delivered,
    require_exists,
    require_in_time,
    require_writable,
    require_writer,
    section_def,
    shows_plan,
)
from quizsession.domain.attempt_state import AttemptState, SectionProgress, fingerprint
from quizsession.domain.commands import FlagQuestion, OpenQuestion, SectionName
from quizsession.domain.errors import ErrorCode, refuse
from quizsession.domain.events import AnswerValue, AttemptEvent, QuestionDelivered, QuestionFlagged
from quizsession.domain.kinds import kind_of
from quizsession.domain.quiz import Question, Quiz, Section
from quizsession.domain.selection import asked_count, needs_answer, takes_answer

NavState = Literal["not_seen", "not_answered", "answered", "information"]


def is_free(quiz: Quiz, section: Section) -> bool:
    """Whether the candidate may open any question of ``section`` (free
    navigation needs the plan fixed upfront: never with adaptive selection)."""
    return shows_plan(quiz, section)


def is_blank(question: Question, answer: AnswerValue) -> bool:
    """No answer at all, as the question's kind sees it (None, an empty or
    white-space text, an empty list or mapping...). A blank answer leaves its
    question "not answered"."""
    return answer is None or kind_of(question).is_blank(answer)


# ---------------------------------------------------------------------- commands


def open_question(
    state: AttemptState, quiz: Quiz, command: OpenQuestion, now: float
) -> list[AttemptEvent]:
    """Open ``command.question_id`` of the running section. Already delivered: no
    event (it is shown again). Free navigation: a planned question not yet
    delivered is delivered now (a write: the attempt must be writable and, in the
    test, in time). Sequential: only a delivered question opens
    (``question_not_delivered``). A question not in the section, or not in this
    attempt's plan: ``question_unknown``."""
    require_exists(state)
    require_writer(state, command.session)
    require_writable(state)
    name = state.current_section()
    if name is None:
        raise refuse(ErrorCode.SECTION_NOT_STARTED, "no section is running")
    progress = state.progress(name)
    assert progress is not None
    section = section_def(quiz, name)
    qid = command.question_id
    if qid in progress.delivered_set:
        return []
    if not is_free(quiz, section):
        # What lies ahead stays unknown: an id that is no question gets the
        # same answer as a question not delivered yet.
        raise refuse(
            ErrorCode.QUESTION_NOT_DELIVERED, "no question with this id has been delivered to you"
        )
    if section.question(qid) is None:
        raise refuse(ErrorCode.QUESTION_UNKNOWN, "no such question in this section")
    if progress.plan and qid not in progress.plan:
        raise refuse(ErrorCode.QUESTION_UNKNOWN, "no such question in this attempt")
    if name == "test":
        require_in_time(state, quiz, now)
    return [
        QuestionDelivered(
            at=now, section=name, question_id=qid, needs_answer=needs_answer(section, qid)
        )
    ]


def flag_question(
    state: AttemptState, quiz: Quiz, command: FlagQuestion, now: float
) -> list[AttemptEvent]:
    """Flag a delivered question of the running section for review (or take the
    flag off). A write like a save: the live session, a writable attempt, in
    time for the test; the same op id with the same payload is a replay."""
    require_exists(state)
    fp = fingerprint("flag", command.question_id, command.flagged)
    if replayed(state, command.op_id, "flag", fp):
        return []
    require_writer(state, command.session)
    require_writable(state)
    name = state.current_section()
    if name is None:
        raise refuse(ErrorCode.SECTION_NOT_STARTED, "no section is running")
    if name == "test":
        require_in_time(state, quiz, now)
    require_delivered(state, quiz, name, command.question_id)
    return [
        QuestionFlagged(
            at=now, question_id=command.question_id, flagged=command.flagged, op_id=command.op_id
        )
    ]


# ------------------------------------------------------------- the section's map


@dataclass(frozen=True)
class NavEntry:
    """One question of the section as the navigation panel shows it."""

    id: str
    number: int  # 1-based among the questions that take an answer; 0 for information
    kind: str
    state: NavState
    flagged: bool


@dataclass(frozen=True)
class SectionMap:
    section: SectionName
    free: bool
    entries: tuple[NavEntry, ...]
    answered: int
    unanswered: int
    flagged: int


def section_order(progress: SectionProgress) -> Sequence[str]:
    """The section's questions in the order the candidate meets them: the plan,
    or (adaptive selection, no plan) the questions delivered so far."""
    return progress.plan if progress.plan else progress.delivered


def question_number(section: Section, progress: SectionProgress, question_id: str) -> int:
    """The question's 1-based number in the section (information items are not
    numbered: 0)."""
    number = 0
    for qid in section_order(progress):
        question = section.question(qid)
        if question is None or not takes_answer(question):
            if qid == question_id:
                return 0
            continue
        number += 1
        if qid == question_id:
            return number
    return 0


def section_map(state: AttemptState, quiz: Quiz, name: SectionName) -> SectionMap:
    """The map of section ``name`` for its candidate. Free navigation lists every
    planned question; sequential navigation lists the questions delivered so far
    (what is ahead stays unseen), and counts the rest as unanswered."""
    progress = state.progress(name)
    section = section_def(quiz, name)
    if progress is None:
        raise refuse(ErrorCode.SECTION_NOT_STARTED, "this section has not started")
    free = is_free(quiz, section)
    order = section_order(progress)
    entries: list[NavEntry] = []
    answered = unanswered = number = 0
    for qid in order:
        question = section.question(qid)
        if question is None:  # pragma: no cover - a plan names the section's questions
            continue
        delivered = qid in progress.delivered_set
        state_: NavState
        if not takes_answer(question):
            state_, shown_number = "information", 0
        else:
            number += 1
            shown_number = number
            if not delivered:
                state_ = "not_seen"
            elif is_blank(question, progress.answers.get(qid)):
                state_ = "not_answered"
            else:
                state_ = "answered"
            if state_ == "answered":
                answered += 1
            else:
                unanswered += 1
        if not free and not delivered:
            continue
        entries.append(
            NavEntry(
                id=qid,
                number=shown_number,
                kind=question.kind,
                state=state_,
                flagged=qid in progress.flagged,
            )
        )
    if not progress.plan and not free:
        # Adaptive selection: the questions still to come count as unanswered.
        asked = asked_count(section)
        unanswered += max(0, asked - number)
    return SectionMap(
        section=name,
        free=free,
        entries=tuple(entries),
        answered=answered,
        unanswered=unanswered,
        flagged=len(progress.flagged),
    )
