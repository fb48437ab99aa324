"""The command line: ``quizsession serve|migrate|quiz|invite|log``."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import secrets
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

import typer
import yaml

from quizsession.app.catalog import RosterEntry, parse_roster_lines
from quizsession.app.ports import StoreError
from quizsession.app.quiz_import import DEFAULT_DURATION_S, MAX_INPUT_BYTES, Format, slugify
from quizsession.app.timeline import timeline
from quizsession.bootstrap import (
    Container,
    build,
    kept_secret,
    make_importer,
    make_store,
    sqlite_path,
)
from quizsession.domain.errors import DomainError, ErrorCode
from quizsession.domain.quiz_export import quiz_to_mapping
from quizsession.domain.quiz_validation import parse_quiz
from quizsession.entrypoints.serving import DRAIN_TIMEOUT_S, serve_forever
from quizsession.observability import configure_logging
from quizsession.settings import Settings, load_settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
quiz_app = typer.Typer(no_args_is_help=True, help="Quiz definitions.")
app.add_typer(quiz_app, name="quiz")

T = TypeVar("T")

StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store-url", help="Overrides QUIZSESSION_STORE_URL (default sqlite:///quizsession.db)."
    ),
]


def _settings(**overrides: Any) -> Settings:
    try:
        return load_settings(os.environ, **overrides)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def _run(settings: Settings, work: Callable[[Container], Awaitable[T]]) -> T:
    async def main() -> T:
        container = build(settings)
        await container.start(reaper=False)
        try:
            return await work(container)
        finally:
            await container.stop()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        typer.echo(f"error [{exc.code}]: {exc.detail}", err=True)
        for item in exc.extra.get("problems", []):
            typer.echo(f"  {item}", err=True)
        raise typer.Exit(1) from exc


def read_definition(path: Path) -> object:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        return json.loads(text)
    return yaml.safe_load(text)


def demo_admin_key(store_url: str) -> str:
    """The demo's admin key: kept next to the SQLite file (mode 0600) so that it
    survives restarts like the data does; for another store, one per process."""
    if not store_url.startswith("sqlite:///"):
        return secrets.token_urlsafe(24)
    return kept_secret(Path(sqlite_path(store_url) + ".admin-key"), 24)


def demo_definition() -> object:
    text = resources.files("quizsession").joinpath("examples/demo.yaml").read_text("utf-8")
    return yaml.safe_load(text)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8002).")] = None,
    store_url: StoreOpt = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo", help="Load a sample quiz and print an invite link and an admin key."
        ),
    ] = False,
    drain_timeout: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="On SIGTERM: at most this many seconds to let admitted requests finish.",
        ),
    ] = DRAIN_TIMEOUT_S,
) -> None:
    """Run the HTTP service. SIGTERM drains it (new work refused with 503
    ``draining``, live sockets told to reconnect, in-flight writes finished)
    and exits 0; a second signal exits at once."""
    from quizsession.entrypoints.http.app import create_app

    overrides: dict[str, Any] = {"host": host, "port": port, "store_url": store_url}
    settings = _settings(**overrides)
    configure_logging(settings.log_level)
    generated_key = None
    if demo and not settings.api_keys:
        generated_key = demo_admin_key(settings.store_url)
        settings = _settings(**overrides, api_keys=f"admin={generated_key}")
    try:
        container = build(settings)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    hooks = []
    if demo:

        async def load_demo(c: Container) -> None:
            quiz = await c.catalog.put_quiz(demo_definition())
            until = (dt.datetime.now(dt.UTC) + dt.timedelta(days=7)).date().isoformat()
            base = c.settings.base_url or f"http://{c.settings.host}:{c.settings.port}"
            [invite] = await c.catalog.invite(
                quiz.id,
                [RosterEntry(name="Demo Candidate", email="demo@example.org", valid_until=until)],
                base_url=base,
            )
            print(f"demo quiz:   {quiz.id} (version {quiz.version})", flush=True)
            print(f"invite link: {invite.link}", flush=True)
            print(f"invite token: {invite.token}", flush=True)
            if generated_key:
                print(f"admin key:   {generated_key}  (header X-API-Key)", flush=True)

        hooks.append(load_demo)
    asgi = create_app(container, on_ready=hooks)
    code = serve_forever(asgi, settings, container.hub, drain_timeout_s=drain_timeout)
    if code:
        raise typer.Exit(code)


@app.command()
def migrate(store_url: StoreOpt = None) -> None:
    """Apply the store's schema migrations (PostgreSQL: under an advisory lock,
    safe while instances run) and exit. Instances also migrate when they start;
    run this first to upgrade the schema once, before a rolling deploy."""
    settings = _settings(store_url=store_url)

    async def work() -> str:
        store = make_store(settings.store_url)
        await store.open()
        try:
            version = await store.schema_version()
            return "schema ready" if version is None else f"schema version {version}"
        finally:
            await store.close()

    try:
        outcome = asyncio.run(work())
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except StoreError as exc:
        typer.echo(f"error: the store is not available: {exc}", err=True)
        raise typer.Exit(1) from exc
    scheme = urlsplit(settings.store_url).scheme
    typer.echo(f"{scheme}: migrations applied, {outcome}")


@quiz_app.command("load")
def quiz_load(file: Path, store_url: StoreOpt = None) -> None:
    """Store a YAML or JSON quiz definition as the quiz's next version."""
    raw = read_definition(file)

    async def work(c: Container) -> None:
        quiz = await c.catalog.put_quiz(raw)
        typer.echo(f"{quiz.id} version {quiz.version}")

    _run(_settings(store_url=store_url), work)


@quiz_app.command("import")
def quiz_import(
    file: Path,
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

    Questions that cannot be mapped are skipped and listed; see docs/importing.md."""
    if fmt not in ("gift", "xml", "auto"):
        typer.echo(f"error: --format must be gift, xml or auto (not {fmt!r})", err=True)
        raise typer.Exit(2)
    try:
        with file.open("rb") as handle:
            data = handle.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        typer.echo(f"error: cannot read {file}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from exc
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
        typer.echo(f"error: {file}: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    for problem in result.problems:
        typer.echo(problem.describe(), err=True)
    count, skipped = len(result.questions), result.skipped
    if not count:
        typer.echo(f"error: {file}: no question could be imported ({skipped} skipped)", err=True)
        raise typer.Exit(1)
    try:
        parse_quiz(result.definition)
    except DomainError as exc:
        typer.echo(f"error [{exc.code}]: {exc.detail}", err=True)
        for item in exc.extra.get("problems", []):
            typer.echo(f"  {item}", err=True)
        raise typer.Exit(1) from exc
    summary = f"{count} questions, {skipped} skipped"
    if dry_run:
        typer.echo(yaml.safe_dump(result.definition, sort_keys=False, allow_unicode=True), nl=False)
        typer.echo(f"dry run: {qid} ({summary}); nothing stored", err=True)
        return

    async def work(c: Container) -> None:
        quiz = await c.catalog.put_quiz(result.definition)
        typer.echo(f"{quiz.id} version {quiz.version} ({summary})")

    _run(_settings(store_url=store_url), work)


@quiz_app.command("export")
def quiz_export(
    quiz_id: str,
    version: Annotated[int | None, typer.Option(help="Version (default: the latest).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="yaml or json.")] = "yaml",
    store_url: StoreOpt = None,
) -> None:
    """Print a quiz in quizsession's format (YAML or JSON), ready for ``quiz load``."""
    if fmt not in ("yaml", "json"):
        typer.echo(f"error: --format must be yaml or json (not {fmt!r})", err=True)
        raise typer.Exit(2)

    async def work(c: Container) -> dict[str, object]:
        return quiz_to_mapping(await c.catalog.get_quiz(quiz_id, version))

    mapping = _run(_settings(store_url=store_url), work)
    if fmt == "json":
        typer.echo(json.dumps(mapping, indent=2, ensure_ascii=False))
    else:
        typer.echo(yaml.safe_dump(mapping, sort_keys=False, allow_unicode=True), nl=False)


@app.command()
def invite(
    quiz_id: str,
    roster: Annotated[
        Path | None, typer.Option(help="Roster file: lines 'name email valid-until [token]'.")
    ] = None,
    name: Annotated[str | None, typer.Option()] = None,
    email: Annotated[str | None, typer.Option()] = None,
    valid_until: Annotated[
        str | None, typer.Option(help="YYYY-MM-DD or ISO-8601 with offset.")
    ] = None,
    base_url: Annotated[str, typer.Option(help="Prefix for the printed links.")] = "",
    store_url: StoreOpt = None,
) -> None:
    """Create invites; prints one roster line per candidate with its token."""
    entries: list[RosterEntry] = []
    if roster is not None:
        text = roster.read_text(encoding="utf-8")
        for raw in text.splitlines():
            parts = raw.split()
            if len(parts) == 3 and not raw.lstrip().startswith("#"):
                # A line without a token: one is generated.
                entries.append(RosterEntry(name=parts[0], email=parts[1], valid_until=parts[2]))
            elif raw.strip() and not raw.lstrip().startswith("#"):
                entries.extend(parse_roster_lines(raw))
    if name or email or valid_until:
        if not (name and email and valid_until):
            typer.echo("error: --name, --email and --valid-until go together", err=True)
            raise typer.Exit(2)
        entries.append(RosterEntry(name=name, email=email, valid_until=valid_until))
    if not entries:
        typer.echo("error: give --roster FILE or --name/--email/--valid-until", err=True)
        raise typer.Exit(2)

    async def work(c: Container) -> None:
        issued = await c.catalog.invite(quiz_id, entries, base_url=base_url)
        for item in issued:
            until = dt.datetime.fromtimestamp(item.valid_until, dt.UTC).date().isoformat()
            typer.echo(f"{item.name} {item.email} {until} {item.token}")

    _run(_settings(store_url=store_url), work)


@app.command("log")
def log_command(attempt_id: str, store_url: StoreOpt = None) -> None:
    """Print an attempt's timeline, one event a line."""

    async def work(c: Container) -> list[str]:
        records = await c.data.read(attempt_id)
        if not records:
            raise DomainError(f"no attempt {attempt_id}", code=ErrorCode.NOT_FOUND)
        loaded = await c.executor.load(attempt_id, fresh=True)
        return timeline(records, loaded.quiz if loaded else None)

    for line in _run(_settings(store_url=store_url), work):
        typer.echo(line)


@app.command("report")
def report_command(
    quiz_id: str,
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
    """A quiz's results, item analysis and session analytics, from the event log."""
    from quizsession.app.reports import quiz_report

    kind = format.lower()
    if kind not in ("csv", "json", "html"):
        typer.echo("error: --format must be csv, json or html", err=True)
        raise typer.Exit(2)

    async def work(c: Container) -> bytes:
        report = await quiz_report(c.data, quiz_id, timelines=timelines)
        if kind == "csv":
            return c.reports.results_csv(report).encode("utf-8")
        if kind == "json":
            return c.reports.report_json(report) + b"\n"
        return c.reports.report_html(report).encode("utf-8")

    data = _run(_settings(store_url=store_url), work)
    if output is None:
        typer.echo(data, nl=False)
    else:
        output.write_bytes(data)


def main() -> None:
    app(prog_name="quizsession")


if __name__ == "__main__":
    main()
