"""temporal_connection.connect_config: Temporal's environment configuration (envconfig), with our
explicit settings winning and the local dev server as the default."""

from __future__ import annotations

from pathlib import Path

import pytest

from settings import EngineSettings
from temporal_connection import connect_config, connect_temporal


def unset(**values) -> EngineSettings:
    """Settings as if TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE were not in the environment."""
    return EngineSettings(
        _env_file=None, **{"temporal_address": None, "temporal_namespace": None, **values}
    )


@pytest.fixture
def no_file(tmp_path: Path) -> str:
    empty = tmp_path / "temporal.toml"
    empty.write_text("")
    return str(empty)


def test_defaults_are_the_local_dev_server(no_file: str) -> None:
    config = connect_config(unset(), env={}, config_file=no_file)
    assert config == {"target_host": "localhost:7233", "namespace": "default"}


def test_temporal_environment_variables_are_read(no_file: str) -> None:
    env = {
        "TEMPORAL_ADDRESS": "temporal.example:7233",
        "TEMPORAL_NAMESPACE": "journeys-prod",
        "TEMPORAL_API_KEY": "secret-key",
    }
    config = connect_config(unset(), env=env, config_file=no_file)
    assert config["target_host"] == "temporal.example:7233"
    assert config["namespace"] == "journeys-prod"
    assert config["api_key"] == "secret-key"
    assert config["tls"] is True  # an API key turns TLS on


def test_a_profile_from_the_config_file(tmp_path: Path) -> None:
    toml = tmp_path / "temporal.toml"
    toml.write_text('[profile.prod]\naddress = "prod.tmprl.cloud:7233"\nnamespace = "prod-ns"\n')
    config = connect_config(unset(), env={"TEMPORAL_PROFILE": "prod"}, config_file=str(toml))
    assert config["target_host"] == "prod.tmprl.cloud:7233"
    assert config["namespace"] == "prod-ns"


def test_explicit_settings_win(no_file: str) -> None:
    env = {"TEMPORAL_ADDRESS": "elsewhere:7233", "TEMPORAL_NAMESPACE": "other"}
    settings = unset(temporal_address="127.0.0.1:7299", temporal_namespace="mine")
    config = connect_config(settings, env=env, config_file=no_file)
    assert config == {"target_host": "127.0.0.1:7299", "namespace": "mine"}


def test_settings_read_the_same_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "from-env:7233")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "env-ns")
    settings = EngineSettings(_env_file=None)
    assert (settings.temporal_address, settings.temporal_namespace) == ("from-env:7233", "env-ns")


async def test_connect_gives_up_after_the_timeout() -> None:
    settings = unset(temporal_address="127.0.0.1:1")  # nothing listens there
    with pytest.raises(Exception):  # noqa: B017 (refused or timed out, either way no client)
        await connect_temporal(settings, timeout=2.0)
