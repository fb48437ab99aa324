"""The quiz's overall feedback: a text for the candidate chosen by the grade they
got, between boundaries the author sets (Moodle's "Overall feedback").

The definition (``overall_feedback``) is a list of at most ``MAX_BANDS``
``{from_percent, text}`` entries, in any order: each ``from_percent`` between 0
and 100 and different from the others, each ``text`` non-empty plain text (line
breaks kept) of at most ``MAX_FEEDBACK`` characters. The reader sorts them by
``from_percent``.

The candidate's percentage (score / max score x 100) selects the band with the
largest ``from_percent`` at most that percentage; a percentage below every
boundary gets none, and so does a test worth no marks. A score below zero
(negative marks) counts as 0 %.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence

from quizsession.domain.kinds.base import MAX_FEEDBACK
from quizsession.domain.quiz import FeedbackBand
from quizsession.domain.quiz_fields import ABSENT, Fields, is_list, mapping, ptr

__all__ = [
    "MAX_BANDS",
    "MAX_FEEDBACK",
    "feedback_for_score",
    "parse_overall_feedback",
    "percentage",
]

MAX_BANDS = 20
_BAND_KEYS = ("from_percent", "text")
#: Percentages are compared at this many decimals, so that 0.57 x 100 is 57.
_PRECISION = 9


def parse_overall_feedback(f: Fields, key: str = "overall_feedback") -> tuple[FeedbackBand, ...]:
    """Read the overall feedback under ``key`` of the mapping ``f`` reads (null
    or absent: none); problems go to ``f``. The bands come sorted by
    ``from_percent``."""
    raw = f.get(key, nullable=True)
    if raw is ABSENT:
        return ()
    if not is_list(raw):
        f.add(key, "must be a list of {from_percent, text} mappings")
        return ()
    if len(raw) > MAX_BANDS:
        f.add(key, f"must have at most {MAX_BANDS} grade bands")
        return ()
    base = ptr(f.path, key)
    bands: list[FeedbackBand] = []
    seen: dict[float, str] = {}
    for i, item in enumerate(raw):
        data = mapping(f.problems, item, ptr(base, i))
        if data is None:
            continue
        start = len(f.problems)
        g = Fields(f.problems, data, ptr(base, i), _BAND_KEYS)
        low = g.number("from_percent", low=0, high=100)
        text = g.text("text", MAX_FEEDBACK, required=True)
        if low is not None:
            if low in seen:
                g.add("from_percent", f"duplicate boundary {low:g} % (first at {seen[low]})")
            else:
                seen[low] = ptr(g.path, "from_percent")
        if len(f.problems) == start and low is not None and text is not None:
            bands.append(FeedbackBand(from_percent=low, text=text))
    return tuple(sorted(bands, key=lambda band: band.from_percent))


def percentage(score: float, max_score: float) -> float | None:
    """``score`` as a percentage of ``max_score`` (at least 0), or None when the
    test is worth no marks."""
    if max_score <= 0:
        return None
    return max(0.0, round(score * 100 / max_score, _PRECISION))


def feedback_for_score(bands: Sequence[FeedbackBand], score: float, max_score: float) -> str | None:
    """The overall feedback for ``score`` out of ``max_score``: the text of the
    band with the largest ``from_percent`` at most the percentage (``bands`` in
    any order), or None (the percentage is below every boundary, or the test
    is worth no marks)."""
    percent = percentage(score, max_score)
    if percent is None:
        return None
    reached = [band for band in bands if band.from_percent <= percent]
    if not reached:
        return None
    return max(reached, key=lambda band: band.from_percent).text
