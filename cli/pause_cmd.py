"""`journeys pause` and `journeys resume`: one enrollment, or every running enrollment of a
journey in batches with progress (docs/decisions.md D28), locally (DATABASE_URL and Temporal)
or through the engine's API (`--api`)."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from cli.common import (
    ApiKeyOption,
    ApiOption,
    api_call,
    default_by,
    hard_exit,
    open_store,
    run,
    temporal_client_or_reason,
)

JourneyArg = Annotated[str, typer.Argument(help="Journey id (readable or Tellescope).")]
EnduserArg = Annotated[
    str | None, typer.Argument(help="One enduser's enrollment (default: every running one).")
]
ByOption = Annotated[
    str | None, typer.Option("--by", help="Who does it (default: your user name).")
]
BatchOption = Annotated[
    int, typer.Option("--batch-size", min=1, max=1000, help="Enrollments signalled per batch.")
]


def pause(
    journey: JourneyArg,
    enduser: EnduserArg = None,
    api: ApiOption = None,
    api_key: ApiKeyOption = None,
    by: ByOption = None,
    batch_size: BatchOption = 100,
) -> None:
    """Pause a journey's running enrollments (or one enduser's): due steps wait until resumed;
    events are still recorded. Idempotent."""
    _pause_or_resume("pause", journey, enduser, api, api_key, by, batch_size)


def resume(
    journey: JourneyArg,
    enduser: EnduserArg = None,
    api: ApiOption = None,
    api_key: ApiKeyOption = None,
    by: ByOption = None,
    batch_size: BatchOption = 100,
) -> None:
    """Resume paused enrollments: steps that fell due meanwhile run, or are skipped when the
    journey says `onResume: skipOverdue`. Idempotent."""
    _pause_or_resume("resume", journey, enduser, api, api_key, by, batch_size)


def _pause_or_resume(
    verb: Literal["pause", "resume"],
    journey: str,
    enduser: str | None,
    api: str | None,
    api_key: str | None,
    by: str | None,
    batch_size: int,
) -> None:
    if api is not None:
        if enduser is not None:
            api_call("POST", api, f"/v1/journeys/{journey}/enrollments/{enduser}/{verb}", api_key)
            typer.echo(f"{journey}: {enduser} {verb}d")
            return
        report = api_call(
            "POST", api, f"/v1/journeys/{journey}/{verb}", api_key, json={"batchSize": batch_size}
        )
        _print_report(report)
        raise typer.Exit(1 if report["failed"] else 0)
    hard_exit(run(_local(verb, journey, enduser, by or default_by(), batch_size)))


def _print_report(report: dict) -> None:
    typer.echo(
        f"{report['journeyId']}: {report['action']} delivered to {len(report['signalled'])}"
        f" enrollment(s) in {report['batches']} batch(es);"
        f" {len(report['notRunning'])} not running"
    )
    if report["failed"]:
        typer.echo(f"failed (Temporal; run it again): {', '.join(report['failed'])}", err=True)


async def _local(
    verb: Literal["pause", "resume"], journey: str, enduser: str | None, by: str, batch: int
) -> int:
    import dataclasses

    from services import pausing
    from services.errors import NotFound
    from services.journeys import resolve_journey
    from store.ledger import Ledger
    from store.plans import PlanStore

    engine = open_store(migrate=False)
    try:
        row = resolve_journey(PlanStore(engine), journey)
    except NotFound as error:
        typer.echo(f"error: {error}", err=True)
        return 1
    client, reason = await temporal_client_or_reason()
    if client is None:
        typer.echo(f"error: {reason} (nothing {verb}d)", err=True)
        return 1
    if enduser is not None:
        try:
            await pausing.pause_enrollment(client, row.journey_id, enduser, verb, by=by)
        except NotFound as error:
            typer.echo(f"error: {error}", err=True)
            return 1
        typer.echo(f"{row.journey_id}: {enduser} {verb}d")
        return 0

    def progress(step: pausing.PauseProgress) -> None:
        typer.echo(f"{verb}: {step.done}/{step.total}")

    report = await pausing.pause_journey(
        client, Ledger(engine), row.journey_id, verb, by=by, batch_size=batch, progress=progress
    )
    _print_report(dataclasses.asdict(report))
    return 1 if report.failed else 0
