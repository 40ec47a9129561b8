"""`journeys simulate`: what would this journey do for this patient, and when?"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from compiler import CompileFailed, compile_paths


def journey_inputs(file: Path) -> list[Path]:
    """The journey, its organisation file, and the other journeys beside it (so references such
    as addToJourney resolve)."""
    siblings = [p for p in sorted(file.parent.glob("*.y*ml")) if p != file]
    return [file, *siblings]


def simulate(
    file: Annotated[
        Path, typer.Argument(help="The journey YAML file.", exists=True, dir_okay=False)
    ],
    enduser: Annotated[
        Path,
        typer.Option("--enduser", help="The simulated patient (enduser JSON).", exists=True),
    ],
    events: Annotated[
        Path | None, typer.Option("--events", help="A simulation script (YAML).", exists=True)
    ] = None,
    start: Annotated[
        str | None, typer.Option("--start", help="ISO start with UTC offset (default: now).")
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Run FILE for one simulated patient on Temporal's time-skipping test server, with the real
    workflow and a recording stand-in for Tellescope, and print the timeline: what would be
    sent, when (organisation time zone), which branches were taken and why."""
    from devstack.binaries import MissingBinary
    from simulate.runner import SimulationError, render_json, render_text
    from simulate.runner import simulate as run_simulation
    from simulate.script import empty_script, load_script

    if output_format not in ("text", "json"):
        raise typer.BadParameter("expected text or json", param_hint="--format")
    try:
        patient = json.loads(enduser.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        typer.echo(f"{enduser}:{error.lineno}:{error.colno}: invalid JSON: {error.msg}", err=True)
        raise typer.Exit(1) from None
    if not isinstance(patient, dict):
        typer.echo(f"{enduser}: expected a JSON object (an enduser record)", err=True)
        raise typer.Exit(1)
    begin = None
    if start is not None:
        try:
            begin = datetime.fromisoformat(start.replace("Z", "+00:00"))
        except ValueError:
            message = f'"{start}" is not an ISO date-time'
            raise typer.BadParameter(message, param_hint="--start") from None
    try:
        compiled = compile_paths(journey_inputs(file))
        script = load_script(events) if events else empty_script()
    except CompileFailed as failed:
        for error in failed.errors:
            typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    plan = next((p for p in compiled.plans if p.source == str(file)), None)
    if plan is None:
        typer.echo(f"{file}: not a journey file", err=True)
        raise typer.Exit(1)
    try:
        result = asyncio.run(run_simulation(compiled, plan.journeyId, patient, script, start=begin))
    except (SimulationError, MissingBinary) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    if output_format == "json":
        typer.echo(json.dumps(render_json(result), indent=2))
    else:
        typer.echo(render_text(result), nl=False)
    # Temporal's core threads can crash the interpreter at exit (sdk-python #300): leave now.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
