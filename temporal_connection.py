"""The one way the worker, the API and the CLI connect to Temporal.

Built on Temporal's environment configuration (`temporalio.envconfig`): the profile named by
TEMPORAL_PROFILE in Temporal's config file, overridden by TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
TEMPORAL_API_KEY and TEMPORAL_TLS_*. Our own settings (`EngineSettings.temporal_address`,
`temporal_namespace`, which also read `.env`) win when set; with nothing set anywhere it is the
local dev server, `localhost:7233`, namespace `default`. Every client gets the pydantic data
converter (the engine's workflows and activities exchange pydantic models).

TLS and API keys come from the same configuration, as Temporal's CLI reads them:
TEMPORAL_TLS_SERVER_CA_CERT_PATH (or _DATA), TEMPORAL_TLS_CLIENT_CERT_PATH / _KEY_PATH (mTLS),
TEMPORAL_TLS_SERVER_NAME, TEMPORAL_TLS (true/false), TEMPORAL_API_KEY (which turns TLS on), or
a profile's `[profile.<name>.tls]` in `temporal.toml` (TEMPORAL_CONFIG_FILE).

A connection that fails (unreadable certificate file, untrusted server or client certificate,
wrong API key, nothing listening) raises `TemporalConnectionError`, whose message is one line
naming the address, how we connected and why it failed: the worker and the CLI print it as is,
the API's /health/ready reports it.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Mapping
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from settings import EngineSettings

DEFAULT_ADDRESS = "localhost:7233"
DEFAULT_NAMESPACE = "default"

# The variables Temporal's environment configuration reads (temporalio.envconfig, as the
# `temporal` CLI); *_PATH names a file, *_DATA holds the PEM itself. An empty one counts as unset
# (docker-compose passes `${NAME:-}` through as an empty string).
TEMPORAL_ENVIRONMENT = (
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "TEMPORAL_API_KEY",
    "TEMPORAL_PROFILE",
    "TEMPORAL_CONFIG_FILE",
    "TEMPORAL_TLS",
    "TEMPORAL_TLS_SERVER_NAME",
    "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
    "TEMPORAL_TLS_SERVER_CA_CERT_DATA",
    "TEMPORAL_TLS_CLIENT_CERT_PATH",
    "TEMPORAL_TLS_CLIENT_CERT_DATA",
    "TEMPORAL_TLS_CLIENT_KEY_PATH",
    "TEMPORAL_TLS_CLIENT_KEY_DATA",
)


class TemporalConnectionError(RuntimeError):
    """Temporal cannot be reached with our configuration; the message is one line."""


def connect_config(
    settings: EngineSettings,
    *,
    env: Mapping[str, str] | None = None,
    config_file: str | None = None,
) -> dict[str, Any]:
    """The keyword arguments of `Client.connect` (`target_host`, `namespace`, and `api_key`,
    `tls`, `rpc_metadata` when Temporal's configuration has them). `env` and `config_file`
    replace the process environment and the default config file (for tests)."""
    variables = {
        name: value
        for name, value in (os.environ if env is None else env).items()
        if value or not name.startswith("TEMPORAL_")  # empty is unset
    }
    try:
        config: dict[str, Any] = dict(
            ClientConfig.load_client_connect_config(
                config_file=config_file, override_env_vars=variables
            )
        )
    except OSError as error:  # a certificate or key file (or the config file) is unreadable
        where = f" {error.filename}" if error.filename else ""
        raise TemporalConnectionError(
            f"Temporal configuration: cannot read{where}: {error.strerror or error}"
        ) from error
    except Exception as error:  # e.g. TOML syntax, an unknown profile
        raise TemporalConnectionError(
            f"Temporal configuration: {_one_line(str(error)) or type(error).__name__}"
        ) from error
    if settings.temporal_address:
        config["target_host"] = settings.temporal_address
    if settings.temporal_namespace:
        config["namespace"] = settings.temporal_namespace
    config.setdefault("target_host", DEFAULT_ADDRESS)
    config.setdefault("namespace", DEFAULT_NAMESPACE)
    return config


def temporal_address(settings: EngineSettings) -> str:
    """Where `connect_temporal` connects (for messages; never raises)."""
    try:
        return str(connect_config(settings)["target_host"])
    except TemporalConnectionError:
        return settings.temporal_address or os.environ.get("TEMPORAL_ADDRESS") or DEFAULT_ADDRESS


def temporal_namespace(settings: EngineSettings) -> str:
    try:
        return str(connect_config(settings)["namespace"])
    except TemporalConnectionError:
        return (
            settings.temporal_namespace or os.environ.get("TEMPORAL_NAMESPACE") or DEFAULT_NAMESPACE
        )


def describe(config: Mapping[str, Any]) -> str:
    """How `config` connects, for messages: "TLS, client certificate", "TLS, API key",
    "no TLS"."""
    tls = config.get("tls")
    parts = ["TLS" if tls else "no TLS"]
    if isinstance(tls, TLSConfig) and tls.client_cert:
        parts.append("client certificate")
    if config.get("api_key"):
        parts.append("API key")
    return ", ".join(parts)


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check(config: Mapping[str, Any]) -> str:
    tls = config.get("tls")
    what = []
    if config.get("api_key"):
        what.append("TEMPORAL_API_KEY")
    if isinstance(tls, TLSConfig) and tls.client_cert:
        what.append("the client certificate (TEMPORAL_TLS_CLIENT_CERT_PATH / _KEY_PATH)")
    return f" (check {' and '.join(what)})" if what else " (no API key or client certificate set)"


def _reason(error: BaseException, config: Mapping[str, Any], timeout: float | None) -> str:
    """Why a connection failed, from the SDK's error (the Rust core's debug text)."""
    if isinstance(error, TimeoutError):
        return f"no answer within {timeout:g}s" if timeout is not None else "timed out"
    text = str(error).removeprefix("Failed client connect: ")
    status = re.search(r'Status \{ code: (\w+), message: "((?:[^"\\]|\\.)*)"', text)
    if status:
        code, message = status.groups()
        if code == "Unauthenticated":
            return f"refused: {message}{_check(config)}"
        if code == "PermissionDenied":
            return f"permission denied: {message}"
        return f"{code}: {message}"
    certificate = re.search(r"InvalidCertificate\((\w+)", text)
    if certificate:
        return (
            f"the server's TLS certificate is not trusted ({certificate.group(1)};"
            " check TEMPORAL_TLS_SERVER_CA_CERT_PATH / TEMPORAL_TLS_SERVER_NAME)"
        )
    tls_alert = re.search(r"(AlertReceived\(\w+\)|received fatal alert: \w+)", text)
    if tls_alert:
        return f"TLS handshake refused by the server ({tls_alert.group(1)})"
    refused = re.search(
        r"Connection refused|No route to host|failed to lookup address[^)\"]*", text
    )
    if refused:
        return refused.group(0)
    return _one_line(text) or type(error).__name__


async def connect_temporal(
    settings: EngineSettings, *, timeout: float | None = None, runtime: Runtime | None = None
) -> Client:
    """A client with the pydantic data converter (every client of the engine must use it);
    `timeout` bounds the connection attempt. Raises `TemporalConnectionError` (one line)."""
    config = connect_config(settings)
    connecting = Client.connect(**config, data_converter=pydantic_data_converter, runtime=runtime)
    try:
        return await (asyncio.wait_for(connecting, timeout) if timeout is not None else connecting)
    except Exception as error:
        raise TemporalConnectionError(
            f"cannot connect to Temporal at {config['target_host']}"
            f" (namespace {config['namespace']}, {describe(config)}):"
            f" {_reason(error, config, timeout)}"
        ) from error
