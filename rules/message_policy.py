"""The message policy's decision for one message, without I/O (docs/message-policy.md).

Given the moment (`now`, aware), the patient's time zone and the times of the messages already
sent to that patient on the message's channel, decide: send, hold until a later instant, or
drop. The store (store/message_log.py) supplies the sends and records the decision atomically,
so two journeys messaging the same patient in the same second are both counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from models.message_policy import FrequencyCap, MessagePolicy, QuietHours
from rules.dates import require_aware

WINDOWS = {"day": timedelta(days=1), "week": timedelta(days=7)}
LONGEST_WINDOW = max(WINDOWS.values())


@dataclass(frozen=True)
class PolicyDecision:
    verdict: Literal["send", "hold", "drop"]
    until: datetime | None = None  # hold: when to try again
    reason: str = ""  # hold / drop: one human line for the ledger

    @property
    def sends(self) -> bool:
        return self.verdict == "send"


SEND = PolicyDecision("send")


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _local(moment: datetime, zone: str) -> str:
    return f"{moment.astimezone(ZoneInfo(zone)):%a %Y-%m-%d %H:%M} {zone}"


def quiet_hours_end(now: datetime, quiet: QuietHours, zone: str) -> datetime | None:
    """When the quiet hours `now` falls in end, or None outside them."""
    require_aware(now, "now")
    local = now.astimezone(ZoneInfo(zone))
    minute = local.hour * 60 + local.minute + local.second / 60
    start, end = _minutes(quiet.start), _minutes(quiet.end)
    if start < end:
        quiet_now = start <= minute < end
        end_day = local.date()
    else:  # over midnight: 21:00 -> 08:00
        quiet_now = minute >= start or minute < end
        end_day = local.date() + timedelta(days=1) if minute >= start else local.date()
    if not quiet_now:
        return None
    hour, minute_of_hour = divmod(end, 60)
    ends = datetime.combine(end_day, time(hour, minute_of_hour), tzinfo=ZoneInfo(zone))
    return ends.astimezone(now.tzinfo)


def cap_release(now: datetime, sends: Sequence[datetime], cap: FrequencyCap) -> datetime | None:
    """When the cap allows one more message, or None if it allows one now. Windows roll: "2 per
    day" means at most 2 in any 24 hours."""
    window = WINDOWS[cap.per]
    recent = sorted(sent for sent in sends if sent > now - window)
    if len(recent) < cap.max:
        return None
    # the message that must leave the window for the count to drop below `max`
    return recent[len(recent) - cap.max] + window


def decide(
    now: datetime,
    policy: MessagePolicy,
    channel: str,
    zone: str,
    sends: Sequence[datetime],
) -> PolicyDecision:
    """The verdict for one message on `channel` (sms / email / chat). Quiet hours first: a
    message held overnight is counted when it goes out, not when it was first due."""
    quiet = policy.quietHours
    if quiet is not None:
        ends = quiet_hours_end(now, quiet, zone)
        if ends is not None:
            where = f"quiet hours {quiet.start}-{quiet.end} {zone}"
            if quiet.whenQuiet == "drop":
                return PolicyDecision("drop", reason=f"dropped: {where}")
            hours = f"quiet hours {quiet.start}-{quiet.end}"
            return PolicyDecision("hold", ends, f"held until {_local(ends, zone)}: {hours}")
    held: PolicyDecision | None = None
    for cap in policy.caps:
        if cap.channel != channel:
            continue
        release = cap_release(now, sends, cap)
        if release is None:
            continue
        what = f"{cap.max} {channel} per {cap.per} reached"
        if cap.whenCapped == "drop":
            return PolicyDecision("drop", reason=f"dropped: {what}")
        if held is None or held.until is None or release > held.until:
            held = PolicyDecision("hold", release, f"held until {_local(release, zone)}: {what}")
    return held or SEND
