"""`journeys dev`: the whole system locally, in the foreground (see devstack/dev.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from devstack.dev import DevOptions, run_dev

DEFAULTS = DevOptions()


def dev(
    temporal_port: Annotated[
        int, typer.Option(help="Temporal frontend (gRPC).")
    ] = DEFAULTS.temporal_port,
    ui_port: Annotated[int, typer.Option(help="Temporal UI.")] = DEFAULTS.ui_port,
    api_port: Annotated[int, typer.Option(help="The engine's API.")] = DEFAULTS.api_port,
    sandbox_port: Annotated[
        int, typer.Option(help="The Tellescope sandbox.")
    ] = DEFAULTS.sandbox_port,
    metrics_port: Annotated[
        int, typer.Option(help="Worker Prometheus metrics.")
    ] = DEFAULTS.metrics_port,
    temporal_http_port: Annotated[
        int, typer.Option(help="Temporal's HTTP API (0: a free port).")
    ] = DEFAULTS.temporal_http_port,
    temporal_metrics_port: Annotated[
        int, typer.Option(help="Temporal's own Prometheus metrics (0: a free port).")
    ] = DEFAULTS.temporal_metrics_port,
    max_restarts: Annotated[
        int, typer.Option(help="Restarts of a dead worker or API per minute before stopping.")
    ] = DEFAULTS.max_restarts,
    data_dir: Annotated[
        Path, typer.Option(help="Where the databases and logs live.")
    ] = DEFAULTS.data_dir,
    examples: Annotated[Path, typer.Option(help="Journeys to deploy.")] = DEFAULTS.examples,
    demo: Annotated[bool, typer.Option(help="Create and enroll the demo patient.")] = True,
) -> None:
    """Run Temporal (dev server), the sandbox, the worker and the API; deploy the examples;
    enroll a demo patient; print the URLs; Ctrl-C stops everything. A worker or API that dies
    is restarted (with backoff, at most --max-restarts a minute). Data persists in --data-dir,
    so a second run resumes where the first stopped."""
    options = DevOptions(
        data_dir=data_dir.resolve(),
        examples=examples.resolve(),
        temporal_port=temporal_port,
        ui_port=ui_port,
        api_port=api_port,
        sandbox_port=sandbox_port,
        metrics_port=metrics_port,
        temporal_http_port=temporal_http_port,
        temporal_metrics_port=temporal_metrics_port,
        enroll_demo=demo,
        max_restarts=max_restarts,
    )
    raise typer.Exit(run_dev(options))
