"""The `journeys` CLI as a user runs it: real processes, real files, exit codes and output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from compiler import compile_paths

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
JOURNEYS = [ROOT / ".venv" / "bin" / "journeys"]
if not JOURNEYS[0].exists():  # installed elsewhere (e.g. CI with another venv)
    JOURNEYS = [sys.executable, "-m", "cli"]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*map(str, JOURNEYS), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_validate_examples_exits_zero_with_summary():
    result = run("validate", "examples/")
    assert result.returncode == 0, result.stderr
    journeys = ("onboarding", "post-visit", "lab-results", "re-engagement", "care-plan")
    for journey in (*journeys, "no-show-recovery", "first-run"):
        assert f"journey {journey} version " in result.stdout
    assert "examples/onboarding.yaml: journey onboarding version " in result.stdout
    assert ": 9 steps, 1 trigger, 1 root\n" in result.stdout
    assert result.stdout.endswith(
        "7 journeys valid (organization time zone America/New_York, 5 office-hour blocks,"
        " 2 closures)\n"
    )


def test_validate_reports_every_error_and_exits_one(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "journey: {id: b, title: B, defaultState: X, states: [{name: New, priority: N/A}]}\n"
        "steps:\n"
        "  - id: a\n"
        "    events: [{type: onJourneyStart, info: {}}]\n"
        "    action: {type: sendSMSS, info: {}}\n"
    )
    result = run("validate", str(broken))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == "2 errors"
    assert lines[0].startswith(f"{broken}:1:28 journey.defaultState: ")
    assert lines[1] == (
        f'{broken}:5:14 steps.a.action.type: unknown action "sendSMSS" (did you mean "sendSMS"?)'
    )


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_graph_writes_flowchart(tmp_path, fmt):
    out = tmp_path / f"onboarding.{fmt}"
    result = run("graph", "examples/onboarding.yaml", "--format", fmt, "--output", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    plan = compile_paths([EXAMPLES]).plan("onboarding")
    if fmt == "mermaid":
        assert text.startswith("flowchart TD\n")
        # one node per step and one edge per event (plus the start node)
        assert text.count("-->") == sum(len(s.events) for s in plan.steps.values())
        assert '"formUnsubmitted, after 2 days, office hours"' in text
    else:
        assert text.startswith('digraph "onboarding" {')
        assert text.count(" -> ") == sum(len(s.events) for s in plan.steps.values())
    for step_id in plan.steps:
        assert step_id in text


def test_graph_rejects_unknown_format():
    result = run("graph", "examples/onboarding.yaml", "--format", "gif")
    assert result.returncode == 2
    assert "expected one of mermaid, dot, svg, png" in result.stderr


def test_import_then_compile_keeps_semantics(tmp_path):
    """Export-shaped JSON (ObjectIds) -> YAML with readable ids -> same plan shape."""
    source = compile_paths([EXAMPLES]).plan("post-visit")
    object_ids = {sid: f"65{i:022x}" for i, sid in enumerate(source.steps)}
    journey_oid = "66" + "0" * 22
    steps = []
    for step_id, step in source.steps.items():
        record = step.model_dump(mode="json", exclude_unset=True)
        record["id"], record["journeyId"] = object_ids[step_id], journey_oid
        record["businessId"], record["createdAt"] = (
            "60398b0231a295e64f084fd9",
            "2024-12-21T20:04:47Z",
        )
        for event in record["events"]:
            if "automationStepId" in event["info"]:
                event["info"]["automationStepId"] = object_ids[event["info"]["automationStepId"]]
        steps.append(record)
    journey = source.journey.model_dump(mode="json", exclude_unset=True) | {"id": journey_oid}
    (tmp_path / "journey.json").write_text(json.dumps(journey))
    (tmp_path / "steps.json").write_text(json.dumps(steps))

    result = run(
        "import",
        str(tmp_path / "journey.json"),
        str(tmp_path / "steps.json"),
        "--output",
        str(tmp_path / "out"),
    )
    assert result.returncode == 0, result.stderr
    imported = compile_paths([tmp_path / "out"]).plans[0]

    def shape(plan):
        by_id = {sid: i for i, sid in enumerate(plan.steps)}
        return sorted(
            (by_id[parent], etype, by_id[ref.stepId])
            for parent, kinds in plan.children.items()
            for etype, refs in kinds.items()
            for ref in refs
        ), [s.action.model_dump(exclude_unset=True) for s in plan.steps.values()]

    assert shape(imported) == shape(source)
    assert all("-" in sid or sid.isalpha() for sid in imported.steps)  # readable ids
    assert imported.journeyId == "post-visit-follow-up"


def test_import_rejects_unrecognised_records(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"hello": "world"}]))
    result = run("import", str(bad), "--output", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "record [0] is not a journey, automation step or trigger" in result.stderr
