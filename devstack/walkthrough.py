"""The first-run walkthrough `journeys dev` prints: three copy-paste steps, each answered by the
`first-run` journey (examples/first-run.yaml) within seconds at any hour, with the exact hosts,
ports and keys of this stack.

The commands are plain `curl` (and `python3` to pick an id out of a JSON answer), one line each,
so they paste into any POSIX shell; tests/devstack/test_walkthrough.py runs the printed lines
against a real `journeys dev` and checks every reaction.
"""

from __future__ import annotations

from dataclasses import dataclass

JOURNEY = "first-run"
PATIENT_EMAIL = "sam.sample@example.org"
PATIENT = {
    "fname": "Sam",
    "lname": "Sample",
    "email": PATIENT_EMAIL,
    "phone": "+15555550101",
    "emailConsent": True,
    "phoneConsent": True,
}
# Picks the newest record's id out of a Tellescope list answer (newest first by default).
NEWEST_ID = "python3 -c 'import json,sys; print(json.load(sys.stdin)[0][\"id\"])'"


@dataclass(frozen=True)
class Step:
    title: str
    command: str
    reaction: str


def _newest(sandbox_url: str, sandbox_key: str, model: str, enduser_id: str) -> str:
    """A shell expression: the id of the enduser's newest `model` record in the sandbox."""
    return (
        f"$(curl -s -G {sandbox_url}/v1/{model} -H 'Authorization: API_KEY {sandbox_key}'"
        f' --data-urlencode \'filter={{"enduserId": "{enduser_id}"}}\' | {NEWEST_ID})'
    )


def steps(
    *, api_url: str, sandbox_url: str, api_key: str, sandbox_key: str, enduser_id: str
) -> list[Step]:
    json_header = "-H 'Content-Type: application/json'"
    form = _newest(sandbox_url, sandbox_key, "form-responses", enduser_id)
    ticket = _newest(sandbox_url, sandbox_key, "tickets", enduser_id)
    return [
        Step(
            f"Start: enroll Sam in `{JOURNEY}` (again from the top with restart)",
            f"curl -s -X POST {api_url}/v1/journeys/{JOURNEY}/enrollments"
            f" -H 'Authorization: API_KEY {api_key}' {json_header}"
            f' -d \'{{"enduserIds": ["{enduser_id}"], "restart": true}}\'',
            "the intake form is emailed at once (outbox)",
        ),
        Step(
            "1. Submit the form as Sam (the sandbox's patient route)",
            f"curl -s -X POST {sandbox_url}/sandbox/patient/form-responses/{form}/submit"
            f" {json_header} -d '{{}}'",
            "the welcome SMS goes out (outbox)",
        ),
        Step(
            "2. Reply to the SMS as Sam",
            f"curl -s -X POST {sandbox_url}/sandbox/patient/sms {json_header}"
            f' -d \'{{"enduserId": "{enduser_id}", "message": "Please call me"}}\'',
            "a call-back ticket is opened for the front desk",
        ),
        Step(
            "3. Close the ticket as the care team (Tellescope's API, on the sandbox: its key)",
            f"curl -s -X POST {sandbox_url}/v1/tickets/close"
            f" -H 'Authorization: API_KEY {sandbox_key}' {json_header}"
            f' -d \'{{"ticketId": "\'{ticket}\'", "closedForReason": "Reached"}}\'',
            "the follow-up email goes out (outbox); Sam's state is Followed up",
        ),
    ]


def render(walkthrough: list[Step], *, outbox_url: str) -> str:
    lines = [f"  Try it now (each step answers within seconds; watch {outbox_url}):"]
    for step in walkthrough:
        lines += [f"    {step.title}  ->  {step.reaction}", f"      $ {step.command}"]
    return "\n".join(lines)
