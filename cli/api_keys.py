"""`journeys api-key`: keys of the engine's API (stored hashed). `list` only reads the store;
`create` and `revoke` migrate it first."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import fail, open_store
from cli.help_examples import epilog

app = typer.Typer(help="API keys of the engine's API (stored hashed).", no_args_is_help=True)


def _api_keys(*, migrate: bool = True):
    from store.api_keys import ApiKeys

    return ApiKeys(open_store(migrate=migrate))


@app.command("create", epilog=epilog("api-key create"))
def api_key_create(
    name: Annotated[str, typer.Option("--name", help="What the key is for.")] = "",
) -> None:
    """Create a key and print it. It is shown only this once (only its hash is stored)."""
    key, row = _api_keys().create(name)
    typer.echo(key)
    typer.echo(
        f"API key {row.id}{f' ({name})' if name else ''} created; store it now:"
        " it cannot be shown again.",
        err=True,
    )


@app.command("list", epilog=epilog("api-key list"))
def api_key_list() -> None:
    """Key ids, names, creation and last use (never the keys)."""
    for row in _api_keys(migrate=False).list():
        state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
        used = f"last used {row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never used"
        typer.echo(
            f"{row.id}  {row.name or '-'}  created {row.created_at:%Y-%m-%d}  {used}  {state}"
        )


@app.command("revoke", epilog=epilog("api-key revoke"))
def api_key_revoke(key_id: Annotated[str, typer.Argument(help="The key id (jk_<id>.…).")]) -> None:
    """Revoke a key: requests with it are refused from now on."""
    key_id = key_id.removeprefix("jk_").split(".", 1)[0]
    if not _api_keys().revoke(key_id):
        fail(f"no active API key {key_id}")
    typer.echo(f"API key {key_id} revoked")
