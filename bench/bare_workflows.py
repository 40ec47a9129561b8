"""Bare Temporal workflows for comparison: no engine, just the same activity call. Kept in a
module that imports nothing but temporalio (workflow modules are re-imported in the sandbox)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow


@dataclass
class BareInput:
    enduser_id: str
    tag: str


@workflow.defn(name="BareStepWorkflow")
class BareStepWorkflow:
    @workflow.run
    async def run(self, inp: BareInput) -> None:
        await workflow.execute_activity(
            "bare_add_tag", inp, start_to_close_timeout=timedelta(seconds=30)
        )


@workflow.defn(name="BareParkedWorkflow")
class BareParkedWorkflow:
    def __init__(self) -> None:
        self.released = False

    @workflow.run
    async def run(self, inp: BareInput) -> None:
        await workflow.execute_activity(
            "bare_add_tag", inp, start_to_close_timeout=timedelta(seconds=30)
        )
        await workflow.wait_condition(lambda: self.released)

    @workflow.signal
    def release(self) -> None:
        self.released = True
