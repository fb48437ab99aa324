"""``quizsession serve --workers N``: one parent process supervising N worker
processes that serve on one port.

The parent binds the port (``listen_group``: one listening socket per worker,
all on the same address with ``SO_REUSEPORT``), then forks the workers: each
inherits its own socket, builds its own container through the composition
root (its own store connections, its own caches) and runs uvicorn on it. The
kernel spreads new connections over the sockets by a hash of each connection's
addresses, so every worker gets its share of them (one socket shared by all
would let whichever worker wakes first take a whole burst of connections). The
parent keeps its copies: connections that arrive while a worker restarts wait
in that worker's queue for the new one. The parent serves nothing and holds no
store or thread: it only

- forwards SIGTERM/SIGINT to every worker: each drains as one process does
  (``serving.DrainingServer``: new work refused with 503, live sockets told to
  reconnect and closed with 1012, in-flight saves finished); the parent exits 0
  once every worker has exited 0 (1 if one did not). A second signal is
  forwarded too: the workers exit at once, and the parent with ``128 + signal``;
- restarts a worker that dies (logged with its exit code or signal), after a
  short back-off; a worker that keeps dying within ``quick_s`` of its start
  (``max_quick_deaths`` times in a row) makes the parent stop the others and
  exit ``STARTUP_FAILURE``: a service that cannot start says so instead of
  looping;
- dies with its workers: each worker asks the kernel (Linux ``PR_SET_PDEATHSIG``)
  to be killed when the parent is, so a ``kill -9`` of the parent is a crash of
  the whole service, never orphans still holding the port.

What makes every promise hold across the workers is not here: the store's
optimistic lock (``append`` with the expected version; with SQLite, one file in
WAL mode with ``BEGIN IMMEDIATE``), no worker trusting its cache (the composition
root), and a live state they share (Redis, or a SQLite file of the machine's).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import select
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

from quizsession.entrypoints.serving import LIVE_SOCKET_CONFIG, CannotListen, listen_socket

log = logging.getLogger("uvicorn.error")  # with the server's own life-cycle lines

#: A worker that exits within this many seconds of its start died "at start".
QUICK_S = 10.0
#: After this many deaths at start in a row (of one worker), the parent gives up.
MAX_QUICK_DEATHS = 5
RESTART_BACKOFF_S = 0.1  # doubled on each death at start, at most MAX_BACKOFF_S
MAX_BACKOFF_S = 5.0
PR_SET_PDEATHSIG = 1

#: A worker's body: (index, start number of that worker) -> exit code.
WorkerMain = Callable[[int, int], int]


@dataclass
class _Worker:
    index: int
    pid: int
    started: float
    generation: int


def listen_group(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` listening sockets on ``host:port`` (``SO_REUSEPORT``), one per
    worker; ``CannotListen`` as ``serving.listen_socket`` says it.

    The port is first bound without ``SO_REUSEPORT`` (and let go at once):
    sockets with it may share a port that another process of the same user
    holds with it, and a busy port must stay the one clear error it is with one
    process. Only processes of the same user can ever join the group (Linux)."""
    probe = listen_socket(host, port, 1)
    port = probe.getsockname()[1]  # port 0: the one the system chose
    probe.close()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    group: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM)
            group.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            sock.listen(LIVE_SOCKET_CONFIG["backlog"])
    except OSError as exc:
        for sock in group:
            sock.close()
        in_use = exc.errno == errno.EADDRINUSE
        raise CannotListen(f"{host}:{port}: {exc.strerror or exc}", in_use=in_use) from exc
    return group


def die_with_parent(parent_pid: int) -> None:
    """Have the kernel SIGKILL this process when its parent dies (Linux); exit
    now if the parent is already gone."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)


class Supervisor:
    """Forks ``count`` workers running ``main`` and looks after them (see the
    module's documentation). ``run()`` returns the parent's exit code."""

    def __init__(
        self,
        count: int,
        main: WorkerMain,
        *,
        startup_failure: int,
        on_stop: Callable[[], None] | None = None,
        on_reaped: Callable[[int], None] | None = None,
        quick_s: float = QUICK_S,
        max_quick_deaths: int = MAX_QUICK_DEATHS,
    ) -> None:
        if count < 1:
            raise ValueError("count must be >= 1")
        self.count = count
        self._main = main
        self._startup_failure = startup_failure
        self._on_stop = on_stop
        self._on_reaped = on_reaped
        self._quick_s = quick_s
        self._max_quick = max_quick_deaths
        self._workers: dict[int, _Worker] = {}  # pid -> worker
        self._generations = [0] * count
        self._quick_deaths = [0] * count
        self._pending: dict[int, float] = {}  # index -> monotonic time to restart it
        self._signals: list[int] = []
        self._stop_signals = 0
        self._second = 0  # the second stop signal, once received
        self._stopping = False
        self._gave_up = False
        self._failed_exits = 0
        self._parent = os.getpid()
        self._wake_r = self._wake_w = -1
        self.restarts = 0

    # -- the workers ------------------------------------------------------------------

    def _spawn(self, index: int) -> None:
        generation = self._generations[index]
        self._generations[index] += 1
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        pid = os.fork()
        if pid == 0:  # the worker
            self._child(index, generation)
        self._workers[pid] = _Worker(index, pid, time.monotonic(), generation)

    def _child(self, index: int, generation: int) -> None:
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
                signal.signal(sig, signal.SIG_DFL)
            os.close(self._wake_r)
            os.close(self._wake_w)
            # A group of its own: a Ctrl-C (SIGINT to the terminal's process
            # group) reaches the parent only, which forwards it once.
            os.setpgid(0, 0)
            die_with_parent(self._parent)
            code = self._main(index, generation)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            os._exit(code)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker = self._workers.pop(pid, None)
            if worker is None:
                continue
            if self._on_reaped is not None:
                try:
                    self._on_reaped(pid)
                except Exception:
                    log.exception("quizsession: clean-up after worker %d failed", pid)
            code = os.waitstatus_to_exitcode(status)
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            if self._stopping:
                if code != 0:
                    self._failed_exits += 1
                    log.warning("quizsession: worker %d (pid %d) %s", worker.index, pid, how)
                continue
            self._died(worker, how)

    def _died(self, worker: _Worker, how: str) -> None:
        index = worker.index
        lived = time.monotonic() - worker.started
        if lived < self._quick_s:
            self._quick_deaths[index] += 1
        else:
            self._quick_deaths[index] = 0
        deaths = self._quick_deaths[index]
        if deaths >= self._max_quick:
            log.error(
                "quizsession: worker %d (pid %d) %s after %.1fs; it died at start %d times "
                "in a row: stopping",
                index,
                worker.pid,
                how,
                lived,
                deaths,
            )
            self._gave_up = True
            self._begin_stop(signal.SIGTERM)
            return
        delay = min(MAX_BACKOFF_S, RESTART_BACKOFF_S * 2 ** max(0, deaths - 1)) if deaths else 0.0
        log.warning(
            "quizsession: worker %d (pid %d) %s after %.1fs; restarting it in %.1fs",
            index,
            worker.pid,
            how,
            lived,
            delay,
        )
        self._pending[index] = time.monotonic() + delay

    def _restart_due(self) -> None:
        now = time.monotonic()
        for index, at in list(self._pending.items()):
            if at <= now:
                del self._pending[index]
                self._spawn(index)
                self.restarts += 1
                pids = [w.pid for w in self._workers.values() if w.index == index]
                log.warning("quizsession: worker %d restarted (pid %s)", index, pids[0])

    # -- signals ----------------------------------------------------------------------

    def _on_signal(self, sig: int, _frame: FrameType | None) -> None:
        self._signals.append(sig)  # handled by the loop (woken by the wake-up fd)

    def _handle_signals(self) -> None:
        signals, self._signals = self._signals, []
        for sig in signals:
            self._stop_signals += 1
            if self._stop_signals == 1:
                log.info(
                    "quizsession: signal %d: telling %d worker(s) to drain", sig, len(self._workers)
                )
            else:
                log.warning("quizsession: second signal %d: workers exit now", sig)
                self._second = sig
            self._begin_stop(sig)

    def _begin_stop(self, sig: int) -> None:
        if not self._stopping:
            self._stopping = True
            self._pending.clear()
            if self._on_stop is not None:
                self._on_stop()
        for pid in self._workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    # -- the parent's loop ------------------------------------------------------------

    def run(self) -> int:
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        previous_fd = signal.set_wakeup_fd(self._wake_w)
        previous = {
            sig: signal.signal(sig, handler)
            for sig, handler in (
                (signal.SIGTERM, self._on_signal),
                (signal.SIGINT, self._on_signal),
                (signal.SIGCHLD, lambda _s, _f: None),
            )
        }
        try:
            for index in range(self.count):
                self._spawn(index)
            log.info(
                "quizsession: %d workers (pids %s), supervised by pid %d",
                self.count,
                " ".join(str(pid) for pid in self._workers),
                self._parent,
            )
            self._loop()
            log.info("quizsession: every worker stopped (%d restart(s) in all)", self.restarts)
        finally:
            signal.set_wakeup_fd(previous_fd)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            os.close(self._wake_r)
            os.close(self._wake_w)
        if self._second:
            return 128 + self._second
        if self._gave_up:
            return self._startup_failure
        return 1 if self._failed_exits else 0

    def _loop(self) -> None:
        while True:
            self._handle_signals()
            self._reap()
            if self._stopping and not self._workers:
                return
            if not self._stopping:
                self._restart_due()
            timeout = None
            if self._pending:
                timeout = max(0.0, min(self._pending.values()) - time.monotonic())
            with contextlib.suppress(InterruptedError):
                select.select([self._wake_r], [], [], timeout)
            with contextlib.suppress(BlockingIOError):
                while os.read(self._wake_r, 512):
                    pass
