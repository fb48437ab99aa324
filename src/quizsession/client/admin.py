"""Administration (``api_key`` needed): quizzes, invites, attempts, candidates'
accommodations and reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, overload

from quizsession.api.accommodations import Accommodation, AccommodationBody, AccommodationList
from quizsession.api.models import (
    AttemptDetail,
    AttemptList,
    AttemptStatus,
    AttemptView,
    EventView,
    ExtendBody,
    InviteList,
    InvitesBody,
    IssuedInvite,
    LiveList,
    QuizList,
    QuizStored,
    QuizSummary,
    ReasonBody,
    ReopenBody,
    RosterLine,
    TimingResult,
)
from quizsession.api.reports import (
    AttemptAnalytics,
    ItemAnalysisReport,
    QuizResults,
)
from quizsession.api.review import ReviewView
from quizsession.client.transport import HttpCore, Params, seg

#: One entry of an attempt's log as a client reads it: ``data`` is the event's
#: members as a mapping (its ``type`` names the event, e.g. ``answer_saved``).
LogEntry = EventView[dict[str, Any]]


class QuizAdminApi(HttpCore):
    async def put_quiz(self, quiz_id: str, definition: Mapping[str, Any]) -> QuizStored:
        """Store ``definition`` as the quiz's next version (``ValidationFailed``
        with every problem when it is invalid)."""
        return await self._admin(
            "PUT", f"/quizzes/{seg(quiz_id)}", QuizStored, json=dict(definition)
        )

    async def get_quiz(self, quiz_id: str, version: int | None = None) -> dict[str, Any]:
        """A quiz definition (the latest version, or ``version``) as a mapping with
        its ``version``: the shape ``put_quiz`` takes."""
        params = {"version": version} if version is not None else None
        return await self._admin("GET", f"/quizzes/{seg(quiz_id)}", dict[str, Any], params=params)

    async def list_quizzes(self) -> list[QuizSummary]:
        """The latest version of every quiz."""
        return (await self._admin("GET", "/quizzes", QuizList)).quizzes

    async def live_attempts(
        self, quiz_id: str, *, cursor: str | None = None, limit: int = 1000
    ) -> LiveList:
        """A page of a quiz's attempts with their clock, connection and last-seen
        time: pass ``next_cursor`` back as ``cursor`` for the next page."""
        params: dict[str, str | int | bool] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        return await self._admin("GET", f"/quizzes/{seg(quiz_id)}/live", LiveList, params=params)

    async def apply_timing(self, quiz_id: str) -> TimingResult:
        """Apply the latest version's duration to the attempts in progress."""
        return await self._admin("POST", f"/quizzes/{seg(quiz_id)}/apply-timing", TimingResult)

    async def invite(
        self,
        quiz_id: str,
        roster: Sequence[RosterLine] = (),
        *,
        roster_text: str | None = None,
    ) -> list[IssuedInvite]:
        """Issue invite tokens for ``roster`` (tokens generated) and/or
        ``roster_text`` lines ``name email valid-until token`` (tokens supplied,
        22-128 characters). The tokens are shown only here: the service keeps
        their hashes."""
        body = InvitesBody(roster=list(roster), roster_text=roster_text)
        found = await self._admin("POST", f"/quizzes/{seg(quiz_id)}/invites", InviteList, json=body)
        return found.invites


class AttemptAdminApi(HttpCore):
    async def list_attempts(
        self,
        *,
        quiz_id: str | None = None,
        status: AttemptStatus | None = None,
        limit: int = 100,
        offset: int = 0,
        cursor: str | None = None,
    ) -> AttemptList:
        """One page of the attempt index, optionally for one quiz and status: pass
        ``next_cursor`` back as ``cursor`` for the next page."""
        params: dict[str, str | int | bool] = {"limit": limit, "offset": offset}
        if cursor is not None:
            params["cursor"] = cursor
        if quiz_id is not None:
            params["quiz_id"] = quiz_id
        if status is not None:
            params["status"] = status
        return await self._admin("GET", "/attempts", AttemptList, params=params)

    async def attempt(self, attempt_id: str) -> AttemptDetail[LogEntry]:
        """One attempt: its view, the candidate's name, its live session and its log."""
        return await self._admin("GET", f"/attempts/{seg(attempt_id)}", AttemptDetail[LogEntry])

    async def events(self, attempt_id: str) -> list[LogEntry]:
        """The attempt's whole event log, oldest first."""
        return await self._admin("GET", f"/attempts/{seg(attempt_id)}/events", list[LogEntry])

    async def timeline(self, attempt_id: str) -> str:
        """The attempt's log as readable text, one event a line."""
        return await self._admin_text(f"/attempts/{seg(attempt_id)}/timeline")

    async def analytics(self, attempt_id: str) -> AttemptAnalytics:
        """One attempt's result, sessions, disconnects, takeovers and timeline."""
        return await self._admin("GET", f"/attempts/{seg(attempt_id)}/analytics", AttemptAnalytics)

    async def attempt_review(self, attempt_id: str) -> ReviewView:
        """Everything about one attempt (score, answers, right answers, feedback),
        whatever the quiz's review policy, submitted or not."""
        return await self._admin("GET", f"/attempts/{seg(attempt_id)}/review", ReviewView)

    async def extend(self, attempt_id: str, seconds: float, reason: str = "") -> AttemptView:
        """Give the attempt ``seconds`` more (audited)."""
        body = ExtendBody(seconds=seconds, reason=reason)
        return await self._admin(
            "POST", f"/attempts/{seg(attempt_id)}/extend", AttemptView, json=body
        )

    async def unlock(self, attempt_id: str) -> AttemptView:
        """End the attempt's live session so that the candidate can log in at once."""
        return await self._admin("POST", f"/attempts/{seg(attempt_id)}/unlock", AttemptView)

    async def void(self, attempt_id: str, reason: str = "") -> AttemptView:
        """Void the attempt (audited; it leaves the statistics)."""
        body = ReasonBody(reason=reason)
        return await self._admin(
            "POST", f"/attempts/{seg(attempt_id)}/void", AttemptView, json=body
        )

    async def reopen(
        self, attempt_id: str, reason: str = "", extra_seconds: float = 0.0
    ) -> AttemptView:
        """Reopen a submitted or voided attempt, with ``extra_seconds`` more time."""
        body = ReopenBody(reason=reason, extra_seconds=extra_seconds)
        return await self._admin(
            "POST", f"/attempts/{seg(attempt_id)}/reopen", AttemptView, json=body
        )


class ReportsApi(HttpCore):
    @overload
    async def results(self, quiz_id: str, format: Literal["json"] = "json") -> QuizResults: ...

    @overload
    async def results(self, quiz_id: str, format: Literal["csv"]) -> str: ...

    async def results(
        self, quiz_id: str, format: Literal["json", "csv"] = "json"
    ) -> QuizResults | str:
        """Every attempt with its score: decoded (``json``) or the CSV text."""
        if format == "csv":
            return await self._admin_text(f"/quizzes/{seg(quiz_id)}/results", {"format": "csv"})
        return await self._admin("GET", f"/quizzes/{seg(quiz_id)}/results", QuizResults)

    async def item_analysis(self, quiz_id: str) -> ItemAnalysisReport:
        """Per question: delivered, answered, facility, discrimination, time spent."""
        return await self._admin(
            "GET", f"/quizzes/{seg(quiz_id)}/item-analysis", ItemAnalysisReport
        )

    async def report_html(self, quiz_id: str, *, timelines: bool = False) -> str:
        """The self-contained HTML report."""
        params: Params | None = {"timelines": "true"} if timelines else None
        return await self._admin_text(f"/quizzes/{seg(quiz_id)}/report.html", params)


class AccommodationsApi(HttpCore):
    async def accommodate(
        self,
        candidate_id: str,
        *,
        multiplier: float | None = None,
        extra_seconds: float | None = None,
        note: str = "",
    ) -> Accommodation:
        """Set the candidate's accommodation (a time multiplier from 1.0 to 4.0,
        extra seconds up to 86400, or both; audited). Tests starting from now get
        ``duration * multiplier + extra_seconds``; a running test gets the extra
        time it now gives at once. A lower one applies to future attempts only."""
        body = AccommodationBody(multiplier=multiplier, extra_seconds=extra_seconds, note=note)
        return await self._admin(
            "PUT", f"/candidates/{seg(candidate_id)}/accommodation", Accommodation, json=body
        )

    async def accommodation(self, candidate_id: str) -> Accommodation:
        """The candidate's accommodation (``NotFound`` without one)."""
        return await self._admin(
            "GET", f"/candidates/{seg(candidate_id)}/accommodation", Accommodation
        )

    async def clear_accommodation(self, candidate_id: str) -> None:
        """Clear the candidate's accommodation for future attempts (audited)."""
        await self.request(
            "DELETE",
            f"/admin/candidates/{seg(candidate_id)}/accommodation",
            idempotent=False,
            headers=self._admin_headers(),
        )

    async def list_accommodations(self, *, limit: int = 100, offset: int = 0) -> AccommodationList:
        """One page of the accommodations, ordered by candidate id."""
        params: dict[str, str | int | bool] = {"limit": limit, "offset": offset}
        return await self._admin("GET", "/accommodations", AccommodationList, params=params)
