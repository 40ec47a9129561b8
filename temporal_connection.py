"""The one way the worker, the API and the CLI connect to Temporal.

Built on Temporal's environment configuration (`temporalio.envconfig`): the profile named by
TEMPORAL_PROFILE in Temporal's config file, overridden by TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
TEMPORAL_API_KEY and TEMPORAL_TLS_*. Our own settings (`EngineSettings.temporal_address`,
`temporal_namespace`, which also read `.env`) win when set; with nothing set anywhere it is the
local dev server, `localhost:7233`, namespace `default`. Every client gets the pydantic data
converter (the engine's workflows and activities exchange pydantic models).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig
from temporalio.runtime import Runtime

from settings import EngineSettings

DEFAULT_ADDRESS = "localhost:7233"
DEFAULT_NAMESPACE = "default"


def connect_config(
    settings: EngineSettings,
    *,
    env: Mapping[str, str] | None = None,
    config_file: str | None = None,
) -> dict[str, Any]:
    """The keyword arguments of `Client.connect` (`target_host`, `namespace`, and `api_key`,
    `tls`, `rpc_metadata` when Temporal's configuration has them). `env` and `config_file`
    replace the process environment and the default config file (for tests)."""
    config: dict[str, Any] = dict(
        ClientConfig.load_client_connect_config(config_file=config_file, override_env_vars=env)
    )
    if settings.temporal_address:
        config["target_host"] = settings.temporal_address
    if settings.temporal_namespace:
        config["namespace"] = settings.temporal_namespace
    config.setdefault("target_host", DEFAULT_ADDRESS)
    config.setdefault("namespace", DEFAULT_NAMESPACE)
    return config


def temporal_address(settings: EngineSettings) -> str:
    """Where `connect_temporal` connects (for messages)."""
    return connect_config(settings)["target_host"]


def temporal_namespace(settings: EngineSettings) -> str:
    return connect_config(settings)["namespace"]


async def connect_temporal(
    settings: EngineSettings, *, timeout: float | None = None, runtime: Runtime | None = None
) -> Client:
    """A client with the pydantic data converter (every client of the engine must use it);
    `timeout` bounds the connection attempt."""
    connecting = Client.connect(
        **connect_config(settings), data_converter=pydantic_data_converter, runtime=runtime
    )
    return await (asyncio.wait_for(connecting, timeout) if timeout is not None else connecting)
