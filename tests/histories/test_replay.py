"""Replay the recorded histories of every example journey against the current workflow code
(docs/temporal.md §4). A change that would make running enrollments nondeterministic fails here:
put it behind `workflow.patched("<change>")` instead (see tests/histories/record.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.journey import JourneyWorkflow

HISTORIES = sorted(Path(__file__).parent.glob("*.json"))


def test_every_example_journey_has_recorded_histories():
    journeys = {p.stem.split("-")[0] for p in HISTORIES}
    assert journeys == {"onboarding", "post", "lab", "re", "care", "no"}
    assert len(HISTORIES) >= 12


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_history_replays_on_current_code(path: Path):
    history = WorkflowHistory.from_json(f"replay-{path.stem}", json.loads(path.read_text()))
    replayer = Replayer(workflows=[JourneyWorkflow], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)  # raises on nondeterminism
