"""The project's own error tree for domain refusals.

Every refusal carries a stable machine-readable ``code``; the HTTP boundary maps
codes to statuses (see ``entrypoints/http/problems.py``). Nothing here knows HTTP.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A command was refused by a rule. Refusals change nothing."""

    code: str = "domain_error"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.extra: dict[str, Any] = extra


class Problem:
    """One problem found in an input, located by a JSON-pointer-like path."""

    __slots__ = ("message", "path")

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}

    def __repr__(self) -> str:
        return f"Problem({self.path!r}, {self.message!r})"


class InvalidDefinition(DomainError):
    code = "quiz_invalid"

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(
            f"the quiz definition has {len(problems)} problem(s)",
            problems=[p.as_dict() for p in problems],
        )
        self.problems = problems


# Stable codes used across the domain and app layers. Keep in sync with the
# status table in entrypoints/http/problems.py (a test checks every code is mapped).
ATTEMPT_CLOSED = "attempt_closed"
ATTEMPT_VOIDED = "attempt_voided"
DEADLINE_PASSED = "deadline_passed"
SECTION_NOT_STARTED = "section_not_started"
SECTION_STATE = "section_state"
NO_SUCH_SECTION = "no_such_section"
QUESTION_NOT_DELIVERED = "question_not_delivered"
QUESTION_UNKNOWN = "question_unknown"
ANSWER_INVALID = "answer_invalid"
VERSION_MISMATCH = "version_mismatch"
OP_ID_CONFLICT = "op_id_conflict"
SESSION_ACTIVE = "session_active"
SESSION_SUPERSEDED = "session_superseded"
SESSION_CLOSED = "session_closed"
QUIZ_NOT_OPEN = "quiz_not_open"
QUIZ_CLOSED = "quiz_closed"
NOT_ALLOWED = "not_allowed"
VALIDATION = "validation_error"
