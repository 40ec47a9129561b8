"""temporal_connection.connect_config: Temporal's environment configuration (envconfig), with our
explicit settings winning and the local dev server as the default; TLS and API keys flow into
`Client.connect`; connection failures are one line (`TemporalConnectionError`).
Against a real TLS proxy: tests/test_temporal_tls.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.service import TLSConfig

from settings import EngineSettings
from temporal_connection import (
    TEMPORAL_ENVIRONMENT,
    TemporalConnectionError,
    _reason,
    connect_config,
    connect_temporal,
    describe,
    temporal_address,
)


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
    with pytest.raises(TemporalConnectionError) as failed:  # refused or timed out
        await connect_temporal(settings, timeout=2.0)
    assert str(failed.value).startswith("cannot connect to Temporal at 127.0.0.1:1 (")
    assert "\n" not in str(failed.value)


def pem_files(folder: Path) -> dict[str, Path]:
    files = {name: folder / f"{name}.pem" for name in ("ca", "cert", "key")}
    for name, path in files.items():
        path.write_text(f"-----BEGIN {name.upper()}-----\n{name}\n-----END {name.upper()}-----\n")
    return files


def test_tls_variables_give_a_tls_config(no_file: str, tmp_path: Path) -> None:
    files = pem_files(tmp_path)
    env = {
        "TEMPORAL_ADDRESS": "temporal.internal:7233",
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(files["ca"]),
        "TEMPORAL_TLS_CLIENT_CERT_PATH": str(files["cert"]),
        "TEMPORAL_TLS_CLIENT_KEY_PATH": str(files["key"]),
        "TEMPORAL_TLS_SERVER_NAME": "temporal.example",
    }
    config = connect_config(unset(), env=env, config_file=no_file)
    tls = config["tls"]
    assert isinstance(tls, TLSConfig)
    assert tls.server_root_ca_cert == files["ca"].read_bytes()
    assert tls.client_cert == files["cert"].read_bytes()
    assert tls.client_private_key == files["key"].read_bytes()
    assert tls.domain == "temporal.example"
    assert describe(config) == "TLS, client certificate"


def test_a_profile_with_tls_and_an_api_key(tmp_path: Path) -> None:
    files = pem_files(tmp_path)
    toml = tmp_path / "temporal.toml"
    toml.write_text(
        '[profile.cloud]\naddress = "ns.acct.tmprl.cloud:7233"\nnamespace = "ns.acct"\n'
        'api_key = "k"\n[profile.cloud.tls]\n'
        f'server_ca_cert_path = "{files["ca"]}"\n'
    )
    config = connect_config(unset(), env={"TEMPORAL_PROFILE": "cloud"}, config_file=str(toml))
    assert config["api_key"] == "k"
    assert config["tls"].server_root_ca_cert == files["ca"].read_bytes()
    assert describe(config) == "TLS, API key"


def test_tls_can_be_turned_off(no_file: str) -> None:
    env = {"TEMPORAL_API_KEY": "k", "TEMPORAL_TLS": "false"}
    config = connect_config(unset(), env=env, config_file=no_file)
    assert config["tls"] is False and describe(config) == "no TLS, API key"


def test_empty_variables_count_as_unset(no_file: str) -> None:
    env = dict.fromkeys(TEMPORAL_ENVIRONMENT, "")  # docker-compose's `${NAME:-}`
    config = connect_config(unset(), env=env, config_file=no_file)
    assert config == {"target_host": "localhost:7233", "namespace": "default"}


def test_a_missing_certificate_file_is_one_line(no_file: str, tmp_path: Path) -> None:
    env = {
        "TEMPORAL_TLS_CLIENT_CERT_PATH": str(tmp_path / "absent.pem"),
        "TEMPORAL_TLS_CLIENT_KEY_PATH": str(tmp_path / "absent.key"),
    }
    with pytest.raises(TemporalConnectionError, match=r"^Temporal configuration: cannot read "):
        connect_config(unset(), env=env, config_file=no_file)


def test_the_address_for_messages_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", "/nonexistent/cert.pem")
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", "/nonexistent/cert.key")
    assert temporal_address(unset(temporal_address="t:7233")) == "t:7233"


MTLS = {"tls": TLSConfig(client_cert=b"c", client_private_key=b"k"), "namespace": "n"}


@pytest.mark.parametrize(
    ("error", "config", "reason"),
    [
        (
            RuntimeError(
                "Failed client connect: `get_system_info` call error after connection: Status {"
                ' code: Unauthenticated, message: "Request unauthorized.", metadata: {} }'
            ),
            {"api_key": "k", "tls": True},
            "refused: Request unauthorized. (check TEMPORAL_API_KEY)",
        ),
        (
            RuntimeError(
                "Failed client connect: Server connection error: tonic::transport::Error("
                "Transport, ConnectError(Custom { kind: InvalidData, error: InvalidCertificate("
                "UnknownIssuer) }))"
            ),
            MTLS,
            "the server's TLS certificate is not trusted (UnknownIssuer; check"
            " TEMPORAL_TLS_SERVER_CA_CERT_PATH / TEMPORAL_TLS_SERVER_NAME)",
        ),
        (
            RuntimeError(
                "Failed client connect: Server connection error: tonic::transport::Error("
                'Transport, ConnectError(ConnectError("tcp connect error", Os { code: 111,'
                ' kind: ConnectionRefused, message: "Connection refused" })))'
            ),
            {},
            "Connection refused",
        ),
        (TimeoutError(), {}, "no answer within 5s"),
    ],
)
def test_failure_reasons_are_short(error: Exception, config: dict, reason: str) -> None:
    assert _reason(error, config, 5.0) == reason
