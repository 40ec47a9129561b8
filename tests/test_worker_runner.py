"""worker.workflow_runner: the worker runs workflow code unsandboxed unless WORKFLOW_SANDBOX is
set (docs/decisions.md D40); the tests' own workers keep the strict sandbox, which is what guards
the workflow code's determinism."""

from __future__ import annotations

import pytest
from temporalio.worker import UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

import worker
from settings import EngineSettings, SettingsError, load_settings


def test_the_worker_runs_workflows_unsandboxed_by_default(monkeypatch):
    monkeypatch.delenv("WORKFLOW_SANDBOX", raising=False)
    assert isinstance(worker.workflow_runner(), UnsandboxedWorkflowRunner)
    assert isinstance(worker.workflow_runner(EngineSettings()), UnsandboxedWorkflowRunner)


def test_workflow_sandbox_turns_the_passed_through_sandbox_on(monkeypatch):
    monkeypatch.setenv("WORKFLOW_SANDBOX", "true")
    runner = worker.workflow_runner()
    assert isinstance(runner, SandboxedWorkflowRunner)
    assert set(worker.WORKFLOW_MODULES) <= set(runner.restrictions.passthrough_modules)


def test_a_bad_workflow_sandbox_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("WORKFLOW_SANDBOX", "sometimes")
    with pytest.raises(SettingsError) as raised:
        load_settings(EngineSettings)
    assert "WORKFLOW_SANDBOX" in str(raised.value)


def test_the_workflow_tests_run_the_strict_sandbox():
    """tests/workflows and tests/e2e build their workers without a runner: Temporal's default,
    the strict sandbox that re-imports the workflow modules and refuses restricted calls."""
    from pathlib import Path

    here = Path(__file__).parent
    for conftest in (here / "workflows" / "conftest.py", here / "e2e" / "conftest.py"):
        text = conftest.read_text()
        assert "Worker(" in text and "workflow_runner" not in text, conftest
