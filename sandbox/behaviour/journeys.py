"""Journeys: state defaults and the defaultState/state-name constraints (docs/semantics.md §2.1)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.behaviour.base import Behaviour, Record
from sandbox.errors import TellescopeError, invalid_field, uniqueness_violation

if TYPE_CHECKING:
    from sandbox.records import Caller, RecordService


class JourneyBehaviour(Behaviour):
    model = "journeys"

    def prepare_create(self, records: RecordService, caller: Caller, record: Record) -> None:
        states = record.get("states") or []
        default = record.get("defaultState") or (states[0].get("name") if states else None) or "New"
        record["defaultState"] = default
        if not states:
            record["states"] = [{"name": default, "priority": "N/A"}]

    def check_create(self, records: RecordService, caller: Caller, record: Record) -> None:
        _check_states(record)
        onincoming = record.get("onIncomingEnduserCommunication")
        if onincoming not in (None, "", "Remove"):
            raise invalid_field(
                "onIncomingEnduserCommunication",
                f"Value must be one of Remove, '' but got {onincoming}",
            )

    def check_update(
        self,
        records: RecordService,
        caller: Caller,
        before: dict[str, Any],
        updates: dict[str, Any],
        after: dict[str, Any],
    ) -> None:
        if "states" in updates or "defaultState" in updates:
            _check_states(after)

    def after_delete(self, records: RecordService, caller: Caller, record: Record) -> None:
        # `onDependencyDelete: 'unset'` on enduser.journeys.
        for enduser in records.find("endusers", {}):
            if record["id"] in (enduser.get("journeys") or {}):
                remaining = {k: v for k, v in enduser["journeys"].items() if k != record["id"]}
                records.update(
                    caller,
                    "endusers",
                    enduser["id"],
                    {"journeys": remaining},
                    replace_object_fields=True,
                    internal=True,
                )


def _check_states(journey: dict[str, Any]) -> None:
    states = journey.get("states") or []
    names = [s.get("name") for s in states if isinstance(s, dict)]
    if len(names) != len(states):
        raise invalid_field("states", "Expecting an object")
    for name in names:
        if names.count(name) > 1:
            raise uniqueness_violation({"states.name": name}, journey)
    default = journey.get("defaultState")
    if default and names and default not in names:
        raise TellescopeError(400, "defaultState does not exist in states")


def delete_states(
    records: RecordService, caller: Caller, journey_id: str, states: Any
) -> dict[str, Any]:
    """`DELETE /v1/journey/:id/states`: drop the named states; endusers in a deleted state go
    back to the journey's default state."""
    if states is None:
        from sandbox.errors import missing_field

        raise missing_field("states")
    if not isinstance(states, list):
        raise invalid_field("states", f"Expecting a list of values but got {states}")
    journey = records.get("journeys", journey_id)
    kept = [s for s in journey.get("states") or [] if s.get("name") not in states]
    updated = records.update(
        caller, "journeys", journey_id, {"states": kept}, replace_object_fields=True
    )
    fallback = updated.get("defaultState", "")
    for enduser in records.find("endusers", {}):
        state = (enduser.get("journeys") or {}).get(journey_id)
        if state is not None and state in states:
            records.update(caller, "endusers", enduser["id"], {"journeys": {journey_id: fallback}})
    return updated
