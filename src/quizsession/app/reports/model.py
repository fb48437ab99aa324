"""The shape of a quiz's report: results per attempt, item analysis per question,
session analytics per attempt, the summary and the timelines (msgspec structs, the
JSON the API serves; those that travel are wire models, ``quizsession.api.models``).
How each figure is computed: ``app/reports/``."""

from __future__ import annotations

import msgspec

from quizsession.api.reports import AnswerResult as AnswerResult
from quizsession.api.reports import AttemptAnalytics as AttemptAnalytics
from quizsession.api.reports import CandidateResult as CandidateResult
from quizsession.api.reports import ItemAnalysis as ItemAnalysis
from quizsession.api.reports import OptionCount as OptionCount
from quizsession.api.reports import SessionAnalytics as SessionAnalytics
from quizsession.api.reports import Summary as Summary


class AttemptTimeline(msgspec.Struct, frozen=True, kw_only=True):
    attempt_id: str
    lines: list[str]


class QuizReport(msgspec.Struct, frozen=True, kw_only=True):
    quiz_id: str
    title: str
    versions: list[int]  # the quiz versions the attempts used
    question_ids: list[str]  # column order: latest version first, then older ones
    summary: Summary
    results: list[CandidateResult]
    items: list[ItemAnalysis]
    sessions: list[SessionAnalytics]
    timelines: list[AttemptTimeline] | None = None
