"""``quizsession webhook add|list|remove|deliveries|redeliver``: webhook
endpoints and their delivery log, on the store (as the admin API does them).
A serving instance picks up the changes at its next delivery pass."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import typer

from quizsession.api.webhooks import WEBHOOK_EVENT_TYPES, WebhookEventType
from quizsession.bootstrap import Container
from quizsession.entrypoints.cli.common import StoreOpt, cli_settings, fail, run_command

webhook_app = typer.Typer(
    help="Signed webhooks to integrating backends: endpoints and deliveries.",
    no_args_is_help=True,
)
EndpointArg = Annotated[str, typer.Argument(help="The endpoint's id (wh_...).")]


def _when(at: float | None) -> str:
    if at is None:
        return "-"
    return (
        dt.datetime.fromtimestamp(at, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


@webhook_app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="The http or https URL events are POSTed to.")],
    event: Annotated[
        list[str] | None,
        typer.Option(
            help=f"An event type to send (repeat; default all): {', '.join(WEBHOOK_EVENT_TYPES)}."
        ),
    ] = None,
    secret: Annotated[
        str | None, typer.Option(help="The signing secret (whsec_...); default: generated.")
    ] = None,
    description: Annotated[str, typer.Option(help="A note for administrators.")] = "",
    store_url: StoreOpt = None,
) -> None:
    """Register an endpoint; prints its id and signing secret (shown only here)."""
    types: list[WebhookEventType] | None = None
    if event:
        unknown = [e for e in event if e not in WEBHOOK_EVENT_TYPES]
        if unknown:
            fail(f"unknown event type {unknown[0]!r} (one of {', '.join(WEBHOOK_EVENT_TYPES)})", 2)
        types = [t for t in WEBHOOK_EVENT_TYPES if t in event]

    async def work(c: Container) -> None:
        made = await c.webhooks.register(
            url=url, event_types=types, secret=secret, description=description
        )
        typer.echo(f"{made.id} {made.secret} {made.url} {','.join(made.event_types)}")

    run_command(cli_settings(store_url=store_url), work)


@webhook_app.command("list")
def list_(store_url: StoreOpt = None) -> None:
    """One line per endpoint: ID ENABLED URL EVENT-TYPES [why disabled]."""

    async def work(c: Container) -> None:
        for e in await c.webhooks.endpoints():
            state = "enabled" if e.enabled else "disabled"
            why = f" ({e.disabled_reason})" if e.disabled_reason else ""
            typer.echo(f"{e.id} {state} {e.url} {','.join(e.event_types)}{why}")

    run_command(cli_settings(store_url=store_url), work)


@webhook_app.command("remove")
def remove(endpoint_id: EndpointArg, store_url: StoreOpt = None) -> None:
    """Remove an endpoint and its delivery log."""

    async def work(c: Container) -> None:
        await c.webhooks.remove(endpoint_id)
        typer.echo(f"removed {endpoint_id}")

    run_command(cli_settings(store_url=store_url), work)


@webhook_app.command("deliveries")
def deliveries(
    endpoint_id: EndpointArg,
    status: Annotated[
        str | None, typer.Option(help="Only pending, delivered or failed ones.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    store_url: StoreOpt = None,
) -> None:
    """The endpoint's delivery log, newest first: ID STATUS ATTEMPTS LAST-STATUS
    NEXT-TRY TYPE ATTEMPT SEQ EVENT-ID [last error]."""
    if status not in (None, "pending", "delivered", "failed"):
        fail("--status is pending, delivered or failed", 2)
    chosen: Literal["pending", "delivered", "failed"] | None = status  # type: ignore[assignment]

    async def work(c: Container) -> None:
        found = await c.webhooks.deliveries(endpoint_id, status=chosen, limit=limit, offset=offset)
        for d in found:
            error = f" {d.last_error}" if d.last_error else ""
            typer.echo(
                f"{d.id} {d.status} {d.attempts} {d.last_status or '-'} {_when(d.next_try_at)} "
                f"{d.type} {d.attempt_id} {d.seq} {d.event_id}{error}"
            )

    run_command(cli_settings(store_url=store_url), work)


@webhook_app.command("redeliver")
def redeliver(
    endpoint_id: EndpointArg,
    delivery_id: Annotated[int, typer.Argument(help="The delivery's id (see deliveries).")],
    store_url: StoreOpt = None,
) -> None:
    """Send a delivery again (same webhook-id) at the next delivery pass."""

    async def work(c: Container) -> None:
        d = await c.webhooks.redeliver(endpoint_id, delivery_id)
        typer.echo(f"{d.id} {d.status} {d.type} {d.attempt_id} {d.seq} {d.event_id}")

    run_command(cli_settings(store_url=store_url), work)
