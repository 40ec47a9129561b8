"""What the command groups share: options, error output, the store, Temporal, the API client."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

PathsArg = Annotated[list[Path], typer.Argument(help="Journey YAML files or folders.")]

ApiOption = Annotated[
    str | None,
    typer.Option("--api", help="Do it through the engine's API at this URL instead of locally."),
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key", envvar="JOURNEYS_API_KEY", help="API key for --api.", show_default=False
    ),
]
OfflineOption = Annotated[
    bool,
    typer.Option(
        "--offline",
        help="Do not contact Tellescope (keep the journey record ids known from earlier versions).",
    ),
]


def fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def database_url(url: str | None = None) -> str:
    from settings import EngineSettings

    return url or EngineSettings().database_url


def open_store(url: str | None = None, *, migrate: bool) -> Engine:
    """The engine's database (DATABASE_URL unless `url`). Commands that write migrate it to the
    newest schema first (`migrate=True`); read-only commands only open it, and stop with a clear
    message when it is not migrated (they never change a database's schema)."""
    from store.db import current_revisions, get_engine, head_revisions, upgrade_database

    url = database_url(url)
    if migrate:
        return upgrade_database(url)
    engine = get_engine(url)
    current, head = current_revisions(engine), head_revisions()
    if current != head:
        at = ", ".join(sorted(current)) or "no schema"
        fail(
            f"the database is not migrated (at {at}, newest {', '.join(sorted(head))}):"
            " run `journeys db upgrade` (or deploy, which migrates it)"
        )
    return engine


def default_by() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment
        return "cli"


def print_compile_errors(texts: list[str]) -> None:
    for text in texts:
        typer.echo(text, err=True)
    typer.echo(f"{len(texts)} error{'s' if len(texts) != 1 else ''}", err=True)


def api_call(method: str, api: str, path: str, api_key: str | None, **kwargs):
    import httpx

    if not api_key:
        fail("--api needs an API key: --api-key or JOURNEYS_API_KEY (journeys api-key create)")
    try:
        response = httpx.request(
            method,
            api.rstrip("/") + path,
            headers={"Authorization": f"API_KEY {api_key}"},
            timeout=120,
            **kwargs,
        )
    except httpx.HTTPError as error:
        fail(f"{api} not reachable: {error}")
    try:
        body = response.json()
    except ValueError:
        body = {"message": response.text}
    if response.status_code >= 400:
        errors = (body.get("info") or {}).get("errors") if isinstance(body, dict) else None
        if response.status_code == 422 and errors and all("text" in e for e in errors):
            print_compile_errors([e["text"] for e in errors])
            raise typer.Exit(1)
        message = body.get("message") if isinstance(body, dict) else body
        fail(f"{response.status_code} {message}")
    return body


def run(coroutine):
    """Run a coroutine; commands that connected to Temporal exit hard afterwards (the SDK's
    Rust threads can crash an orderly interpreter exit: sdk-python #300)."""
    import asyncio

    return asyncio.run(coroutine)


def hard_exit(code: int = 0) -> None:
    import os
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


async def temporal_client_or_reason():
    from settings import EngineSettings
    from temporal_connection import TemporalConnectionError, connect_temporal

    try:
        return await connect_temporal(EngineSettings(), timeout=5.0), None
    except TemporalConnectionError as error:  # one line: address, TLS, why
        return None, str(error)
