"""Renderers of ``app.reports`` results: CSV, JSON (``csv_json.py``; as a stream:
``streamed.py``) and a self-contained HTML page (``html_page.py``); ``CsvJsonHtmlRenderer`` is the
``ReportRenderer`` port the composition root hands to the entrypoints."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import msgspec

from quizsession.adapters.report_render.csv_json import (
    report_json,
    results_csv,
    results_csv_lines,
)
from quizsession.adapters.report_render.html_page import report_html
from quizsession.adapters.report_render.streamed import results_json_chunks
from quizsession.app.reports.model import CandidateResult, QuizReport

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

    def results_csv_lines(
        self, question_ids: Sequence[str], results: Iterable[CandidateResult]
    ) -> Iterator[str]:
        return results_csv_lines(question_ids, results)

    def results_json_chunks(
        self, head: msgspec.Struct, results: Iterable[bytes]
    ) -> Iterator[bytes]:
        return results_json_chunks(head, results)
