"""Temporal test servers from the installed binaries (no downloads), with our search attributes
and the pydantic data converter, as every client of the engine uses them."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from temporalio.testing import ActivityEnvironment

from devstack.temporal import start_dev_server, start_time_skipping

__all__ = ["attempt_environment", "next_run_id", "start_dev_server", "start_time_skipping"]


def attempt_environment(
    started_ago: timedelta = timedelta(0), timeout: timedelta = timedelta(minutes=1)
) -> ActivityEnvironment:
    """An activity environment whose attempt started `started_ago` with a start-to-close
    `timeout`, as Temporal's would be (the default one started in 1970 with a 1 s timeout: every
    write would be past its attempt's deadline, activities/attempt_deadline.py)."""
    environment = ActivityEnvironment()
    environment.info = dataclasses.replace(
        environment.info,
        started_time=datetime.now(UTC) - started_ago,
        start_to_close_timeout=timeout,
    )
    return environment


async def next_run_id(client, workflow_id: str, run_id: str) -> str | None:
    """The run that continued `run_id` as new, or None while it has not. Read from the run's
    history (describe() cannot decode an unset datetime search attribute on the time-skipping
    server)."""
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    last = history.events[-1]
    if last.HasField("workflow_execution_continued_as_new_event_attributes"):
        return last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
    return None


async def search_attributes(client, workflow_id: str) -> dict:
    """A workflow's search attributes, decoded from the raw describe response (the SDK's
    describe() cannot decode an unset datetime attribute on the time-skipping server)."""
    import json

    from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest

    response = await client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=client.namespace, execution={"workflow_id": workflow_id}
        )
    )
    fields = response.workflow_execution_info.search_attributes.indexed_fields
    decoded = {name: json.loads(payload.data) for name, payload in fields.items() if payload.data}
    return {name: value for name, value in decoded.items() if value is not None}
