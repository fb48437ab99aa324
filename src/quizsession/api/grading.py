"""The wire models of grading by hand and regrading (``/admin/quizzes/{id}/grading``,
``/admin/attempts/{id}/grades/{question_id}``, ``/admin/quizzes/{id}/regrade``).

Questions graded by hand (essays) are graded once the test is submitted: the
queue lists one item per (attempt, question), a grade is points within
[0, the question's points] and a comment, and grading again replaces the grade.
A regrade scores the submitted attempts of older versions with the quiz's
current version (after an answer key was fixed), keeping the grades given by
hand.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from quizsession.api.models import ResultView

__all__ = [
    "MAX_COMMENT",
    "GradeBody",
    "GradeResult",
    "GradingItem",
    "GradingQuestion",
    "GradingQueue",
    "GradingStatus",
    "QueueFilter",
    "RegradeBody",
    "RegradeItem",
    "RegradeReport",
]

#: The longest grader's comment, in characters (the domain's ``MAX_GRADE_COMMENT``).
MAX_COMMENT = 5000
#: The longest cursor a client sends back.
MAX_CURSOR = 600

GradingStatus = Literal["pending", "graded", "blank"]
QueueFilter = Literal["pending", "graded", "all"]
Cursor = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_CURSOR)]


class GradeBody(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """``PUT /admin/attempts/{id}/grades/{question_id}``: the points (within 0 and
    the question's points, else 422 ``grade_out_of_range``) and a comment for the
    candidate (plain text, line breaks kept)."""

    points: float
    comment: Annotated[str, msgspec.Meta(max_length=MAX_COMMENT)] = ""


class GradingItem(msgspec.Struct, frozen=True, kw_only=True):
    """One answer to grade: an attempt's answer to a question graded by hand."""

    attempt_id: str
    candidate_id: str
    candidate_name: str
    quiz_version: int
    question_id: str
    question_text: str
    #: Guidance for graders from the quiz's author (never shown to candidates).
    grader_info: str
    #: The answer as written (plain text, line breaks kept; "" when blank).
    answer: str
    word_count: int
    word_limit: int | None
    min_points: float
    max_points: float
    #: ``pending``: waits for a grade; ``graded``; ``blank``: nothing written
    #: (scores 0, needs no grader).
    status: GradingStatus
    points: float | None = None
    comment: str = ""
    grader: str | None = None
    finished_at: float | None = None


class GradingQuestion(msgspec.Struct, frozen=True, kw_only=True):
    """A question graded by hand (its kind's grading is ``manual``)."""

    id: str
    text: str


class GradingQueue(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /admin/quizzes/{id}/grading``: one page of the queue, in attempt id
    then question order. ``next_cursor``: pass it back for the next page (None:
    this was the last page). A page may hold fewer than ``limit`` items (even
    none) and still have a next one: each request looks at a bounded number of
    attempts. ``questions``: the questions graded by hand of the quiz's current
    version, in its order (every page holds them; a filter by ``question_id``
    picks one of them)."""

    quiz_id: str
    status: QueueFilter
    question_id: str | None
    items: list[GradingItem]
    next_cursor: str | None
    questions: list[GradingQuestion] = msgspec.field(default_factory=list)


class GradeResult(msgspec.Struct, frozen=True, kw_only=True):
    """The grade as recorded and the attempt's result after it."""

    attempt_id: str
    question_id: str
    points: float
    comment: str
    grader: str
    result: ResultView


class RegradeBody(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """``POST /admin/quizzes/{id}/regrade``: score the submitted attempts scored
    with an older version (only ``from_version``'s when given) with the quiz's
    current version. ``dry_run``: compute the new scores and change nothing. Pages
    through the attempts: at most ``limit`` per request, ``cursor`` from the last
    answer's ``next_cursor``."""

    from_version: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] | None = None
    dry_run: bool = False
    cursor: Cursor | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 200


class RegradeItem(msgspec.Struct, frozen=True, kw_only=True):
    """One attempt: its score with the version it was scored with and with the
    current one, and each question whose score changes (id -> [old, new])."""

    attempt_id: str
    candidate_id: str
    from_version: int
    old_score: float
    new_score: float
    max_score: float
    changed: bool
    changes: dict[str, list[float]]
    pending: bool = False


class RegradeReport(msgspec.Struct, frozen=True, kw_only=True):
    """The attempts looked at by one request (those already on the current
    version are skipped), how many changed (or would, in a dry run), and the
    cursor of the next page (None: done)."""

    quiz_id: str
    to_version: int
    dry_run: bool
    attempts: list[RegradeItem]
    changed: int
    unchanged: int
    next_cursor: str | None
