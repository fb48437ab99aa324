"""Exporting quizzes for other systems (Moodle XML and GIFT): the ``QuizExporter``
port and what it returns.

An exporter writes a stored quiz in another system's format, plus one
``ExportNote`` per thing that format cannot express (a question left out, a
penalty Moodle has no place for, ids that come back different). The adapters
(``quizsession.adapters.exporters``) implement the port; the composition root
builds it (``bootstrap.make_exporter``).
"""

from __future__ import annotations

from typing import Literal, Protocol

import msgspec

from quizsession.domain.quiz import Quiz

ExportFormat = Literal["moodle-xml", "gift"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("moodle-xml", "gift")


class ExportNote(msgspec.Struct, frozen=True, kw_only=True):
    """Something the format cannot express. ``skipped``: the question was left
    out; otherwise it was written with the loss the message names."""

    question_id: str
    """The question's id ("" for the quiz as a whole)."""
    message: str
    skipped: bool = False

    def describe(self) -> str:
        where = f"question {self.question_id}" if self.question_id else "quiz"
        what = "left out" if self.skipped else "note"
        return f"{where}: {what}: {self.message}"


class ExportResult(msgspec.Struct, frozen=True, kw_only=True):
    data: bytes
    """The file (UTF-8 text)."""
    notes: list[ExportNote]


class QuizExporter(Protocol):
    """Writes quizzes in other systems' formats."""

    def export_quiz(self, quiz: Quiz, fmt: ExportFormat) -> ExportResult:
        """``quiz`` in ``fmt``, with a note for each loss."""
        ...
