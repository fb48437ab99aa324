"""Quizzes and invites: getting definitions in and candidates invited."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence

import msgspec

from quizsession.api.models import IssuedInvite as IssuedInvite
from quizsession.app.ports import Clock, Invite, QuizCatalog, QuizSummary
from quizsession.app.sessions.logins import hash_token
from quizsession.domain.errors import ErrorCode, refuse
from quizsession.domain.quiz import Quiz
from quizsession.domain.quiz_validation import parse_quiz

EMAIL_MAX = 254
NAME_MAX = 200
ROSTER_MAX = 10_000


class RosterEntry(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    email: str
    valid_until: str  # YYYY-MM-DD (through the end of that UTC day) or ISO-8601 with offset
    token: str | None = None  # supplied by a roster file, else generated
    candidate_id: str | None = None


def parse_valid_until(text: str) -> float:
    """``YYYY-MM-DD`` means valid through the end of that day (UTC); a datetime
    must carry its offset."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            end = dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=dt.UTC)
            return end.timestamp()
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"not a date: {text!r}") from exc
    if moment.tzinfo is None:
        raise ValueError(f"a datetime needs a timezone offset: {text!r}")
    return moment.timestamp()


def parse_roster_lines(text: str, *, token_optional: bool = False) -> list[RosterEntry]:
    """Roster lines ``name email valid-until token``, read from the right, so the
    name may hold spaces (``Ada King Lovelace ada@example.org 2026-12-31 TOKEN``).
    With ``token_optional`` (the command line's roster files) a line whose last
    field is a date (``YYYY-MM-DD`` or ISO-8601 with offset) has no token, and one
    is generated. Blank lines and ``#`` comments are skipped."""
    entries: list[RosterEntry] = []
    problems: list[dict[str, object]] = []
    shape = "name email valid-until [token]" if token_optional else "name email valid-until token"
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        token: str | None = None
        if len(parts) >= 4 and not (token_optional and _is_date(parts[-1])):
            token = parts.pop()
        if len(parts) < 3 or (token is None and not token_optional):
            problems.append({"line": number, "message": f"expected: {shape}"})
            continue
        entries.append(
            RosterEntry(
                name=" ".join(parts[:-2]), email=parts[-2], valid_until=parts[-1], token=token
            )
        )
    if problems:
        raise refuse(ErrorCode.VALIDATION, "the roster has errors", problems=problems)
    return entries


def _is_date(text: str) -> bool:
    try:
        parse_valid_until(text)
    except ValueError:
        return False
    return True


def _check_entry(index: int, entry: RosterEntry) -> list[dict[str, object]]:
    problems: list[dict[str, object]] = []
    path = f"/roster/{index}"
    if not entry.name.strip() or len(entry.name) > NAME_MAX:
        problems.append({"path": f"{path}/name", "message": "a name of 1-200 characters"})
    if (
        "@" not in entry.email
        or len(entry.email) > EMAIL_MAX
        or any(c.isspace() for c in entry.email)
    ):
        problems.append({"path": f"{path}/email", "message": "not an email address"})
    try:
        parse_valid_until(entry.valid_until)
    except ValueError as exc:
        problems.append({"path": f"{path}/valid_until", "message": str(exc)})
    if entry.token is not None and (len(entry.token) < 22 or len(entry.token) > 128):
        problems.append(
            {"path": f"{path}/token", "message": "a supplied token needs 22-128 characters"}
        )
    return problems


class Catalog:
    def __init__(self, store: QuizCatalog, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def put_quiz(self, raw: object) -> Quiz:
        quiz = parse_quiz(raw)
        return await self._store.put_quiz(quiz)

    async def get_quiz(self, quiz_id: str, version: int | None = None) -> Quiz:
        quiz = await self._store.get_quiz(quiz_id, version)
        if quiz is None:
            raise refuse(ErrorCode.NOT_FOUND, f"quiz {quiz_id} not found")
        return quiz

    async def list_quizzes(self) -> list[QuizSummary]:
        return await self._store.list_quizzes()

    async def invite(
        self, quiz_id: str, roster: Sequence[RosterEntry], *, base_url: str = ""
    ) -> list[IssuedInvite]:
        """Store one invite per roster line and return the tokens (shown once:
        only their hashes are kept)."""
        await self.get_quiz(quiz_id)
        if len(roster) > ROSTER_MAX:
            raise refuse(ErrorCode.VALIDATION, f"at most {ROSTER_MAX} roster lines at once")
        problems = [p for i, e in enumerate(roster) for p in _check_entry(i, e)]
        if problems:
            raise refuse(ErrorCode.VALIDATION, "the roster has errors", problems=problems)
        now = self._clock.now()
        invites: list[Invite] = []
        issued: list[IssuedInvite] = []
        for entry in roster:
            token = entry.token or secrets.token_urlsafe(24)  # 192 random bits
            candidate_id = (
                entry.candidate_id
                or "c_" + hash_token(f"{quiz_id}\x00{entry.email.strip().lower()}")[:20]
            )
            valid_until = parse_valid_until(entry.valid_until)
            invites.append(
                Invite(
                    token_hash=hash_token(token),
                    quiz_id=quiz_id,
                    candidate_id=candidate_id,
                    name=entry.name.strip(),
                    email=entry.email.strip(),
                    valid_until=valid_until,
                    created_at=now,
                )
            )
            issued.append(
                IssuedInvite(
                    name=entry.name.strip(),
                    email=entry.email.strip(),
                    candidate_id=candidate_id,
                    valid_until=valid_until,
                    token=token,
                    link=f"{base_url}/take#{token}",
                )
            )
        await self._store.add_invites(invites)
        return issued
