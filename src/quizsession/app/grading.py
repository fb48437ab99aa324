"""Grading by hand and regrading: the queue of answers to grade, a grade, and the
regrade of a quiz's finished attempts after an answer key was fixed.

The rules are the domain's (``domain.grading``); a grade and a regrade are
events appended through the executor like every other change, by the
administrator's key name. Both the queue and the regrade page through the
quiz's submitted attempts (ordered by attempt id) and look at a bounded number
of attempts per request; a cursor (opaque to clients) says where the next page
starts, and stays right when attempts are submitted or reopened in between.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

import msgspec

from quizsession.api.grading import (
    GradeResult,
    GradingItem,
    GradingQuestion,
    GradingQueue,
    GradingStatus,
    QueueFilter,
    RegradeItem,
    RegradeReport,
)
from quizsession.app.attempts import AttemptExecutor, Loaded
from quizsession.app.ports import AttemptIndexRow, AttemptRecords, Clock
from quizsession.app.views import result_view
from quizsession.domain.attempt import decide, score
from quizsession.domain.commands import GradeAnswer, Regrade
from quizsession.domain.errors import DomainError, ErrorCode, refuse
from quizsession.domain.events import AttemptEvent, Regraded
from quizsession.domain.grading import attempt_question_ids, scoring_version
from quizsession.domain.kinds import kind_of
from quizsession.domain.quiz import Quiz

#: Attempts one queue request looks at (at most): a page may come back short.
QUEUE_SCAN = 200


class _Position(msgspec.Struct, frozen=True, array_like=True):
    """Where a page starts: the index offset the last page reached (a hint), and
    the attempt (and question) it ended with; ``question`` "" means after the
    whole attempt."""

    offset: int
    attempt: str
    question: str = ""


_START = _Position(offset=0, attempt="")


def encode_cursor(position: _Position) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(position)).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> _Position:
    if cursor is None:
        return _START
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = msgspec.json.decode(raw, type=_Position)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        position = None
    if position is None or position.offset < 0:
        raise refuse(ErrorCode.VALIDATION, "the cursor is not one this service gave")
    return position


def _status(loaded: Loaded, question_id: str) -> GradingStatus:
    state = loaded.state
    if question_id in state.grades:
        return "graded"
    question = loaded.quiz.test.question(question_id)
    assert question is not None
    assert state.test is not None
    if kind_of(question).is_blank(state.test.answers.get(question_id)):
        return "blank"
    return "pending"


def grading_items(loaded: Loaded, question_id: str | None = None) -> list[GradingItem]:
    """The answers of a submitted attempt to its questions graded by hand (only
    ``question_id``'s when given), in the attempt's question order."""
    state, quiz = loaded.state, loaded.quiz
    if state.submitted is None or state.test is None or state.status != "submitted":
        return []
    items: list[GradingItem] = []
    for qid in attempt_question_ids(state, quiz):
        question = quiz.test.question(qid)
        if question is None or (question_id is not None and qid != question_id):
            continue
        kind = kind_of(question)
        if kind.grading != "manual":
            continue
        answer = state.test.answers.get(qid)
        text = answer if isinstance(answer, str) else kind.describe(question, answer)
        grade = state.grades.get(qid)
        items.append(
            GradingItem(
                attempt_id=state.attempt_id,
                candidate_id=state.candidate_id,
                candidate_name=state.candidate_name,
                quiz_version=scoring_version(state),
                question_id=qid,
                question_text=question.text,
                grader_info=question.grader_info,
                answer=text,
                word_count=len(text.split()),
                word_limit=question.word_limit,
                min_points=0.0,
                max_points=float(question.points),
                status=_status(loaded, qid),
                points=grade[0] if grade is not None else None,
                comment=grade[1] if grade is not None else "",
                grader=grade[2] if grade is not None else None,
                finished_at=state.submitted.finished_at,
            )
        )
    return items


def manual_questions(quiz: Quiz) -> list[GradingQuestion]:
    """The questions of ``quiz``'s test graded by hand, in the quiz's order."""
    return [
        GradingQuestion(id=q.id, text=q.text)
        for q in quiz.test.questions
        if kind_of(q).grading == "manual"
    ]


def _wanted(item: GradingItem, status: QueueFilter) -> bool:
    return status == "all" or item.status == status


class GradingService:
    def __init__(self, store: AttemptRecords, executor: AttemptExecutor, clock: Clock) -> None:
        self._store = store
        self._exec = executor
        self._clock = clock

    async def _latest(self, quiz_id: str) -> Quiz:
        quiz = await self._store.get_quiz(quiz_id)
        if quiz is None:
            raise refuse(ErrorCode.NOT_FOUND, f"quiz {quiz_id} not found")
        return quiz

    async def _rows(
        self, quiz_id: str, position: _Position, limit: int
    ) -> tuple[int, list[AttemptIndexRow]]:
        """The submitted attempts after ``position`` (at most ``limit``), and the
        index offset of the first row read. The offset is a hint: when attempts
        left the list since, step back until the page starts at or before the
        position's attempt."""
        offset = position.offset
        while True:
            rows = await self._store.list_attempts(
                quiz_id=quiz_id, status="submitted", limit=limit, offset=offset
            )
            if offset == 0 or (rows and rows[0].attempt_id <= position.attempt):
                break
            offset = max(0, offset - limit)
        start = 0
        for row in rows:
            done = row.attempt_id < position.attempt or (
                row.attempt_id == position.attempt and not position.question
            )
            if not done:
                break
            start += 1
        return offset + start, rows[start:]

    # -- the queue -----------------------------------------------------------------------

    async def queue(
        self,
        quiz_id: str,
        *,
        question_id: str | None = None,
        status: QueueFilter = "pending",
        cursor: str | None = None,
        limit: int = 20,
    ) -> GradingQueue:
        """One page of the answers to grade of ``quiz_id``'s submitted attempts,
        with the questions graded by hand of the quiz's current version."""
        manual = manual_questions(await self._latest(quiz_id))
        position = decode_cursor(cursor)
        offset, rows = await self._rows(quiz_id, position, QUEUE_SCAN)
        items: list[GradingItem] = []
        for n, row in enumerate(rows):
            loaded = await self._exec.load(row.attempt_id)
            if loaded is None:
                continue
            found = grading_items(loaded, question_id)
            if row.attempt_id == position.attempt and position.question:
                ids = [i.question_id for i in found]
                if position.question in ids:
                    found = found[ids.index(position.question) + 1 :]
            for item in found:
                if not _wanted(item, status):
                    continue
                items.append(item)
                if len(items) == limit:
                    here = _Position(offset + n, row.attempt_id, item.question_id)
                    return self._page(quiz_id, status, question_id, manual, items, here)
        following = None
        if len(rows) == QUEUE_SCAN:
            following = _Position(offset + len(rows) - 1, rows[-1].attempt_id)
        return self._page(quiz_id, status, question_id, manual, items, following)

    def _page(
        self,
        quiz_id: str,
        status: QueueFilter,
        question_id: str | None,
        manual: list[GradingQuestion],
        items: list[GradingItem],
        following: _Position | None,
    ) -> GradingQueue:
        return GradingQueue(
            quiz_id=quiz_id,
            status=status,
            question_id=question_id,
            questions=manual,
            items=items,
            next_cursor=encode_cursor(following) if following is not None else None,
        )

    # -- a grade ---------------------------------------------------------------------------

    async def grade(
        self, attempt_id: str, question_id: str, points: float, comment: str, by: str
    ) -> GradeResult:
        """Record a grade (replacing one given before) and return the result."""
        outcome = await self._exec.execute(
            attempt_id,
            lambda _l: GradeAnswer(question_id=question_id, points=points, comment=comment, by=by),
        )
        given = outcome.state.grades[question_id]
        result = result_view(outcome.state, outcome.quiz)
        assert result is not None
        return GradeResult(
            attempt_id=attempt_id,
            question_id=question_id,
            points=given[0],
            comment=given[1],
            grader=given[2],
            result=result,
        )

    # -- a regrade -------------------------------------------------------------------------

    async def regrade(
        self,
        quiz_id: str,
        *,
        by: str,
        from_version: int | None = None,
        dry_run: bool = False,
        cursor: str | None = None,
        limit: int = 200,
    ) -> RegradeReport:
        """Score one page of the submitted attempts of older versions with the
        latest version. The page is checked first: if a question of one of its
        attempts is missing from the latest version, nothing is changed (409
        ``regrade_incompatible`` naming the questions)."""
        latest = await self._latest(quiz_id)
        if from_version is not None and from_version > latest.version:
            raise refuse(ErrorCode.NOT_FOUND, f"quiz {quiz_id} has no version {from_version}")
        position = decode_cursor(cursor)
        offset, rows = await self._rows(quiz_id, position, limit)
        command = Regrade(quiz_version=latest.version, by=by, quiz=latest)
        now = self._clock.now()
        planned: list[tuple[Loaded, int, list[AttemptEvent]]] = []
        missing: set[str] = set()
        for row in rows:
            loaded = await self._exec.load(row.attempt_id)
            if loaded is None or loaded.state.submitted is None:
                continue
            version = scoring_version(loaded.state)
            if version >= latest.version or (from_version is not None and version != from_version):
                continue
            try:
                events = decide(loaded.state, loaded.quiz, command, now)
            except DomainError as refused:
                if refused.code != ErrorCode.REGRADE_INCOMPATIBLE:
                    raise
                missing.update(refused.extra.get("missing", ()))
            else:
                planned.append((loaded, version, events))
        if missing:
            raise refuse(
                ErrorCode.REGRADE_INCOMPATIBLE,
                f"version {latest.version} lacks question(s) attempts were given: "
                f"{', '.join(sorted(missing))}; nothing was regraded",
                missing=sorted(missing),
            )
        items: list[RegradeItem] = []
        for loaded, version, events in planned:
            if not dry_run and events:
                outcome = await self._exec.execute(loaded.state.attempt_id, lambda _l: command)
                events = list(outcome.events)
            items.append(_regrade_item(loaded, version, latest, events))
        following = None
        if len(rows) == limit:
            following = _Position(offset + len(rows) - 1, rows[-1].attempt_id)
        changed = sum(1 for i in items if i.changed)
        return RegradeReport(
            quiz_id=quiz_id,
            to_version=latest.version,
            dry_run=dry_run,
            attempts=items,
            changed=changed,
            unchanged=len(items) - changed,
            next_cursor=encode_cursor(following) if following is not None else None,
        )


def _regrade_item(
    loaded: Loaded, version: int, latest: Quiz, events: Sequence[AttemptEvent]
) -> RegradeItem:
    state = loaded.state
    regraded = next((e for e in events if isinstance(e, Regraded)), None)
    if regraded is None:
        sheet = score(state, latest)
        return RegradeItem(
            attempt_id=state.attempt_id,
            candidate_id=state.candidate_id,
            from_version=version,
            old_score=sheet.score,
            new_score=sheet.score,
            max_score=sheet.max_score,
            changed=False,
            changes={},
            pending=bool(sheet.pending),
        )
    return RegradeItem(
        attempt_id=state.attempt_id,
        candidate_id=state.candidate_id,
        from_version=version,
        old_score=regraded.old_score,
        new_score=regraded.new_score,
        max_score=regraded.max_score if regraded.max_score is not None else 0.0,
        changed=True,
        changes=regraded.changes,
        pending=regraded.pending > 0,
    )
