"""``quizsession grade list|set`` and ``quizsession regrade`` on a real SQLite
store: the queue, a grade, a refusal as one line with its code, and a regrade
(dry run, then real)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from quizsession.app.attempts import Loaded
from quizsession.bootstrap import build
from quizsession.domain.commands import (
    AttemptCommand,
    CreateAttempt,
    DeliverNext,
    OpenSession,
    SaveAnswer,
    SessionRef,
    StartSection,
    Submit,
)
from quizsession.entrypoints.cli import app
from quizsession.settings import load_settings


def definition(right: str) -> dict[str, Any]:
    return {
        "id": "essays",
        "title": "Essays",
        "duration_s": 600,
        "test": {
            "questions": [
                {
                    "id": "e1",
                    "kind": "essay",
                    "text": "Explain why.",
                    "points": 5,
                    "word_limit": 100,
                    "grader_info": "Look for the cause.",
                },
                {
                    "id": "s1",
                    "kind": "single",
                    "text": "Pick one.",
                    "choices": [
                        {"id": "a", "text": "A", "correct": right == "a"},
                        {"id": "b", "text": "B", "correct": right == "b"},
                    ],
                },
            ]
        },
    }


def _constant(command: AttemptCommand) -> Callable[[Loaded], AttemptCommand]:
    return lambda _loaded: command


async def _prepare(url: str) -> None:
    """The quiz (version 1: key b) and one submitted attempt answering e1 and a."""
    container = build(load_settings({}, store_url=url), create_store=True)
    await container.start(reaper=False)
    try:
        quiz = await container.catalog.put_quiz(definition("b"))
        ex = container.executor
        await ex.execute(
            "a1",
            lambda _l: OpenSession(session_id="s1"),
            create=lambda: (
                quiz,
                CreateAttempt(
                    attempt_id="a1",
                    quiz_id=quiz.id,
                    quiz_version=quiz.version,
                    candidate_id="c1",
                    candidate_name="Ann Example",
                ),
            ),
        )
        ref = SessionRef(session_id="s1", epoch=1)
        await ex.execute("a1", lambda _l: StartSection(session=ref, section="test", seed=1))
        for n, answer in enumerate(["Because\nof the cause.", "a"]):
            outcome = await ex.execute("a1", lambda _l: DeliverNext(session=ref))
            current = outcome.state.test.current_question() if outcome.state.test else None
            assert current is not None
            save = SaveAnswer(session=ref, question_id=current, answer=answer, op_id=f"op-{n}")
            await ex.execute("a1", _constant(save))
        await ex.execute("a1", lambda _l: Submit(reason="admin", by="admin:test"))
        await container.catalog.put_quiz(definition("a"))  # version 2: the key fixed
    finally:
        await container.stop()


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    for name in list(os.environ):
        if name.startswith("QUIZSESSION_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'q.db'}"
    asyncio.run(_prepare(url))
    return url


def test_grade_list_set_and_regrade(store: str) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["grade", "list", "essays", "--full", "--store-url", store])
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.splitlines() == [
        "a1 e1 pending -/5 4/100 Ann Example",
        "  question:",
        "    Explain why.",
        "  grader info:",
        "    Look for the cause.",
        "  answer:",
        "    Because",
        "    of the cause.",
    ]

    refused = runner.invoke(app, ["grade", "set", "a1", "e1", "7", "--store-url", store])
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error [grade_out_of_range]: ")

    graded = runner.invoke(
        app,
        [
            "grade",
            "set",
            "a1",
            "e1",
            "4",
            "--comment",
            "Good.",
            "--grader",
            "ada",
            *["--store-url", store],
        ],
    )
    assert graded.exit_code == 0, graded.output
    assert graded.stdout.strip() == "a1 e1 4: score 4/6"
    done = runner.invoke(
        app, ["grade", "list", "essays", "--status", "graded", "--store-url", store]
    )
    assert done.stdout.splitlines() == ["a1 e1 graded 4/5 4/100 Ann Example"]
    assert runner.invoke(app, ["grade", "list", "essays", "--store-url", store]).stdout == ""

    dry = runner.invoke(app, ["regrade", "essays", "--dry-run", "--store-url", store])
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.splitlines() == [
        "a1 v1 4 -> 5 [s1]",
        "to version 2: 1 would change, 0 unchanged",
    ]
    real = runner.invoke(app, ["regrade", "essays", "--store-url", store])
    assert real.stdout.splitlines()[-1] == "to version 2: 1 changed, 0 unchanged"
    again = runner.invoke(app, ["regrade", "essays", "--store-url", store])
    assert again.stdout.splitlines() == ["to version 2: 0 changed, 0 unchanged"]


def test_bad_usage(store: str) -> None:
    runner = CliRunner()
    bad = runner.invoke(app, ["grade", "list", "essays", "--status", "done", "--store-url", store])
    assert bad.exit_code == 2
    missing = runner.invoke(app, ["grade", "list", "nope", "--store-url", store])
    assert missing.exit_code == 1
    assert missing.stderr.startswith("error [not_found]: ")
