"""The reports as they travel: results per candidate, item analysis, session
analytics (what ``/admin/quizzes/{id}/results``, ``/item-analysis`` and
``/admin/attempts/{id}/analytics`` answer, and the CSV/JSON/HTML renderers
read)."""

from __future__ import annotations

import msgspec

from quizsession.api.models import AnswerValue


class AnswerResult(msgspec.Struct, frozen=True, kw_only=True):
    question_id: str
    delivered: bool
    answer: AnswerValue
    points: float
    max_points: float
    correct: bool
    #: Graded by hand and waiting for its grade (``points`` is 0 until then).
    pending: bool = False


class CandidateResult(msgspec.Struct, frozen=True, kw_only=True):
    attempt_id: str
    candidate_id: str
    candidate_name: str
    quiz_version: int
    status: str  # open | submitted | voided
    score: float | None
    max_score: float | None
    percentage: float | None
    started_at: float | None
    finished_at: float | None
    time_used_s: float | None
    submit_reason: str | None
    answers: list[AnswerResult]
    #: Answers graded by hand wait for a grader: ``score`` is the automatic part
    #: so far, not a final score (and the summary leaves it out).
    pending: bool = False
    #: After a regrade (an answer key fixed): the score the attempt had before the
    #: first regrade, and the quiz version it is now scored with.
    score_before_regrade: float | None = None
    regraded_version: int | None = None


class OptionCount(msgspec.Struct, frozen=True, kw_only=True):
    option: str  # a choice id, "true"/"false", a normalised text, or within/outside_tolerance
    label: str
    count: int
    correct: bool


class ItemAnalysis(msgspec.Struct, frozen=True, kw_only=True):
    question_id: str
    kind: str
    text: str
    max_points: float
    delivered: int
    answered: int
    mean_points: float | None
    # Moodle's facility index, in percent: the mean points as a share of the range
    # from the lowest possible points (-penalty) to the highest, so 0-100 even with
    # negative marks.
    facility: float | None
    discrimination: float | None  # correlation with the rest of the test, [-1, 1]
    options: list[OptionCount]
    time_samples: int
    median_time_s: float | None
    mean_time_s: float | None
    min_points: float = 0.0  # the lowest a wrong answer earns: -penalty (latest definition)
    right: int = 0  # counted attempts whose final answer is fully right
    right_percentage: float | None = None  # 100 * right / delivered


class SessionAnalytics(msgspec.Struct, frozen=True, kw_only=True):
    attempt_id: str
    candidate_id: str
    candidate_name: str = ""  # from the attempt's log (decrypted when encrypted at rest)
    events: int
    sessions: int
    disconnects: int
    takeovers: int
    superseded: int
    closed: dict[str, int]  # session_closed reason -> count
    longest_gap_s: float | None
    longest_gap_from: float | None
    longest_gap_to: float | None


class Summary(msgspec.Struct, frozen=True, kw_only=True):
    attempts: int
    scored: int
    in_progress: int
    voided: int
    mean_score: float | None
    median_score: float | None
    mean_percentage: float | None
    median_percentage: float | None
    mean_time_used_s: float | None
    median_time_used_s: float | None
    #: Submitted attempts whose score is pending (left out of the score figures).
    pending: int = 0


class AttemptAnalytics(msgspec.Struct, frozen=True, kw_only=True):
    attempt_id: str
    quiz_id: str
    result: CandidateResult | None  # None when the attempt's quiz version is missing
    sessions: SessionAnalytics
    timeline: list[str]


class QuizResults(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /admin/quizzes/{id}/results``: every attempt with its score."""

    quiz_id: str
    title: str
    versions: list[int]
    question_ids: list[str]
    summary: Summary
    results: list[CandidateResult]


class ItemAnalysisReport(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /admin/quizzes/{id}/item-analysis``: statistics per question."""

    quiz_id: str
    title: str
    versions: list[int]
    scored_attempts: int
    items: list[ItemAnalysis]
