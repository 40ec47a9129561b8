"""A Tellescope write ends before its activity attempt's deadline (activities/attempt_deadline.py):
Temporal starts the retry once the attempt timed out, even if the attempt still runs, so a write
still in flight then could be missed by the retry's lookup and sent twice."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from temporalio.exceptions import ApplicationError

from activities.attempt_deadline import CLOCK_MARGIN_SECONDS, writes_within_attempt
from tellescope.client import write_deadline
from tellescope.errors import OUT_OF_TIME
from tests.activities.conftest import find
from tests.activities.test_messaging import sms_action
from tests.temporal_env import attempt_environment

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_write_too_close_to_the_deadline_is_not_sent(
    acts, api, request_for, enduser, make_template
) -> None:
    template = make_template("Hello {{enduser.fname}}.")
    # 60 s timeout, started 59 s ago: the deadline (less the clock margin) has passed.
    late = attempt_environment(started_ago=timedelta(seconds=59), timeout=timedelta(seconds=60))
    request = request_for(sms_action(template["id"]), enduser)
    with pytest.raises(ApplicationError) as raised:
        await late.run(acts.send_message, request)
    assert raised.value.type == OUT_OF_TIME and not raised.value.non_retryable
    assert "not sent" in str(raised.value)
    assert find(api, "sms-messages", enduserId=enduser["id"]) == []
    # The retry, an attempt with its time ahead of it, sends the message once.
    outcome = await attempt_environment().run(acts.send_message, request)
    (sms,) = find(api, "sms-messages", enduserId=enduser["id"])
    assert outcome.recordIds == [sms["id"]] and not outcome.reused


async def test_a_write_unanswered_at_the_deadline_is_abandoned_then(
    acts, api, request_for, enduser, make_template, faults
) -> None:
    template = make_template("Hello {{enduser.fname}}.")
    # The sandbox holds the send 3 s (then drops it unprocessed); the client would wait 5 s; the
    # attempt's writes must be over 1.5 s from now.
    faults(kinds=["timeout"], paths=["/v1/sms-message"], timeoutSeconds=3)
    window = timedelta(seconds=1.5 + CLOCK_MARGIN_SECONDS)
    request = request_for(sms_action(template["id"]), enduser)
    began = time.monotonic()
    with pytest.raises(ApplicationError) as raised:
        await attempt_environment(timeout=window).run(acts.send_message, request)
    waited = time.monotonic() - began
    assert raised.value.type == OUT_OF_TIME and "abandoned unanswered" in str(raised.value)
    assert waited < 2.5, f"gave up after {waited:.1f} s, not at the attempt's deadline"
    assert find(api, "sms-messages", enduserId=enduser["id"]) == []


async def test_reads_are_not_held_to_the_deadline(acts, client, enduser) -> None:
    """Only writes can act twice: an attempt past its deadline still reads (the lookup that
    tells a retry whether the first attempt's record exists must always run)."""
    late = attempt_environment(started_ago=timedelta(minutes=5), timeout=timedelta(seconds=60))

    async def read():
        with writes_within_attempt():
            assert write_deadline.get() is not None
            return await client.get("endusers", enduser["id"])

    assert (await late.run(read))["id"] == enduser["id"]
