"""An attempt's timeline, one event a line, for people (CLI ``log``, admin API):

2016/06/13 13:16:22 response q1 [A1,A2] 10
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from quizsession.app.ports import RecordedEvent
from quizsession.domain.events import (
    AnswerGraded,
    AnswerSaved,
    AnswerValue,
    AttemptCreated,
    DurationChanged,
    PracticeFinished,
    QuestionDelivered,
    QuestionFlagged,
    QuestionViewed,
    Regraded,
    Reopened,
    SectionStarted,
    SessionClosed,
    SessionOpened,
    SessionSuperseded,
    Submitted,
    TimeAccommodated,
    TimeExtended,
    Voided,
)
from quizsession.domain.kinds import kind_of
from quizsession.domain.quiz import Question, Quiz
from quizsession.domain.scoring import score_answer


def _when(at: float) -> str:
    return dt.datetime.fromtimestamp(at, tz=dt.UTC).strftime("%Y/%m/%d %H:%M:%S")


_LONGEST_SHOWN = 120
"""The longest text answer a timeline line shows in full."""


def _answer(value: AnswerValue) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return "[" + ",".join(value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}={_answer(v)}" for k, v in value.items()) + "}"
    text = value.replace("\n", " ")
    if len(text) > _LONGEST_SHOWN:
        # A long written answer: the start and its length (the log keeps it whole).
        return f"{text[:_LONGEST_SHOWN]}… ({len(value):,} characters)"
    return text


def _in_words(question: Question, value: AnswerValue) -> str | None:
    """An answer that pairs, orders or fills in the question's own texts (an
    object: matching, cloze; the question's items in an order: ordering) in words,
    as its kind describes it: "{France: Paris; Germany: Berlin}", "[1, 2, 3]".
    None for the other answers, which the line shows as the quiz names them (choice
    ids, text, numbers)."""
    if isinstance(value, dict):
        opening, closing = "{", "}"
    elif isinstance(value, list) and question.items:
        opening, closing = "[", "]"
    else:
        return None
    text = kind_of(question).describe(question, value).replace("\n", " ")
    if len(text) > _LONGEST_SHOWN:
        text = text[:_LONGEST_SHOWN] + "…"
    return f"{opening}{text}{closing}"


def _num(value: float) -> str:
    return f"{value:g}"


def describe(event: object, quiz: Quiz | None) -> str:
    match event:
        case AttemptCreated():
            return f"created {event.quiz_id} v{event.quiz_version} {event.candidate_id}"
        case SessionOpened():
            extra = " takeover" if event.takeover else ""
            return f"login {event.session_id} epoch {event.epoch}{extra}"
        case SessionSuperseded():
            return f"superseded {event.session_id} by {event.by_session_id}"
        case SessionClosed():
            return f"logout {event.session_id} {event.reason} by {event.by}"
        case SectionStarted():
            return f"start {event.section}"
        case PracticeFinished():
            return "finish practice"
        case QuestionDelivered():
            return f"deliver {event.question_id}"
        case QuestionViewed():
            return f"view {event.question_id}"
        case AnswerSaved():
            points = ""
            shown = None
            if quiz is not None:
                section = quiz.section(event.section)
                question = section.question(event.question_id) if section else None
                if question is not None:
                    shown = _in_words(question, event.answer)
                    if kind_of(question).grading == "auto":
                        points = " " + _num(score_answer(question, event.answer))
            text = _answer(event.answer) if shown is None else shown
            return f"response {event.question_id} {text}{points}"
        case TimeExtended():
            return f"extend {_num(event.seconds)}s by {event.by} {event.reason}".rstrip()
        case TimeAccommodated():
            return (
                f"accommodate {_num(event.seconds)}s (x{_num(event.multiplier)}"
                f" +{_num(event.extra_seconds)}s) by {event.by}"
            )
        case DurationChanged():
            return f"duration {_num(event.duration_s)}s (v{event.quiz_version}) by {event.by}"
        case Submitted():
            return (
                f"submit {event.reason} {_num(event.score)}/{_num(event.max_score)}"
                f" finished {_when(event.finished_at)}"
            )
        case QuestionFlagged():
            return f"{'flag' if event.flagged else 'unflag'} {event.question_id}"
        case AnswerGraded():
            comment = f" {_answer(event.comment)}" if event.comment else ""
            return f"grade {event.question_id} {_num(event.points)} by {event.by}{comment}"
        case Regraded():
            return (
                f"regrade v{event.quiz_version} {_num(event.old_score)} -> "
                f"{_num(event.new_score)} by {event.by}"
            )
        case Voided():
            return f"void by {event.by} {event.reason}".rstrip()
        case Reopened():
            return f"reopen by {event.by} +{_num(event.extra_seconds)}s {event.reason}".rstrip()
    return type(event).__name__


def timeline(records: Sequence[RecordedEvent], quiz: Quiz | None) -> list[str]:
    return [f"{_when(r.event.at)} {describe(r.event, quiz)}" for r in records]
