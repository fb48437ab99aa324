"""The candidate's side: logging in (``SessionsApi.open_session``) and one
session's calls (``SessionHandle``)."""

from __future__ import annotations

from typing import Any, TypeVar

from quizsession.api.models import (
    AnswerValue,
    AttemptView,
    CompleteBody,
    CompleteResult,
    FlagBody,
    FlagResult,
    HeartbeatBody,
    HeartbeatResult,
    NavigationView,
    NextQuestion,
    OpenedSession,
    OpenSessionBody,
    ProgressBody,
    QuestionView,
    SaveResult,
    Section,
    StartBody,
)
from quizsession.api.review import PracticeFeedback, ReviewView
from quizsession.client.transport import HttpCore, new_op_id, seg

T = TypeVar("T")


class SessionsApi(HttpCore):
    async def open_session(
        self,
        *,
        invite_token: str | None = None,
        user_id: str | None = None,
        quiz_id: str | None = None,
        name: str = "",
        takeover: bool = False,
    ) -> SessionHandle:
        """``POST /sessions``: start or resume an attempt, with a candidate's
        ``invite_token`` or, for a backend (``api_key`` needed), ``user_id`` and
        ``quiz_id`` (``name``: the candidate's display name on first login).
        Raises ``SessionActive`` while another session holds the lease (retry
        after ``retry_after``, or pass ``takeover=True`` where allowed). Not
        retried: a repeated login would supersede the first one."""
        if (invite_token is None) == (user_id is None or quiz_id is None):
            raise ValueError("pass either invite_token, or user_id and quiz_id")
        if invite_token is not None:
            body = OpenSessionBody(invite_token=invite_token, takeover=takeover)
            headers: dict[str, str] = {}
        else:
            body = OpenSessionBody(user_id=user_id, quiz_id=quiz_id, name=name, takeover=takeover)
            headers = self._admin_headers()
        opened = await self._call(
            "POST", "/sessions", OpenedSession, idempotent=False, json=body, headers=headers
        )
        return SessionHandle(self, opened)

    def session(self, session_id: str, token: str) -> SessionHandle:
        """A handle for a session opened earlier (its id and latest token)."""
        return SessionHandle(self, None, session_id=session_id, token=token)


class SessionHandle:
    """One candidate session: its id and its latest token (refreshed from every
    heartbeat). ``opened`` is the login's answer (None for a handle rebuilt with
    ``AsyncQuizClient.session``)."""

    def __init__(
        self,
        client: HttpCore,
        opened: OpenedSession | None,
        *,
        session_id: str | None = None,
        token: str | None = None,
    ) -> None:
        self.client = client
        self.opened = opened
        if opened is not None:
            session_id, token = opened.session_id, opened.session_token
            self.expires_at: float | None = opened.expires_at
        else:
            self.expires_at = None
        if session_id is None or token is None:
            raise ValueError("a session needs its id and token")
        self.session_id: str = session_id
        self.token: str = token

    def __repr__(self) -> str:
        return f"SessionHandle(session_id={self.session_id!r})"

    @property
    def attempt_id(self) -> str | None:
        """The attempt's id, when this handle came from a login."""
        return self.opened.attempt.attempt_id if self.opened is not None else None

    @property
    def path(self) -> str:
        return f"/sessions/{seg(self.session_id)}"

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def _call(
        self, method: str, suffix: str, type_: type[T], *, idempotent: bool, json: Any = None
    ) -> T:
        return await self.client._call(
            method,
            self.path + suffix,
            type_,
            idempotent=idempotent,
            json=json,
            headers=self._auth(),
        )

    async def view(self) -> AttemptView:
        """The attempt view: state, section, time remaining, answers, version."""
        return await self._call("GET", "", AttemptView, idempotent=True)

    async def start(self, section: Section = "test", *, op_id: str | None = None) -> AttemptView:
        """Start the ``practice`` round or the timed ``test``. Retried safely:
        ``op_id`` (generated when not given) makes a repeat return the first result."""
        body = StartBody(section=section, op_id=op_id or new_op_id())
        return await self._call("POST", "/start", AttemptView, idempotent=True, json=body)

    async def next_question(self) -> NextQuestion:
        """The current question: the unanswered one already delivered, else the
        next new one (``question`` is None when none is left)."""
        return await self._call("GET", "/question", NextQuestion, idempotent=True)

    async def question(self, question_id: str) -> QuestionView:
        """A question of the running section, with its saved answer. Free
        navigation: any question of the section (its first opening delivers it);
        sequential: only one already delivered (``Conflict``
        ``question_not_delivered`` otherwise)."""
        return await self._call(
            "GET", f"/questions/{seg(question_id)}", QuestionView, idempotent=True
        )

    async def questions(self) -> NavigationView:
        """The running section's questions with their state (answered, not
        answered, not seen, information) and flags, and the counts."""
        return await self._call("GET", "/questions", NavigationView, idempotent=True)

    async def flag(
        self, question_id: str, flagged: bool = True, *, op_id: str | None = None
    ) -> FlagResult:
        """Flag a delivered question for review (``flagged=False`` takes the flag
        off). Retried safely: ``op_id`` (a new UUID when not given) makes a
        repeat return the first result."""
        body = FlagBody(flagged=flagged, op_id=op_id or new_op_id())
        return await self._call(
            "PUT", f"/flags/{seg(question_id)}", FlagResult, idempotent=True, json=body
        )

    async def save(
        self,
        question_id: str,
        answer: AnswerValue,
        *,
        op_id: str | None = None,
        expected_version: int | None = None,
    ) -> SaveResult:
        """Save an answer; a return means it is on disk. ``op_id`` (a new UUID
        when not given) is reused by every retry, so the answer lands once;
        ``replayed`` tells a repeat. ``expected_version``: refuse
        (``version_mismatch``) if the attempt moved since that version."""
        body = ProgressBody(
            question_id=question_id,
            answer=answer,  # None is a valid (blank) answer: always sent
            op_id=op_id or new_op_id(),
            expected_version=expected_version,
        )
        return await self._call("PUT", "/progress", SaveResult, idempotent=True, json=body)

    async def heartbeat(self, question_id: str | None = None) -> HeartbeatResult:
        """Keep the lease (``question_id``: the question on screen). The handle
        takes the refreshed token. Not retried: the next heartbeat is the retry."""
        body = HeartbeatBody(question_id=question_id) if question_id is not None else None
        beat = await self._call("POST", "/heartbeat", HeartbeatResult, idempotent=False, json=body)
        self.token = beat.session_token
        self.expires_at = beat.expires_at
        return beat

    async def complete(self, op_id: str | None = None) -> CompleteResult:
        """Finish the practice round, or submit the test and get the score. Retried
        safely with the same ``op_id``; submitting twice returns the same score."""
        body = CompleteBody(op_id=op_id or new_op_id())
        return await self._call("POST", "/complete", CompleteResult, idempotent=True, json=body)

    async def check(self, question_id: str) -> PracticeFeedback:
        """The practice round's feedback on the saved answer to ``question_id``
        (right or not, the right answer, feedback). Raises ``Conflict``
        (``practice_only``) outside the practice round."""
        return await self._call(
            "POST", f"/questions/{seg(question_id)}/check", PracticeFeedback, idempotent=True
        )

    async def review(self) -> ReviewView:
        """The submitted test as the quiz's review policy shows it now (what it
        hides is ``UNSET``). Raises ``Conflict`` (``review_not_available``)
        before the test is submitted."""
        return await self._call("GET", "/review", ReviewView, idempotent=True)

    async def logout(self) -> None:
        """End this session without submitting (a new login resumes the attempt)."""
        await self.client.request("DELETE", self.path, idempotent=False, headers=self._auth())
