"""The HTML report's plots: score distribution, time used and facility per question.

Each plot is a ``Plot``: an inline base64 PNG drawn by matplotlib's Agg canvas (no
pyplot, no GUI, no global state; matplotlib is imported only when a page is drawn),
its text alternative (a summary of what it shows) and the numbers it shows, so the
page can give them as a table too. The bands are counted here, not by matplotlib,
so the picture and its table always agree.

No label is ever cut: the layout is constrained and the PNG is saved with a tight
bounding box; question ids (up to 64 characters) are the facility chart's row
labels, shortened in the middle past ``LABEL_CHARS`` (the full id is in the item
analysis table).
"""

from __future__ import annotations

import base64
import io
import itertools
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from quizsession.adapters.report_render.html_text import fmt, plural
from quizsession.app.reports.model import ItemAnalysis

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Bar colours: at least 3:1 against the white background (WCAG 1.4.11).
BAR = "#2f5d8a"
FACILITY_BAR = "#2e6b3e"
LABEL_CHARS = 32
DPI = 96
#: Widths of the time bands tried, in seconds (the first that gives at most 12).
TIME_STEPS = (10, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 14400)


@dataclass(frozen=True)
class Band:
    label: str
    count: int


@dataclass(frozen=True)
class Plot:
    png: str  # base64
    width: int  # pixels
    height: int
    alt: str
    bands: list[Band]


def _png(fig: Figure) -> tuple[str, int, int]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(
        buf, format="png", dpi=DPI, bbox_inches="tight", pad_inches=0.1, metadata={"Software": None}
    )
    data = buf.getvalue()
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    return base64.b64encode(data).decode("ascii"), width, height


def short_label(text: str, limit: int = LABEL_CHARS) -> str:
    """``text``, shortened in the middle with an ellipsis past ``limit`` characters
    (ids that share a long prefix stay apart by their ends)."""
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return text[:head] + "\u2026" + text[-(limit - 1 - head) :]


def _count(values: Sequence[float], edges: Sequence[float]) -> list[int]:
    """How many values fall in each band ``[edges[i], edges[i+1])``; the last band
    includes its upper edge."""
    counts = [0] * (len(edges) - 1)
    for value in values:
        for i in range(len(counts)):
            last = i == len(counts) - 1
            if edges[i] <= value < edges[i + 1] or (last and value == edges[i + 1]):
                counts[i] += 1
                break
    return counts


def bars_figure(
    edges: Sequence[float], counts: Sequence[int], title: str, xlabel: str, empty: str
) -> Figure:
    """A histogram of ``counts`` over the bands between ``edges``."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(6.4, 3.4), layout="constrained")
    ax = fig.add_subplot()
    widths = [b - a for a, b in itertools.pairwise(edges)]
    ax.bar(edges[:-1], counts, width=widths, align="edge", color=BAR, edgecolor="white")
    if not any(counts):
        ax.text(0.5, 0.5, empty, ha="center", va="center", transform=ax.transAxes)
    ax.set_xlim(edges[0], edges[-1])
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("attempts")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max(1, *counts))
    return fig


def _band_summary(bands: Sequence[Band]) -> str:
    found = [f"{b.label}: {plural(b.count, 'attempt')}" for b in bands if b.count]
    return "; ".join(found)


def score_plot(percentages: Sequence[float]) -> Plot:
    """Scored attempts per band of 10 percentage points, from 0 (or below, when
    negative marks took a score under 0) to 100."""
    low = min(0.0, 10.0 * math.floor(min(percentages, default=0.0) / 10.0))
    edges = [low + 10.0 * i for i in range(int((100.0 - low) / 10.0) + 1)]
    counts = _count(percentages, edges)
    bands = [
        Band(f"{fmt(a, 0)} to {fmt(b, 0)} %", n)
        for (a, b), n in zip(itertools.pairwise(edges), counts, strict=True)
    ]
    png, width, height = _png(
        bars_figure(
            edges, counts, "Score distribution", "score (% of the maximum)", "no scored attempts"
        )
    )
    if percentages:
        alt = (
            f"Histogram of the scores of {plural(len(percentages), 'scored attempt')} in "
            f"bands of 10 percentage points: {_band_summary(bands)}."
        )
    else:
        alt = "Histogram of the scores: empty, no attempt has been scored yet."
    return Plot(png, width, height, alt, bands)


def _time_step(top_s: float) -> int:
    for step in TIME_STEPS:
        if top_s < 12 * step:
            return step
    return 3600 * math.ceil(top_s / 12 / 3600)


def span(seconds: int) -> str:
    """``15 s``, ``2 min``, ``1 min 30 s``, ``1 h``, ``1 h 30 min`` (a band edge)."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    parts.append(f"{secs} s" if secs or not (hours or minutes) else "")
    return " ".join(p for p in parts if p)


def _step_words(step: int) -> str:
    if step < 60:
        return plural(step, "second")
    if step < 3600:
        return plural(step // 60, "minute")
    return plural(step // 3600, "hour")


def time_plot(seconds: Sequence[float]) -> Plot:
    """Scored attempts per band of time used: 10 s, 15 s, 30 s, 1 min, 2 min, 5 min,
    ... wide, the narrowest that needs at most 12 bands."""
    top = max(seconds, default=0.0)
    step = _time_step(top)
    n = math.floor(top / step) + 1 if seconds else 6
    edges = [step * i for i in range(n + 1)]
    counts = _count(seconds, edges)
    bands = [
        Band(f"{span(a)} to {span(b)}", c)
        for (a, b), c in zip(itertools.pairwise(edges), counts, strict=True)
    ]
    png, width, height = _png(
        bars_figure(
            [e / 60 for e in edges],
            counts,
            "Time used",
            "minutes from the test's start",
            "no scored attempts",
        )
    )
    if seconds:
        alt = (
            f"Histogram of the time used by {plural(len(seconds), 'scored attempt')} in "
            f"bands of {_step_words(step)}: {_band_summary(bands)}."
        )
    else:
        alt = "Histogram of the time used: empty, no attempt has been scored yet."
    return Plot(png, width, height, alt, bands)


def facility_figure(items: Sequence[ItemAnalysis]) -> Figure:
    """One horizontal bar per question (in the report's order, top to bottom): its
    facility index, 0 to 100 %; questions no scored attempt was shown get no bar."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, max(2.4, 0.3 * len(items) + 1.4)), layout="constrained")
    ax = fig.add_subplot()
    ys = list(range(len(items)))
    values = [i.facility if i.facility is not None else 0.0 for i in items]
    if items:
        ax.barh(ys, values, color=FACILITY_BAR, height=0.7)
        ax.set_yticks(ys, [short_label(i.question_id) for i in items], fontsize=8)
        ax.invert_yaxis()  # the first question at the top, as in the table
        for y, item in zip(ys, items, strict=True):
            if item.facility is None:
                ax.text(1, y, "no data", va="center", fontsize=8)
    else:
        ax.set_yticks([])
        ax.text(0.5, 0.5, "no questions", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlim(0.0, 100.0)
    ax.set_title("Facility index per question")
    ax.set_xlabel("facility index (%)")
    return fig


def facility_plot(items: Sequence[ItemAnalysis]) -> Plot:
    """``facility_figure`` with its text alternative."""
    png, width, height = _png(facility_figure(items))
    known = [i for i in items if i.facility is not None]
    if known:
        low = min(known, key=lambda i: i.facility or 0.0)
        high = max(known, key=lambda i: i.facility or 0.0)
        alt = (
            f"Bar chart of the facility index of {plural(len(items), 'question')}, "
            f"0 to 100 %: lowest {low.question_id} at {fmt(low.facility, 1)} %, highest "
            f"{high.question_id} at {fmt(high.facility, 1)} %. Every value is in the "
            "item analysis table."
        )
    else:
        alt = (
            f"Bar chart of the facility index of {plural(len(items), 'question')}: "
            "empty, no scored attempt was shown a question yet."
        )
    return Plot(png, width, height, alt, [])
