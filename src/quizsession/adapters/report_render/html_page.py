"""Reports as one self-contained HTML page (UTF-8, ``lang="en"``): inline CSS,
three plots as inline PNG (``html_plots.py``) and the tables (``html_text.py``).
No script, nothing fetched from outside; every string from a candidate or a quiz
definition is HTML-escaped.

Made to meet WCAG 2.2 AA: one ``main`` landmark, headings in order (h1, h2), every
table with a caption and header scopes, every plot with a text alternative that
summarises it and its numbers in a table beside it, correct answers marked by a
symbol and words (not by colour alone) with a legend, colours of at least 4.5:1.

What the item analysis shows (also said on the page): the **facility index** is
Moodle's: the mean points as a share of the range from the lowest possible points
(minus the penalty) to the full points, so 0-100 % even with negative marks; beside
it the share of candidates whose answer was fully **right** and the plain **mean
points**.
"""

from __future__ import annotations

from collections.abc import Sequence

from quizsession.adapters.report_render.html_plots import (
    Plot,
    facility_plot,
    score_plot,
    time_plot,
)
from quizsession.adapters.report_render.html_text import (
    NONE,
    STATUSES,
    SUBMITTED_BY,
    duration,
    esc,
    fmt,
    kind_name,
    listing,
    plural,
    table,
    utc_time,
)
from quizsession.app.reports.model import (
    CandidateResult,
    ItemAnalysis,
    OptionCount,
    QuizReport,
    SessionAnalytics,
)

#: The mark of a correct answer in the item analysis (with words for screen readers).
CORRECT_MARK = "\u2713"

_CSS = """
body{font-family:system-ui,sans-serif;margin:0;color:#1a1a1a;background:#fff;line-height:1.4}
main{margin:2rem}
h1{font-size:1.5rem}h2{font-size:1.25rem;margin-top:2.5rem}
p.note{max-width:50rem}
.scroll{overflow-x:auto;max-width:100%}
.scroll:focus{outline:2px solid #1a4f8a}
table{border-collapse:collapse;font-size:.875rem;margin:.5rem 0 1rem}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{border:1px solid #8a8a8a;padding:.25rem .5rem;text-align:left;vertical-align:top}
thead th{background:#e8edf2}
tbody th{font-weight:600}
.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
figure{margin:1rem 0}
figure img{max-width:100%;height:auto}
figcaption{font-size:.875rem;max-width:50rem}
ul.answers{list-style:none;margin:0;padding:0;min-width:12rem}
.correct{font-weight:700;color:#1d5e2c}
.mark{display:inline-block;width:1.1em}
.status-voided{color:#5c5c5c}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
pre{font-size:.8rem;background:#f4f4f4;padding:.5rem;overflow-x:auto}
@media print{.scroll,pre{overflow:visible}main{margin:0}}
"""

FACILITY_NOTE = (
    "Facility index: the mean points as a share of the range from the lowest points "
    "a question can give (minus its penalty for a wrong answer) to its full points, "
    "as Moodle computes it. It runs from 0 % (everyone lost the full penalty) to "
    "100 % (everyone got full marks), negative marks or not: half the candidates "
    "right and half wrong gives 50 % whatever the penalty. Without negative marks "
    "it is the mean points as a percentage of the full points. Right: candidates "
    "whose final answer earned full marks, and their share of those shown the "
    "question. Mean points: the plain mean, which negative marks can take below 0. "
    "Discrimination: the correlation (from \u22121 to 1) of the question's points "
    "with the rest of the test. Times: from the question's first showing to its "
    "first saved answer. Only submitted attempts count; voided attempts and "
    "attempts in progress are left out."
)


def _figure(ident: str, plot: Plot, caption: str) -> str:
    return (
        f'<figure id="{ident}"><img src="data:image/png;base64,{plot.png}" '
        f'width="{plot.width}" height="{plot.height}" alt="{esc(plot.alt)}">'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def _band_table(ident: str, caption: str, head: str, plot: Plot) -> str:
    rows = [[esc(b.label), str(b.count)] for b in plot.bands]
    return table(ident, caption, [head, "Attempts"], rows, numeric=frozenset({1}))


def _candidate(name: str) -> str:
    return esc(name) if name.strip() else NONE


def _results_rows(results: Sequence[CandidateResult]) -> list[list[str]]:
    return [
        [
            esc(r.attempt_id),
            _candidate(r.candidate_name),
            esc(r.candidate_id),
            f'<span class="status-{esc(r.status)}">{esc(STATUSES.get(r.status, r.status))}</span>',
            esc(r.quiz_version),
            "pending" if r.pending else esc(fmt(r.score)),
            esc(fmt(r.max_score)),
            esc(fmt(r.percentage, 1)),
            esc(utc_time(r.started_at)),
            esc(utc_time(r.finished_at)),
            esc(duration(r.time_used_s)),
            esc(SUBMITTED_BY.get(r.submit_reason or "", r.submit_reason or NONE)),
            esc(fmt(r.score_before_regrade)),
        ]
        for r in results
    ]


def _answer(option: OptionCount) -> str:
    if option.correct:
        return (
            f'<li class="correct"><span class="mark" aria-hidden="true">{CORRECT_MARK}</span>'
            f'<span class="vh">correct answer: </span>{esc(option.label)}: {option.count}</li>'
        )
    return f'<li><span class="mark"></span>{esc(option.label)}: {option.count}</li>'


def _item_rows(items: Sequence[ItemAnalysis]) -> list[list[str]]:
    rows = []
    for item in items:
        answers = (
            '<ul class="answers">' + "".join(_answer(o) for o in item.options) + "</ul>"
            if item.options
            else NONE
        )
        rows.append(
            [
                esc(item.question_id),
                esc(kind_name(item.kind)),
                esc(item.text),
                esc(fmt(item.max_points)),
                esc(fmt(item.min_points)),
                str(item.delivered),
                str(item.answered),
                str(item.right),
                esc(fmt(item.right_percentage, 1)),
                esc(fmt(item.facility, 1)),
                esc(fmt(item.mean_points)),
                esc(fmt(item.discrimination, 2)),
                esc(duration(item.median_time_s)),
                esc(duration(item.mean_time_s)),
                answers,
            ]
        )
    return rows


def _session_rows(sessions: Sequence[SessionAnalytics], names: dict[str, str]) -> list[list[str]]:
    return [
        [
            esc(s.attempt_id),
            _candidate(s.candidate_name or names.get(s.attempt_id, "")),
            esc(s.candidate_id),
            str(s.sessions),
            str(s.disconnects),
            str(s.takeovers),
            esc(duration(s.longest_gap_s)),
            str(s.events),
        ]
        for s in sessions
    ]


def _summary_rows(report: QuizReport) -> list[list[str]]:
    s = report.summary
    return [
        ["Attempts", str(s.attempts)],
        ["Scored (submitted)", str(s.scored)],
        ["In progress", str(s.in_progress)],
        ["Voided (left out of the statistics)", str(s.voided)],
        ["Score pending (answers to grade; left out of the scores)", str(s.pending)],
        ["Mean score", esc(fmt(s.mean_score))],
        ["Median score", esc(fmt(s.median_score))],
        ["Mean percentage", esc(fmt(s.mean_percentage, 1))],
        ["Median percentage", esc(fmt(s.median_percentage, 1))],
        ["Mean time used", esc(duration(s.mean_time_used_s))],
        ["Median time used", esc(duration(s.median_time_used_s))],
    ]


def _attempts(attempts: int, versions: Sequence[int]) -> str:
    """``no attempts yet``, ``1 attempt, on version 1``, ``5 attempts, on versions
    1 and 2``."""
    if not attempts:
        return "no attempts yet"
    word = "version" if len(versions) == 1 else "versions"
    return f"{plural(attempts, 'attempt')}, on {word} {listing([str(v) for v in versions])}"


def report_html(report: QuizReport) -> str:
    """The whole report as one self-contained HTML page."""
    scored = [r for r in report.results if r.status == "submitted"]
    scores = score_plot([r.percentage for r in scored if r.percentage is not None])
    times = time_plot([r.time_used_s for r in scored if r.time_used_s is not None])
    facility = facility_plot(report.items)
    names = {r.attempt_id: r.candidate_name for r in report.results}
    s = report.summary
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Report: {esc(report.title)}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f"<h1>Report: {esc(report.title)}</h1>",
        f"<p>Quiz <code>{esc(report.quiz_id)}</code>: "
        f"{esc(_attempts(s.attempts, report.versions))}. Times are in UTC.</p>",
        "<h2>Summary</h2>",
        table(
            "summary",
            "Attempts and scores",
            ["Measure", "Value"],
            _summary_rows(report),
            numeric=frozenset({1}),
        ),
        "<h2>Score distribution</h2>",
        _figure(
            "score-plot",
            scores,
            "Submitted attempts per band of 10 percentage points "
            "of the maximum score (the numbers are in the table below).",
        ),
        _band_table("score-bands", "Submitted attempts per score band", "Score band", scores),
        "<h2>Time used</h2>",
        _figure(
            "time-plot",
            times,
            "Submitted attempts by the time used, from the start of "
            "the test to its submission (the numbers are in the table below).",
        ),
        _band_table("time-bands", "Submitted attempts per band of time used", "Time used", times),
        "<h2>Results</h2>",
        '<p class="note">One row per attempt, voided and running ones included. '
        "Percentage: the score as a share of the maximum; negative marks can take it "
        "below 0. A score is pending while answers graded by hand wait for a grader; "
        "Score before regrade: the score an attempt had before it was regraded.</p>",
        table(
            "results",
            f"Results: {plural(len(report.results), 'attempt')}",
            [
                "Attempt",
                "Candidate",
                "Candidate id",
                "Status",
                "Quiz version",
                "Score",
                "Max score",
                "Percentage",
                "Started (UTC)",
                "Finished (UTC)",
                "Time used",
                "Submitted by",
                "Score before regrade",
            ],
            _results_rows(report.results),
            numeric=frozenset({4, 5, 6, 7, 12}),
        ),
        "<h2>Item analysis</h2>",
        f'<p class="note">{esc(FACILITY_NOTE)}</p>',
        f'<p class="note" id="answers-legend"><span aria-hidden="true">{CORRECT_MARK}</span> '
        "and bold type mark a correct answer in the column \u201cAnswers given\u201d; "
        "the other answers given are wrong.</p>",
        _figure(
            "facility-plot",
            facility,
            "The facility index of each question, in the "
            "order of the table below (which gives every value and the full question "
            "ids).",
        ),
        table(
            "items",
            f"Item analysis: {plural(len(report.items), 'question')}, over "
            f"{plural(s.scored, 'submitted attempt')}",
            [
                "Question",
                "Kind",
                "Question text",
                "Full points",
                "Points when wrong",
                "Shown to",
                "Answered",
                "Right",
                "Right (%)",
                "Facility index (%)",
                "Mean points",
                "Discrimination",
                "Median time",
                "Mean time",
                "Answers given",
            ],
            _item_rows(report.items),
            numeric=frozenset(range(3, 14)),
        ),
        "<h2>Sessions</h2>",
        '<p class="note">Per attempt: logins (sessions), disconnects, takeovers by a '
        "second login and the longest time with no recorded activity while the test "
        "ran.</p>",
        table(
            "sessions",
            f"Sessions: {plural(len(report.sessions), 'attempt')}",
            [
                "Attempt",
                "Candidate",
                "Candidate id",
                "Sessions",
                "Disconnects",
                "Takeovers",
                "Longest gap",
                "Events",
            ],
            _session_rows(report.sessions, names),
            numeric=frozenset({3, 4, 5, 6, 7}),
        ),
    ]
    if report.timelines:
        parts.append("<h2>Timelines</h2>")
        for t in report.timelines:
            who = names.get(t.attempt_id, "")
            label = f"Attempt {t.attempt_id}" + (f": {who}" if who.strip() else "")
            parts.append(
                f"<details><summary>{esc(label)}</summary>"
                f"<pre>{esc(chr(10).join(t.lines))}</pre></details>"
            )
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"
