"""The `journeys` command's own surface: every command's --help ends with examples, --version,
shell completion, and a deploy of a path that does not exist naming the path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer.main
from typer.testing import CliRunner

from cli.help_examples import EXAMPLES
from cli.main import app, engine_version

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def command_paths(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every leaf command (typer's groups are its own click's: told apart by `commands`)."""
    paths = []
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            paths += command_paths(command, (*prefix, name))
        else:
            paths.append((*prefix, name))
    return paths


def test_every_command_s_help_ends_with_examples_of_itself():
    commands = command_paths(typer.main.get_command(app))
    assert {" ".join(path) for path in commands} == set(EXAMPLES)
    for path in commands:
        result = runner.invoke(app, [*path, "--help"], terminal_width=240)
        assert result.exit_code == 0, result.output
        assert "Examples:" in result.output, path
        for example in EXAMPLES[" ".join(path)]:
            assert example.startswith(f"journeys {' '.join(path)}"), example
            # compared without whitespace: rich wraps long examples at the terminal's width
            squeezed = "".join(result.output.split())
            assert "".join(f"$ {example}".split()) in squeezed, (path, result.output)


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"journeys {engine_version()}"
    assert engine_version()[0].isdigit()  # the installed distribution's version


def test_shell_completion_is_offered_and_printed():
    help_text = runner.invoke(app, ["--help"], terminal_width=240).output
    assert "--install-completion" in help_text and "--show-completion" in help_text
    journeys = Path(sys.executable).parent / "journeys"  # the installed console script
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # typer detects the shell from the parent process (an argument naming it is ignored), and CI
    # runs under make's sh: ask from bash, as a user's shell would (a second command keeps bash
    # from exec-ing the first, so bash stays its parent).
    shown = subprocess.run(
        ["bash", "-c", f"{journeys} --show-completion; exit $?"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert shown.returncode == 0, shown.stderr
    assert "complete -o default -F _journeys_completion journeys" in shown.stdout
    # what bash asks when Tab is pressed after `journeys dep`
    env |= {"_JOURNEYS_COMPLETE": "complete_bash", "COMP_WORDS": "journeys dep", "COMP_CWORD": "1"}
    asked = subprocess.run([journeys], env=env, capture_output=True, text=True, timeout=60)
    assert asked.stdout.split() == ["deploy", "deployments"]


def test_deploy_of_a_missing_folder_names_it_and_deploys_nothing(tmp_path):
    missing = tmp_path / "journeys"
    result = runner.invoke(app, ["deploy", str(missing), "--offline"])
    assert result.exit_code == 1
    assert f"error: {missing}: no such file or folder (nothing deployed)" in result.output
    assert "expected a mapping" not in result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["deploy", str(empty), "--offline"])
    assert result.exit_code == 1
    assert f"error: {empty}: no YAML files found (nothing deployed)" in result.output
