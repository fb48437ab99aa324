"""``quizsession serve --demo``: the sample quiz, new demo candidates on every
start, and the banner that shows how to reach them.

Every start stores the sample quiz (the same definition is the same version) and
invites two new demo candidates: one for the browser (the invite link) and one for
the curl tour of README.md (the invite token). So the demo can always be taken in
the browser, even after the tour has submitted its attempt, and every restart
gives fresh ones; the tokens of earlier starts stay valid.
"""

from __future__ import annotations

import datetime as dt
import secrets
from importlib import resources
from pathlib import Path

import yaml

from quizsession.app.catalog import RosterEntry
from quizsession.bootstrap import Container, kept_secret, sqlite_path

#: How long the demo invites stay valid.
DEMO_INVITE_DAYS = 7


def demo_admin_key(store_url: str) -> str:
    """The demo's admin key: kept next to the SQLite file (mode 0600) so that it
    survives restarts like the data does; for another store, one per process."""
    if not store_url.startswith("sqlite:///"):
        return secrets.token_urlsafe(24)
    return kept_secret(Path(sqlite_path(store_url) + ".admin-key"), 24)


def demo_definition() -> object:
    text = resources.files("quizsession").joinpath("examples/demo.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def http_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def load_demo(c: Container, base_url: str) -> list[tuple[str, str]]:
    """Store the sample quiz and invite two new demo candidates; the banner's
    rows (label, value)."""
    quiz = await c.catalog.put_quiz(demo_definition())
    now = dt.datetime.fromtimestamp(c.clock.now(), dt.UTC)
    until = (now + dt.timedelta(days=DEMO_INVITE_DAYS)).date().isoformat()
    tag = secrets.token_hex(3)  # new candidates on every start
    browser, tour = await c.catalog.invite(
        quiz.id,
        [
            RosterEntry(
                name=f"Demo Candidate {tag} ({use})",
                email=f"demo-{use}-{tag}@example.org",
                valid_until=until,
            )
            for use in ("browser", "curl")
        ],
        base_url=base_url,
    )
    return [
        ("demo quiz", f"{quiz.id} (version {quiz.version})"),
        ("invite link", f"{browser.link}   (open it in a browser)"),
        ("invite token", f"{tour.token}   (another candidate, for the curl tour)"),
    ]


def banner(rows: list[tuple[str, str]], note: str = "") -> str:
    """One block: a blank line, the rows with aligned labels, the note, a blank line."""
    width = max(len(label) for label, _ in rows)
    lines = ["", *(f"  {label.ljust(width)}   {value}" for label, value in rows)]
    if note:
        lines += ["", f"  {note}"]
    return "\n".join([*lines, "", ""])
