"""The `journeys` command line (typer)."""
