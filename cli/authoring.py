"""`journeys validate`, `graph` and `import`: journey files, without the engine's store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import PathsArg


def validate(paths: PathsArg) -> None:
    """Validate journeys; print a summary per journey, or every error as file:line:col path: msg."""
    from compiler import CompileFailed, compile_paths
    from settings import action_handler_references

    try:
        # AI and telephony steps warn only when their type has no handler (docs/handlers.md §2)
        result = compile_paths(paths, handled_actions=action_handler_references())
    except CompileFailed as failed:
        for error in failed.errors:
            typer.echo(str(error), err=True)
        count = len(failed.errors)
        typer.echo(f"{count} error{'s' if count != 1 else ''}", err=True)
        raise typer.Exit(1) from None
    for warning in result.warnings:  # it runs, but not as Tellescope runs it: say so, exit 0
        typer.echo(str(warning), err=True)
    for plan in result.plans:
        typer.echo(
            f"{plan.source}: journey {plan.journeyId} version {plan.version}:"
            f" {_count(plan.steps, 'step')}, {_count(plan.triggers, 'trigger')},"
            f" {_count(plan.roots, 'root')}"
        )
    org = result.organization
    typer.echo(
        f"{_count(result.plans, 'journey')} valid (organization time zone {org.timezone},"
        f" {_count(org.officeHours, 'office-hour block')},"
        f" {_count(org.outOfOfficeHours, 'closure')})"
    )


def _count(items, noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


FORMATS = ("mermaid", "dot", "svg", "png")


def graph(
    file: Annotated[Path, typer.Argument(help="A journey YAML file.")],
    format: Annotated[
        str,
        typer.Option(
            "--format", help="mermaid, dot, svg or png (svg and png: the journey page's chart)"
        ),
    ] = "mermaid",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here.")] = None,
    organization: Annotated[
        Path | None,
        typer.Option(help="Organisation YAML (default: organization.yaml beside FILE)."),
    ] = None,
) -> None:
    """Draw a journey as a flowchart: steps with their actions, edges with events and delays."""
    from compiler import CompileFailed, compile_paths
    from compiler.graph import to_dot, to_mermaid

    if format not in FORMATS:
        raise typer.BadParameter(f"expected one of {', '.join(FORMATS)}", param_hint="--format")
    if format == "png" and output is None:
        raise typer.BadParameter("a PNG needs a file: add -o FILE.png", param_hint="--output")
    inputs = [file]
    org_file = organization or file.parent / "organization.yaml"
    if org_file.exists() and org_file != file:
        inputs.append(org_file)
    try:
        result = compile_paths(inputs + _referenced_siblings(file))
    except CompileFailed as failed:
        for error in failed.errors:
            typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    plan = next(p for p in result.plans if p.source == str(file))
    if format in ("svg", "png"):
        from services.journey_chart import ChartError, chart_svg, svg_to_png

        svg, size = chart_svg(plan)
        if format == "png":
            assert output is not None
            try:
                svg_to_png(svg, size, output)
            except ChartError as failed:
                typer.echo(f"error: {failed}", err=True)
                raise typer.Exit(1) from None
            typer.echo(f"wrote {output} ({len(plan.steps)} steps)")
            return
        text = svg + "\n"
    else:
        text = to_mermaid(plan) if format == "mermaid" else to_dot(plan)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output} ({len(plan.steps)} steps)")


def _referenced_siblings(file: Path) -> list[Path]:
    """Other journeys in the same folder, so cross-journey references (addToJourney) resolve."""
    return [
        p for p in sorted(file.parent.glob("*.y*ml")) if p != file and p.name != "organization.yaml"
    ]


def import_(
    files: Annotated[list[Path], typer.Argument(help="Tellescope JSON: journey, steps, triggers.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the YAML files.")],
) -> None:
    """Convert a Tellescope export into journey YAML with readable step ids."""
    from compiler.importer import ImportError_, import_files

    try:
        written = import_files(files, output)
    except ImportError_ as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    for path in written:
        typer.echo(f"wrote {path}")
