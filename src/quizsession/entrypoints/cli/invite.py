"""``quizsession invite``: candidates in from a roster file or the options,
invite tokens (and links) out; each problem is shown at its roster line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer

from quizsession.app.catalog import RosterEntry, parse_roster_lines
from quizsession.bootstrap import Container
from quizsession.domain.errors import DomainError
from quizsession.entrypoints.cli.common import (
    QuizArg,
    StoreOpt,
    cli_settings,
    domain_failure,
    fail,
    problem_line,
    run_command,
)

ROSTER_HELP = (
    "Roster file, one candidate a line: NAME EMAIL VALID-UNTIL [TOKEN], read from "
    "the right, so the name may have several words: "
    "'Ada King Lovelace ada@example.org 2026-12-31'. VALID-UNTIL is YYYY-MM-DD "
    "(through the end of that day, UTC) or ISO-8601 with an offset; without a TOKEN "
    "(22-128 characters) one is generated. Blank lines and # comments are skipped."
)


def invite(
    quiz_id: QuizArg,
    roster: Annotated[Path | None, typer.Option(help=ROSTER_HELP)] = None,
    name: Annotated[str | None, typer.Option(help="One candidate's name.")] = None,
    email: Annotated[str | None, typer.Option(help="Their email.")] = None,
    valid_until: Annotated[
        str | None, typer.Option(help="YYYY-MM-DD or ISO-8601 with an offset.")
    ] = None,
    base_url: Annotated[
        str,
        typer.Option(help="The service's public URL: each line then ends with the invite link."),
    ] = "",
    store_url: StoreOpt = None,
) -> None:
    """Invite candidates to a quiz.

    Prints one line per candidate: NAME EMAIL VALID-UNTIL TOKEN (a roster line),
    followed by the invite link with --base-url. Tokens are shown only here: the
    store keeps their hashes."""
    if base_url and urlsplit(base_url).scheme not in ("http", "https"):
        fail(f"--base-url must start with http:// or https:// (not {base_url!r})", 2)
    entries: list[RosterEntry] = []
    sources: list[str] = []  # where each entry comes from, for its problems
    if roster is not None:
        try:
            text = roster.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            fail(f"cannot read {roster}: {reason or exc}", 2)
        try:
            entries.extend(parse_roster_lines(text, token_optional=True))
        except DomainError as exc:
            domain_failure(exc, lambda ps: [_roster_line(roster, p) for p in ps])
        sources += [
            f"{roster}:{number}"
            for number, line in enumerate(text.splitlines(), start=1)
            if line.strip() and not line.strip().startswith("#")
        ]
    if name or email or valid_until:
        if not (name and email and valid_until):
            fail("--name, --email and --valid-until go together", 2)
        entries.append(RosterEntry(name=name, email=email, valid_until=valid_until))
        sources.append("--name/--email/--valid-until")
    if not entries:
        fail("give --roster FILE or --name/--email/--valid-until", 2)

    def render(problems: list[Any]) -> list[str]:
        return [_entry_problem(sources, p) for p in problems]

    async def work(c: Container) -> None:
        issued = await c.catalog.invite(quiz_id, entries, base_url=base_url.rstrip("/"))
        for item in issued:
            until = dt.datetime.fromtimestamp(item.valid_until, dt.UTC).date().isoformat()
            link = f" {item.link}" if base_url else ""
            typer.echo(f"{item.name} {item.email} {until} {item.token}{link}")

    run_command(cli_settings(store_url=store_url), work, render=render)


def _roster_line(roster: Path, problem: Any) -> str:
    if isinstance(problem, dict) and "line" in problem:
        return f"{roster}:{problem['line']}: {problem.get('message', '')}"
    return problem_line(problem)


def _entry_problem(sources: list[str], problem: Any) -> str:
    """``/roster/3/email`` -> ``roster.txt:5: email: not an email address``."""
    if isinstance(problem, dict) and str(problem.get("path", "")).startswith("/roster/"):
        _, _, index, *field = str(problem["path"]).split("/")
        if index.isdigit() and int(index) < len(sources):
            return f"{sources[int(index)]}: {'/'.join(field)}: {problem.get('message', '')}"
    return problem_line(problem)
