"""Starting and stopping server processes by their own pid: the errors, waiting,
signals, the children of a process (Linux ``/proc``) and the base class of the
PostgreSQL and Redis servers, with a last-resort stop at interpreter exit (only
the servers started here)."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import glob
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import IO, Self

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0
POLL_S = 0.05

RUNNING: set[ManagedServer] = set()


class BinaryNotFound(RuntimeError):
    """A server binary is not installed on this machine."""


class ServerStartError(RuntimeError):
    """A server did not become ready in time or exited while starting (the message
    ends with the tail of its log)."""


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def wait_exit(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return False
    return True


def signal_pid(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux /proc)."""
    kids: list[int] = []
    for task in glob.glob(f"/proc/{pid}/task/*/children"):
        with contextlib.suppress(OSError):
            kids.extend(int(p) for p in Path(task).read_text().split())
    return kids


def pid_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # A zombie (state Z) is dead for our purposes.
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def set_child_subreaper(on: bool) -> bool:
    """prctl(PR_SET_CHILD_SUBREAPER): orphaned descendants reparent to us."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(36, int(on), 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def reap_pids(pids: list[int], timeout: float) -> None:
    """Wait (bounded) until ``pids`` are gone, reaping those that are our children."""
    pending = set(pids)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for pid in list(pending):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                # Not (or no longer) our child: wait until it is gone.
                done = 0 if pid_alive(pid) else pid
            if done:
                pending.discard(pid)
        if pending:
            time.sleep(POLL_S / 5)


class ManagedServer:
    _proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _reap(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
        self._proc = None
        RUNNING.discard(self)

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@atexit.register
def _stop_leftovers() -> None:
    """Last resort: stop servers still running at interpreter exit (only ours)."""
    for server in list(RUNNING):
        with contextlib.suppress(Exception):
            server.stop()
