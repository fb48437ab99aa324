"""``quizsession serve`` and ``quizsession migrate``: the commands that run the
service or prepare its store (the serving itself: ``serving.py``; the demo:
``demo.py``)."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer

from quizsession.app.ports import StoreError
from quizsession.bootstrap import Container, build, make_store
from quizsession.entrypoints.cli.common import StoreOpt, cli_settings, fail, store_failure
from quizsession.entrypoints.cli.demo import banner, demo_admin_key, http_url, load_demo
from quizsession.entrypoints.serving import (
    DRAIN_TIMEOUT_S,
    STARTUP_FAILURE,
    CannotListen,
    HeldLogs,
    listen_socket,
    serve_forever,
)
from quizsession.observability import configure_logging


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
) -> None:
    """Run the HTTP service.

    SIGTERM drains it: new work is refused with 503 draining, live sockets are
    told to reconnect, in-flight writes finish, then it exits 0. A second signal
    exits at once. A port in use is refused before anything starts (exit 3)."""
    from quizsession.entrypoints.http.app import create_app

    overrides: dict[str, Any] = {"host": host, "port": port, "store_url": store_url}
    settings = cli_settings(**overrides)
    try:
        listener = listen_socket(settings.host, settings.port)
    except CannotListen as exc:
        if exc.in_use:
            fail(
                f"port {settings.port} on {settings.host} is in use: choose another "
                "with --port N (or: make serve PORT=N)",
                STARTUP_FAILURE,
            )
        fail(f"cannot listen on {exc}", STARTUP_FAILURE)
    bound = listener.getsockname()[1]  # --port 0: the one the system chose
    generated_key = None
    if demo and not settings.api_keys:
        generated_key = demo_admin_key(settings.store_url)
        overrides["api_keys"] = f"admin={generated_key}"
    settings = cli_settings(**{**overrides, "port": bound})
    try:
        container = build(settings)
    except ValueError as exc:
        listener.close()
        fail(str(exc), 2)
    configure_logging(settings.log_level)
    url = http_url(settings.host, bound)
    rows: list[tuple[str, str]] = []
    hooks = []
    if demo:

        async def demo_hook(c: Container) -> None:
            rows.extend(await load_demo(c, c.settings.base_url or url))

        hooks.append(demo_hook)
    held = HeldLogs() if demo else None

    def on_listening() -> None:
        if demo:
            key = generated_key or "(from QUIZSESSION_API_KEYS)"
            admin = ("admin key", f"{key}   (header X-API-Key; admin page {url}/admin)")
            note = f"quizsession is running on {url} (pid {os.getpid()}); logs follow."
            sys.stdout.write(banner([*rows, admin], note))
            sys.stdout.flush()
        if held is not None:
            held.release()

    try:
        asgi = create_app(container, on_ready=hooks)
        code = serve_forever(
            asgi,
            settings,
            container.hub,
            drain_timeout_s=drain_timeout,
            listener=listener,
            on_listening=on_listening,
        )
    finally:
        if held is not None:
            held.release()
        listener.close()
    if code:
        raise typer.Exit(code)


def migrate(store_url: StoreOpt = None) -> None:
    """Apply the store's schema migrations and exit.

    On PostgreSQL under an advisory lock, safe while instances run. Instances
    also migrate when they start; run this first to upgrade the schema once,
    before a rolling deploy."""
    settings = cli_settings(store_url=store_url)

    async def work() -> str:
        store = make_store(settings.store_url)
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
