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

    from settings import ApiSettings

    settings = ApiSettings()
    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_level=log_level,
    )
