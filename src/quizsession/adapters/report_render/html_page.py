"""Reports as one self-contained HTML page: inline CSS and three plots (score
distribution, time used, facility per question) as inline base64 PNG drawn by
matplotlib's Agg canvas (no pyplot, no GUI, no global state); every string from a
candidate or a quiz definition is HTML-escaped. matplotlib is imported only when a
page is drawn.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

from quizsession.adapters.report_render.csv_json import iso_time
from quizsession.app.reports_model import (
    CandidateResult,
    ItemAnalysis,
    QuizReport,
    SessionAnalytics,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

NONE = "\u2013"  # an en dash for a missing value

# ------------------------------------------------------------------------------ plots


def _png(fig: Figure) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _histogram(values: Sequence[float], title: str, xlabel: str, bins: list[float]) -> str:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(6.0, 3.2), layout="constrained")
    ax = fig.add_subplot()
    if values:
        ax.hist(list(values), bins=bins, color="#3b6ea5", edgecolor="white")
    else:
        ax.text(0.5, 0.5, "no scored attempts", ha="center", va="center", transform=ax.transAxes)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("attempts")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return _png(fig)


def _time_bins(minutes: Sequence[float]) -> list[float]:
    top = max(minutes, default=1.0)
    top = max(top, 1.0)
    step = top / 10
    return [i * step for i in range(11)]


def _facility_chart(items: Sequence[ItemAnalysis]) -> str:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(6.0, 0.5 * len(items) + 2), 3.6), layout="constrained")
    ax = fig.add_subplot()
    labels = [item.question_id for item in items]
    values = [item.facility if item.facility is not None else 0.0 for item in items]
    if items:
        ax.bar(range(len(items)), values, color="#5a9e6f")
        ax.set_xticks(range(len(items)), labels, rotation=60, ha="right", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no questions", ha="center", va="center", transform=ax.transAxes)
    ax.set_ylim(min(0.0, *values) if values else 0.0, 100.0)
    ax.set_title("Facility per question")
    ax.set_ylabel("facility (%)")
    return _png(fig)


# ------------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}
.plots img{max-width:100%;margin:.5rem 1rem .5rem 0}
.voided{color:#999}.ok{color:#2a7a3a}
pre{font-size:.8rem;background:#f7f7f7;padding:.5rem}
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None:
        return NONE
    return f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return NONE
    total = round(seconds)
    return f"{total // 60}:{total % 60:02d}"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int]) -> str:
    """``rows`` hold HTML that is already escaped."""
    out = ["<table><thead><tr>", *(f"<th>{_e(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for row in rows:
        cells = (
            f'<td class="n">{cell}</td>' if i in numeric else f"<td>{cell}</td>"
            for i, cell in enumerate(row)
        )
        out += ["<tr>", *cells, "</tr>"]
    out.append("</tbody></table>")
    return "".join(out)


def _results_rows(results: Sequence[CandidateResult]) -> list[list[str]]:
    return [
        [
            _e(r.attempt_id),
            _e(r.candidate_name or r.candidate_id),
            f'<span class="{_e(r.status)}">{_e(r.status)}</span>',
            _e(r.quiz_version),
            _e(_fmt(r.score)),
            _e(_fmt(r.max_score)),
            _e(_fmt(r.percentage, 1)),
            _e(iso_time(r.started_at)),
            _e(iso_time(r.finished_at)),
            _e(_duration(r.time_used_s)),
            _e(r.submit_reason or ""),
        ]
        for r in results
    ]


def _item_rows(items: Sequence[ItemAnalysis]) -> list[list[str]]:
    rows = []
    for item in items:
        options = "<br>".join(
            f'<span class="ok">{_e(o.label)}</span>: {o.count}'
            if o.correct
            else f"{_e(o.label)}: {o.count}"
            for o in item.options
        )
        rows.append(
            [
                _e(item.question_id),
                _e(item.kind),
                _e(item.text),
                _e(_fmt(item.max_points)),
                str(item.delivered),
                str(item.answered),
                _e(_fmt(item.facility, 1)),
                _e(_fmt(item.discrimination, 2)),
                _e(_fmt(item.median_time_s, 1)),
                _e(_fmt(item.mean_time_s, 1)),
                options,
            ]
        )
    return rows


def _session_rows(sessions: Sequence[SessionAnalytics]) -> list[list[str]]:
    return [
        [
            _e(s.attempt_id),
            _e(s.candidate_id),
            str(s.sessions),
            str(s.disconnects),
            str(s.takeovers),
            _e(_duration(s.longest_gap_s)),
            str(s.events),
        ]
        for s in sessions
    ]


def report_html(report: QuizReport) -> str:
    """A self-contained HTML page: summary, three plots and the tables."""
    scored = [r for r in report.results if r.status == "submitted"]
    percentages = [r.percentage for r in scored if r.percentage is not None]
    minutes = [r.time_used_s / 60 for r in scored if r.time_used_s is not None]
    plots = [
        (
            "Score distribution",
            _histogram(
                percentages, "Score distribution", "score (%)", [i * 10.0 for i in range(11)]
            ),
        ),
        (
            "Time used",
            _histogram(minutes, "Time used", "minutes", _time_bins(minutes)),
        ),
        ("Facility per question", _facility_chart(report.items)),
    ]
    s = report.summary
    summary_rows = [
        ["attempts", str(s.attempts)],
        ["scored (submitted)", str(s.scored)],
        ["in progress", str(s.in_progress)],
        ["voided (left out of statistics)", str(s.voided)],
        ["mean score", _e(_fmt(s.mean_score))],
        ["median score", _e(_fmt(s.median_score))],
        ["mean percentage", _e(_fmt(s.mean_percentage, 1))],
        ["median time used", _e(_duration(s.median_time_used_s))],
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Report: {_e(report.title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{_e(report.title)}</h1>",
        f"<p>Quiz <code>{_e(report.quiz_id)}</code>, versions "
        f"{_e(', '.join(str(v) for v in report.versions) or NONE)}</p>",
        "<h2>Summary</h2>",
        _table(["", "value"], summary_rows, {1}),
        '<div class="plots">',
        *(f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">' for alt, data in plots),
        "</div>",
        "<h2>Results</h2>",
        _table(
            [
                "attempt",
                "candidate",
                "status",
                "version",
                "score",
                "max",
                "%",
                "started",
                "finished",
                "time used",
                "submit",
            ],
            _results_rows(report.results),
            {3, 4, 5, 6},
        ),
        "<h2>Item analysis</h2>",
        "<p>Facility: mean points / max points (%). Discrimination: correlation of the "
        "question's points with the rest of the test. Time: first delivery to first "
        "saved answer (seconds). Scored attempts only.</p>",
        _table(
            [
                "question",
                "kind",
                "text",
                "points",
                "delivered",
                "answered",
                "facility %",
                "discrimination",
                "median s",
                "mean s",
                "answers given",
            ],
            _item_rows(report.items),
            {3, 4, 5, 6, 7, 8, 9},
        ),
        "<h2>Sessions</h2>",
        _table(
            [
                "attempt",
                "candidate",
                "sessions",
                "disconnects",
                "takeovers",
                "longest gap",
                "events",
            ],
            _session_rows(report.sessions),
            {2, 3, 4, 5, 6},
        ),
    ]
    if report.timelines:
        parts.append("<h2>Timelines</h2>")
        for t in report.timelines:
            parts.append(
                f"<details><summary>{_e(t.attempt_id)}</summary>"
                f"<pre>{_e(chr(10).join(t.lines))}</pre></details>"
            )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
