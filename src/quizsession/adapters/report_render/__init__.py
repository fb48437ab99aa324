"""Renderers of ``app.reports`` results: CSV, JSON (``csv_json.py``) and a
self-contained HTML page (``html_page.py``); ``CsvJsonHtmlRenderer`` is the
``ReportRenderer`` port the composition root hands to the entrypoints."""

from __future__ import annotations

from quizsession.adapters.report_render.csv_json import report_json, results_csv
from quizsession.adapters.report_render.html_page import report_html
from quizsession.app.reports.model import QuizReport

__all__ = ["CsvJsonHtmlRenderer"]


class CsvJsonHtmlRenderer:
    """The ``ReportRenderer`` port. Holds no resources; the HTML page takes a
    while to draw (plots), so async callers run it in a thread."""

    def results_csv(self, report: QuizReport) -> str:
        return results_csv(report)

    def report_json(self, report: QuizReport) -> bytes:
        return report_json(report)

    def report_html(self, report: QuizReport) -> str:
        return report_html(report)
