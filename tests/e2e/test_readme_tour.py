"""README.md's "A five-minute tour with curl", run as written against a real
``quizsession serve --demo``.

The tour's ``sh`` blocks are taken from the README; ``TOKEN=...``, ``KEY=...`` and
``URL=...`` are filled from the server's banner and port; every other line runs in
bash as it is, its variables carried to the next line. A line the tour marks
``# by hand`` is not run: the ``kill -9`` one is done for real (SIGKILL to the
server's pid, then a start on the same store and port). Every curl must answer
2xx, unless the tour shows the status it expects on the next line (``# 409 ...``).
After the tour, the browser's invite (another candidate) can still start the demo.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from testsupport.net import free_port

SERVE = (sys.executable, "-m", "quizsession.entrypoints.cli", "serve", "--demo")
README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## A five-minute tour with curl"
START_TIMEOUT_S = 30.0
COMMAND_TIMEOUT_S = 20.0
BY_HAND = "# by hand"
EXPECTED = re.compile(r"#\s*(\d{3})\b")
PLACEHOLDER = re.compile(r"^([A-Z_]+)=\.\.\.(\s|$)")
ASSIGNED = re.compile(r"^([A-Z_]+)=")
#: Every curl of the tour reports its status on stderr, bounded in time.
CURL = (
    "curl() { command curl --max-time 10 --write-out '%{stderr}HTTP_STATUS %{http_code}\\n' "
    '"$@"; }'
)


@dataclass
class Command:
    text: str
    expected: int | None = None  # None: any 2xx
    by_hand: bool = False


def tour_commands() -> list[Command]:
    """The tour's shell commands in order (continuation lines joined)."""
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    section = text[start : end if end != -1 else None]
    commands: list[Command] = []
    for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S):
        pending = ""
        for line in block.splitlines():
            stripped = line.strip()
            if not pending and stripped.startswith("#"):
                status = EXPECTED.match(stripped)
                if status and commands:
                    commands[-1].expected = int(status.group(1))
                continue
            if not stripped:
                continue
            pending += line.rstrip()
            if pending.endswith("\\"):
                pending = pending[:-1] + " "
                continue
            commands.append(Command(pending.strip(), by_hand=BY_HAND in pending))
            pending = ""
    return commands


@dataclass
class DemoServer:
    """``quizsession serve --demo`` in ``workdir`` on ``port``; only this object's
    own process is ever signalled, by its pid."""

    workdir: Path
    port: int
    env: dict[str, str]
    starts: list[dict[str, str]] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> dict[str, str]:
        n = len(self.starts)
        out = self.workdir / f"serve-{n}.out"
        with out.open("wb") as stdout, (self.workdir / f"serve-{n}.err").open("wb") as stderr:
            self.proc = subprocess.Popen(
                [*SERVE, "--port", str(self.port)],
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            text = out.read_text(errors="replace")
            if "logs follow." in text:
                rows = banner_rows(text)
                self.starts.append(rows)
                return rows
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        err = (self.workdir / f"serve-{n}.err").read_text(errors="replace")
        raise AssertionError(f"serve --demo did not start:\n{out.read_text()}\n{err[-3000:]}")

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def banner_rows(text: str) -> dict[str, str]:
    """The banner's rows, label -> first word of the value."""
    rows: dict[str, str] = {}
    for line in text.splitlines():
        match = re.match(r"^  (demo quiz|invite link|invite token|admin key)\s+(\S+)", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[DemoServer]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUIZSESSION_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    server = DemoServer(tmp_path, free_port(), env)
    try:
        yield server
    finally:
        server.stop()


def run_in_bash(command: str, workdir: Path, env: dict[str, str], names: set[str]) -> list[int]:
    """Run one tour command in bash with the variables of the ones before it;
    the HTTP statuses of its curls."""
    script = "\n".join(
        [
            "set -o pipefail",
            CURL,
            "[ -f tour-vars.sh ] && source tour-vars.sh",
            command,
            "rc=$?",
            f"declare -p {' '.join(sorted(names))} > tour-vars.sh 2>/dev/null",
            "exit $rc",
        ]
    )
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, f"{command!r} failed ({done.returncode}):\n{done.stderr}"
    return [int(code) for code in re.findall(r"HTTP_STATUS (\d+)", done.stderr)]


@pytest.mark.timeout(180)
def test_the_readme_tour_runs_as_written(demo: DemoServer, tmp_path: Path) -> None:
    commands = tour_commands()
    assert any("kill -9" in c.text and c.by_hand for c in commands)
    assert [c.expected for c in commands if c.expected] == [409]
    rows = demo.start()
    assert set(rows) == {"demo quiz", "invite link", "invite token", "admin key"}
    values = {"TOKEN": rows["invite token"], "KEY": rows["admin key"]}
    values["URL"] = f"http://127.0.0.1:{demo.port}"
    names = {m.group(1) for c in commands if (m := ASSIGNED.match(c.text))}
    submitted = False
    for command in commands:
        if command.by_hand:
            if "kill -9" in command.text:
                demo.kill9()
                demo.start()
            continue
        text = command.text
        if (placeholder := PLACEHOLDER.match(text)) or text.startswith("URL="):
            name = placeholder.group(1) if placeholder else "URL"
            assert name in values, f"the tour asks for {name}, which the server does not give"
            text = f"{name}={values[name]}"
        statuses = run_in_bash(text, tmp_path, demo.env, names)
        if text.startswith("curl"):
            assert len(statuses) == 1, (text, statuses)
        for status in statuses:
            if command.expected is not None:
                assert status == command.expected, (text, status)
            else:
                assert 200 <= status < 300, (text, status)
        submitted = submitted or "/complete" in text
    assert submitted
    assert len(demo.starts) == 2  # the tour's crash and restart happened for real

    # Every start invited new candidates: the browser's link still starts the demo.
    first, second = demo.starts
    assert first["invite link"] != second["invite link"]
    assert first["invite token"] != second["invite token"]
    assert first["admin key"] == second["admin key"]  # kept beside the store
    browser_token = first["invite link"].partition("#")[2]
    opened = httpx.post(
        f"{values['URL']}/sessions", json={"invite_token": browser_token}, timeout=10
    )
    assert opened.status_code in (200, 201), opened.text
    attempt = opened.json()["attempt"]
    assert attempt["status"] == "open"
    assert attempt["state"] == "practice_not_started"
