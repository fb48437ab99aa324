"""``serve --demo`` loads both example quizzes: the demo quiz and "A tour of every
question kind", one invite link for each (and the token of the curl tour), on a
real SQLite store; every start gives new invites, the same definitions the same
versions. (The whole ``serve --demo`` run: tests/e2e/test_readme_tour.py.)"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from quizsession.bootstrap import build
from quizsession.domain.kinds import QUESTION_KINDS
from quizsession.domain.quiz_validation import parse_quiz
from quizsession.entrypoints.cli.demo import example_definition, load_demo
from quizsession.settings import load_settings

BASE = "http://127.0.0.1:8002"


async def _start(url: str) -> dict[str, str]:
    container = build(load_settings({}, store_url=url), create_store=True)
    await container.start(reaper=False)
    try:
        return dict(await load_demo(container, BASE))
    finally:
        await container.stop()


def test_the_demo_loads_both_example_quizzes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in list(os.environ):
        if name.startswith("QUIZSESSION_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    first = asyncio.run(_start(url))
    assert list(first) == ["demo quiz", "invite link", "invite token", "tour quiz", "tour link"]
    assert first["demo quiz"] == "demo-general-knowledge (version 1)"
    assert first["tour quiz"] == "every-kind-tour (version 1): A tour of every question kind"
    for label in ("invite link", "tour link"):
        assert first[label].startswith(f"{BASE}/take#")
        assert first[label].endswith("   (open it in a browser)")
    assert first["invite link"] != first["tour link"]

    again = asyncio.run(_start(url))
    assert again["tour quiz"] == first["tour quiz"]  # the same definition, the same version
    assert again["tour link"] != first["tour link"]  # a new candidate


def test_the_tour_has_every_kind_free_navigation_practice_and_a_full_review() -> None:
    quiz = parse_quiz(example_definition("every_kind"))
    assert sorted(q.kind for q in quiz.test.questions) == sorted(QUESTION_KINDS)
    assert quiz.navigation == "free"
    assert quiz.practice is not None
    assert quiz.review.after_submit == (
        "score",
        "answers",
        "right_answers",
        "feedback",
        "general_feedback",
        "overall_feedback",
    )
    assert [band.from_percent for band in quiz.overall_feedback] == [0, 50, 85]
    assert all(q.feedback for q in quiz.test.questions if q.kind != "description")
    # Its picture is inline: the demo asks nothing of another site.
    assert all(
        i.url.startswith("data:image/png;base64,") for q in quiz.test.questions for i in q.images
    )
