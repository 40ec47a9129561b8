"""The message policy inside the real send_message activity, against the sandbox over HTTP and
the store on SQLite (docs/message-policy.md): a held or dropped message sends nothing, a sent
one is counted once across retries, and the patient's own time zone decides quiet hours."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from activities.tellescope_activities import TellescopeActivities
from models.message_policy import MessagePolicy
from store.db import upgrade_database
from store.message_log import MessageLog
from tests.activities.conftest import find
from tests.activities.test_messaging import sms_action

POLICY = MessagePolicy.model_validate(
    {
        "quietHours": {"start": "21:00", "end": "08:00"},
        "caps": [{"channel": "sms", "max": 1, "per": "day"}],
    }
)


@pytest.fixture
def limited(client, tmp_path) -> TellescopeActivities:
    return TellescopeActivities(
        client, message_log=MessageLog(upgrade_database(f"sqlite:///{tmp_path}/p.db"))
    )


def local(hour: int, zone: str = "America/New_York") -> str:
    return datetime(2026, 12, 8, hour, 0, tzinfo=ZoneInfo(zone)).isoformat()


async def test_quiet_hours_hold_in_the_patients_zone(
    env, limited, api, request_for, make_enduser, make_template
) -> None:
    template = make_template("Hello {{enduser.fname}}")
    new_yorker = make_enduser(timezone="America/New_York")
    angeleno = make_enduser(timezone="America/Los_Angeles")
    at_23_new_york = local(23)  # 20:00 in Los Angeles
    held = await env.run(
        limited.send_message,
        request_for(sms_action(template["id"]), new_yorker, now=at_23_new_york).model_copy(
            update={"messagePolicy": POLICY}
        ),
    )
    assert held.heldUntil == "2026-12-09T13:00:00.000Z" and not held.recordIds
    assert find(api, "sms-messages", enduserId=new_yorker["id"]) == []
    sent = await env.run(
        limited.send_message,
        request_for(sms_action(template["id"]), angeleno, now=at_23_new_york).model_copy(
            update={"messagePolicy": POLICY}
        ),
    )
    assert sent.heldUntil is None and len(sent.recordIds) == 1
    assert len(find(api, "sms-messages", enduserId=angeleno["id"])) == 1


async def test_a_cap_drops_the_next_message_and_a_retry_is_counted_once(
    env, limited, api, request_for, make_enduser, make_template
) -> None:
    template = make_template("Hello {{enduser.fname}}")
    patient = make_enduser(timezone="America/New_York")
    first = request_for(sms_action(template["id"]), patient, now=local(12)).model_copy(
        update={"messagePolicy": POLICY}
    )
    assert len((await env.run(limited.send_message, first)).recordIds) == 1
    retried = await env.run(limited.send_message, first)  # the same AutomatedAction again
    assert retried.reused and retried.skipped is None
    second = request_for(sms_action(template["id"]), patient, now=local(13)).model_copy(
        update={"messagePolicy": POLICY}
    )
    dropped = await env.run(limited.send_message, second)
    assert (dropped.skipped, dropped.detail) == ("message policy", "dropped: 1 sms per day reached")
    assert len(find(api, "sms-messages", enduserId=patient["id"])) == 1
    assert [a for _, a, _ in limited.message_log.sends_for(patient["id"])] == [
        first.automatedActionId
    ]


async def test_a_policy_without_a_message_log_is_a_clear_error(
    env, acts, request_for, make_enduser, make_template
) -> None:
    from temporalio.exceptions import ApplicationError

    request = request_for(
        sms_action(make_template("Hi")["id"]), make_enduser(), now=local(12)
    ).model_copy(update={"messagePolicy": POLICY})
    with pytest.raises(ApplicationError, match="no message log"):
        await env.run(acts.send_message, request)
