"""`journeys api`: the engine's HTTP API under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer


def api_server(
    host: Annotated[
        str | None, typer.Option(help="Bind address (default API_HOST, 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default API_PORT, 8000).")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the engine's HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    from api.redaction import install_access_log_redaction
    from settings import ApiSettings, EngineSettings, SettingsError, load_settings

    try:  # checked here too, so a wrong setting stops the command before uvicorn starts
        settings = load_settings(ApiSettings)
        load_settings(EngineSettings)
    except SettingsError as error:
        typer.echo(str(error.code), err=True)
        raise typer.Exit(2) from None
    install_access_log_redaction()  # create_app installs it as well (api.redaction)
    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_level=log_level,
    )
