"""The message policy's decision (rules/message_policy.py): quiet hours in the patient's zone,
rolling frequency caps, hold versus drop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from models.message_policy import FrequencyCap, MessagePolicy, QuietHours
from rules.message_policy import cap_release, decide, quiet_hours_end

NY = ZoneInfo("America/New_York")
LA = "America/Los_Angeles"


def at(day: int, hour: int, minute: int = 0, zone: ZoneInfo = NY) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=zone)


OVERNIGHT = QuietHours(start="21:00", end="08:00")


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at(7, 20, 59), None),  # just before
        (at(7, 21, 0), at(8, 8, 0)),  # starts: held to tomorrow 08:00
        (at(7, 23, 30), at(8, 8, 0)),
        (at(8, 3, 0), at(8, 8, 0)),  # after midnight: this morning
        (at(8, 7, 59), at(8, 8, 0)),
        (at(8, 8, 0), None),  # ends
        (at(8, 12, 0), None),
    ],
)
def test_overnight_quiet_hours(now, expected):
    assert quiet_hours_end(now, OVERNIGHT, "America/New_York") == expected


def test_quiet_hours_are_the_patients_zone():
    # 23:00 in New York is 20:00 in Los Angeles: quiet for one patient, not the other.
    now = at(7, 23, 0)
    assert quiet_hours_end(now, OVERNIGHT, "America/New_York") is not None
    assert quiet_hours_end(now, OVERNIGHT, LA) is None
    ends = quiet_hours_end(at(8, 1, 0), OVERNIGHT, LA)  # 22:00 in LA
    assert ends == datetime(2026, 12, 8, 8, 0, tzinfo=ZoneInfo(LA))


def test_same_day_window_and_dst_change():
    lunch = QuietHours(start="12:00", end="13:30")
    assert quiet_hours_end(at(7, 12, 15), lunch, "America/New_York") == at(7, 13, 30)
    assert quiet_hours_end(at(7, 13, 30), lunch, "America/New_York") is None
    # The night clocks go back (2026-11-01, New York): still ends at 08:00 local, which is
    # 13:00 UTC after the change.
    night = datetime(2026, 10, 31, 22, 0, tzinfo=NY)
    assert quiet_hours_end(night, OVERNIGHT, "America/New_York") == datetime(
        2026, 11, 1, 13, 0, tzinfo=UTC
    )


def test_caps_roll_over_the_window():
    cap = FrequencyCap(channel="sms", max=2, per="day")
    now = at(7, 12, 0)
    assert cap_release(now, [now - timedelta(hours=3)], cap) is None
    sends = [now - timedelta(hours=30), now - timedelta(hours=20), now - timedelta(hours=2)]
    # two in the last 24 hours: the older of them leaves the window 20 hours after it was sent
    assert cap_release(now, sends, cap) == now + timedelta(hours=4)
    week = FrequencyCap(channel="email", max=1, per="week")
    assert cap_release(now, [now - timedelta(days=6)], week) == now + timedelta(days=1)
    assert cap_release(now, [now - timedelta(days=8)], week) is None


def test_decide_orders_quiet_hours_before_caps_and_counts_one_channel():
    policy = MessagePolicy(
        quietHours=OVERNIGHT,
        caps=[
            FrequencyCap(channel="sms", max=1, per="day"),
            FrequencyCap(channel="email", max=3, per="week", whenCapped="hold"),
        ],
    )
    night = at(7, 22, 0)
    held = decide(night, policy, "sms", "America/New_York", [])
    assert (held.verdict, held.until) == ("hold", at(8, 8, 0))
    assert (
        held.reason == "held until Tue 2026-12-08 08:00 America/New_York: quiet hours 21:00-08:00"
    )
    noon = at(8, 12, 0)
    sms_sent = [noon - timedelta(hours=1)]
    dropped = decide(noon, policy, "sms", "America/New_York", sms_sent)
    assert (dropped.verdict, dropped.reason) == ("drop", "dropped: 1 sms per day reached")
    assert decide(noon, policy, "chat", "America/New_York", sms_sent).sends  # no chat cap
    emails = [noon - timedelta(days=d) for d in (1, 2, 3)]
    later = decide(noon, policy, "email", "America/New_York", emails)
    assert (later.verdict, later.until) == ("hold", noon + timedelta(days=4))
    assert (
        later.reason == "held until Sat 2026-12-12 12:00 America/New_York: 3 email per week reached"
    )


def test_drop_during_quiet_hours():
    policy = MessagePolicy(quietHours=QuietHours(start="21:00", end="08:00", whenQuiet="drop"))
    decision = decide(at(7, 22, 0), policy, "email", "America/New_York", [])
    assert (decision.verdict, decision.until) == ("drop", None)
    assert decision.reason == "dropped: quiet hours 21:00-08:00 America/New_York"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"quietHours": {"start": "9pm", "end": "08:00"}}, "24-hour clock"),
        ({"quietHours": {"start": "08:00", "end": "08:00"}}, "the window would be empty"),
        ({"caps": [{"channel": "sms", "max": 0, "per": "day"}]}, "greater than or equal to 1"),
        ({"caps": [{"channel": "fax", "max": 1, "per": "day"}]}, "'sms', 'email' or 'chat'"),
        (
            {"caps": [{"channel": "sms", "max": 1, "per": "day"}] * 2},
            "two caps for sms per day",
        ),
        ({"quietHours": {"start": "21:00", "end": "08:00", "mode": "hold"}}, "Extra inputs"),
    ],
)
def test_bad_policies_are_refused(data, message):
    with pytest.raises(ValidationError, match=message):
        MessagePolicy.model_validate(data)
