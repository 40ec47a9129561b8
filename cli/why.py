"""`journeys why ENDUSER [JOURNEY]`: where a patient is in each journey and why
(docs/operator-view.md §5): the timeline of `services.timeline` (the ledger, the Temporal
history, how the enrollment ended) and every trigger decision about the patient, fired or not
and why, in the terminal. Reads the store (DATABASE_URL, never migrated here) and Temporal (its
usual configuration); without Temporal it says so and shows the ledger and decisions."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import hard_exit, open_store, run, temporal_client_or_reason

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from services.timeline import Timeline, TimelineEntry, TriggerDecisionView


def why(
    enduser: Annotated[str, typer.Argument(help="The enduser (Tellescope id).")],
    journey: Annotated[
        str | None,
        typer.Argument(help="One journey (readable id); default: every journey of the enduser."),
    ] = None,
    output: Annotated[
        str, typer.Option("--format", help="text or json (the timelines as the API gives them).")
    ] = "text",
) -> None:
    """Show a patient's timeline in each journey and every trigger decision about them."""
    if output not in ("text", "json"):
        typer.echo(f"error: --format must be text or json, not {output!r}", err=True)
        raise typer.Exit(1)
    engine = open_store(migrate=False)
    hard_exit(run(_why(engine, enduser, journey, output)))


async def _why(engine: Engine, enduser: str, journey: str | None, output: str) -> int:
    from services.enrollment_history import enrollment_history
    from services.errors import NotFound
    from services.timeline import decision_views, patient_timeline
    from settings import EngineSettings
    from store.ledger import Ledger
    from store.plans import PlanNotFound, PlanStore
    from store.trigger_decisions import TriggerDecisions

    settings = EngineSettings()
    plans, ledger = PlanStore(engine), Ledger(engine)
    decisions = TriggerDecisions.from_settings(engine, settings)
    client, reason = await temporal_client_or_reason()
    if journey is not None:
        try:
            journeys = [plans.resolve_head(journey).journey_id]
        except PlanNotFound:
            journeys = [journey]  # deleted since: its ledger rows remain
    elif client is not None:
        page = await enrollment_history(client, plans, ledger, enduser)
        journeys = [record.journeyId for record in page.enrollments]
    else:
        journeys = ledger.journeys_of(enduser)
    timelines = []
    for journey_id in journeys:
        try:
            timelines.append(
                await patient_timeline(
                    client, plans, ledger, decisions, journey_id, enduser, temporal_error=reason
                )
            )
        except NotFound as error:
            typer.echo(f"error: {error.message}", err=True)
            return 1
    views = decision_views(decisions.of_enduser(enduser, limit=200))
    if output == "json":
        body = {
            "enduserId": enduser,
            "timelines": [t.model_dump(mode="json") for t in timelines],
            "triggerDecisions": [v.model_dump(mode="json") for v in views],
        }
        typer.echo(json.dumps(body, indent=2))
        return 0
    if client is None:
        typer.echo(f"note: Temporal not reachable ({reason}): the ledger and decisions only")
    if not timelines:
        typer.echo(f"{enduser} has no enrollment in any journey.")
    for timeline in timelines:
        print_timeline(timeline)
    zone = timelines[0].timezone if timelines else "UTC"
    print_decisions(views, zone)
    return 0


def print_timeline(timeline: Timeline) -> None:
    from services.patient_page import local
    from services.timeline import closed_text

    tz = timeline.timezone
    typer.echo(f"== {timeline.journeyId} (times in {tz})")
    record = timeline.enrollment
    if record is not None:
        line = f"status: {record.status}, enrolled {local(record.startedAt, tz)}"
        if record.closedAt is not None:
            line += f", closed {local(record.closedAt, tz)}: {closed_text(record)}"
        typer.echo(line)
    for note in timeline.notes:
        typer.echo(f"note: {note}")
    for entry in timeline.entries:
        if entry.kind != "trigger":  # listed once, below, for every journey
            typer.echo(_entry_line(entry, tz))
    typer.echo("")


def _entry_line(entry: TimelineEntry, tz: str) -> str:
    from services.patient_page import local

    line = f"  {local(entry.at, tz)}  {entry.kind:<10}  {entry.text}"
    if entry.dueAt is not None and entry.kind in ("planned", "waiting"):
        line += f" [due {local(entry.dueAt, tz)}]"
    if entry.values:
        line += "  [" + _values(entry.values) + "]"
    return line


def _values(values: dict) -> str:
    return ", ".join(f"{k} = {json.dumps(v, default=str)}" for k, v in values.items())


def print_decisions(views: list[TriggerDecisionView], tz: str) -> None:
    from services.patient_page import local
    from services.timeline import decision_text

    typer.echo(f"== trigger decisions (times in {tz})")
    if not views:
        typer.echo("  none recorded")
    for view in views:
        line = f"  {local(view.at, tz)}  {decision_text(view)}"
        if view.values:
            line += "  [" + _values(view.values) + "]"
        typer.echo(line)
