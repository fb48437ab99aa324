"""Exporters: quizsession quizzes in other systems' formats (Moodle XML, GIFT), so
that a quiz can go back to Moodle. Adapters of the ``QuizExporter`` port
(``app/quiz_exporter.py``).

- ``moodle_xml.py``, ``gift.py``: the two writers; each dispatches on the
  question's kind through a table with an entry for every kind
  (``xml_writers.XML_WRITERS``, ``gift.GIFT_WRITERS``);
- ``xml_writers.py``: one Moodle XML writer per kind;
- ``common.py``: notes, Moodle's grades, ids an import gives back differently.
"""

from __future__ import annotations

from quizsession.adapters.exporters.gift import write_gift
from quizsession.adapters.exporters.moodle_xml import write_moodle_xml
from quizsession.app.quiz_exporter import ExportFormat, ExportResult
from quizsession.domain.quiz import Quiz

__all__ = ["MoodleExporter", "write_gift", "write_moodle_xml"]


class MoodleExporter:
    """The ``QuizExporter`` port for Moodle XML and GIFT. Holds no resources."""

    def export_quiz(self, quiz: Quiz, fmt: ExportFormat) -> ExportResult:
        data, notes = write_moodle_xml(quiz) if fmt == "moodle-xml" else write_gift(quiz)
        return ExportResult(data=data, notes=notes.notes)
