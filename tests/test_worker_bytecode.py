"""worker.cache_workflow_bytecode: the workflow sandbox re-imports the workflow modules for every
workflow instance, so their bytecode must exist even under PYTHONDONTWRITEBYTECODE."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import worker


def test_writes_bytecode_only_when_python_would_not(tmp_path: Path, monkeypatch) -> None:
    """Regression: without it each new workflow compiled workflows/journey.py from
    source, a third of the worker's CPU while enrollments started."""
    module = tmp_path / "bytecode_probe_workflow.py"
    module.write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    cached = Path(importlib.util.cache_from_source(str(module)))

    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    assert worker.cache_workflow_bytecode(("bytecode_probe_workflow",)) == []
    assert not cached.exists()

    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    written = worker.cache_workflow_bytecode(("bytecode_probe_workflow", "no_such_module_here"))
    assert written == [str(cached)] and cached.exists()
