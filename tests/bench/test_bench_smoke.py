"""`python -m bench --quick` runs every benchmark end to end at the smallest sizes: the table and
the JSON results have every row, each with numbers. The figures themselves are not asserted
(timing belongs in BENCHMARKS.md, not in tests)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "--quick",
    "--enroll-count=30",
    "--steps=2",
    "--step-enrollments=4",
    "--timers=8",
    "--timer-spread=2",
    "--timer-margin=3",
    "--timer-parked=6",
    "--parked=16",
    "--webhooks=4",
    "--trigger-events=5",
    "--compile-steps=100",
]
# Rows that have a bare Temporal figure (the others print "—" there).
WITH_BARE = (
    "enrollments/s",
    "journey steps/s",
    "timer lateness",
    "timer wake-up",
    "webhook -> signal",
    "parked:",
)


def test_quick_run_prints_every_row_with_numbers(tmp_path: Path) -> None:
    results = tmp_path / "latest.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench", *TINY, "--json", str(results), "--label", "smoke test"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    document = json.loads(results.read_text())
    rows = document["rows"]
    names = [row["benchmark"] for row in rows]
    for expected in (
        "compile a 100-step journey",
        "one event vs 1,000 triggers, p50",
        "one event vs 1,000 triggers, p99",
        "one event's whole dispatch vs 1,000 triggers (decisions stored), p50",
        "one event's whole dispatch vs 1,000 triggers (decisions stored), p99",
        "enrollments/s via API, 1 per request (in-memory server)",
        "enrollments/s via API, 100 per request (in-memory server)",
        "enrollments/s via API, 1 per request (file-backed server)",
        "enrollments/s via API, 100 per request (file-backed server)",
        "journey steps/s",
        "timer lateness, 8 due within 2 s, 6 parked, p50",
        "timer lateness, 8 due within 2 s, 6 parked, p99",
        "timer wake-up: worker CPU per due step run",
        "timer wake-up: server CPU per due step run",
        "timer wake-up: sandbox CPU per due step run",
        "webhook -> signal latency, p50",
        "webhook -> signal latency, p99",
        "webhook response",
        "webhook read-back alone",
        "parked: start 16 enrollments",
        "parked: time until 16 are parked",
        "parked: history events per enrollment",
        "parked: Temporal Cloud actions per enrollment",
        "parked: worker CPU per parked enrollment",
        "parked: server CPU per parked enrollment",
        "parked: server database per enrollment",
        "parked: worker RSS",
        "parked: server RSS growth",
    ):
        assert any(name.startswith(expected) for name in names), (expected, names)
    # The goal for a parked enrollment's costs: at most 1.2 times bare Temporal's.
    for row in rows:
        if row["goal"] == "<= 1.2x":
            assert row["met"] == (row["ratio"] <= 1.2), row
    # events, worker and server CPU, time to park, database, RSS; and the timer p99
    assert sum(row["goal"] == "<= 1.2x" for row in rows) == 7
    # Cloud actions: the issue asks for the row (and the 1,000,000 projection), not a ratio
    (actions,) = [r for r in rows if r["benchmark"].startswith("parked: Temporal Cloud actions")]
    assert actions["goal"] == "a row (reported)" and actions["met"] is None
    # Every run leaves a results file of its own to commit beside latest.json.
    records = list(tmp_path.glob("*-smoke-test.json"))
    assert len(records) == 1 and json.loads(records[0].read_text()) == document
    # Timers are measured against a bare workflow making the journey's Tellescope calls.
    assert document["details"]["timers"]["bare"]["workflow"] == "BareDatedTimerWorkflow"
    assert document["details"]["timers"]["bare"]["ran"] == 8
    projection = document["details"]["parked"]["projection"]
    for side in ("ours", "bare"):
        assert projection[side]["actions"] > 0 and projection[side]["workflow_cache"] > 0
    assert "Projection to 1,000,000 parked enrollments" in run.stdout
    for row in rows:
        assert isinstance(row["ours"], int | float) and math.isfinite(row["ours"]), row
        if row["benchmark"].startswith(WITH_BARE):
            assert isinstance(row["bare"], int | float), row
            assert isinstance(row["ratio"], int | float), row
        else:
            assert row["bare"] is None and row["ratio"] is None, row
        assert row["goal"]
    assert set(document["details"]) == {
        "compile",
        "triggers",
        "enrollments",
        "steps",
        "timers",
        "webhooks",
        "parked",
    }
    # The table on stdout has a line per row (plus header and rule).
    lines = [line for line in run.stdout.splitlines() if line.startswith("|")]
    assert len(lines) == len(rows) + 2
    for row in rows:
        assert any(row["benchmark"] in line for line in lines)
