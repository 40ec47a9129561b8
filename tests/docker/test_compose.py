"""docker/ is checked without a Docker engine (none runs here): the compose file against the
Compose specification's JSON schema, its wiring (healthchecks, what is published, secrets,
scaling) and against the engine's own settings; the shell scripts it mounts by running them
where they need no server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from settings import ApiSettings, EngineSettings, TellescopeSettings
from temporal_connection import TEMPORAL_ENVIRONMENT
from worker_health import HEALTH_PORT_ENV
from workflows import search_attributes as sa

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker" / "docker-compose.yml"
ENV_EXAMPLE = ROOT / "docker" / ".env.example"
ENGINE_SERVICES = ("migrations", "api", "worker", "sandbox")
ONE_SHOT = ("temporal-schema", "temporal-namespace", "migrations")  # run to completion
SECRET_SETTINGS = ("DATABASE_URL", "TELLESCOPE_API_KEY", "WEBHOOK_SECRET")


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
    services = compose()["services"]
    worker = services["worker"]
    assert "container_name" not in worker and "ports" not in worker  # --scale worker=N
    assert worker["environment"]["METRICS_PORT"] == "9464"
    assert not [name for name, s in services.items() if "container_name" in s]
    # stop waits longer than the worker drains its running activities
    grace = int(worker["stop_grace_period"].rstrip("s"))
    drain = re.search(r":-(\d+)", worker["environment"]["GRACEFUL_SHUTDOWN_SECONDS"]).group(1)
    assert grace > int(drain)


def test_every_long_running_service_has_a_healthcheck():
    services = compose()["services"]
    for name, service in services.items():
        if name in ONE_SHOT:
            assert "ports" not in service, name
            continue
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"
    worker = services["worker"]
    assert worker["healthcheck"]["test"] == ["CMD", "python", "-m", "worker_health"]
    assert worker["environment"][HEALTH_PORT_ENV] in worker["expose"]
    assert "/health" in " ".join(services["api"]["healthcheck"]["test"])


def test_one_shot_jobs_complete_before_what_needs_them():
    services = compose()["services"]
    waited = {
        dependency
        for service in services.values()
        for dependency, how in (service.get("depends_on") or {}).items()
        if how.get("condition") == "service_completed_successfully"
    }
    assert waited == set(ONE_SHOT)
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert {"migrations", "temporal-namespace"} <= set(depends), name
    assert "temporal-schema" in services["temporal"]["depends_on"]


def _published(port: str | dict) -> tuple[str, str]:
    """(host ip, host port) of a ports entry; no ip means every interface."""
    if isinstance(port, dict):
        return port.get("host_ip", "0.0.0.0"), str(port.get("published", ""))
    parts = str(port).split(":")
    if len(parts) == 3:
        return parts[0], parts[1]
    return "0.0.0.0", parts[0] if len(parts) == 2 else ""


def test_only_the_api_is_published_beyond_loopback():
    services = compose()["services"]
    public = {
        name
        for name, service in services.items()
        for port in service.get("ports") or []
        if _published(port)[0] not in ("127.0.0.1", "::1")
    }
    assert public == {"api"}
    assert all(_published(p)[0] == "127.0.0.1" for p in services["temporal"]["ports"])
    assert "postgresql" not in {n for n, s in services.items() if s.get("ports")}


def test_the_ui_is_not_public_and_has_no_leftover_cors():
    ui = compose()["services"]["temporal-ui"]
    assert [_published(p) for p in ui["ports"]] == [("127.0.0.1", "8080")]
    assert "TEMPORAL_CORS_ORIGINS" not in COMPOSE.read_text()


def test_temporal_runs_the_server_image_with_the_schema_set_up_by_the_admin_tools():
    services = compose()["services"]
    images = {name: service.get("image", "") for name, service in services.items()}
    assert not [name for name, image in images.items() if "auto-setup" in image]
    assert images["temporal"].startswith("temporalio/server:")
    assert images["temporal-schema"].startswith("temporalio/admin-tools:")
    assert images["temporal-namespace"].startswith("temporalio/admin-tools:")
    script = (ROOT / "docker" / "temporal" / "setup-schema.sh").read_text()
    for verb in ("create", "setup-schema -v 0.0", "update-schema -d"):
        assert verb in script
    for store in (
        'store "${DBNAME:-temporal}" temporal',
        'VISIBILITY_DBNAME:-temporal_visibility}" visibility',
    ):
        assert store in script, store
    environment = services["temporal"]["environment"]
    assert environment["DB"] == "postgres12" and environment["POSTGRES_SEEDS"] == "postgresql"


def test_secrets_come_from_files_never_from_the_environment():
    services = compose()["services"]
    declared = compose()["secrets"]
    plain = {"POSTGRES_PASSWORD", "POSTGRES_PWD", "SQL_PASSWORD", *SECRET_SETTINGS}
    for name, service in services.items():
        environment = service.get("environment") or {}
        assert not plain & set(environment), f"{name} takes a secret from the environment"
        mounted = set(service.get("secrets") or [])
        assert mounted <= set(declared), name
        for variable, value in environment.items():
            if variable.endswith("_FILE"):
                secret = value.removeprefix("/run/secrets/")
                assert value.startswith("/run/secrets/") and secret in mounted, (name, variable)
    assert set(compose()["x-engine"]["secrets"]) == {
        "database_url",
        "tellescope_api_key",
        "webhook_secret",
    }
    entrypoint = (ROOT / "docker" / "entrypoint.sh").read_text()
    assert all(name in entrypoint for name in SECRET_SETTINGS)
    assert "docker/entrypoint.sh" in (ROOT / "docker" / "Dockerfile").read_text()
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert "docker/secrets/" in ignored and "docker/.env" in ignored  # never in the image


def test_the_entrypoint_reads_secret_files(tmp_path):
    secret = tmp_path / "webhook_secret"
    secret.write_text("from-a-file\n")
    done = subprocess.run(
        ["sh", str(ROOT / "docker" / "entrypoint.sh"), "sh", "-c"]
        + ['echo "$WEBHOOK_SECRET|${WEBHOOK_SECRET_FILE:-gone}|$SSL_CERT_FILE"'],
        env={**os.environ, "WEBHOOK_SECRET_FILE": str(secret), "SSL_CERT_FILE": "/ca.pem"},
        capture_output=True,
        text=True,
    )
    assert done.stdout.strip() == "from-a-file|gone|/ca.pem", done.stderr
    missing = subprocess.run(
        ["sh", str(ROOT / "docker" / "entrypoint.sh"), "true"],
        env={**os.environ, "DATABASE_URL_FILE": str(tmp_path / "absent")},
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 1
    assert (
        missing.stderr.strip()
        == f"entrypoint: DATABASE_URL_FILE={tmp_path / 'absent'} is not a readable file"
    )


def test_the_mounted_scripts_parse():
    services = compose()["services"]
    for name, service in services.items():
        for volume in service.get("volumes") or []:
            source = str(volume).split(":")[0]
            if source.endswith(".sh"):
                script = COMPOSE.parent / source
                assert script.exists(), (name, source)
                done = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
                assert done.returncode == 0, done.stderr


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
    environment = {name.removesuffix("_FILE") for name in environment}  # docker/entrypoint.sh
    known = {name.upper() for name in EngineSettings.model_fields} | {HEALTH_PORT_ENV}
    known |= {f"TELLESCOPE_{name.upper()}" for name in TellescopeSettings.model_fields}
    known |= {name.upper() for name in ApiSettings.model_fields}
    known |= set(TEMPORAL_ENVIRONMENT)  # read by temporalio.envconfig (temporal_connection.py)
    unknown = set(environment) - known
    assert not unknown, f"settings nobody reads: {sorted(unknown)}"


def test_search_attributes_registered_match_the_workflow():
    service = compose()["services"]["temporal-namespace"]
    assert service["entrypoint"][-1] == "/scripts/setup-namespace.sh"
    command = (ROOT / "docker" / "temporal" / "setup-namespace.sh").read_text()
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
