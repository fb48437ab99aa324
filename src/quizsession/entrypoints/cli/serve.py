"""``quizsession serve`` and ``quizsession migrate``: the commands that run the
service or prepare its store (the serving itself: ``serving.py``; the demo:
``demo.py``)."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import socket
import sys
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer

from quizsession.app.ports import StoreError
from quizsession.bootstrap import (
    Container,
    build,
    make_store,
    use_worker_metric_files,
    worker_metrics_gone,
)
from quizsession.entrypoints.cli.common import StoreOpt, cli_settings, fail, store_failure
from quizsession.entrypoints.cli.demo import banner, demo_admin_key, http_url, load_demo
from quizsession.entrypoints.run_dir import private_run_dir, release_run_dir
from quizsession.entrypoints.serving import (
    DRAIN_TIMEOUT_S,
    STARTUP_FAILURE,
    CannotListen,
    HeldLogs,
    listen_socket,
    serve_forever,
)
from quizsession.entrypoints.workers import Supervisor, listen_group
from quizsession.observability import configure_logging
from quizsession.settings import Settings

WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        max=256,
        help="Worker processes serving on the one port (default: QUIZSESSION_WORKERS, "
        "else the number of CPUs; 1: one process).",
    ),
]


def worker_count(settings: Settings) -> int:
    """``settings.workers``, else the number of CPUs this process may use; one
    on a store in memory (one process holds it: more is refused)."""
    in_memory = urlsplit(settings.store_url).scheme == "memory"
    if settings.workers is not None:
        if settings.workers > 1 and in_memory:
            fail("a memory:// store is held by one process: use --workers 1", 2)
        return settings.workers
    if in_memory:
        return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8002).")] = None,
    store_url: StoreOpt = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Store the sample quiz; print an invite link, an invite token for "
            "the curl tour (two new demo candidates on every start) and an admin key.",
        ),
    ] = False,
    drain_timeout: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="On SIGTERM: at most this many seconds to let admitted requests finish.",
        ),
    ] = DRAIN_TIMEOUT_S,
    workers: WorkersOpt = None,
) -> None:
    """Run the HTTP service.

    SIGTERM drains it: new work is refused with 503 draining, live sockets are
    told to reconnect, in-flight writes finish, then it exits 0. A second signal
    exits at once. A port in use is refused before anything starts (exit 3).
    With several workers, a parent process binds the port and supervises them:
    it forwards SIGTERM, restarts a worker that dies, and exits 3 if workers
    keep dying at start."""
    overrides: dict[str, Any] = {
        "host": host,
        "port": port,
        "store_url": store_url,
        "workers": workers,
    }
    settings = cli_settings(**overrides)
    count = worker_count(settings)
    try:
        # Several workers: one socket each on the port (see ``listen_group``).
        listeners = (
            listen_group(settings.host, settings.port, count)
            if count > 1
            else [listen_socket(settings.host, settings.port)]
        )
    except CannotListen as exc:
        if exc.in_use:
            fail(
                f"port {settings.port} on {settings.host} is in use: choose another "
                "with --port N (or: make serve PORT=N)",
                STARTUP_FAILURE,
            )
        fail(f"cannot listen on {exc}", STARTUP_FAILURE)
    listener = listeners[0]
    bound = listener.getsockname()[1]  # --port 0: the one the system chose
    generated_key = None
    if demo and not settings.api_keys:
        generated_key = demo_admin_key(settings.store_url)
        overrides["api_keys"] = f"admin={generated_key}"
    settings = cli_settings(**{**overrides, "port": bound, "workers": count})
    try:
        container = build(settings)
    except ValueError as exc:
        for sock in listeners:
            sock.close()
        fail(str(exc), 2)
    configure_logging(settings.log_level)
    run = Serving(
        settings, listeners, demo=demo, generated_key=generated_key, drain_timeout_s=drain_timeout
    )
    try:
        code = run.worker(container) if count == 1 else run.supervise(count)
    finally:
        for sock in listeners:
            sock.close()
    if code:
        raise typer.Exit(code)


class Serving:
    """One process serving (``worker``), or a parent supervising ``count`` of
    them on the same port, one of ``listeners`` each (``supervise``;
    ``entrypoints/workers.py``)."""

    def __init__(
        self,
        settings: Settings,
        listeners: list[socket.socket],
        *,
        demo: bool,
        generated_key: str | None,
        drain_timeout_s: float,
    ) -> None:
        self.settings = settings
        self.drain_timeout_s = drain_timeout_s
        self.listeners = listeners
        self.listener = listeners[0]
        self.demo = demo
        self.generated_key = generated_key
        self.url = http_url(settings.host, settings.port)
        # The pid to signal: this process (the parent, when it runs workers).
        self.pid = os.getpid()

    def worker(
        self,
        container: Container,
        *,
        demo: bool | None = None,
        listener: socket.socket | None = None,
        on_demo_loaded: Callable[[], None] | None = None,
    ) -> int:
        """Serve on ``listener`` (default: the first) until drained; the exit code.
        ``on_demo_loaded`` runs once the demo is stored (before the port is served)."""
        from quizsession.entrypoints.http.app import create_app

        demo = self.demo if demo is None else demo
        url = self.url
        rows: list[tuple[str, str]] = []
        hooks = []
        if demo:

            async def demo_hook(c: Container) -> None:
                rows.extend(await load_demo(c, c.settings.base_url or url))
                if on_demo_loaded is not None:
                    on_demo_loaded()

            hooks.append(demo_hook)
        held = HeldLogs() if demo else None

        def on_listening() -> None:
            if demo:
                key = self.generated_key or "(from QUIZSESSION_API_KEYS)"
                admin = ("admin key", f"{key}   (header X-API-Key; admin page {url}/admin)")
                note = f"quizsession is running on {url} (pid {self.pid}); logs follow."
                sys.stdout.write(banner([*rows, admin], note))
                sys.stdout.flush()
            if held is not None:
                held.release()

        try:
            asgi = create_app(container, on_ready=hooks)
            return serve_forever(
                asgi,
                container.settings,
                container.hub,
                drain_timeout_s=self.drain_timeout_s,
                listener=self.listener if listener is None else listener,
                on_listening=on_listening,
            )
        finally:
            if held is not None:
                held.release()

    def supervise(self, count: int) -> int:
        """Fork ``count`` workers on the listener and look after them. They share
        a private directory that lives as long as this process: their metric
        files and, without Redis, their live state (a small SQLite file, so
        leases die with the service)."""
        run_dir = private_run_dir()
        live_file = None if self.settings.redis_url else os.path.join(run_dir, "live.db")
        metrics_dir = os.path.join(run_dir, "metrics")
        os.mkdir(metrics_dir, 0o700)

        def main(index: int, generation: int) -> int:
            # Its own socket only: the others' close with their workers.
            mine = self.listeners[index]
            for sock in self.listeners:
                if sock is not mine:
                    sock.close()
            use_worker_metric_files(metrics_dir)
            # The demo is loaded (and its banner printed) once, by the first worker;
            # if that fails, the first worker's next start tries again (and a demo
            # that never loads stops the service like any start failure) rather
            # than serving without the banner.
            container = build(self.settings, live_file=live_file, metrics_dir=metrics_dir)
            first = self.demo and index == 0 and not demo_loaded.value
            return self.worker(
                container, demo=first, listener=mine, on_demo_loaded=mark_demo_loaded
            )

        demo_loaded = multiprocessing.Value("b", 0, lock=False)

        def mark_demo_loaded() -> None:
            demo_loaded.value = 1

        def stop_listening() -> None:
            # The workers' copies close as each finishes its drain: then the
            # port refuses connections, as one process's does.
            for sock in self.listeners:
                sock.close()

        supervisor = Supervisor(
            count,
            main,
            startup_failure=STARTUP_FAILURE,
            on_stop=stop_listening,
            on_reaped=lambda pid: worker_metrics_gone(metrics_dir, pid),
        )
        try:
            return supervisor.run()
        finally:
            release_run_dir(run_dir)


def migrate(store_url: StoreOpt = None) -> None:
    """Apply the store's schema migrations and exit.

    On PostgreSQL under an advisory lock, safe while instances run. Instances
    also migrate when they start; run this first to upgrade the schema once,
    before a rolling deploy."""
    settings = cli_settings(store_url=store_url)

    async def work() -> str:
        store = make_store(settings.store_url, pg_partitions=settings.pg_partitions)
        await store.open()
        try:
            version = await store.schema_version()
            return "schema ready" if version is None else f"schema version {version}"
        finally:
            await store.close()

    try:
        outcome = asyncio.run(work())
    except ValueError as exc:
        fail(str(exc), 2)
    except StoreError as exc:
        store_failure(exc, settings)
    scheme = urlsplit(settings.store_url).scheme
    typer.echo(f"{scheme}: migrations applied, {outcome}")
