"""`journeys webhooks`: point Tellescope's record webhooks at the engine."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import fail, run
from cli.help_examples import epilog

app = typer.Typer(help="Tellescope record webhooks into the engine.", no_args_is_help=True)


@app.command("configure", epilog=epilog("webhooks configure"))
def webhooks_configure(
    url: Annotated[str, typer.Option("--url", help="Public URL of POST /v1/webhooks/tellescope.")],
) -> None:
    """Point Tellescope's record webhooks at the engine (POST /v1/configure-webhooks), signed
    with WEBHOOK_SECRET, which the API verifies deliveries with."""
    from settings import ApiSettings, SettingsError, load_settings

    try:
        secret = load_settings(ApiSettings).webhook_secret
    except SettingsError as error:
        fail(str(error.code).removeprefix("error: "))
    if not secret:
        fail(
            "set WEBHOOK_SECRET (more than 15 random characters, e.g. from"
            " `python -c 'import secrets; print(secrets.token_urlsafe(32))'`) for both this"
            " command and the API"
        )
    run(_configure_webhooks(url, secret))


async def _configure_webhooks(url: str, secret: str) -> None:
    from temporalio.exceptions import ApplicationError

    from tellescope.client import TellescopeClient

    tellescope = TellescopeClient.from_settings()
    try:
        await tellescope.request(
            "POST", "/v1/configure-webhooks", body={"url": url, "secret": secret}
        )
    except ApplicationError as error:
        fail(f"Tellescope: {error.message}")
    finally:
        await tellescope.aclose()
    typer.echo(f"Tellescope ({tellescope.settings.base_url}) will deliver record webhooks to {url}")
