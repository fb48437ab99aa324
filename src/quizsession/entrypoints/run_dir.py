"""The private directory the worker processes of ``serve --workers N`` share on
one machine: their live-state file (without Redis) and their metric files.

It lives as long as the service: the parent creates it, holds an exclusive
``flock`` on a file inside it (the workers inherit that open file, so the lock
lasts while any of them runs) and removes it on its way out. A service killed
with ``kill -9`` cannot clean up: the next start removes the directories that
services of this user left, those whose lock is free and whose process is gone.
A directory still locked, or whose process runs, or that is another user's, is
never touched (the lock also covers a service in another PID namespace sharing
the same temporary directory).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import tempfile

RUN_DIR_PREFIX = "quizsession-run-"
ALIVE_FILE = ".alive"
_RUN_DIR = re.compile(re.escape(RUN_DIR_PREFIX) + r"(\d+)-")
_held: dict[str, int] = {}  # run directory -> the locked file's descriptor


def private_run_dir(parent: str | None = None) -> str:
    """A new run directory (mode 0700) under ``parent`` (the temporary
    directory), named for this process and locked while it lives; the
    directories of dead services are removed first."""
    parent = parent or tempfile.gettempdir()
    sweep_run_dirs(parent)
    # Made and locked under a name no sweep looks at, then renamed: a sweeper
    # never sees the directory unlocked.
    staging = tempfile.mkdtemp(prefix=f".{RUN_DIR_PREFIX}staging-", dir=parent)
    fd = os.open(os.path.join(staging, ALIVE_FILE), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        suffix = os.path.basename(staging).rsplit("-", 1)[-1]
        path = os.path.join(parent, f"{RUN_DIR_PREFIX}{os.getpid()}-{suffix}")
        os.rename(staging, path)
    except BaseException:
        os.close(fd)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _held[path] = fd
    return path


def release_run_dir(path: str) -> None:
    """Remove ``path`` and let its lock go (the service is stopping)."""
    shutil.rmtree(path, ignore_errors=True)
    fd = _held.pop(path, None)
    if fd is not None:
        os.close(fd)


def sweep_run_dirs(parent: str) -> list[str]:
    """Remove the run directories under ``parent`` left by dead services of this
    user; the paths removed."""
    removed: list[str] = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    for entry in entries:
        match = _RUN_DIR.match(entry.name)
        if match is None or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
        except OSError:
            continue
        if _alive(int(match.group(1))) or _locked(entry.path):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(entry.path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: nothing is sent, only whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    except (OverflowError, ValueError, OSError):
        return False  # not a pid at all: the lock decides
    return True


def _locked(path: str) -> bool:
    """True while a service holds the directory's lock."""
    try:
        fd = os.open(os.path.join(path, ALIVE_FILE), os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot tell: leave it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return True
    else:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
