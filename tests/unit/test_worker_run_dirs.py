"""The workers' private run directory (live-state file, metric files): named
for the service's process and locked while it lives; the ones a killed service
left behind (its clean-up never ran after a ``kill -9``) are removed at the next
start, never one whose process still runs or whose lock is held."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

from quizsession.entrypoints.run_dir import (
    ALIVE_FILE,
    RUN_DIR_PREFIX,
    private_run_dir,
    release_run_dir,
    sweep_run_dirs,
)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_dirs_of_dead_services_go_and_the_others_stay(tmp_path: Path) -> None:
    dead = tmp_path / f"{RUN_DIR_PREFIX}{_dead_pid()}-abc"
    dead.mkdir()
    (dead / "live.db").write_bytes(b"x" * 100)
    running = tmp_path / f"{RUN_DIR_PREFIX}{os.getppid()}-def"  # a live process
    running.mkdir()
    unrelated = tmp_path / "quizsession-something-1-x"
    unrelated.mkdir()
    a_file = tmp_path / f"{RUN_DIR_PREFIX}{_dead_pid()}-file"
    a_file.write_text("not a directory")

    assert sweep_run_dirs(str(tmp_path)) == [str(dead)]
    assert not dead.exists()
    assert running.is_dir()
    assert unrelated.is_dir()
    assert a_file.is_file()


def test_a_new_dir_is_named_for_this_process_and_sweeps_first(tmp_path: Path) -> None:
    left = tmp_path / f"{RUN_DIR_PREFIX}{_dead_pid()}-old"
    left.mkdir()
    made = Path(private_run_dir(str(tmp_path)))
    assert made.is_dir()
    assert made.parent == tmp_path
    assert made.name.startswith(f"{RUN_DIR_PREFIX}{os.getpid()}-")
    assert not left.exists()
    # Ours is alive: a second start beside it leaves it alone.
    other = Path(private_run_dir(str(tmp_path)))
    assert made.is_dir()
    assert other.is_dir()
    assert other != made
    release_run_dir(str(made))
    release_run_dir(str(other))


def test_a_missing_parent_sweeps_nothing(tmp_path: Path) -> None:
    assert sweep_run_dirs(str(tmp_path / "nowhere")) == []


def test_a_locked_dir_stays_even_when_its_pid_is_not_ours_to_see(tmp_path: Path) -> None:
    """A service in another PID namespace sharing the temporary directory: its
    pid means nothing here, its lock does."""
    elsewhere = tmp_path / f"{RUN_DIR_PREFIX}{_dead_pid()}-ns"
    elsewhere.mkdir()
    fd = os.open(elsewhere / ALIVE_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert sweep_run_dirs(str(tmp_path)) == []
        assert elsewhere.is_dir()
    finally:
        os.close(fd)  # the service ends without its clean-up
    assert sweep_run_dirs(str(tmp_path)) == [str(elsewhere)]


def test_a_dir_made_here_is_locked_until_released(tmp_path: Path) -> None:
    made = Path(private_run_dir(str(tmp_path)))
    probe = os.open(made / ALIVE_FILE, os.O_RDONLY)
    try:
        with pytest.raises(BlockingIOError):
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(probe)
    release_run_dir(str(made))
    assert not made.exists()
    release_run_dir(str(made))  # twice: nothing more to do


def test_a_name_that_is_no_pid_is_left_to_the_lock(tmp_path: Path) -> None:
    huge = tmp_path / f"{RUN_DIR_PREFIX}{10**25}-x"
    huge.mkdir()
    assert sweep_run_dirs(str(tmp_path)) == [str(huge)]


def test_no_half_made_dir_is_left_behind(tmp_path: Path) -> None:
    made = Path(private_run_dir(str(tmp_path)))
    assert sorted(p.name for p in tmp_path.iterdir()) == [made.name]
    release_run_dir(str(made))
