"""What every command of the command line shares: its options, and failures as
one line on stderr with an exit code (``fail``), including the store's and the
domain's refusals (``run_command``).

Exit codes: 1 when a command is refused or fails (an invalid definition,
something not found, the store not available or missing), 2 for bad usage or a
file that cannot be read or parsed, 3 when the server cannot start.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar
from urllib.parse import urlsplit

import typer

from quizsession.app.ports import StoreError, StoreMissing, UnreadableData
from quizsession.bootstrap import Container, build
from quizsession.domain.errors import DomainError
from quizsession.settings import Settings, load_settings

T = TypeVar("T")

StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store-url", help="Overrides QUIZSESSION_STORE_URL (default sqlite:///quizsession.db)."
    ),
]

QuizArg = Annotated[str, typer.Argument(help="The quiz's id.")]
FileArg = Annotated[Path, typer.Argument(help="A .yaml, .yml or .json file.")]


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def cli_settings(**overrides: Any) -> Settings:
    try:
        return load_settings(os.environ, **overrides)
    except ValueError as exc:
        fail(str(exc), 2)


def store_failure(exc: StoreError, settings: Settings) -> NoReturn:
    if isinstance(exc, StoreMissing):
        fail(f"{exc}: run `quizsession serve` first or pass --store-url", 1)
    if isinstance(exc, UnreadableData):
        fail(str(exc), 1)
    scheme = urlsplit(settings.store_url).scheme
    fail(f"the {scheme} store is not available: {exc}", 1)


def domain_failure(exc: DomainError, render: Callable[[list[Any]], list[str]] | None) -> NoReturn:
    """The refusal's line, then one line per problem (``render``: located in the
    input file; else ``path: message``)."""
    problems = list(exc.extra.get("problems", []))
    typer.echo(f"error [{exc.code}]: {exc.detail}", err=True)
    lines = render(problems) if render else [f"  {problem_line(p)}" for p in problems]
    for line in lines:
        typer.echo(line, err=True)
    raise typer.Exit(1)


def problem_line(problem: Any) -> str:
    if isinstance(problem, dict) and "message" in problem:
        where = problem.get("path") or (f"line {problem['line']}" if "line" in problem else "")
        return f"{where}: {problem['message']}" if where else str(problem["message"])
    return str(problem)


def run_command(
    settings: Settings,
    work: Callable[[Container], Awaitable[T]],
    *,
    create_store: bool = False,
    render: Callable[[list[Any]], list[str]] | None = None,
) -> T:
    """Start the container on the store (without the reaper), run ``work``, stop.
    Every failure is one line and an exit code."""
    # Library warnings (the store's refusal, say) are this command's error line.
    logging.getLogger("quizsession").addHandler(logging.NullHandler())
    try:
        container = build(settings, create_store=create_store)
    except ValueError as exc:
        fail(str(exc), 2)
    except OSError as exc:
        fail(f"cannot prepare the store: {exc}", 1)

    async def main() -> T:
        await container.start(reaper=False)
        try:
            return await work(container)
        finally:
            await container.stop()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        domain_failure(exc, render)
    except StoreError as exc:
        store_failure(exc, settings)
    except OSError as exc:
        fail(f"{exc.strerror or exc}", 1)
