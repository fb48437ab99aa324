"""The workers' private run directory (live-state file, metric files): named
for the service's process, and the ones a killed service left behind (its clean-up never ran after a
``kill -9``) removed at the next start, never one whose process still runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from quizsession.entrypoints.workers import RUN_DIR_PREFIX, private_run_dir, sweep_run_dirs


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


def test_a_missing_parent_sweeps_nothing(tmp_path: Path) -> None:
    assert sweep_run_dirs(str(tmp_path / "nowhere")) == []
