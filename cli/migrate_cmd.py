"""`journeys migrate`: move a journey's running enrollments to another version
(docs/live-change.md §3, docs/decisions.md D29): `--dry-run` reports and changes nothing;
without it the enrollments move in batches with progress and an audit row each (`--id` of an
interrupted migration resumes it); `--undo MIGRATION` moves them back."""

from __future__ import annotations

import json
from typing import Annotated, Literal

import typer

from cli.common import ApiKeyOption, ApiOption, api_call, fail, hard_exit, open_store, run


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
    migration_id: Annotated[
        str | None, typer.Option("--id", help="Resume the migration of this id.")
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=1000, help="Enrollments per batch.")
    ] = 100,
    by: Annotated[str | None, typer.Option("--by", help="Who migrates (default: you).")] = None,
    output: Annotated[str, typer.Option("--format", help="text | json")] = "text",
    api: ApiOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Move running enrollments on other versions to --to. With --dry-run: what each waits for
    now and would wait for after (counts per step, each patient, steps cancelled or re-timed),
    changing nothing."""
    from cli.common import default_by

    by = by or default_by()
    if output not in ("text", "json"):
        fail(f'--format: "{output}" is not text or json')
    if undo is not None:
        if api is not None:
            done = api_call("POST", api, f"/v1/migrations/{undo}/undo", api_key)
            for report in done["reports"]:
                _print_report(report, output)
            return
        hard_exit(run(_undo_local(undo, by, batch_size, output)))
    if to is None:
        fail("--to VERSION is required")
    if on_removed not in ("cancel", "keep"):
        fail(f'--on-removed: "{on_removed}" is not cancel or keep')
    from services.errors import InvalidInput
    from services.migration import parse_mapping

    try:
        mapping = parse_mapping(map_ or [])
    except InvalidInput as error:
        fail(str(error))
    policy: Literal["cancel", "keep"] = "keep" if on_removed == "keep" else "cancel"
    if api is not None:
        body = {
            "toVersion": to,
            "map": mapping,
            "onRemoved": policy,
            "dryRun": dry_run,
            "batchSize": batch_size,
        }
        if migration_id is not None:
            body["migrationId"] = migration_id
        answer = api_call("POST", api, f"/v1/journeys/{journey}/migrations", api_key, json=body)
        if dry_run:
            _print(answer, output)
        else:
            _print_report(answer, output)
        return
    if dry_run:
        hard_exit(run(_local(journey, to or "", mapping, policy, output)))
    hard_exit(
        run(_apply_local(journey, to or "", mapping, policy, by, migration_id, batch_size, output))
    )


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


async def _apply_local(
    journey: str,
    to: str,
    mapping: dict[str, str],
    policy: Literal["cancel", "keep"],
    by: str,
    migration_id: str | None,
    batch: int,
    output: str,
) -> int:
    import dataclasses

    from cli.common import temporal_client_or_reason
    from services.errors import InvalidInput, NotFound
    from services.journeys import resolve_journey
    from services.migration import MigrationProgress, apply_migration
    from store.ledger import Ledger
    from store.migration_audit import MigrationAudit
    from store.plans import PlanStore

    engine = open_store(migrate=True)  # the audit table may be new
    plans = PlanStore(engine)
    client, reason = await temporal_client_or_reason()
    if client is None:
        typer.echo(f"error: {reason} (nothing migrated)", err=True)
        return 1

    def progress(step: MigrationProgress) -> None:
        typer.echo(f"migrate: {step.done}/{step.total}", err=output == "json")

    try:
        row = resolve_journey(plans, journey)
        report = await apply_migration(
            client,
            plans,
            Ledger(engine),
            MigrationAudit(engine),
            row.journey_id,
            to,
            mapping,
            policy,
            by=by,
            migration_id=migration_id,
            batch_size=batch,
            progress=progress,
        )
    except (NotFound, InvalidInput) as error:
        typer.echo(f"error: {error}", err=True)
        return 1
    _print_report(dataclasses.asdict(report), output)
    return 1 if report.failed or report.pending else 0


async def _undo_local(migration_id: str, by: str, batch: int, output: str) -> int:
    import dataclasses

    from cli.common import temporal_client_or_reason
    from services.errors import NotFound
    from services.migration import undo_migration
    from store.migration_audit import MigrationAudit
    from store.plans import PlanStore

    engine = open_store(migrate=True)
    client, reason = await temporal_client_or_reason()
    if client is None:
        typer.echo(f"error: {reason} (nothing undone)", err=True)
        return 1
    try:
        reports = await undo_migration(
            client, PlanStore(engine), MigrationAudit(engine), migration_id, by=by, batch_size=batch
        )
    except NotFound as error:
        typer.echo(f"error: {error}", err=True)
        return 1
    for report in reports:
        _print_report(dataclasses.asdict(report), output)
    return 1 if any(r.failed or r.pending for r in reports) else 0


def _print_report(report: dict, output: str) -> None:
    if output == "json":
        typer.echo(json.dumps(report, indent=1))
        return
    undoes = f" (undoes {report['undoes']})" if report.get("undoes") else ""
    typer.echo(
        f"migration {report['migrationId']}{undoes}: {report['journeyId']} -> version"
        f" {report['toVersion']}: {len(report['migrated'])} migrated, {len(report['kept'])} kept,"
        f" {len(report['alreadyOnTarget'])} already there, {len(report['notRunning'])} not"
        f" running, in {report['batches']} batch(es)"
    )
    for what in ("pending", "failed"):
        if report[what]:
            typer.echo(
                f"{what} (run again with --id {report['migrationId']}): {', '.join(report[what])}",
                err=True,
            )


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
                after = "kept: the enrollment stays on its version (--on-removed keep)"
            else:
                after = f"{move['toStepId']} ({move['change']})"
            typer.echo(f"  {move['stepId']}{due} -> {after}")
        for wait in one["listening"]:
            typer.echo(f"  listening for {wait}")
    typer.echo(
        f"already on {preview['toVersion']}: {len(preview['alreadyOnTarget'])};"
        f" not running: {len(preview['notRunning'])}"
    )
