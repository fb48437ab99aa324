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
from typing import IO, Any, Self

from testsupport.net import free_port, port_in_use

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


def assert_no_traceback(log: str, context: int = 40) -> None:
    """Fail if a server's ``log`` holds a traceback, showing the lines around the
    first one (the end of a long log rarely says what went wrong)."""
    at = log.find("Traceback")
    if at < 0:
        return
    lines = log.splitlines()
    first = log[:at].count("\n")
    excerpt = "\n".join(lines[max(0, first - 5) : first + context])
    count = log.count("Traceback")
    raise AssertionError(f"{count} traceback(s) in the server log; the first:\n{excerpt}")


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


class OwnedProcess:
    """A child process started here (``_proc`` while it runs)."""

    _proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None


class ManagedServer(OwnedProcess):
    """A server process (PostgreSQL, Redis) on ``host``:``port`` with its output
    appended to ``log_path``: started and probed until ready, stopped by its own
    pid (the signals of ``stop_signals`` in turn, then SIGKILL), reaped.

    A subclass gives ``name``, ``stop_signals``, ``_start()`` (which calls
    ``_spawn``) and ``_ready()``; it may add to ``kill()`` and ``destroy()``."""

    name = "server"
    #: Each signal in turn with how long to wait for an exit; SIGKILL after the last.
    stop_signals: tuple[tuple[signal.Signals, float], ...] = ((signal.SIGTERM, STOP_TIMEOUT_S),)
    #: How long a start may take before it counts as failed (the process is killed).
    start_timeout_s: float = START_TIMEOUT_S
    host: str
    port: int
    log_path: Path
    _log: IO[bytes] | None = None

    def _start(self) -> None:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    def _spawn(self, args: list[str], *, cwd: Path, **popen: Any) -> None:
        """Start ``args`` with the output appended to the log; return once it
        answers (``_ready``), or raise ``ServerStartError`` (it is then gone)."""
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in _reap
        self._proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            **popen,
        )
        RUNNING.add(self)
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                code = self._proc.returncode
                self._reap()
                raise ServerStartError(
                    f"{self.name} exited with {code} while starting:\n{tail(self.log_path)}"
                )
            if self._ready():
                return
            time.sleep(POLL_S)
        self.kill()
        raise ServerStartError(
            f"{self.name} not ready after {self.start_timeout_s:.0f}s:\n{tail(self.log_path)}"
        )

    def start_on_a_free_port(self, attempts: int = 3) -> None:
        """``_start``, on another free port if it fails (most likely the port was
        taken between choosing and binding it)."""
        for attempt in range(attempts):
            try:
                self._start()
                return
            except ServerStartError:
                if attempt == attempts - 1:
                    raise
                self.port = free_port()

    def start(self) -> None:
        if self.running:
            return
        self._start()

    def stop(self) -> None:
        """The signals of ``stop_signals`` in turn, each waited for; SIGKILL if
        the process is still there after the last."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            for sig, timeout in self.stop_signals:
                signal_pid(proc.pid, sig)
                if wait_exit(proc, timeout):
                    break
            else:
                self.kill()
                return
        self._reap()

    def kill(self) -> None:
        """SIGKILL (a crash)."""
        proc = self._proc
        if proc is None:
            return
        signal_pid(proc.pid, signal.SIGKILL)
        wait_exit(proc, 10)
        self._reap()

    def restart(self) -> None:
        """Stop (if running) and start again on the same port."""
        self.stop()
        deadline = time.monotonic() + 10
        while port_in_use(self.port) and time.monotonic() < deadline:
            time.sleep(POLL_S)
        self._start()

    def destroy(self) -> None:
        self.stop()

    def _reap(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
        self._proc = None
        RUNNING.discard(self)

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
