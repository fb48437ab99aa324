"""``quizsession serve``: a busy port is one line before anything else, the demo's
banner is one aligned block, and logs held during start-up follow it. (The
whole ``serve --demo`` run, restarts included: tests/e2e/test_readme_tour.py.)"""

from __future__ import annotations

import io
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from quizsession.entrypoints.cli.demo import banner, http_url
from quizsession.entrypoints.serving import STARTUP_FAILURE, CannotListen, HeldLogs, listen_socket


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


@pytest.mark.parametrize("demo", [False, True])
def test_a_busy_port_is_one_line_naming_the_port_option(
    busy_port: int, tmp_path: Path, demo: bool
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUIZSESSION_")}
    args = [sys.executable, "-m", "quizsession.entrypoints.cli", "serve", "--port", str(busy_port)]
    done = subprocess.run(
        args + (["--demo"] if demo else []),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == STARTUP_FAILURE
    assert done.stdout == ""  # no invite link, no key: nothing was started
    assert done.stderr == (
        f"error: port {busy_port} on 127.0.0.1 is in use: choose another with --port N "
        "(or: make serve PORT=N)\n"
    )
    assert list(tmp_path.iterdir()) == []  # no store, no key file


def test_listen_socket_refuses_a_busy_port_and_takes_a_free_one(busy_port: int) -> None:
    with pytest.raises(CannotListen) as info:
        listen_socket("127.0.0.1", busy_port)
    assert info.value.in_use
    sock = listen_socket("127.0.0.1", 0)
    try:
        assert sock.getsockname()[1] > 0
    finally:
        sock.close()


def test_the_banner_is_one_aligned_block() -> None:
    text = banner(
        [("demo quiz", "demo (version 1)"), ("invite link", "http://h/take#t"), ("admin key", "k")],
        "running",
    )
    assert text.splitlines() == [
        "",
        "  demo quiz     demo (version 1)",
        "  invite link   http://h/take#t",
        "  admin key     k",
        "",
        "  running",
        "",
    ]
    assert http_url("::1", 8002) == "http://[::1]:8002"
    assert http_url("127.0.0.1", 8002) == "http://127.0.0.1:8002"


def test_held_logs_follow_the_banner_and_a_warning_is_shown_at_once() -> None:
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    saved_handlers, saved_level = root.handlers[:], root.level
    root.handlers = [handler]
    root.setLevel(logging.INFO)
    log = logging.getLogger("quizsession.test")
    try:
        held = HeldLogs()
        log.info("starting")
        assert stream.getvalue() == ""
        held.release()
        log.info("after")
        assert stream.getvalue() == "INFO starting\nINFO after\n"

        stream.truncate(0)
        stream.seek(0)
        held = HeldLogs()
        log.info("one")
        log.error("broken")  # shown at once, after what was held
        log.info("two")
        assert stream.getvalue() == "INFO one\nERROR broken\nINFO two\n"
        held.release()  # idempotent
        assert handler.filters == []
    finally:
        root.handlers = saved_handlers
        root.setLevel(saved_level)
