"""`journeys db`: the engine's database (DATABASE_URL) and its migrations."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import database_url
from cli.help_examples import epilog

app = typer.Typer(help="The engine's database (DATABASE_URL): migrations.", no_args_is_help=True)

UrlOption = Annotated[
    str | None, typer.Option("--url", help="Database URL (default: DATABASE_URL).")
]


@app.command("upgrade", epilog=epilog("db upgrade"))
def db_upgrade(
    url: UrlOption = None,
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Apply the migrations (store/migrations) up to REVISION (default: the newest)."""
    from store.db import current_revisions, get_engine, upgrade_engine

    engine = get_engine(database_url(url))
    before = current_revisions(engine)
    upgrade_engine(engine, revision)
    after = current_revisions(engine)
    if before == after:
        typer.echo(f"database already at {', '.join(sorted(after)) or 'base'}")
    else:
        typer.echo(
            f"database upgraded from {', '.join(sorted(before)) or 'base'}"
            f" to {', '.join(sorted(after))}"
        )


@app.command("current", epilog=epilog("db current"))
def db_current(url: UrlOption = None) -> None:
    """Show the database's revision and the newest one."""
    from store.db import current_revisions, get_engine, head_revisions

    current = current_revisions(get_engine(database_url(url)))
    head = head_revisions()
    state = "up to date" if current == head else "needs `journeys db upgrade`"
    typer.echo(
        f"current {', '.join(sorted(current)) or 'base'}; newest {', '.join(sorted(head))}: {state}"
    )
