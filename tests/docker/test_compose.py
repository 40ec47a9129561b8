"""docker/ is checked without a Docker engine (none runs here): the compose file against the
Compose specification's JSON schema, and its wiring against the engine's own settings."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from settings import ApiSettings, EngineSettings, TellescopeSettings
from workflows import search_attributes as sa

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker" / "docker-compose.yml"
ENV_EXAMPLE = ROOT / "docker" / ".env.example"
ENGINE_SERVICES = ("migrations", "api", "worker", "sandbox")


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_file_matches_the_compose_specification():
    tool = shutil.which("check-jsonschema") or str(Path(sys.executable).parent / "check-jsonschema")
    done = subprocess.run(
        [tool, "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_dependencies_name_real_services():
    services = compose()["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on") or {}:
            assert dependency in services, f"{name} depends on unknown {dependency}"


def test_workers_can_scale():
    worker = compose()["services"]["worker"]
    assert "container_name" not in worker and "ports" not in worker  # --scale worker=N
    assert worker["environment"]["METRICS_PORT"] == "9464"


def test_every_required_variable_is_in_the_env_example():
    text = COMPOSE.read_text()
    used = set(re.findall(r"\$\{([A-Z_]+)\}", text))  # no default: must be provided
    provided = {
        line.split("=", 1)[0]
        for line in ENV_EXAMPLE.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert used <= provided, sorted(used - provided)


def test_engine_environment_names_settings_the_engine_reads():
    environment = compose()["services"]["worker"]["environment"]
    known = {name.upper() for name in EngineSettings.model_fields}
    known |= {f"TELLESCOPE_{name.upper()}" for name in TellescopeSettings.model_fields}
    known |= {name.upper() for name in ApiSettings.model_fields}
    unknown = set(environment) - known
    assert not unknown, f"settings nobody reads: {sorted(unknown)}"


def test_search_attributes_registered_match_the_workflow():
    command = " ".join(compose()["services"]["temporal-search-attributes"]["command"])
    registered = dict(re.findall(r"(\w+):(KeywordList|Keyword|Datetime)", command))
    expected = {key.name: sa.cli_type(key) for key in sa.ALL}
    assert registered == expected


def test_engine_services_run_commands_that_exist():
    from cli.main import app

    commands = {command.name or command.callback.__name__ for command in app.registered_commands}
    groups = {group.name for group in app.registered_groups}
    for name in ENGINE_SERVICES:
        command = compose()["services"][name]["command"]
        if command[0] == "journeys":
            assert command[1] in commands | groups, command
        else:
            assert (ROOT / command[1]).exists() or command[1:3] == ["-m", "sandbox"], command
    assert "sandbox" in compose()["services"]["sandbox"]["profiles"]
