"""Workflows besides JourneyWorkflow that the worker runs (trigger firings, time-based trigger
scans). Kept in one list so worker.py and tests register the same set."""

from __future__ import annotations

from triggers.workflows import (
    ThrottleGateWorkflow,
    TimeTriggerScanWorkflow,
    TriggerFiringWorkflow,
)

TRIGGER_WORKFLOWS: list[type] = [
    TriggerFiringWorkflow,
    ThrottleGateWorkflow,
    TimeTriggerScanWorkflow,
]
