"""Bare Temporal workflows for comparison: no engine, just the same activity call. Kept in a
module that imports nothing but temporalio (workflow modules are re-imported in the sandbox)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow

# The timer benchmark's bare side. same-work: BareDatedTimerWorkflow, the journey's Tellescope
# calls without the engine (tag, read the date, sleep, tag); timer-only: BareTimerWorkflow, given
# its due time, sleeps and tags (the comparison of the runs before 2026-12-07 13:00 UTC).
BARE_KINDS = ("same-work", "timer-only")


@dataclass
class BareInput:
    enduser_id: str
    tag: str
    due_ms: int = 0  # BareTimerWorkflow: when to run the activity (epoch ms)


@workflow.defn(name="BareStepWorkflow")
class BareStepWorkflow:
    """One journey step without the engine: one activity doing the same Tellescope call."""

    @workflow.run
    async def run(self, inp: BareInput) -> None:
        await workflow.execute_activity(
            "bare_add_tag", inp, start_to_close_timeout=timedelta(seconds=30)
        )


@workflow.defn(name="BareTimerWorkflow")
class BareTimerWorkflow:
    """A delayed step without the engine: sleep until `due_ms`, then the activity."""

    @workflow.run
    async def run(self, inp: BareInput) -> None:
        remaining = inp.due_ms / 1000 - workflow.now().timestamp()
        if remaining > 0:
            await workflow.sleep(remaining)
        await workflow.execute_activity(
            "bare_add_tag", inp, start_to_close_timeout=timedelta(seconds=30)
        )


@workflow.defn(name="BareDatedTimerWorkflow")
class BareDatedTimerWorkflow:
    """The timer benchmark's journey without the engine, the same Tellescope calls in the same
    order: tag the enduser, read the date the delay counts from, sleep until it, tag again."""

    @workflow.run
    async def run(self, inp: BareInput) -> None:
        await workflow.execute_activity(
            "bare_add_tag",
            BareInput(enduser_id=inp.enduser_id, tag="enrolled"),
            start_to_close_timeout=timedelta(seconds=30),
        )
        due_ms = await workflow.execute_activity(
            "bare_read_due", inp, start_to_close_timeout=timedelta(seconds=30), result_type=int
        )
        remaining = due_ms / 1000 - workflow.now().timestamp()
        if remaining > 0:
            await workflow.sleep(remaining)
        await workflow.execute_activity(
            "bare_add_tag", inp, start_to_close_timeout=timedelta(seconds=30)
        )


@workflow.defn(name="BareParkedWorkflow")
class BareParkedWorkflow:
    """A parked enrollment without the engine: one activity, then wait for a signal."""

    def __init__(self) -> None:
        self.released = False
        self.pokes = 0

    @workflow.run
    async def run(self, inp: BareInput) -> None:
        await workflow.execute_activity(
            "bare_add_tag", inp, start_to_close_timeout=timedelta(seconds=30)
        )
        await workflow.wait_condition(lambda: self.released)

    @workflow.signal
    def release(self) -> None:
        self.released = True

    @workflow.signal
    def poke(self, payload: dict) -> None:
        """A signal that changes nothing (the webhook benchmark's bare counterpart)."""
        self.pokes += 1
