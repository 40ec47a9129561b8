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

import typer

from cli import api_cmd, api_keys, authoring, db, deploy, migrate_cmd, pause_cmd, webhooks, why
from cli.dev_cmd import dev
from cli.simulate_cmd import simulate
from cli.test_cmd import test

app = typer.Typer(
    name="journeys",
    help="Validate, compile, visualise and run Tellescope-compatible patient journeys on Temporal.",
    no_args_is_help=True,
    add_completion=False,
)

app.command()(authoring.validate)
app.command()(authoring.graph)
app.command(name="import")(authoring.import_)
app.add_typer(db.app, name="db")
app.command()(deploy.deploy)
app.command()(deploy.deployments)
app.command()(deploy.diff)
app.command()(deploy.rollback)
app.command()(deploy.delete)
app.command()(pause_cmd.pause)
app.command()(pause_cmd.resume)
app.command()(migrate_cmd.migrate)
app.add_typer(api_keys.app, name="api-key")
app.add_typer(webhooks.app, name="webhooks")
app.command(name="api")(api_cmd.api_server)
app.command(name="simulate")(simulate)
app.command(name="test")(test)
app.command(name="dev")(dev)
app.command(name="why")(why.why)


def main() -> None:  # pragma: no cover - console entry point
    app()
