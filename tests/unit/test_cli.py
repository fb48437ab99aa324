"""The command line speaks clearly: help and version, one line and an exit code
for every failure, definition problems at their line and column, roster files
with names of several words, and no store created by a command that only reads."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from quizsession.app.catalog import parse_roster_lines
from quizsession.domain.errors import DomainError, InvalidDefinition
from quizsession.domain.quiz_validation import parse_quiz
from quizsession.entrypoints.cli import app

DEMO = Path(__file__).resolve().parents[2] / "src/quizsession/examples/demo.yaml"
COMMANDS = ("serve", "migrate", "invite", "log", "report", "quiz")


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    """A runner in an empty working directory, without QUIZSESSION_* settings."""
    for name in list(os.environ):
        if name.startswith("QUIZSESSION_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def store(tmp_path: Path, runner: CliRunner) -> str:
    """A store holding the demo quiz."""
    url = f"sqlite:///{tmp_path / 'q.db'}"
    loaded = runner.invoke(app, ["quiz", "load", str(DEMO), "--store-url", url])
    assert loaded.exit_code == 0, loaded.output
    return url


# -- help and version -----------------------------------------------------------------


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("quizsession ")


def test_help_lists_every_command_on_one_line_without_markup(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    listing = result.stdout.split("Commands:")[1].splitlines()
    described = {line.split()[0]: line for line in listing if line.startswith("  ")}
    assert set(COMMANDS) <= set(described)
    for name in COMMANDS:
        words = described[name].split()
        assert len(words) > 2, described[name]  # a description on the command's line
    helps = [result.stdout]
    for args in ([c] for c in COMMANDS):
        helps.append(runner.invoke(app, [*args, "--help"]).stdout)
    for args in (["quiz", "load"], ["quiz", "import"], ["quiz", "export"]):
        helps.append(runner.invoke(app, [*args, "--help"]).stdout)
    for text in helps:
        assert "Usage: " in text
        for artefact in ("\b", "\\b", "``", "╭", "[/", "[bold"):
            assert artefact not in text, (artefact, text)
    invite_help = runner.invoke(app, ["invite", "--help"]).stdout
    assert "[TOKEN]" in invite_help  # square brackets survive (no markup)
    assert "Ada King Lovelace" in " ".join(invite_help.split())


# -- definition files -------------------------------------------------------------------


def test_yaml_syntax_error_is_one_line_with_line_and_column(
    runner: CliRunner, tmp_path: Path
) -> None:
    bad = tmp_path / "quiz.yaml"
    bad.write_text("id: x\ntitle: t\ntest:\n  questions:\n    - id: [a\n", "utf-8")
    result = runner.invoke(app, ["quiz", "load", str(bad)])
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: {bad}:6:1: ")
    assert "while parsing a flow sequence, at 5:11" in line
    assert not (tmp_path / "quizsession.db").exists()


def test_missing_unreadable_and_duplicate_keys(runner: CliRunner, tmp_path: Path) -> None:
    missing = runner.invoke(app, ["quiz", "load", "nope.yaml"])
    assert (missing.exit_code, missing.stderr) == (2, "error: nope.yaml: no such file\n")
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"title: Caf\xe9\n")
    result = runner.invoke(app, ["quiz", "load", str(latin1)])
    assert (result.exit_code, result.stderr) == (2, f"error: {latin1}: not UTF-8 text (byte 10)\n")
    twice = tmp_path / "twice.yaml"
    twice.write_text("id: x\ntitle: t\nid: y\n", "utf-8")
    result = runner.invoke(app, ["quiz", "load", str(twice)])
    assert result.exit_code == 2
    assert result.stderr == f"error: {twice}:3:1: duplicate key 'id' (first at line 1)\n"
    as_json = tmp_path / "twice.json"
    as_json.write_text('{"id": "x", "id": "y"}', "utf-8")
    result = runner.invoke(app, ["quiz", "load", str(as_json)])
    assert (result.exit_code, result.stderr) == (2, f"error: {as_json}: duplicate key 'id'\n")
    broken = tmp_path / "broken.json"
    broken.write_text('{"id": "x",\n "title": }', "utf-8")
    result = runner.invoke(app, ["quiz", "load", str(broken)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {broken}:2:11: Expecting value")


BAD_QUIZ = """\
id: geo
title: Geography
duration_s: 600
test:
  questions:
    - id: a
      kind: single
      text: Capital of Australia?
      choises:
        - {id: s, text: Sydney}
      pionts: 2
    - id: a
      kind: true_false
      text: The sky is blue.
      correct: 1
      frobnicate: yes
"""


def test_definition_problems_at_their_lines_counted_from_one(
    runner: CliRunner, tmp_path: Path
) -> None:
    bad = tmp_path / "quiz.yaml"
    bad.write_text(BAD_QUIZ, "utf-8")
    result = runner.invoke(app, ["quiz", "load", str(bad)])
    assert result.exit_code == 1
    allowed = "id, kind, text, points, penalty, difficulty, feedback, images, choices, partial"
    assert result.stderr.splitlines() == [
        "error [quiz_invalid]: the quiz definition has 6 problem(s)",
        f"{bad}:6:7: test.questions[1].choices: is required",
        f"{bad}:9:7: test.questions[1].choises: unknown key: did you mean 'choices'?",
        f"{bad}:11:7: test.questions[1].pionts: unknown key: did you mean 'points'?",
        f"{bad}:12:7: test.questions[2].id: duplicate question id 'a' "
        "(first at test.questions[1].id, line 6)",
        f"{bad}:15:7: test.questions[2].correct: must be true or false",
        f"{bad}:16:7: test.questions[2].frobnicate: unknown key (allowed: {allowed}, "
        "correct, accepted, case_sensitive, value, tolerance, word_limit, response_template, "
        "grader_info, pairs, distractors, items, ordering_rule, gaps)",
    ]
    assert not (tmp_path / "quizsession.db").exists()  # refused before any store


def test_the_api_keeps_json_pointers_counted_from_zero_with_the_did_you_mean() -> None:
    raw = yaml.safe_load(BAD_QUIZ)
    with pytest.raises(InvalidDefinition) as info:
        parse_quiz(raw)
    problems = [(p.path, p.message) for p in info.value.problems]
    assert ("/test/questions/0/choises", "unknown key: did you mean 'choices'?") in problems
    assert len(problems) == len(set(problems))  # each once
    for _, message in problems:  # the allowed keys are listed once each
        if "allowed:" in message:
            keys = message.split("allowed: ")[1].rstrip(")").split(", ")
            assert len(keys) == len(set(keys))


def test_empty_definition(runner: CliRunner, tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("", "utf-8")
    result = runner.invoke(app, ["quiz", "load", str(empty)])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[1:] == [f"{empty}: must be a mapping"]


# -- rosters and invites ------------------------------------------------------------------


def test_roster_lines_are_read_from_the_right() -> None:
    entries = parse_roster_lines(
        "# a comment\n\nAda King Lovelace ada@example.org 2026-12-31\n"
        "Alan Turing alan@example.org 2026-12-31T18:00:00+01:00 alan-token-0123456789abcdef\n",
        token_optional=True,
    )
    assert [(e.name, e.email, e.valid_until, e.token) for e in entries] == [
        ("Ada King Lovelace", "ada@example.org", "2026-12-31", None),
        (
            "Alan Turing",
            "alan@example.org",
            "2026-12-31T18:00:00+01:00",
            "alan-token-0123456789abcdef",
        ),
    ]
    with pytest.raises(DomainError) as info:  # the HTTP API's roster_text needs a token
        parse_roster_lines("Ada ada@example.org 2026-12-31")
    assert info.value.extra["problems"] == [
        {"line": 1, "message": "expected: name email valid-until token"}
    ]


def test_invite_from_a_roster_with_names_of_several_words(
    runner: CliRunner, tmp_path: Path
) -> None:
    url = store(tmp_path, runner)
    roster = tmp_path / "roster.txt"
    roster.write_text(
        "Ada Lovelace ada@example.org 2026-12-31\n"
        "Grace Brewster Murray Hopper grace@example.org 2026-12-31 grace-token-0123456789abcdef\n",
        "utf-8",
    )
    args = ["invite", "demo-general-knowledge", "--roster", str(roster), "--store-url", url]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    ada, grace = result.stdout.splitlines()
    assert ada.startswith("Ada Lovelace ada@example.org 2026-12-31 ")
    assert len(ada.split()[-1]) >= 22  # a generated token
    assert grace == (
        "Grace Brewster Murray Hopper grace@example.org 2026-12-31 grace-token-0123456789abcdef"
    )
    linked = runner.invoke(app, [*args, "--base-url", "https://quiz.example.org/"])
    assert linked.exit_code == 0, linked.output
    for line in linked.stdout.splitlines():
        token, link = line.split()[-2:]
        assert link == f"https://quiz.example.org/take#{token}"
    bad_url = runner.invoke(app, [*args, "--base-url", "quiz.example.org"])
    assert bad_url.exit_code == 2
    assert "--base-url must start with http:// or https://" in bad_url.stderr


def test_roster_problems_are_given_at_their_lines(runner: CliRunner, tmp_path: Path) -> None:
    url = store(tmp_path, runner)
    roster = tmp_path / "roster.txt"
    roster.write_text("# class 1\nAda\n", "utf-8")
    args = ["invite", "demo-general-knowledge", "--roster", str(roster), "--store-url", url]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[1:] == [
        f"{roster}:2: expected: name email valid-until [token]"
    ]
    roster.write_text("# class 1\nAda Lovelace ada@example.org 2026-12-31\n\nBo bo 2026-13-01\n")
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[1:] == [
        f"{roster}:4: email: not an email address",
        f"{roster}:4: valid_until: not a date: '2026-13-01'",
    ]
    missing = runner.invoke(app, ["invite", "x", "--roster", "nope.txt", "--store-url", url])
    assert missing.exit_code == 2
    assert missing.stderr.startswith("error: cannot read nope.txt")


# -- stores -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["log", "a_1"],
        ["quiz", "export", "demo"],
        ["report", "demo", "-f", "csv"],
        [
            "invite",
            "demo",
            "--name",
            "Ada Lovelace",
            "--email",
            "a@b.c",
            "--valid-until",
            "2030-01-01",
        ],
    ],
)
def test_a_command_that_reads_creates_no_store(
    runner: CliRunner, tmp_path: Path, args: list[str]
) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert result.stderr == (
        "error: no store at quizsession.db: run `quizsession serve` first or pass --store-url\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_store_errors_are_one_line(runner: CliRunner, tmp_path: Path) -> None:
    key = "k1:" + base64.b64encode(bytes(range(32))).decode()
    url = f"sqlite:///{tmp_path / 'enc.db'}"
    sealed = runner.invoke(
        app,
        ["quiz", "load", str(DEMO), "--store-url", url],
        env={"QUIZSESSION_ENCRYPTION_KEYS": key},
    )
    assert sealed.exit_code == 0, sealed.output
    refused = runner.invoke(app, ["quiz", "export", "demo-general-knowledge", "--store-url", url])
    assert refused.exit_code == 1
    [line] = refused.stderr.splitlines()
    assert line.startswith("error: the store holds data encrypted at rest but ")
    assert "QUIZSESSION_ENCRYPTION_KEYS is not set" in line

    bogus = runner.invoke(app, ["log", "a_1", "--store-url", "bogus://x"])
    assert bogus.exit_code == 2
    assert bogus.stderr == (
        "error: unsupported store URL scheme 'bogus' (memory, sqlite, postgresql)\n"
    )
    settings = runner.invoke(app, ["log", "a_1"], env={"QUIZSESSION_PORT": "not-a-port"})
    assert settings.exit_code == 2
    assert len(settings.stderr.splitlines()) == 1


def test_report_to_a_place_that_cannot_be_written(runner: CliRunner, tmp_path: Path) -> None:
    url = store(tmp_path, runner)
    target = tmp_path / "no-such-dir" / "report.html"
    args = ["report", "demo-general-knowledge", "-f", "html", "-o", str(target)]
    result = runner.invoke(app, [*args, "--store-url", url])
    assert result.exit_code == 1
    assert result.stderr == f"error: cannot write {target}: No such file or directory\n"


def test_a_dry_run_and_load_then_read_back(runner: CliRunner, tmp_path: Path) -> None:
    url = store(tmp_path, runner)
    exported = runner.invoke(app, ["quiz", "export", "demo-general-knowledge", "--store-url", url])
    assert exported.exit_code == 0, exported.output
    assert yaml.safe_load(exported.stdout)["id"] == "demo-general-knowledge"
