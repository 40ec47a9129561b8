"""`journeys test`: run journey tests (`*.test.yaml`, docs/journey-tests.md) and check them."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

# Exit codes: 0 every expectation held; 1 a test failed or could not run; 2 bad test files or
# journeys (nothing ran).
EXIT_FAILED = 1
EXIT_INVALID = 2


def test(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Test files or folders searched for *.test.yaml (default: .)."),
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="text or junit")] = "text",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the JUnit XML to this file.")
    ] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", min=1, help="Tests run at once (one server each).")
    ] = 2,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List passing expectations too.")
    ] = False,
) -> None:
    """Run the journey tests under PATHS on Temporal's time-skipping server (the real workflow,
    a recording stand-in for Tellescope) and check their expectations: which steps run when,
    which never run, what messages say, how the journey ends. Exit 1 on any failure."""
    from compiler import CompileFailed
    from simulate.testfile import discover_tests, load_tests
    from simulate.testreport import render_junit, render_outcome, summary
    from simulate.testrun import run_tests

    if output_format not in ("text", "junit"):
        raise typer.BadParameter("expected text or junit", param_hint="--format")
    began = time.monotonic()
    files = discover_tests(paths or [Path(".")])
    if not files:
        where = ", ".join(str(p) for p in paths or [Path(".")])
        typer.echo(f"{where}: no journey tests (*.test.yaml) found", err=True)
        raise typer.Exit(EXIT_INVALID)
    try:
        tests = load_tests(files)
    except CompileFailed as failed:
        for error in failed.errors:
            typer.echo(str(error), err=True)
        typer.echo(f"{len(failed.errors)} error(s) in the test files: nothing ran", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    # With junit on stdout the text report goes to stderr, so the XML stays parseable.
    text_out = output_format == "text" or output is not None
    to_stderr = not text_out

    def progress(outcome) -> None:
        typer.echo(render_outcome(outcome, verbose), err=to_stderr)

    # A step failure a test injects is logged by the SDK with a traceback per activity: the
    # report already says which step failed and why.
    logging.getLogger("temporalio.activity").setLevel(logging.CRITICAL)
    logging.getLogger("temporalio.worker._activity").setLevel(logging.CRITICAL)
    outcomes = asyncio.run(run_tests(tests, jobs, progress))
    seconds = time.monotonic() - began
    line = summary(outcomes, seconds)
    if output_format == "junit":
        xml = render_junit(outcomes, seconds)
        if output is not None:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_bytes(xml)
        else:
            sys.stdout.write(xml.decode("utf-8") + "\n")
    elif output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(render_junit(outcomes, seconds))
    typer.echo(line, err=to_stderr)
    code = 0 if all(o.status == "pass" for o in outcomes) else EXIT_FAILED
    # Temporal's core threads can crash the interpreter at exit (sdk-python #300): leave now.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
