"""Grading by hand and regrading (``api_key`` needed): the queue of answers to
grade, a grade, and the regrade of a quiz's finished attempts."""

from __future__ import annotations

from collections.abc import AsyncIterator

from quizsession.api.grading import (
    GradeBody,
    GradeResult,
    GradingItem,
    GradingQueue,
    QueueFilter,
    RegradeBody,
    RegradeReport,
)
from quizsession.client.transport import HttpCore, seg


class GradingApi(HttpCore):
    async def grading_queue(
        self,
        quiz_id: str,
        *,
        question_id: str | None = None,
        status: QueueFilter = "pending",
        cursor: str | None = None,
        limit: int = 20,
    ) -> GradingQueue:
        """One page of the answers to grade by hand of the quiz's submitted
        attempts (``next_cursor``: pass it as ``cursor`` for the next page)."""
        params: dict[str, str | int | bool] = {"status": status, "limit": limit}
        if question_id is not None:
            params["question_id"] = question_id
        if cursor is not None:
            params["cursor"] = cursor
        return await self._admin(
            "GET", f"/quizzes/{seg(quiz_id)}/grading", GradingQueue, params=params
        )

    async def grading_items(
        self,
        quiz_id: str,
        *,
        question_id: str | None = None,
        status: QueueFilter = "pending",
        page_size: int = 100,
    ) -> AsyncIterator[GradingItem]:
        """Every item of the queue, page after page."""
        cursor: str | None = None
        while True:
            page = await self.grading_queue(
                quiz_id, question_id=question_id, status=status, cursor=cursor, limit=page_size
            )
            for item in page.items:
                yield item
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def grade(
        self, attempt_id: str, question_id: str, points: float, comment: str = ""
    ) -> GradeResult:
        """Grade an answer graded by hand (replacing a grade given before): the
        grade and the attempt's result after it (``pending`` until every such
        answer is graded)."""
        body = GradeBody(points=points, comment=comment)
        return await self._call(
            "PUT",
            f"/admin/attempts/{seg(attempt_id)}/grades/{seg(question_id)}",
            GradeResult,
            idempotent=True,
            json=body,
            headers=self._admin_headers(),
        )

    async def regrade(
        self,
        quiz_id: str,
        *,
        from_version: int | None = None,
        dry_run: bool = False,
        cursor: str | None = None,
        limit: int = 200,
    ) -> RegradeReport:
        """Score one page of the submitted attempts of older versions with the
        quiz's current version (``dry_run``: change nothing). ``Conflict``
        (``regrade_incompatible``) when a question an attempt was given is gone."""
        body = RegradeBody(from_version=from_version, dry_run=dry_run, cursor=cursor, limit=limit)
        return await self._admin(
            "POST", f"/quizzes/{seg(quiz_id)}/regrade", RegradeReport, json=body
        )
