"""Words, numbers and tables of the HTML report: escaping, number and duration
formats, plurals, the names of kinds and statuses, and accessible tables (a
caption, a header scope on every header cell, no blank header, a keyboard-
scrollable region around wide tables)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape

NONE = "\u2013"  # an en dash for a missing value

KINDS = {
    "single": "single choice",
    "multiple": "multiple choice",
    "true_false": "true/false",
    "short_text": "short text",
    "numeric": "numeric",
}
STATUSES = {"open": "in progress", "submitted": "submitted", "voided": "voided"}
SUBMITTED_BY = {
    "candidate": "the candidate",
    "deadline": "the deadline",
    "admin": "an administrator",
}


def esc(value: object) -> str:
    return escape(str(value), quote=True)


def fmt(value: float | None, digits: int = 2) -> str:
    """``value`` with at most ``digits`` decimals (no trailing zeros)."""
    if value is None:
        return NONE
    if digits == 0:
        return f"{value:.0f}"
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 attempt``, ``2 attempts`` (``words`` for an irregular plural)."""
    return f"{count} {word if count == 1 else (words or word + 's')}"


def listing(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def duration(seconds: float | None) -> str:
    """``45 s``, ``2 min 05 s``, ``1 h 15 min 00 s``."""
    if seconds is None:
        return NONE
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min {secs:02d} s"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def utc_time(at: float | None) -> str:
    if at is None:
        return NONE
    return dt.datetime.fromtimestamp(at, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def kind_name(kind: str) -> str:
    return KINDS.get(kind, kind.replace("_", " "))


def table(
    ident: str,
    caption: str,
    head: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    numeric: frozenset[int] = frozenset(),
    row_headers: bool = True,
) -> str:
    """A table with ``caption`` (plain text) and the column headers ``head`` (plain
    text, none blank). ``rows`` hold HTML that is already escaped; with
    ``row_headers`` each row's first cell is its header. Wrapped in a region that
    scrolls sideways and takes the keyboard focus, named by the caption."""
    assert all(h.strip() for h in head), "a table header is blank"
    out = [
        f'<div class="scroll" role="region" tabindex="0" aria-labelledby="{ident}-caption">',
        f'<table id="{ident}"><caption id="{ident}-caption">{esc(caption)}</caption>',
        "<thead><tr>",
        *(f'<th scope="col">{esc(h)}</th>' for h in head),
        "</tr></thead><tbody>",
    ]
    for row in rows:
        out.append("<tr>")
        for i, cell in enumerate(row):
            css = ' class="n"' if i in numeric else ""
            if i == 0 and row_headers:
                out.append(f'<th scope="row"{css}>{cell}</th>')
            else:
                out.append(f"<td{css}>{cell}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)
