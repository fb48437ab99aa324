"""The command line: ``quizsession serve|migrate|quiz|invite|log|report|accommodate|grade|regrade``.

Each command is a function registered on ``app``; ``serve`` and ``migrate`` live
in ``cli_serve``, ``invite`` in ``cli_invite``, what they share (options, one-line
failures and exit codes, running against the store) in ``cli_common``. Only
``serve``, ``migrate``, ``quiz load``, ``quiz import`` and a setting
``accommodate`` create a store that does not exist yet; the commands that only
read one say there is none.
"""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from quizsession.app.quiz_import import DEFAULT_DURATION_S, MAX_INPUT_BYTES, Format, slugify
from quizsession.app.timeline import timeline
from quizsession.bootstrap import Container, make_exporter, make_importer
from quizsession.domain.errors import DomainError, ErrorCode
from quizsession.domain.quiz import Quiz
from quizsession.domain.quiz_export import quiz_to_mapping
from quizsession.domain.quiz_validation import parse_quiz
from quizsession.entrypoints.cli.common import (
    FileArg,
    QuizArg,
    StoreOpt,
    cli_settings,
    domain_failure,
    fail,
    run_command,
)
from quizsession.entrypoints.cli.definition_files import (
    DefinitionFileError,
    describe_problems,
    read_definition,
)
from quizsession.entrypoints.cli.grading import grade_app, regrade
from quizsession.entrypoints.cli.invite import invite
from quizsession.entrypoints.cli.lti import lti_app
from quizsession.entrypoints.cli.serve import migrate, serve
from quizsession.entrypoints.cli.webhook import webhook_app

HELP = """Timed quiz and exam sessions: run the service, load quizzes, invite
candidates, read logs and reports.

A failure is one line on stderr and an exit code: 1 when a command is refused
or fails (an invalid definition, something not found, the store not available),
2 for bad usage or a file that cannot be read or parsed, 3 when the server
cannot start. Commands that only read a store refuse to create one."""

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help=HELP,
    rich_markup_mode=None,  # plain help: no markup to break, same in a pipe
    pretty_exceptions_enable=False,
)
quiz_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Quiz definitions.")
app.add_typer(quiz_app, name="quiz")
app.add_typer(lti_app, name="lti")
app.add_typer(webhook_app, name="webhook")
app.add_typer(grade_app, name="grade")
app.command()(serve)
app.command()(migrate)
app.command()(invite)
app.command()(regrade)


def _version(value: bool) -> None:
    if value:
        try:
            typer.echo(f"quizsession {version('quizsession')}")
        except PackageNotFoundError:  # run from a source tree that is not installed
            typer.echo("quizsession (version unknown: not installed)")
        raise typer.Exit()


@app.callback()
def root(
    show_version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_version, help="Print the version."),
    ] = False,
) -> None:
    """Timed quiz and exam sessions."""


@quiz_app.command("load")
def quiz_load(file: FileArg, store_url: StoreOpt = None) -> None:
    """Store a YAML or JSON quiz definition as the quiz's next version.

    Problems are listed as FILE:LINE:COLUMN: path: message, positions in paths
    counted from 1 (test.questions[2] is the second question). Creates the store
    if there is none."""
    try:
        source = read_definition(file)
    except DefinitionFileError as exc:
        fail(str(exc), 2)

    def render(problems: list[Any]) -> list[str]:
        return describe_problems(source, problems)

    try:  # checked before any store is opened: an invalid file changes nothing
        parse_quiz(source.raw)
    except DomainError as exc:
        domain_failure(exc, render)

    async def work(c: Container) -> None:
        quiz = await c.catalog.put_quiz(source.raw)
        typer.echo(f"{quiz.id} version {quiz.version}")

    run_command(cli_settings(store_url=store_url), work, create_store=True, render=render)


@quiz_app.command("import")
def quiz_import(
    file: Annotated[Path, typer.Argument(help="A .gift, .txt or .xml file.")],
    quiz_id: Annotated[
        str | None, typer.Option("--id", help="Quiz id (default: from the file name).")
    ] = None,
    title: Annotated[str | None, typer.Option(help="Title (default: the file name).")] = None,
    duration: Annotated[
        float, typer.Option("--duration", help="Test duration in seconds.")
    ] = DEFAULT_DURATION_S,
    fmt: Annotated[
        str, typer.Option("--format", help="gift, xml or auto (by extension, then content).")
    ] = "auto",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the converted quiz as YAML; store nothing.")
    ] = False,
    store_url: StoreOpt = None,
) -> None:
    """Import a Moodle GIFT or Moodle XML file as the quiz's next version.

    Questions that cannot be mapped are skipped and listed (see docs/importing.md).
    Problems of the converted definition are given by JSON pointer into what
    --dry-run prints. Creates the store if there is none."""
    if fmt not in ("gift", "xml", "auto"):
        fail(f"--format must be gift, xml or auto (not {fmt!r})", 2)
    try:
        with file.open("rb") as handle:
            data = handle.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}", 2)
    importer = make_importer()
    chosen: Format = "gift" if fmt == "gift" else "xml"
    if fmt == "auto":
        chosen = importer.detect_format(file.name, data)
    qid = quiz_id or slugify(file.stem) or "imported-quiz"
    try:
        result = importer.import_quiz(
            data, fmt=chosen, quiz_id=qid, title=title or file.stem, duration_s=duration
        )
    except DomainError as exc:
        fail(f"{file}: {exc.detail}", 1)
    for problem in result.problems:
        typer.echo(problem.describe(), err=True)
    count, skipped = len(result.questions), result.skipped
    if not count:
        fail(f"{file}: no question could be imported ({skipped} skipped)", 1)
    try:
        parse_quiz(result.definition)
    except DomainError as exc:
        domain_failure(exc, None)
    summary = f"{count} questions, {skipped} skipped"
    if dry_run:
        typer.echo(yaml.safe_dump(result.definition, sort_keys=False, allow_unicode=True), nl=False)
        typer.echo(f"dry run: {qid} ({summary}); nothing stored", err=True)
        return

    async def work(c: Container) -> None:
        quiz = await c.catalog.put_quiz(result.definition)
        typer.echo(f"{quiz.id} version {quiz.version} ({summary})")

    run_command(cli_settings(store_url=store_url), work, create_store=True)


@quiz_app.command("export")
def quiz_export(
    quiz_id: QuizArg,
    version: Annotated[int | None, typer.Option(help="Version (default: the latest).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="yaml, json, moodle-xml or gift.")] = "yaml",
    store_url: StoreOpt = None,
) -> None:
    """Print a quiz in quizsession's format (YAML or JSON), ready for quiz load, or
    for Moodle (moodle-xml, gift: what the format cannot hold is listed on stderr)."""
    if fmt not in ("yaml", "json", "moodle-xml", "gift"):
        fail(f"--format must be yaml, json, moodle-xml or gift (not {fmt!r})", 2)

    async def work(c: Container) -> Quiz:
        return await c.catalog.get_quiz(quiz_id, version)

    quiz = run_command(cli_settings(store_url=store_url), work)
    if fmt in ("moodle-xml", "gift"):
        exported = make_exporter().export_quiz(quiz, "gift" if fmt == "gift" else "moodle-xml")
        for note in exported.notes:
            typer.echo(note.describe(), err=True)
        typer.echo(exported.data.decode("utf-8"), nl=False)
        return
    mapping = quiz_to_mapping(quiz)
    if fmt == "json":
        typer.echo(json.dumps(mapping, indent=2, ensure_ascii=False))
    else:
        typer.echo(yaml.safe_dump(mapping, sort_keys=False, allow_unicode=True), nl=False)


@app.command("log")
def log_command(
    attempt_id: Annotated[str, typer.Argument(help="The attempt's id (a_...).")],
    store_url: StoreOpt = None,
) -> None:
    """Print an attempt's timeline, one event a line."""

    async def work(c: Container) -> list[str]:
        records = await c.data.read(attempt_id)
        if not records:
            raise DomainError(f"no attempt {attempt_id}", code=ErrorCode.NOT_FOUND)
        loaded = await c.executor.load(attempt_id, fresh=True)
        return timeline(records, loaded.quiz if loaded else None)

    for line in run_command(cli_settings(store_url=store_url), work):
        typer.echo(line)


@app.command("report")
def report_command(
    quiz_id: QuizArg,
    format: Annotated[
        str, typer.Option("--format", "-f", help="csv (results), json or html (full report).")
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    timelines: Annotated[
        bool, typer.Option(help="Include every attempt's timeline (json, html).")
    ] = False,
    store_url: StoreOpt = None,
) -> None:
    """Report on a quiz: results, item analysis, analytics.

    Computed from the event log: results per candidate (CSV or JSON), item
    analysis, session analytics and a self-contained HTML report."""
    from quizsession.app.reports.builder import quiz_report

    kind = format.lower()
    if kind not in ("csv", "json", "html"):
        fail("--format must be csv, json or html", 2)

    async def work(c: Container) -> bytes:
        report = await quiz_report(c.data, quiz_id, timelines=timelines)
        if kind == "csv":
            return c.reports.results_csv(report).encode("utf-8")
        if kind == "json":
            return c.reports.report_json(report) + b"\n"
        return c.reports.report_html(report).encode("utf-8")

    data = run_command(cli_settings(store_url=store_url), work)
    if output is None:
        typer.echo(data, nl=False)
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}", 1)


@app.command()
def accommodate(
    candidate_id: str,
    multiplier: Annotated[
        float | None, typer.Option(help="Time multiplier, 1.0 to 4.0 (e.g. 1.25, 1.5, 2).")
    ] = None,
    extra_minutes: Annotated[
        float | None, typer.Option(help="Fixed extra time in minutes, 0 to 1440.")
    ] = None,
    note: Annotated[
        str, typer.Option(help="Why, e.g. 'approved by the disability office' (500 characters).")
    ] = "",
    clear: Annotated[
        bool, typer.Option("--clear", help="Clear the accommodation (future attempts).")
    ] = False,
    store_url: StoreOpt = None,
) -> None:
    """Set a candidate's extra time for all their attempts (duration * multiplier +
    extra minutes; the quiz window's close still caps it). A running test gets
    the extra time at once; a lower one applies to future attempts only. Without
    an option: show it."""
    if clear and (multiplier is not None or extra_minutes is not None or note):
        fail("--clear takes no other option", 2)
    extra = None if extra_minutes is None else extra_minutes * 60.0
    by = "admin:cli"

    async def work(c: Container) -> str:
        if clear:
            await c.accommodations.delete(candidate_id)
            return f"{candidate_id}: accommodation cleared (future attempts)"
        if not setting:
            found = await c.accommodations.get(candidate_id)
        else:
            found = await c.accommodations.put(
                candidate_id, multiplier=multiplier, extra_seconds=extra, note=note, by=by
            )
        text = f"x{found.multiplier:g} + {found.extra_seconds / 60:g} min"
        return f"{candidate_id}: {text}" + (f" ({found.note})" if found.note else "")

    setting = not clear and (multiplier is not None or extra is not None or bool(note))
    typer.echo(run_command(cli_settings(store_url=store_url), work, create_store=setting))


def main() -> None:
    app(prog_name="quizsession")
