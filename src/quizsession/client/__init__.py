"""A typed asyncio client for quizsession, for integrating backends and tests.

::

    async with AsyncQuizClient("http://127.0.0.1:8002", api_key=KEY) as client:
        await client.put_quiz("maths", definition)
        session = await client.open_session(user_id="u-42", quiz_id="maths")
        await session.start()
        current = await session.next_question()
        await session.save(current.question.id, "canberra")  # op_id generated
        result = await session.complete()

Needs only httpx and msgspec (``pip install quizsession`` installs nothing of the
server). Requests are encoded from, and responses decoded into, the wire models
the server itself uses (``quizsession.api.models``, re-exported here); the
attempt's event log comes as ``LogEntry`` items whose ``data`` is a mapping.
Every problem+json answer raises a ``QuizSessionError`` subclass: one per
refusal category of the service's code table, chosen by its stable ``code``
(``errors``). Which requests are retried, and when: ``transport``.

Modules: ``transport`` (connection, retries, decoding), ``errors``, ``sessions``
(login and a candidate's session), ``admin`` (quizzes, invites, attempts,
reports), ``service`` (``AsyncQuizClient`` and the health checks).
"""

from __future__ import annotations

from quizsession.api.accommodations import Accommodation, AccommodationList
from quizsession.api.grading import (
    GradeResult,
    GradingItem,
    GradingQueue,
    RegradeItem,
    RegradeReport,
)
from quizsession.api.models import (
    AnswerValue,
    AttemptDetail,
    AttemptIndexRow,
    AttemptList,
    AttemptView,
    CompleteResult,
    EventView,
    HeartbeatResult,
    InviteList,
    IssuedInvite,
    LiveAttempt,
    LiveList,
    NextQuestion,
    OpenedSession,
    QuestionView,
    QuizList,
    QuizStored,
    QuizSummary,
    Readiness,
    RosterLine,
    SaveResult,
    TimingResult,
)
from quizsession.api.reports import (
    AttemptAnalytics,
    CandidateResult,
    ItemAnalysis,
    ItemAnalysisReport,
    QuizResults,
    Summary,
)
from quizsession.api.review import FeedbackView, PracticeFeedback, ReviewQuestion, ReviewView
from quizsession.client.admin import LogEntry
from quizsession.client.errors import (
    Conflict,
    DeadlinePassed,
    FieldProblem,
    Forbidden,
    InternalError,
    NotFound,
    QuizClientError,
    QuizSessionError,
    RateLimited,
    SessionActive,
    Superseded,
    TransportFailed,
    Unauthorized,
    Unavailable,
    UnexpectedResponse,
    ValidationFailed,
    error_from_response,
)
from quizsession.client.service import AsyncQuizClient
from quizsession.client.sessions import SessionHandle
from quizsession.client.transport import AsyncTransport, new_op_id

__all__ = [
    "Accommodation",
    "AccommodationList",
    "AnswerValue",
    "AsyncQuizClient",
    "AsyncTransport",
    "AttemptAnalytics",
    "AttemptDetail",
    "AttemptIndexRow",
    "AttemptList",
    "AttemptView",
    "CandidateResult",
    "CompleteResult",
    "Conflict",
    "DeadlinePassed",
    "EventView",
    "FeedbackView",
    "FieldProblem",
    "Forbidden",
    "GradeResult",
    "GradingItem",
    "GradingQueue",
    "HeartbeatResult",
    "InternalError",
    "InviteList",
    "IssuedInvite",
    "ItemAnalysis",
    "ItemAnalysisReport",
    "LiveAttempt",
    "LiveList",
    "LogEntry",
    "NextQuestion",
    "NotFound",
    "OpenedSession",
    "PracticeFeedback",
    "QuestionView",
    "QuizClientError",
    "QuizList",
    "QuizResults",
    "QuizSessionError",
    "QuizStored",
    "QuizSummary",
    "RateLimited",
    "Readiness",
    "RegradeItem",
    "RegradeReport",
    "ReviewQuestion",
    "ReviewView",
    "RosterLine",
    "SaveResult",
    "SessionActive",
    "SessionHandle",
    "Summary",
    "Superseded",
    "TimingResult",
    "TransportFailed",
    "Unauthorized",
    "Unavailable",
    "UnexpectedResponse",
    "ValidationFailed",
    "error_from_response",
    "new_op_id",
]
