"""`journeys migrate`: preview moving a journey's running enrollments to another version
(docs/live-change.md §3). Only `--dry-run` is implemented (docs/decisions.md D29): without it,
and with `--undo`, the command stops with an error and changes nothing."""

from __future__ import annotations

import json
from typing import Annotated, Literal

import typer

from cli.common import ApiKeyOption, ApiOption, api_call, fail, hard_exit, open_store, run

NOT_BUILT = (
    "applying a migration (and --undo) is not implemented yet (docs/live-change.md §3):"
    " preview it with --dry-run; nothing was changed"
)


def migrate(
    journey: Annotated[str, typer.Argument(help="Journey id (readable or Tellescope).")],
    to: Annotated[str | None, typer.Option("--to", help="The version to move to.")] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="OLD_STEP=NEW_STEP (repeatable): a renamed step."),
    ] = None,
    on_removed: Annotated[
        str, typer.Option("--on-removed", help="cancel | keep: a pending step the target lacks.")
    ] = "cancel",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would change; change nothing.")
    ] = False,
    undo: Annotated[
        str | None, typer.Option("--undo", help="Move a migration's enrollments back.")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="text | json")] = "text",
    api: ApiOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """For every running enrollment on an older version: what it waits for now and would wait
    for on --to (counts per step, each patient, steps cancelled or re-timed)."""
    if undo is not None or not dry_run:
        fail(NOT_BUILT)
    if to is None:
        fail("--to VERSION is required")
    if on_removed not in ("cancel", "keep"):
        fail(f'--on-removed: "{on_removed}" is not cancel or keep')
    if output not in ("text", "json"):
        fail(f'--format: "{output}" is not text or json')
    from services.errors import InvalidInput
    from services.migration import parse_mapping

    try:
        mapping = parse_mapping(map_ or [])
    except InvalidInput as error:
        fail(str(error))
    policy: Literal["cancel", "keep"] = "keep" if on_removed == "keep" else "cancel"
    if api is not None:
        body = {"toVersion": to, "map": mapping, "onRemoved": policy, "dryRun": True}
        _print(
            api_call("POST", api, f"/v1/journeys/{journey}/migrations", api_key, json=body), output
        )
        return
    hard_exit(run(_local(journey, to or "", mapping, policy, output)))


async def _local(
    journey: str, to: str, mapping: dict[str, str], policy: Literal["cancel", "keep"], output: str
) -> int:
    import dataclasses

    from cli.common import temporal_client_or_reason
    from services.errors import InvalidInput, NotFound
    from services.journeys import resolve_journey
    from services.migration import preview_migration
    from store.ledger import Ledger
    from store.plans import PlanStore

    engine = open_store(migrate=False)
    plans = PlanStore(engine)
    client, reason = await temporal_client_or_reason()
    if client is None:
        typer.echo(f"error: {reason}", err=True)
        return 1
    try:
        row = resolve_journey(plans, journey)
        preview = await preview_migration(
            client, plans, Ledger(engine), row.journey_id, to, mapping, policy
        )
    except (NotFound, InvalidInput) as error:
        typer.echo(f"error: {error}", err=True)
        return 1
    _print(dataclasses.asdict(preview), output)
    return 0


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{step} {n}" for step, n in counts.items()) or "-"


def _print(preview: dict, output: str) -> None:
    if output == "json":
        typer.echo(json.dumps(preview, indent=1))
        return
    typer.echo(
        f"{preview['journeyId']}: {len(preview['enrollments'])} running enrollment(s) on other"
        f" versions -> version {preview['toVersion']} (dry run: nothing changed)"
    )
    typer.echo(f"waiting now:   {_counts(preview['waitingNow'])}")
    typer.echo(f"waiting after: {_counts(preview['waitingAfter'])}")
    typer.echo(f"cancelled:     {_counts(preview['cancelled'])}")
    typer.echo(f"re-timed:      {_counts(preview['retimed'])}")
    for one in preview["enrollments"]:
        if one["error"]:
            typer.echo(f"{one['enduserId']}: not previewed ({one['error']})")
            continue
        paused = ", paused" if one["paused"] else ""
        typer.echo(f"{one['enduserId']} (from {one['fromVersion']}{paused}):")
        for move in one["moves"]:
            due = f" due {move['dueAt']}" if move["dueAt"] else f" ({move['waitingFor']})"
            if move["change"] == "cancelled":
                after = "cancelled"
            elif move["change"] == "retimed":
                after = f"{move['toStepId']} re-timed, due {move['toDueAt']}"
            elif move["change"] == "keptOld":
                after = "kept on its old definition (not in the target)"
            else:
                after = f"{move['toStepId']} ({move['change']})"
            typer.echo(f"  {move['stepId']}{due} -> {after}")
        for wait in one["listening"]:
            typer.echo(f"  listening for {wait}")
    typer.echo(
        f"already on {preview['toVersion']}: {len(preview['alreadyOnTarget'])};"
        f" not running: {len(preview['notRunning'])}"
    )
