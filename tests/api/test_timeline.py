"""A patient's timeline and why (docs/operator-view.md §3-§5), through real parts: the app on the
time-skipping server with a real worker, the sandbox as Tellescope, the trigger decisions
written by `POST /v1/events`; the JSON endpoint, `journeys why` as a subprocess, and the patient
page rendered in Debian's chromium, each checked against the ledger."""

from __future__ import annotations

import json
import os
import re
import subprocess
import textwrap
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from store.db import get_engine
from store.trigger_decisions import TriggerDecisions
from tests.api.conftest import ORGANIZATION
from tests.api.test_journey_page import chromium
from tests.cli.test_cli_commands import JOURNEYS, ROOT

pytestmark = pytest.mark.asyncio(loop_scope="session")
JOURNEY = "why-journey"

YAML = textwrap.dedent(
    f"""
    journey:
      id: {JOURNEY}
      title: Why journey
      states: [{{name: Welcomed, priority: N/A}}, {{name: VIP, priority: N/A}}]
    steps:
      - id: welcome
        events: [{{type: onJourneyStart, info: {{}}}}]
        action: {{type: setEnduserStatus, info: {{status: Welcomed}}}}
      - id: vip-note
        enduserConditions: {{$and: [{{condition: {{state: CA}}}}]}}
        events: [{{type: afterAction, info: {{automationStepId: welcome, delay: 0, unit: Minutes}}}}]
        action: {{type: setEnduserStatus, info: {{status: VIP}}}}
      - id: later
        events: [{{type: afterAction, info: {{automationStepId: welcome, delay: 2, unit: Days}}}}]
        action: {{type: setEnduserStatus, info: {{status: Welcomed}}}}
    triggers:
      - id: why-west
        title: West coast tag
        status: Active
        event: {{type: Tag Added, info: {{tag: vip}}}}
        enduserCondition: {{$and: [{{condition: {{state: CA}}}}]}}
        action: {{type: Add Tags, info: {{tags: [west]}}}}
    """
).lstrip()


async def prepared(api) -> tuple[str, list]:
    """An NY patient: enrolled, `vip-note` skipped on its condition, `later` waiting, a Tag
    Added event the trigger declined (California only), then removed from the journey."""
    await api.deploy({f"{JOURNEY}.yaml": YAML, "organization.yaml": ORGANIZATION})
    enduser_id = api.new_enduser(state="NY")
    response = await api.http.post(
        f"/v1/journeys/{JOURNEY}/enrollments", json={"enduserId": enduser_id}
    )
    assert response.status_code == 200, response.text

    def skipped():
        return [
            r
            for r in api.ledger.query(where={"enduser_id": enduser_id}, limit=10)
            if r.automation_step_id == "vip-note" and r.status == "finished"
        ]

    await api.wait_for(skipped, "vip-note skipped on its condition")
    event = {
        "type": "Tag Added",
        "eventId": f"why-{uuid.uuid4().hex[:8]}",
        "enduserId": enduser_id,
        "record": {"id": enduser_id, "tags": ["vip"]},
        "previous": {"id": enduser_id, "tags": []},
        "model": "endusers",
        "occurredAt": datetime.now(UTC).isoformat(),
    }
    response = await api.http.post("/v1/events", json=event)
    assert response.status_code == 200, response.text
    assert response.json()["firings"] == []
    # the same event again (a redelivery): decided once
    assert (await api.http.post("/v1/events", json=event)).status_code == 200
    removed = await api.http.delete(f"/v1/journeys/{JOURNEY}/enrollments/{enduser_id}")
    assert removed.status_code == 200, removed.text

    def all_closed():
        rows = api.ledger.query(where={"enduser_id": enduser_id}, limit=10)
        return len(rows) == 3 and all(r.status != "active" for r in rows) and rows

    rows = await api.wait_for(all_closed, "every action closed by the removal")
    return enduser_id, rows


async def test_timeline_json_cli_and_page_say_why(api, live_api, env, tmp_path):
    enduser_id, rows = await prepared(api)
    by_step = {r.automation_step_id: r for r in rows}
    assert by_step["vip-note"].skipped == "conditions"
    assert (by_step["later"].status, by_step["later"].cancel_reason) == ("cancelled", 0)

    async def closed_timeline():
        response = await api.http.get(f"/v1/journeys/{JOURNEY}/enrollments/{enduser_id}/timeline")
        assert response.status_code == 200, response.text
        body = response.json()
        return body if (body["enrollment"] or {}).get("status") == "removed" else None

    body = await api.wait_for(closed_timeline, "the enrollment closed")
    assert body["timezone"] == "America/New_York" and body["notes"] == []
    entries = body["entries"]
    # Trigger decisions are stamped by the API's clock, the run by the Temporal server's: on the
    # time-skipping server (virtual time, ahead after other tests' skips) the two interleave
    # arbitrarily, so the run's own order is checked without them.
    kinds = [e["kind"] for e in entries if e["kind"] != "trigger"]
    assert kinds[0] == "enrolled" and kinds[-1] == "closed"
    [closed] = [e for e in entries if e["kind"] == "closed"]
    assert "Removed by User" in closed["text"]
    # every ledger action is in the timeline with its end, as the ledger has it
    for row in rows:
        mine = [e for e in entries if e["actionId"] == row.id]
        assert mine[0]["kind"] == "planned" and mine[0]["stepId"] == row.automation_step_id
        end = {"finished": "skipped" if row.skipped else "done", "cancelled": "cancelled"}
        assert mine[-1]["kind"] == end[row.status]
    [conditions] = [e for e in entries if e["kind"] == "conditions"]
    assert conditions["stepId"] == "vip-note" and conditions["source"] == "history"
    assert conditions["values"] == {"state": "NY"}  # read from the workflow history
    assert "not met" in conditions["text"]
    [cancelled] = [e for e in entries if e["kind"] == "cancelled"]
    assert cancelled["stepId"] == "later" and "Removed by User" in cancelled["text"]
    times = [e["at"] for e in entries]
    assert times == sorted(times)  # one sorted timeline, whatever the clocks
    # The redelivered event was not decided twice. (Triggers of journeys other tests deployed
    # into this store decide about the event too: only this journey's trigger is asserted.)
    [decision] = [d for d in body["triggerDecisions"] if d["triggerId"] == "why-west"]
    assert (decision["triggerId"], decision["fired"], decision["stage"]) == (
        "why-west",
        False,
        "enduserCondition",
    )
    assert decision["values"] == {"state": "NY"}
    decisions = TriggerDecisions(get_engine(api.store_url))
    stored = [d for d in decisions.of_enduser(enduser_id) if d.trigger_id == "why-west"]
    assert len(stored) == 1

    # journeys why: the same timeline and why the trigger did not fire, in the terminal
    environment = {
        **os.environ,
        "DATABASE_URL": api.store_url,
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
    }
    done = subprocess.run(
        [*map(str, JOURNEYS), "why", enduser_id],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"== {JOURNEY} (times in America/New_York)" in out
    assert "status: removed" in out
    assert 'vip-note (setEnduserStatus): enduser conditions not met  [state = "NY"]' in out
    assert re.search(r"later \(setEnduserStatus\): cancelled \(Removed by User\)", out)
    assert (
        'trigger "West coast tag" on Tag Added: not fired (enduserCondition: the enduser does'
        " not meet the trigger's enduserCondition)" in out
    )
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d E[SD]T", out)  # the organisation's zone
    as_json = subprocess.run(
        [*map(str, JOURNEYS), "why", enduser_id, JOURNEY, "--format", "json"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert as_json.returncode == 0, as_json.stderr
    printed = json.loads(as_json.stdout)
    [printed_timeline] = printed["timelines"]
    assert [e["kind"] for e in printed_timeline["entries"]] == [e["kind"] for e in entries]
    [printed_decision] = [d for d in printed["triggerDecisions"] if d["triggerId"] == "why-west"]
    assert printed_decision["stage"] == "enduserCondition"

    # the patient page in a browser, signed in by a one-click link
    response = httpx.post(
        f"{live_api.url}/v1/page-links",
        json={"journeyId": JOURNEY, "enduserId": enduser_id},
        headers={"Authorization": f"API_KEY {api.key}"},
    )
    assert response.status_code == 200, response.text
    link = response.json()["url"]
    assert link.startswith(f"/journeys/{JOURNEY}/enrollments/{enduser_id}?token=")
    dom = chromium(live_api.url + link, tmp_path / "profile", "--dump-dom")
    assert f"<title>{enduser_id} in {JOURNEY} - Journey Engine</title>" in dom
    assert '<span id="timezone">America/New_York</span>' in dom
    table = re.search(r'<table id="timeline">.*?</table>', dom, re.S).group(0)
    page_rows = re.findall(r'<tr class="([\w-]+)" data-action="(\w*)">', table)
    assert [kind for kind, _ in page_rows] == [e["kind"] for e in entries]
    for row in rows:  # each ledger action's rows, in order, as the JSON timeline has them
        assert [k for k, a in page_rows if a == row.id] == [
            e["kind"] for e in entries if e["actionId"] == row.id
        ]
    assert "state = &quot;NY&quot;" in table or 'state = "NY"' in table
    assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d E[SD]T</td>", table)
    decided = re.search(r'<table id="decisions">.*?</table>', dom, re.S).group(0)
    assert "why-west" in decided and "enduserCondition: the enduser does not meet" in decided


async def test_patient_page_needs_sign_in_and_timeline_a_known_journey(api):
    enduser_id = api.new_enduser()
    anonymous = await api.http.get(
        f"/journeys/{JOURNEY}/enrollments/{enduser_id}",
        headers={"Authorization": "", "Accept": "text/html"},
    )
    assert anonymous.status_code == 401 and "Sign in" in anonymous.text
    unknown = await api.http.get(f"/v1/journeys/no-such-journey/enrollments/{enduser_id}/timeline")
    assert unknown.status_code == 404
    assert unknown.json()["message"] == 'Could not find a journey "no-such-journey"'
    bad = await api.http.get(f"/v1/journeys/{JOURNEY}/enrollments/not%20an%20id/timeline")
    assert bad.status_code == 422
