"""The typed client as a backend installs it: a fresh virtual environment with
nothing but httpx, msgspec and this package (installed with ``--no-deps``, no
``server`` extra). There ``import quizsession.client`` loads no server module
and no part of the service, a real request to a service process (started from
the main environment) gets its answer, and the ``quizsession`` command says in
one line that the service needs ``quizsession[server]``.

pip may fetch httpx, msgspec and the build backend from the package registry
(or the machine's configured mirror); every step is bounded in time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from importlib.metadata import version
from pathlib import Path

import pytest

from quizsession.entrypoints.launcher import MISSING_SERVER, SERVER_MODULES
from tests.e2e.conftest import ServerFactory

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
PIP_TIMEOUT_S = 240
RUN_TIMEOUT_S = 60
#: The parts of this package a client may load (the wire, the client, the codes).
CLIENT_PARTS = ("quizsession.api", "quizsession.client")
CLIENT_MODULES = frozenset({"quizsession", "quizsession.domain", "quizsession.domain.errors"})

PROBE = textwrap.dedent(
    """
    import asyncio, json, sys

    from quizsession.client import AsyncQuizClient, NotFound

    DEFINITION = {
        "id": "alone",
        "title": "From a backend",
        "duration_s": 600,
        "test": {
            "questions": [
                {"id": "q1", "kind": "true_false", "text": "Two is even.", "correct": True}
            ]
        },
    }

    async def main(url, key):
        async with AsyncQuizClient(url, api_key=key, timeout=10.0) as client:
            health = await client.health()
            stored = await client.put_quiz("alone", DEFINITION)
            session = await client.open_session(user_id="backend-user", quiz_id="alone")
            await session.start()
            current = await session.next_question()
            saved = await session.save(current.question.id, True)
            result = await session.complete()
            events = await client.events(session.attempt_id)
            try:
                await client.attempt("a_missing")
                missing = None
            except NotFound as exc:
                missing = exc.code
        return {
            "health": health,
            "stored": stored.version,
            "saved": saved.saved,
            "score": result.score,
            "log": [e.type for e in events],
            "missing": missing,
        }

    found = asyncio.run(main(sys.argv[1], sys.argv[2]))
    found["modules"] = sorted(sys.modules)
    print(json.dumps(found))
    """
)


def _run(args: list[str], *, timeout: float, cwd: Path | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{args[:3]}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment with httpx, msgspec and the package (``--no-deps``)."""
    base = tmp_path_factory.mktemp("client-alone")
    source = base / "source"  # a copy: the build leaves nothing in the work tree
    source.mkdir()
    shutil.copy(ROOT / "pyproject.toml", source)
    shutil.copy(ROOT / "README.md", source)
    shutil.copytree(
        ROOT / "src",
        source / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], timeout=RUN_TIMEOUT_S)
    python = str(venv / "bin" / "python")
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    _run(
        [*pip, f"httpx=={version('httpx')}", f"msgspec=={version('msgspec')}"],
        timeout=PIP_TIMEOUT_S,
    )
    _run([*pip, "--no-deps", str(source)], timeout=PIP_TIMEOUT_S)
    return venv


def test_the_environment_has_no_server_package(client_venv: Path) -> None:
    listed = _run(
        [str(client_venv / "bin" / "python"), "-m", "pip", "list", "--format=json"],
        timeout=RUN_TIMEOUT_S,
    )
    names = {p["name"].lower() for p in json.loads(listed)}
    assert "quizsession" in names
    assert {"httpx", "msgspec"} <= names
    assert not names & {"litestar", "asyncpg", "redis", "uvicorn", "typer", "pyyaml"}


async def test_the_client_alone_talks_to_a_real_service(
    client_venv: Path, server_factory: ServerFactory, tmp_path: Path
) -> None:
    server = server_factory("alone")
    await server.start_async()
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    out = _run(
        [str(client_venv / "bin" / "python"), str(probe), server.url, server.admin_key],
        timeout=RUN_TIMEOUT_S,
        cwd=tmp_path,  # not the work tree: the installed package is imported
    )
    found = json.loads(out.strip().splitlines()[-1])
    assert found["health"] == {"status": "ok"}
    assert found["stored"] == 1
    assert found["saved"] is True
    assert found["score"] == 1.0
    assert found["log"][0] == "attempt_created"
    assert found["log"][-1] == "submitted"
    assert found["missing"] == "not_found"

    modules: list[str] = found["modules"]
    tops = {m.partition(".")[0] for m in modules}
    assert not tops & (SERVER_MODULES | {"asyncpg", "redis", "sqlite3"}), sorted(tops)
    ours = {m for m in modules if m == "quizsession" or m.startswith("quizsession.")}
    stray = {m for m in ours - CLIENT_MODULES if not m.startswith(CLIENT_PARTS)}
    assert not stray, f"the client loaded parts of the service: {sorted(stray)}"


def test_the_command_says_to_install_the_server(client_venv: Path) -> None:
    done = subprocess.run(
        [str(client_venv / "bin" / "quizsession"), "serve"],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.strip() == MISSING_SERVER
    assert "quizsession[server]" in MISSING_SERVER
