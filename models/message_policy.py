"""The organisation's message policy: one set of rules for every patient-facing message of every
journey (docs/message-policy.md).

Tellescope's own limits are per journey (a step's office hours); a patient in four journeys can
get four messages in an evening. The policy adds what no single journey can know: quiet hours in
the patient's time zone and frequency caps per channel, counted across journeys.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from models.base import TellescopeModel

# The channels the policy counts, by the action that sends on them. notifyTeam writes to the care
# team, not the patient, so it is outside the policy.
CHANNEL_OF_ACTION = {"sendSMS": "sms", "sendEmail": "email", "sendChat": "chat"}
Channel = Literal["sms", "email", "chat"]
Window = Literal["day", "week"]
WhenLimited = Literal["hold", "drop"]

_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _clock(value: str) -> str:
    if not _CLOCK.match(value):
        raise ValueError(f'"{value}" is not a 24-hour clock time like "21:00"')
    return value


class QuietHours(TellescopeModel):
    """No patient-facing message between `start` and `end`, in the patient's time zone (the
    enduser's `timezone`, else their state's, else the organisation's). A window that ends
    before it starts runs over midnight ("21:00" to "08:00")."""

    start: str
    end: str
    whenQuiet: WhenLimited = "hold"  # hold until `end`, or drop the message

    _clocks = field_validator("start", "end")(_clock)

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("start and end are the same time: the window would be empty")
        return self


class FrequencyCap(TellescopeModel):
    """At most `max` messages on `channel` per patient in any rolling `per` (24 hours or 7
    days), counted over every journey."""

    channel: Channel
    max: int = Field(ge=1, le=1000)
    per: Window
    whenCapped: WhenLimited = "drop"  # drop the message, or hold it until the window allows


class MessagePolicy(TellescopeModel):
    quietHours: QuietHours | None = None
    caps: list[FrequencyCap] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _one_cap_per_window(self) -> MessagePolicy:
        seen: set[tuple[str, str]] = set()
        for cap in self.caps:
            key = (cap.channel, cap.per)
            if key in seen:
                raise ValueError(f"two caps for {cap.channel} per {cap.per}: keep one")
            seen.add(key)
        return self
