"""The command line: ``quizsession serve|quiz|invite|log``."""

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

import typer
import yaml

from quizsession.app.catalog import RosterEntry, parse_roster_lines
from quizsession.app.timeline import timeline
from quizsession.bootstrap import Container, build
from quizsession.domain.errors import DomainError
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
) -> None:
    """Run the HTTP service."""
    import uvicorn

    from quizsession.entrypoints.http.app import create_app

    overrides: dict[str, Any] = {"host": host, "port": port, "store_url": store_url}
    settings = _settings(**overrides)
    generated_key = None
    if demo and not settings.api_keys:
        generated_key = secrets.token_urlsafe(24)
        settings = _settings(**overrides, api_keys=f"admin={generated_key}")
    container = build(settings)
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
    uvicorn.run(
        asgi,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        log_level=settings.log_level,
        access_log=settings.access_log,
        timeout_graceful_shutdown=10,
    )


@quiz_app.command("load")
def quiz_load(file: Path, store_url: StoreOpt = None) -> None:
    """Store a YAML or JSON quiz definition as the quiz's next version."""
    raw = read_definition(file)

    async def work(c: Container) -> None:
        quiz = await c.catalog.put_quiz(raw)
        typer.echo(f"{quiz.id} version {quiz.version}")

    _run(_settings(store_url=store_url), work)


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
        records = await c.store.read(attempt_id)
        if not records:
            raise DomainError(f"no attempt {attempt_id}", code="not_found")
        loaded = await c.executor.load(attempt_id, fresh=True)
        return timeline(records, loaded.quiz if loaded else None)

    for line in _run(_settings(store_url=store_url), work):
        typer.echo(line)


def main() -> None:
    app(prog_name="quizsession")


if __name__ == "__main__":
    main()
