"""What clients see: the attempt view and the question view. Built from the folded
state, the quiz and the server's time, never from anything the client sent. The
structs themselves are wire models (``quizsession.api.models``)."""

from __future__ import annotations

import msgspec

from quizsession.api.models import AttemptView as AttemptView
from quizsession.api.models import ChoiceView as ChoiceView
from quizsession.api.models import GapView, ImageView, ItemView
from quizsession.api.models import QuestionView as QuestionView
from quizsession.api.models import ResultView as ResultView
from quizsession.domain.accommodation import Accommodation, extra_time
from quizsession.domain.attempt import AttemptState, deadline
from quizsession.domain.attempt_state import base_duration, score
from quizsession.domain.kinds import kind_of
from quizsession.domain.navigation import question_number
from quizsession.domain.quiz import Question, Quiz
from quizsession.domain.review import penalty_warning, visible_items
from quizsession.domain.selection import asked_count


class QuestionExtras(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The fields a kind's ``view`` may give, typed for ``QuestionView``."""

    choices: list[ChoiceView] | None = None
    items: list[ItemView] | None = None
    options: list[str] | None = None
    gaps: list[GapView] | None = None
    word_limit: int | None = None
    response_template: str | None = None


def section_total(state: AttemptState, quiz: Quiz, section: str) -> int:
    definition = quiz.section("test" if section == "test" else "practice")
    progress = state.progress("test" if section == "test" else "practice")
    if definition is None:
        return 0
    # Descriptions are not counted (they take no answer).
    return asked_count(definition, progress.plan if progress is not None else None)


def time_remaining(state: AttemptState, quiz: Quiz, now: float) -> float | None:
    end = deadline(state, quiz)
    if end is None:
        return None
    if state.submitted is not None:
        return 0.0
    return max(0.0, round(end - now, 3))


class CandidateTime:
    """The test's time as the candidate is told it (``AttemptView``'s
    ``test_duration_s`` ... ``effective_time_s``)."""

    __slots__ = ("cut_by_close", "effective_s", "extra_s", "total_s")

    def __init__(
        self, state: AttemptState, quiz: Quiz, now: float, accommodation: Accommodation | None
    ) -> None:
        base = base_duration(state, quiz)
        closes = quiz.closes_at
        test = state.test
        if test is None:
            # Before the start: the accommodation set now, and the close if the
            # test started now.
            self.extra_s = extra_time(base, accommodation) if accommodation is not None else 0.0
            self.total_s = base + self.extra_s
            self.cut_by_close = closes is not None and now + self.total_s > closes
            effective = self.total_s if closes is None else min(self.total_s, closes - now)
        else:
            self.extra_s = state.accommodation_s
            self.total_s = base + self.extra_s
            end = deadline(state, quiz)
            assert end is not None
            uncapped = test.started_at + self.total_s + state.extensions_s
            self.cut_by_close = (
                closes is not None and state.reopened_base is None and uncapped > closes
            )
            effective = end - test.started_at
        self.effective_s = max(0.0, round(effective, 3))


def attempt_view(
    state: AttemptState,
    quiz: Quiz,
    now: float,
    accommodation: Accommodation | None = None,
    *,
    full: bool = False,
) -> AttemptView:
    """The attempt as its candidate sees it at ``now`` (``full``: as an
    administrator does: the score whatever the review policy says).
    ``accommodation``: the candidate's, as set now (it counts only before the
    test starts; afterwards the log has what was applied)."""
    section = state.current_section()
    progress = state.progress(section) if section else (state.test or state.practice)
    shown = section or "test"
    result = result_view(state, quiz)
    if not full:
        result = candidate_result(result, state, quiz, now)
    duration = base_duration(state, quiz)
    timing = CandidateTime(state, quiz, now, accommodation)
    return AttemptView(
        attempt_id=state.attempt_id,
        quiz_id=state.quiz_id,
        quiz_version=state.quiz_version,
        quiz_title=quiz.title,
        candidate_id=state.candidate_id,
        status=state.status,
        state=state.section_state(quiz),
        section=section,
        version=state.version,
        epoch=state.epoch,
        server_time=now,
        deadline=deadline(state, quiz),
        time_remaining_s=time_remaining(state, quiz, now),
        grace_s=quiz.policies.grace_s,
        heartbeat_s=quiz.policies.heartbeat_s,
        duration_s=duration,
        answers=dict(progress.answers) if progress is not None else {},
        current_question_id=progress.current_question() if progress and section else None,
        delivered=len(progress.delivered) if progress is not None else 0,
        total=section_total(state, quiz, shown),
        instructions=_instructions(quiz, section),
        # The practice round is not scored: only the test's penalties are told.
        penalty_warning=penalty_warning(quiz.test) if section != "practice" else "",
        result=result,
        test_duration_s=round(timing.total_s, 3),
        extra_time_s=round(timing.extra_s, 3),
        closes_at=quiz.closes_at,
        cut_by_close=timing.cut_by_close,
        effective_time_s=timing.effective_s,
        navigation=quiz.navigation,
        flagged=sorted(progress.flagged) if progress is not None and section else [],
    )


def score_shown(state: AttemptState, quiz: Quiz, now: float) -> bool:
    """Whether the quiz's review policy lets the candidate see the score now."""
    submitted = state.submitted
    return submitted is not None and "score" in visible_items(quiz, submitted.at, now)


def candidate_result(
    result: ResultView | None, state: AttemptState, quiz: Quiz, now: float
) -> ResultView | None:
    """``result`` as the candidate may see it now: without the score when the
    review policy hides it."""
    if result is None or score_shown(state, quiz, now):
        return result
    return msgspec.structs.replace(result, score=None, max_score=None, score_hidden=True)


def result_view(state: AttemptState, quiz: Quiz) -> ResultView | None:
    """The result of a submitted attempt (None before): the score with its grades
    and regrades (``quiz``: the version it is scored with), pending while
    answers graded by hand wait for a grader."""
    submitted = state.submitted
    if submitted is None:
        return None
    if not state.grades and state.regraded_version is None and not submitted.pending:
        # Nothing changed the score since the submit (the common case).
        return ResultView(
            score=submitted.score,
            max_score=submitted.max_score,
            finished_at=submitted.finished_at,
            reason=submitted.reason,
        )
    sheet = score(state, quiz)
    return ResultView(
        score=sheet.score,
        max_score=sheet.max_score,
        finished_at=submitted.finished_at,
        reason=submitted.reason,
        pending=bool(sheet.pending),
        pending_questions=len(sheet.pending),
    )


def _instructions(quiz: Quiz, section: str | None) -> str:
    parts = [quiz.instructions.strip()]
    definition = quiz.section("practice" if section == "practice" else "test")
    if definition is not None and definition.instructions.strip():
        parts.append(definition.instructions.strip())
    return "\n\n".join(p for p in parts if p)


def question_view(
    state: AttemptState, quiz: Quiz, section: str, question: Question
) -> QuestionView:
    progress = state.progress("test" if section == "test" else "practice")
    assert progress is not None
    spec = kind_of(question)
    # The kind's candidate-facing fields (choices, items, options, gaps...): never the key.
    extra = msgspec.convert(spec.view(question, progress.seed), QuestionExtras)
    return QuestionView(
        id=question.id,
        section=section,
        kind=question.kind,
        text=question.text,
        points=question.points,
        penalty=question.penalty,
        number=question_number(
            quiz.section("test" if section == "test" else "practice") or quiz.test,
            progress,
            question.id,
        ),
        total=section_total(state, quiz, section),
        choices=extra.choices,
        answer=progress.answers.get(question.id),
        images=[ImageView(url=i.url, alt=i.alt) for i in question.images] or None,
        items=extra.items,
        options=extra.options,
        gaps=extra.gaps,
        word_limit=extra.word_limit,
        response_template=extra.response_template,
        grading=spec.grading,
        flagged=question.id in progress.flagged,
    )
