"""Journey: a named workflow definition plus its descriptive states (docs/semantics.md §2)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from models.base import TellescopeModel, TellescopeRecord

# Older Tellescope records may still hold High/Medium/Low (docs/semantics.md §2.1), so
# they load too.
StatePriority = Literal["Disengaged", "N/A", "Engaged", "High", "Medium", "Low"]


class JourneyState(TellescopeModel):
    name: str = Field(min_length=1, max_length=100)
    priority: StatePriority
    requiresFollowup: bool | None = None
    description: str | None = None


class Journey(TellescopeRecord):
    title: str = Field(min_length=1, max_length=100)
    defaultState: str | None = Field(default=None, max_length=100)
    states: list[JourneyState] | None = None
    description: str | None = Field(default=None, max_length=1000)
    onIncomingEnduserCommunication: Literal["Remove", ""] | None = None
    # Engine extension (not a Tellescope field): what a paused enrollment does on resume with
    # the steps that fell due while it was paused (docs/decisions.md D28). None: runOverdue.
    onResume: Literal["runOverdue", "skipOverdue"] | None = None
    tags: list[str] | None = None
    accessTags: list[str] | None = None
    archivedAt: str | None = None

    @property
    def removes_on_incoming_communication(self) -> bool:
        return self.onIncomingEnduserCommunication == "Remove"

    @property
    def skips_overdue_on_resume(self) -> bool:
        return self.onResume == "skipOverdue"
