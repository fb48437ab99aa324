"""``quizsession serve --demo``: the sample quizzes, new demo candidates on every
start, and the banner that shows how to reach them.

Every start stores two example quizzes (the same definition is the same version):
the demo quiz (``examples/demo.yaml``) and "A tour of every question kind"
(``examples/every_kind.yaml``). It invites new demo candidates: for the demo quiz
one for the browser (the invite link) and one for the curl tour of README.md (the
invite token), and one for the tour of every kind (its link). So the demos can
always be taken in the browser, even after the curl tour has submitted its
attempt, and every restart gives fresh ones; the tokens of earlier starts stay
valid.
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


def example_definition(name: str) -> object:
    """The example quiz ``examples/<name>.yaml`` of the package, as a mapping."""
    text = resources.files("quizsession").joinpath(f"examples/{name}.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def demo_definition() -> object:
    return example_definition("demo")


def http_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def load_demo(c: Container, base_url: str) -> list[tuple[str, str]]:
    """Store the example quizzes and invite new demo candidates; the banner's rows
    (label, value)."""
    quiz = await c.catalog.put_quiz(demo_definition())
    tour_quiz = await c.catalog.put_quiz(example_definition("every_kind"))
    now = dt.datetime.fromtimestamp(c.clock.now(), dt.UTC)
    until = (now + dt.timedelta(days=DEMO_INVITE_DAYS)).date().isoformat()
    tag = secrets.token_hex(3)  # new candidates on every start

    def candidate(use: str) -> RosterEntry:
        return RosterEntry(
            name=f"Demo Candidate {tag} ({use})",
            email=f"demo-{use}-{tag}@example.org",
            valid_until=until,
        )

    browser, tour = await c.catalog.invite(
        quiz.id, [candidate(use) for use in ("browser", "curl")], base_url=base_url
    )
    (every_kind,) = await c.catalog.invite(tour_quiz.id, [candidate("tour")], base_url=base_url)
    return [
        ("demo quiz", f"{quiz.id} (version {quiz.version})"),
        ("invite link", f"{browser.link}   (open it in a browser)"),
        ("invite token", f"{tour.token}   (another candidate, for the curl tour)"),
        ("tour quiz", f"{tour_quiz.id} (version {tour_quiz.version}): {tour_quiz.title}"),
        ("tour link", f"{every_kind.link}   (open it in a browser)"),
    ]


def banner(rows: list[tuple[str, str]], note: str = "") -> str:
    """One block: a blank line, the rows with aligned labels, the note, a blank line."""
    width = max(len(label) for label, _ in rows)
    lines = ["", *(f"  {label.ljust(width)}   {value}" for label, value in rows)]
    if note:
        lines += ["", f"  {note}"]
    return "\n".join([*lines, "", ""])
