"""`journeys simulate` applies the organisation's message policy as the worker does
(docs/message-policy.md): a message due in quiet hours shows when it really goes out, and why."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_simulate_shows_a_message_held_for_quiet_hours(tmp_path):
    (tmp_path / "organization.yaml").write_text(
        "organization:\n"
        "  timezone: America/New_York\n"
        "  messagePolicy:\n"
        '    quietHours: {start: "21:00", end: "08:00"}\n'
    )
    (tmp_path / "evening.yaml").write_text(
        "journey: {id: evening, title: Evening}\n"
        "steps:\n"
        "  - id: hello\n"
        "    events: [{type: onJourneyStart, info: {}}]\n"
        "    action: {type: sendSMS, info: {senderId: 64f000000000000000000a01,"
        " templateId: 64f000000000000000000b01}}\n"
    )
    patient = tmp_path / "pat.json"
    patient.write_text(json.dumps({"fname": "Pat", "phone": "+15555550100", "phoneConsent": True}))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "simulate",
            str(tmp_path / "evening.yaml"),
            "--enduser",
            str(patient),
            "--start",
            "2026-12-08T22:00:00-05:00",
            "--format",
            "json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (entry,) = [e for e in json.loads(done.stdout)["timeline"] if e["step"] == "hello"]
    assert entry["outcome"] == "ran"
    assert entry["at"].startswith("2026-12-09T13:00")  # 08:00 in New York
    assert (
        "held until Wed 2026-12-09 08:00 America/New_York: quiet hours 21:00-08:00"
        in (entry["why"])
    )
