"""Request bodies. Unknown fields are refused; sizes are bounded so a hostile
body is refused before it reaches a rule."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from quizsession.domain.events import AnswerValue

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@-]+$")]
OpId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Text = Annotated[str, msgspec.Meta(max_length=1000)]
Token = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


class OpenSessionBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A candidate sends ``invite_token``; a backend (with its API key) sends
    ``user_id`` and ``quiz_id``. ``takeover`` asks to end a live session where the
    quiz allows it."""

    invite_token: Token | None = None
    user_id: Id | None = None
    quiz_id: Id | None = None
    name: Annotated[str, msgspec.Meta(max_length=200)] = ""
    takeover: bool = False


class StartBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    section: Literal["practice", "test"] = "test"
    op_id: OpId | None = None


class ProgressBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    question_id: Id
    answer: AnswerValue
    op_id: OpId
    expected_version: Annotated[int, msgspec.Meta(ge=0)] | None = None


class HeartbeatBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    question_id: Id | None = None


class CompleteBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    op_id: OpId | None = None


class ExtendBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    seconds: Annotated[float, msgspec.Meta(gt=0, le=7 * 24 * 3600)]
    reason: Text = ""


class ReasonBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: Text = ""


class ReopenBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: Text = ""
    extra_seconds: Annotated[float, msgspec.Meta(ge=0, le=7 * 24 * 3600)] = 0.0


class RosterLine(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
    valid_until: Annotated[str, msgspec.Meta(min_length=10, max_length=40)]
    candidate_id: Id | None = None


class InvitesBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Either structured ``roster`` lines or ``roster_text`` in the line format
    ``name email valid-until token``."""

    roster: Annotated[list[RosterLine], msgspec.Meta(max_length=10_000)] = []
    roster_text: Annotated[str, msgspec.Meta(max_length=2_000_000)] | None = None
