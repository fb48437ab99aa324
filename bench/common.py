"""Helpers shared by the scenario scripts (live, spike, deadline, coldstart): a raw
HTTP/1.1 client on asyncio streams, percentiles, process figures read from
``/proc`` (CPU, RSS), the fd limit, a py-spy profile summary and the report
printing (a small table, then one JSON line)."""

from __future__ import annotations

import asyncio
import json
import math
import os
import resource
import subprocess
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from testsupport.service import ServerProcess

HOST = "127.0.0.1"
JSON = dict[str, Any]

#: What every scenario relaxes on its server: the per-candidate and per-address
#: limits exist against abuse, and a benchmark is one address with many candidates.
LIMITS_ENV = {
    "QUIZSESSION_LOGIN_LIMIT_PER_MINUTE": "1000000",
    "QUIZSESSION_FAILED_LOGIN_LIMIT_PER_MINUTE": "1000000",
    "QUIZSESSION_WRITE_LIMIT_PER_SECOND": "1000000",
    "QUIZSESSION_LOG_LEVEL": "warning",
}


def raise_nofile() -> int:
    """Raise this process's soft fd limit to its hard limit (children inherit it,
    so a server spawned afterwards gets it too). Returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft


# -- statistics --------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (nan when empty)."""
    if not sorted_values:
        return math.nan
    index = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[index]


def summary_ms(seconds: Iterable[float]) -> JSON:
    """n, p50, p90, p99, max and mean in milliseconds of latencies in seconds."""
    values = sorted(seconds)
    n = len(values)
    return {
        "n": n,
        "p50_ms": round(percentile(values, 0.50) * 1000, 3),
        "p90_ms": round(percentile(values, 0.90) * 1000, 3),
        "p99_ms": round(percentile(values, 0.99) * 1000, 3),
        "max_ms": round(values[-1] * 1000, 3) if n else math.nan,
        "mean_ms": round(sum(values) / n * 1000, 3) if n else math.nan,
    }


def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b and not math.isnan(a) and not math.isnan(b) else math.nan


# -- /proc -------------------------------------------------------------------------------


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def self_cpu_s() -> float:
    t = os.times()
    return t.user + t.system


def proc_memory_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MiB: its resident memory now and its peak."""
    rss = hwm = math.nan
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
        elif line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) / 1024
    return rss, hwm


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs (idle and iowait count as idle)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(values[:8])
    return total - values[3] - values[4], total


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


# -- raw HTTP/1.1 --------------------------------------------------------------------------


def http_request(
    method: str,
    path: str,
    port: int,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    close: bool = False,
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body is not None:
        lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One response (status, body); Content-Length framing only (what the service
    sends for every JSON answer)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        lower = name.strip().lower()
        if lower == b"content-length":
            length = int(value)
        elif lower == b"transfer-encoding":
            raise RuntimeError("chunked responses are not supported by this client")
    body = await reader.readexactly(length) if length else b""
    return status, body


class HttpConn:
    """One keep-alive connection, one request at a time."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes]:
        if self._writer is None or self._reader is None:
            self._reader, self._writer = await asyncio.open_connection(HOST, self.port)
        self._writer.write(http_request(method, path, self.port, body, headers))
        return await read_response(self._reader)

    async def json(
        self,
        method: str,
        path: str,
        payload: object | None = None,
        headers: Mapping[str, str] | None = None,
        expect: int = 200,
    ) -> Any:
        body = None if payload is None else json.dumps(payload).encode()
        status, data = await self.request(method, path, body, headers)
        if status != expect:
            raise RuntimeError(f"{method} {path}: {status} {data[:300]!r}")
        return json.loads(data) if data else None

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            self._reader = None


async def one_shot(port: int, data: bytes) -> tuple[int, bytes]:
    """A new connection, one request (sent with ``Connection: close``), closed."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(data)
        return await read_response(reader)
    finally:
        writer.close()


# -- profiles ------------------------------------------------------------------------------


def start_profile(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    """py-spy (raw collapsed stacks, non-blocking) on ``pid`` for ``seconds``, or
    None when py-spy is not installed next to this interpreter."""
    spy = Path(os.environ.get("VIRTUAL_ENV", "")) / "bin" / "py-spy"
    if not spy.exists():
        import sys

        spy = Path(sys.executable).parent / "py-spy"
    if not spy.exists():
        return None
    return subprocess.Popen(
        [
            str(spy),
            "record",
            "-p",
            str(pid),
            "-d",
            str(max(1, round(seconds))),
            "-f",
            "raw",
            "-o",
            str(out),
            "--nonblocking",
            "--threads",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def finish_profile(proc: subprocess.Popen[bytes] | None, out: Path, top: int = 12) -> JSON:
    """Wait for py-spy, then summarise its collapsed stacks: the functions where
    the samples are (self) and the project/framework functions they pass through
    (inclusive), each as a share of all samples."""
    if proc is None:
        return {"error": "py-spy not available"}
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return {"error": "py-spy did not finish"}
    if not out.exists():
        return {"error": f"py-spy wrote nothing: {err.decode(errors='replace')[-300:]}"}
    return summarise_stacks(out.read_text().splitlines(), top)


def _short(frame: str) -> str:
    # "function (path/to/module.py:123)" -> "function (module.py)"
    name, _, where = frame.partition(" (")
    module = where.rsplit("/", 1)[-1].split(":", 1)[0].rstrip(")")
    return f"{name} ({module})" if module else name


_PROJECT = "quizsession/"
_ENTRY = ("(cli.py)", "(__main__.py)")


def summarise_stacks(lines: Sequence[str], top: int = 12) -> JSON:
    """Shares of all samples: by leaf function (``self``), by leaf with the
    deepest project frame above it (``self_in``), and by project function on the
    stack (``inclusive``; the CLI's start-up frames, on every stack, left out)."""
    own: Counter[str] = Counter()
    own_in: Counter[str] = Counter()
    through: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = 0
    for line in lines:
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        head = stack.split(";", 1)[0]
        if head.startswith("thread ("):
            # "thread (TID): name" -> the name without a pool index
            threads[head.partition(": ")[2].rstrip("_0123456789") or "?"] += count
        frames = [f for f in stack.split(";") if f and not f.startswith(("thread (", "process "))]
        if not frames:
            continue
        leaf = _short(frames[-1])
        own[leaf] += count
        project = [_short(f) for f in frames if _PROJECT in f]
        project = [f for f in project if not f.endswith(_ENTRY)]
        caller = project[-1] if project else "-"
        own_in[leaf if caller == leaf else f"{leaf} <- {caller}"] += count
        for name in dict.fromkeys(project):
            through[name] += count

    def share(counter: Counter[str]) -> list[list[object]]:
        return [[name, round(100 * n / total, 1)] for name, n in counter.most_common(top)]

    return {
        "samples": total,
        "threads_pct": share(threads),
        "self_pct": share(own),
        "self_in_pct": share(own_in),
        "inclusive_pct": share(through),
    }


def print_profile(profile: Mapping[str, Any], path: Path) -> None:
    if "error" in profile:
        print(f"profile: {profile['error']}")
        return
    print(f"profile ({profile['samples']} samples, py-spy raw stacks in {path}):")
    threads = ", ".join(f"{name} {pct}%" for name, pct in profile.get("threads_pct", []))
    print(f"  by thread: {threads}")
    print("  where the samples are (self %, <- the deepest quizsession frame above):")
    for name, pct in profile["self_in_pct"][:10]:
        print(f"    {pct:5.1f}%  {name}")
    print("  quizsession functions on the stack (inclusive %):")
    for name, pct in profile["inclusive_pct"][:10]:
        print(f"    {pct:5.1f}%  {name}")


# -- report ----------------------------------------------------------------------------------


def print_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(h) for h in header]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        print(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))


def _cell(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:.2f}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def json_line(payload: Mapping[str, Any]) -> str:
    """The final JSON line (NaN written as null so any JSON parser reads it)."""

    def clean(value: Any) -> Any:
        if isinstance(value, float) and math.isnan(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    return json.dumps(clean(dict(payload)), separators=(",", ":"))


def artifacts_dir() -> Path:
    """``test-artifacts/`` under the working directory (git-ignored): profiles and
    the summary of ``bench.all``."""
    path = Path("test-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def wall_sleep_until(t: float) -> None:
    delay = t - time.time()
    if delay > 0:
        time.sleep(delay)


INVITES_VALID_UNTIL = "2099-01-01"


async def invite_roster(
    conn: HttpConn, server: ServerProcess, quiz_id: str, count: int, prefix: str
) -> list[str]:
    """``count`` invite tokens for ``quiz_id``, in calls of the roster limit
    (10,000 a call); candidates named ``<prefix><n>``."""
    tokens: list[str] = []
    for begin in range(0, count, 10_000):
        roster = [
            {
                "name": f"{prefix}{i}",
                "email": f"{prefix}{i}@example.org",
                "valid_until": INVITES_VALID_UNTIL,
            }
            for i in range(begin, min(count, begin + 10_000))
        ]
        body = await conn.json(
            "POST",
            f"/admin/quizzes/{quiz_id}/invites",
            {"roster": roster},
            server.admin_headers,
            expect=201,
        )
        tokens.extend(item["token"] for item in body["invites"])
    return tokens
