"""The HTML report's plots: bands that cover every score (negative ones too), few
whole-minute time bands, and labels that are never cut, however long the ids."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quizsession.adapters.report_render.html_plots import (
    LABEL_CHARS,
    bars_figure,
    facility_figure,
    facility_plot,
    score_plot,
    short_label,
    span,
    time_plot,
)
from quizsession.app.reports.model import ItemAnalysis

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def test_the_score_plot_covers_scores_below_zero() -> None:
    plot = score_plot([-25.0, -3.0, 50.0, 100.0])
    assert plot.bands[0].label == "-30 to -20 %"
    assert plot.bands[-1].label == "90 to 100 %"
    assert sum(b.count for b in plot.bands) == 4  # none left off the picture
    assert [b.count for b in plot.bands[:3]] == [1, 0, 1]
    assert "-30 to -20 %: 1 attempt" in plot.alt


def test_time_bands_stay_few_and_readable() -> None:
    plot = time_plot([30.0, 44 * 60.0, 130 * 60.0])
    assert [b.label for b in plot.bands[:2]] == ["0 s to 15 min", "15 min to 30 min"]
    assert len(plot.bands) <= 12
    assert sum(b.count for b in plot.bands) == 3
    assert "in bands of 15 minutes: 0 s to 15 min: 1 attempt;" in plot.alt
    quick = time_plot([5.0, 12.0, 100.0])  # a short quiz: seconds, not one band
    assert [b.label for b in quick.bands] == [
        "0 s to 10 s",
        "10 s to 20 s",
        "20 s to 30 s",
        "30 s to 40 s",
        "40 s to 50 s",
        "50 s to 1 min",
        "1 min to 1 min 10 s",
        "1 min 10 s to 1 min 20 s",
        "1 min 20 s to 1 min 30 s",
        "1 min 30 s to 1 min 40 s",
        "1 min 40 s to 1 min 50 s",
    ]
    assert [b.count for b in quick.bands] == [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    long = time_plot([3 * 3600.0])
    assert long.bands[2].label == "40 min to 1 h"
    assert "bands of 20 minutes" in long.alt
    assert (span(0), span(90), span(3600), span(5400)) == ("0 s", "1 min 30 s", "1 h", "1 h 30 min")


def _inside(fig: Figure) -> None:
    """Everything each axes draws (tick labels, axis labels, title) lies inside the
    figure, with its constrained layout alone (before the PNG's tight crop)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    fig.draw_without_rendering()  # runs the constrained layout
    box = fig.bbox
    for ax in fig.axes:
        drawn = ax.get_tightbbox()
        assert drawn is not None
        assert drawn.x0 >= box.x0 - 0.5, (drawn, box)
        assert drawn.x1 <= box.x1 + 0.5, (drawn, box)
        assert drawn.y0 >= box.y0 - 0.5, (drawn, box)
        assert drawn.y1 <= box.y1 + 0.5, (drawn, box)


def test_plot_labels_are_never_cut() -> None:
    """Long question ids (64 characters, the most an id may have) on 40 rows: every
    label, tick and title lies inside the figure, before any tight crop."""
    items = [
        ItemAnalysis(
            question_id=f"chapter-{n:02d}-" + "a-very-long-question-identifier-" + "x" * 21,
            kind="single",
            text="t",
            max_points=1.0,
            delivered=3,
            answered=3,
            mean_points=0.5,
            facility=50.0 + n,
            discrimination=None,
            options=[],
            time_samples=0,
            median_time_s=None,
            mean_time_s=None,
        )
        for n in range(40)
    ]
    assert len(items[0].question_id) == 64
    fig = facility_figure(items)
    [ax] = fig.axes
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(set(labels)) == 40  # shortened in the middle: still distinct
    assert all(len(label) <= LABEL_CHARS for label in labels)
    _inside(fig)
    plot = facility_plot(items)
    assert plot.height > 40 * 0.3 * 96 * 0.9  # grows with the questions
    edges = [-50.0 + 10 * i for i in range(16)]
    fig = bars_figure(edges, [1] * 15, "Score distribution", "score (% of the maximum)", "none")
    _inside(fig)


def test_short_label() -> None:
    assert short_label("q1") == "q1"
    assert short_label("x" * 32) == "x" * 32
    long = "a" * 20 + "-middle-" + "z" * 20
    cut = short_label(long)
    assert len(cut) == LABEL_CHARS
    assert cut == "a" * 15 + "\u2026" + "z" * 16
