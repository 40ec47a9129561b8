"""`journeys`: the command line for journey authors and operators.

Each command is a thin shell over a package that does the work (compiler, services, sandbox, ...),
so the same behaviour is reachable from tests and the API without going through the CLI. One
module per command group:

| module | commands |
|---|---|
| `cli.authoring` | validate, graph, import |
| `cli.db` | db upgrade, db current |
| `cli.deploy` | deploy, deployments, diff, rollback, delete |
| `cli.pause_cmd` | pause, resume |
| `cli.migrate_cmd` | migrate (dry run, apply, undo) |
| `cli.api_keys` | api-key create, list, revoke |
| `cli.webhooks` | webhooks configure |
| `cli.api_cmd` | api |
| `cli.simulate_cmd` | simulate |
| `cli.test_cmd` | test |
| `cli.dev_cmd` | dev |
| `cli.why` | why |

`cli.common` holds what they share (options, the store, Temporal, calls to the API).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed_version
from typing import Annotated

import typer

from cli import api_cmd, api_keys, authoring, db, deploy, migrate_cmd, pause_cmd, webhooks, why
from cli.dev_cmd import dev
from cli.help_examples import epilog
from cli.simulate_cmd import simulate
from cli.test_cmd import test

DISTRIBUTION = "journey-engine"

# add_completion: typer's --install-completion / --show-completion (bash, zsh, fish, PowerShell).
app = typer.Typer(
    name="journeys",
    help="Validate, compile, visualise and run Tellescope-compatible patient journeys on Temporal.",
    no_args_is_help=True,
    add_completion=True,
)


def engine_version() -> str:
    try:
        return installed_version(DISTRIBUTION)
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"journeys {engine_version()}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the engine's version and exit.",
        ),
    ] = False,
) -> None:
    """Validate, compile, visualise and run Tellescope-compatible patient journeys on Temporal."""


app.command(epilog=epilog("validate"))(authoring.validate)
app.command(epilog=epilog("graph"))(authoring.graph)
app.command(name="import", epilog=epilog("import"))(authoring.import_)
app.add_typer(db.app, name="db")
app.command(epilog=epilog("deploy"))(deploy.deploy)
app.command(epilog=epilog("deployments"))(deploy.deployments)
app.command(epilog=epilog("diff"))(deploy.diff)
app.command(epilog=epilog("rollback"))(deploy.rollback)
app.command(epilog=epilog("delete"))(deploy.delete)
app.command(epilog=epilog("pause"))(pause_cmd.pause)
app.command(epilog=epilog("resume"))(pause_cmd.resume)
app.command(epilog=epilog("migrate"))(migrate_cmd.migrate)
app.add_typer(api_keys.app, name="api-key")
app.add_typer(webhooks.app, name="webhooks")
app.command(name="api", epilog=epilog("api"))(api_cmd.api_server)
app.command(name="simulate", epilog=epilog("simulate"))(simulate)
app.command(name="test", epilog=epilog("test"))(test)
app.command(name="dev", epilog=epilog("dev"))(dev)
app.command(name="why", epilog=epilog("why"))(why.why)


def main() -> None:  # pragma: no cover - console entry point
    app()
