"""``quizsession grade list|set`` and ``quizsession regrade``: grading by hand and
regrading, on the store (as the admin API does them). The grader recorded in
the attempt's log is ``admin:<--grader>``."""

from __future__ import annotations

from typing import Annotated

import typer

from quizsession.api.grading import QueueFilter
from quizsession.bootstrap import Container
from quizsession.entrypoints.cli.common import QuizArg, StoreOpt, cli_settings, fail, run_command

grade_app = typer.Typer(
    help="Grading by hand: the answers to grade of a quiz, and grades.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
GraderOpt = Annotated[
    str, typer.Option("--grader", help="Your name, recorded with the grade (admin:NAME).")
]
_FILTERS: tuple[QueueFilter, ...] = ("pending", "graded", "all")


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:g}"


def _indented(text: str) -> list[str]:
    return ["    " + line for line in (text.splitlines() or [""])]


@grade_app.command("list")
def grade_list(
    quiz_id: QuizArg,
    question: Annotated[str | None, typer.Option(help="Only this question's answers.")] = None,
    status: Annotated[str, typer.Option(help="pending (default), graded or all.")] = "pending",
    full: Annotated[
        bool, typer.Option("--full", help="Also print the question, grader info and answer.")
    ] = False,
    store_url: StoreOpt = None,
) -> None:
    """The answers to grade by hand of the quiz's submitted attempts, one line
    each: ATTEMPT QUESTION STATUS POINTS/MAX WORDS[/LIMIT] CANDIDATE."""
    if status not in _FILTERS:
        fail("--status is pending, graded or all", 2)
    chosen: QueueFilter = (
        "graded" if status == "graded" else "all" if status == "all" else "pending"
    )

    async def work(c: Container) -> None:
        cursor: str | None = None
        while True:
            page = await c.grading.queue(
                quiz_id, question_id=question, status=chosen, cursor=cursor, limit=100
            )
            for i in page.items:
                words = f"{i.word_count}" + (f"/{i.word_limit}" if i.word_limit else "")
                typer.echo(
                    f"{i.attempt_id} {i.question_id} {i.status} "
                    f"{_number(i.points)}/{_number(i.max_points)} {words} "
                    f"{i.candidate_name or i.candidate_id}"
                )
                if full:
                    lines = ["  question:", *_indented(i.question_text)]
                    if i.grader_info:
                        lines += ["  grader info:", *_indented(i.grader_info)]
                    lines += ["  answer:", *_indented(i.answer)]
                    if i.comment:
                        lines += ["  comment:", *_indented(i.comment)]
                    for line in lines:
                        typer.echo(line)
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    run_command(cli_settings(store_url=store_url), work)


@grade_app.command("set")
def grade_set(
    attempt_id: Annotated[str, typer.Argument(help="The attempt's id.")],
    question_id: Annotated[str, typer.Argument(help="The question's id.")],
    points: Annotated[float, typer.Argument(help="The points, from 0 to the question's.")],
    comment: Annotated[str, typer.Option(help="A comment for the candidate.")] = "",
    grader: GraderOpt = "cli",
    store_url: StoreOpt = None,
) -> None:
    """Grade one answer (replacing a grade given before); prints the attempt's
    score after it, and how many answers still wait for a grade."""

    async def work(c: Container) -> None:
        done = await c.grading.grade(attempt_id, question_id, points, comment, f"admin:{grader}")
        result = done.result
        pending = f" (pending: {result.pending_questions} to grade)" if result.pending else ""
        typer.echo(
            f"{done.attempt_id} {done.question_id} {_number(done.points)}: "
            f"score {_number(result.score)}/{_number(result.max_score)}{pending}"
        )

    run_command(cli_settings(store_url=store_url), work)


def regrade(
    quiz_id: QuizArg,
    from_version: Annotated[
        int | None,
        typer.Option("--from-version", min=1, help="Only attempts scored with this version."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the new scores; change nothing.")
    ] = False,
    grader: GraderOpt = "cli",
    store_url: StoreOpt = None,
) -> None:
    """Score the submitted attempts of older versions with the quiz's current
    version (after an answer key was fixed); grades given by hand are kept. One
    line per attempt: ATTEMPT vFROM OLD -> NEW [changed questions]."""

    async def work(c: Container) -> None:
        cursor: str | None = None
        changed = unchanged = 0
        to_version = 0
        while True:
            report = await c.grading.regrade(
                quiz_id,
                by=f"admin:{grader}",
                from_version=from_version,
                dry_run=dry_run,
                cursor=cursor,
            )
            to_version = report.to_version
            changed += report.changed
            unchanged += report.unchanged
            for a in report.attempts:
                which = f" [{', '.join(sorted(a.changes))}]" if a.changes else ""
                typer.echo(
                    f"{a.attempt_id} v{a.from_version} {_number(a.old_score)} -> "
                    f"{_number(a.new_score)}{which}"
                )
            if report.next_cursor is None:
                break
            cursor = report.next_cursor
        verb = "would change" if dry_run else "changed"
        typer.echo(f"to version {to_version}: {changed} {verb}, {unchanged} unchanged")

    run_command(cli_settings(store_url=store_url), work)
