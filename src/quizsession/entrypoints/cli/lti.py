"""``quizsession lti``: register the LMSs that launch quizzes (LTI 1.3), list
and remove them, and print the URLs an LMS administrator types in."""

from __future__ import annotations

from typing import Annotated

import msgspec
import typer

from quizsession.api.lti import LtiPlatformBody
from quizsession.app.lti.service import tool_urls
from quizsession.bootstrap import Container
from quizsession.entrypoints.cli.common import StoreOpt, cli_settings, fail, run_command

lti_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="LTI 1.3: launching from an LMS."
)


@lti_app.command("add-platform")
def add_platform(
    issuer: Annotated[str, typer.Option(help="The platform's issuer (platform id).")],
    client_id: Annotated[str, typer.Option(help="The client id the LMS gave this tool.")],
    deployment_id: Annotated[
        list[str], typer.Option(help="A deployment id (repeat the option for several).")
    ],
    auth_url: Annotated[str, typer.Option(help="The LMS's OIDC authentication URL.")],
    jwks_url: Annotated[str, typer.Option(help="The LMS's public key set URL.")],
    token_url: Annotated[
        str | None, typer.Option(help="The LMS's access token URL (for grades).")
    ] = None,
    token_audience: Annotated[
        str, typer.Option(help="The token endpoint's audience, when not its URL.")
    ] = "",
    store_url: StoreOpt = None,
) -> None:
    """Register an LMS (the same issuer and client id again updates it)."""
    try:
        body = msgspec.convert(
            {
                "issuer": issuer,
                "client_id": client_id,
                "deployment_ids": deployment_id,
                "auth_login_url": auth_url,
                "jwks_url": jwks_url,
                "token_url": token_url,
                "token_audience": token_audience,
            },
            LtiPlatformBody,
        )
    except msgspec.ValidationError as exc:
        fail(str(exc), 2)

    async def work(c: Container) -> None:
        platform = await c.lti.platforms.register(body)
        typer.echo(f"{platform.id} {platform.issuer} {platform.client_id}")

    run_command(cli_settings(store_url=store_url), work, create_store=True)


@lti_app.command("list")
def list_platforms(store_url: StoreOpt = None) -> None:
    """The registered LMSs: id, issuer, client id, deployment ids."""

    async def work(c: Container) -> None:
        for p in await c.lti.platforms.all():
            typer.echo(f"{p.id}\t{p.issuer}\t{p.client_id}\t{','.join(p.deployment_ids)}")

    run_command(cli_settings(store_url=store_url), work)


@lti_app.command("remove")
def remove_platform(
    platform_id: Annotated[str, typer.Argument(help="The id `lti list` shows.")],
    store_url: StoreOpt = None,
) -> None:
    """Forget a registered LMS: its launches are refused from now on."""

    async def work(c: Container) -> None:
        await c.lti.platforms.remove(platform_id)
        typer.echo(f"removed {platform_id}")

    run_command(cli_settings(store_url=store_url), work)


@lti_app.command("urls")
def urls(
    base_url: Annotated[
        str | None,
        typer.Option(help="The service's public URL (default: QUIZSESSION_BASE_URL)."),
    ] = None,
) -> None:
    """The URLs to type into the LMS when adding this service as a tool."""
    base = base_url or cli_settings().base_url
    if not base.startswith(("https://", "http://")):
        fail("pass --base-url https://your.host (or set QUIZSESSION_BASE_URL)", 2)
    found = tool_urls(base)
    typer.echo(f"OIDC login initiation URL: {found['login_url']}")
    typer.echo(f"Target link / launch URL:  {found['launch_url']}")
    typer.echo(f"Redirect URI(s):           {' '.join(found['redirect_urls'])}")
    typer.echo(f"Deep linking URL:          {found['deep_linking_url']}")
    typer.echo(f"Public keyset (JWKS) URL:  {found['jwks_url']}")
