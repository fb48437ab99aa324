"""What a candidate is told about answers: the review of a submitted test, as the
quiz's review policy allows it now (``domain.review``), the administrator's full
review of any attempt, and the practice round's immediate feedback.

Reads only: nothing here writes to the attempt's log. The views are built from
the folded state, the quiz and the kinds registry (each kind says its view
fields, its right answer and an answer in words)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import msgspec

from quizsession.api.review import (
    FeedbackView,
    PracticeFeedback,
    ReviewItem,
    ReviewQuestion,
    ReviewView,
)
from quizsession.app.attempts import AttemptExecutor
from quizsession.app.ports import Clock, SessionClaims
from quizsession.app.sessions.activity import SessionActivity
from quizsession.app.sessions.reads import check_reader, load_for
from quizsession.domain.attempt_rules import require_delivered, require_not_voided
from quizsession.domain.attempt_state import AttemptState, score
from quizsession.domain.errors import ErrorCode, refuse
from quizsession.domain.events import AnswerValue
from quizsession.domain.kinds import kind_of
from quizsession.domain.overall_feedback import feedback_for_score
from quizsession.domain.quiz import REVIEW_ITEMS, Question, Quiz
from quizsession.domain.review import answer_feedback, next_reveal, visible_items
from quizsession.domain.selection import planned_ids

#: The kind view fields a review question carries (``QuestionKindSpec.view``).
VIEW_FIELDS = ("choices", "items", "options", "gaps", "word_limit", "response_template")
#: The items that show something per question (the list is empty without one).
PER_QUESTION = frozenset({"answers", "right_answers", "feedback", "general_feedback"})


def _feedback(question: Question, answer: AnswerValue) -> list[FeedbackView]:
    return [FeedbackView(ref=ref, text=text) for ref, text in answer_feedback(question, answer)]


def _is_blank(question: Question, answer: AnswerValue) -> bool:
    return answer is None or kind_of(question).is_blank(answer)


def review_question(
    question: Question,
    number: int,
    *,
    seed: int,
    items: Collection[ReviewItem],
    answered: bool,
    answer: AnswerValue,
    points: float | None,
    pending: bool,
    grade_comment: str,
) -> ReviewQuestion:
    """One question of a review showing ``items`` (``answered``: whether the
    attempt has an answer saved for it; ``points``: what it earned, None when
    not scored)."""
    spec = kind_of(question)
    view = msgspec.to_builtins(spec.view(question, seed))
    fields: dict[str, object] = {
        "id": question.id,
        "number": number,
        "kind": question.kind,
        "text": question.text,
        "points": question.points,
        "grading": spec.grading,
        "images": [{"url": i.url, "alt": i.alt} for i in question.images] or None,
    }
    fields.update({k: v for k, v in view.items() if k in VIEW_FIELDS})
    scored = spec.grading != "none"
    if "answers" in items and scored:
        fields["answer"] = answer if answered else None
        blank = _is_blank(question, answer)
        fields["answer_text"] = "" if blank else spec.describe(question, answer)
    if "right_answers" in items and scored:
        right = spec.right_answer(question)
        if right:
            fields["right_answer"] = right
    if "score" in items and scored:
        if pending:
            fields["pending"] = True
        elif points is not None:
            fields["score"] = points
    if "feedback" in items and scored:
        fields["feedback"] = _feedback(question, answer) if answered else []
        if grade_comment:
            fields["grade_comment"] = grade_comment
    if "general_feedback" in items and question.feedback:
        fields["general_feedback"] = question.feedback
    return msgspec.convert(fields, ReviewQuestion, from_attributes=True)


def review_view(
    state: AttemptState,
    quiz: Quiz,
    now: float,
    items: Collection[ReviewItem],
    next_at: float | None,
) -> ReviewView:
    """The review of ``state``'s test showing ``items``."""
    shown = [item for item in REVIEW_ITEMS if item in items]
    sheet = score(state, quiz)
    pending = set(sheet.pending)
    questions: list[ReviewQuestion] = []
    progress = state.test
    if progress is not None and PER_QUESTION.intersection(shown):
        by_id = {q.id: q for q in quiz.test.questions}
        number = 0
        for qid in planned_ids(quiz.test, progress.plan, progress.delivered):
            question = by_id.get(qid)
            if question is None:
                continue
            numbered = kind_of(question).grading != "none"
            number += 1 if numbered else 0
            grade = state.grades.get(qid)
            questions.append(
                review_question(
                    question,
                    number if numbered else 0,
                    seed=progress.seed,
                    items=shown,
                    answered=qid in progress.answers,
                    answer=progress.answers.get(qid),
                    points=sheet.per_question.get(qid),
                    pending=qid in pending,
                    grade_comment=grade[1] if grade is not None else "",
                )
            )
    scored: dict[str, Any] = {}
    if "score" in shown:
        scored["max_score"] = sheet.max_score
        if not pending:
            scored["score"] = sheet.score
            # The grade band's text: with the score only, once it is final.
            if "overall_feedback" in shown:
                text = feedback_for_score(quiz.overall_feedback, sheet.score, sheet.max_score)
                if text is not None:
                    scored["overall_feedback"] = text
    return ReviewView(
        attempt_id=state.attempt_id,
        quiz_id=quiz.id,
        quiz_title=quiz.title,
        server_time=now,
        available=shown,
        next_at=next_at,
        pending=bool(pending),
        questions=questions,
        **scored,
    )


def candidate_review(state: AttemptState, quiz: Quiz, now: float) -> ReviewView:
    """The review the candidate may see at ``now``: refused before the test is
    submitted (``review_not_available``) and for a voided attempt."""
    require_not_voided(state)
    submitted = state.submitted
    if submitted is None:
        raise refuse(
            ErrorCode.REVIEW_NOT_AVAILABLE, "the review is available once the test is submitted"
        )
    at = submitted.at
    return review_view(state, quiz, now, visible_items(quiz, at, now), next_reveal(quiz, at, now))


def practice_feedback(question: Question, answered: bool, answer: AnswerValue) -> PracticeFeedback:
    """The immediate feedback on the practice answer ``answer``."""
    spec = kind_of(question)
    blank = not answered or _is_blank(question, answer)
    auto = spec.grading == "auto"
    correct = auto and not blank and spec.is_correct(question, answer)
    fraction = 0.0
    if auto and not blank:
        if question.points > 0:
            earned = spec.score(question, answer)
            fraction = round(min(1.0, max(0.0, earned / question.points)), 6)
        else:
            fraction = 1.0 if correct else 0.0
    return PracticeFeedback(
        question_id=question.id,
        answered=not blank,
        grading=spec.grading,
        correct=correct,
        fraction=fraction,
        answer_text="" if blank else spec.describe(question, answer),
        right_answer=spec.right_answer(question),
        feedback=[] if blank else _feedback(question, answer),
        general_feedback=question.feedback,
    )


class Reviews:
    """The review and practice-feedback use cases (candidate and administrator)."""

    def __init__(self, executor: AttemptExecutor, clock: Clock, activity: SessionActivity) -> None:
        self._exec = executor
        self._clock = clock
        self._activity = activity

    async def review(self, claims: SessionClaims) -> ReviewView:
        """The candidate's review of their submitted test (their session stays
        open for reading after the submission)."""
        loaded = await load_for(self._exec, claims)
        check_reader(claims, loaded)
        view = candidate_review(loaded.state, loaded.quiz, self._clock.now())
        await self._activity.record(claims.session_id, loaded.quiz.policies.idle_timeout_s)
        return view

    async def check(self, claims: SessionClaims, question_id: str) -> PracticeFeedback:
        """Feedback on the saved answer to a delivered practice question; the
        test gives none (``practice_only``)."""
        loaded = await load_for(self._exec, claims)
        check_reader(claims, loaded)
        state, quiz = loaded.state, loaded.quiz
        require_not_voided(state)
        if state.current_section() != "practice":
            raise refuse(ErrorCode.PRACTICE_ONLY, "answers are checked in the practice round only")
        question = require_delivered(state, quiz, "practice", question_id)
        progress = state.practice
        assert progress is not None
        await self._activity.record(claims.session_id, quiz.policies.idle_timeout_s)
        return practice_feedback(
            question, question_id in progress.answers, progress.answers.get(question_id)
        )

    async def full_review(self, attempt_id: str) -> ReviewView:
        """Everything about any attempt (submitted or not), for an administrator."""
        loaded = await self._exec.load(attempt_id)
        if loaded is None:
            raise refuse(ErrorCode.NOT_FOUND, "no such attempt")
        return review_view(loaded.state, loaded.quiz, self._clock.now(), REVIEW_ITEMS, None)
