"""Endusers: consent initialisers, the `journeys` map (docs/semantics.md §3.1) and its
engagement events.

`enduser.journeys` maps journey id → state; every key must name an existing journey, otherwise
Tellescope refuses the whole write with "Could not find a related record for the given id(s)".

Tellescope records journey membership changes as engagement events: `JOURNEY_SET` when a journey
key appears (an enduser created with `journeys`, or a key added later, e.g. add-endusers-to-journey)
and `STATE_CHANGE` when the value of an existing key changes. Each is an `engagement_events` record
`{enduserId, type, significance: 1, timestamp, fields: {journeyId, state, previousState?}}`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.behaviour.base import Behaviour, Record
from sandbox.clock import now_iso
from sandbox.errors import invalid_field, related_not_found

if TYPE_CHECKING:
    from sandbox.records import Caller, RecordService


class EnduserBehaviour(Behaviour):
    model = "endusers"

    def prepare_create(self, records: RecordService, caller: Caller, record: Record) -> None:
        # Tellescope's initializers: consent defaults to "an address was given".
        record.setdefault("emailConsent", bool(record.get("email")))
        record.setdefault("phoneConsent", bool(record.get("phone")))

    def check_create(self, records: RecordService, caller: Caller, record: Record) -> None:
        _check_journeys(records, record.get("journeys"))

    def after_create(self, records: RecordService, caller: Caller, record: Record) -> None:
        _journey_engagement(records, caller, record["id"], {}, record.get("journeys") or {})

    def check_update(
        self,
        records: RecordService,
        caller: Caller,
        before: dict[str, Any],
        updates: dict[str, Any],
        after: dict[str, Any],
    ) -> None:
        if "journeys" in updates:
            _check_journeys(records, updates["journeys"])

    def after_update(
        self,
        records: RecordService,
        caller: Caller,
        before: dict[str, Any],
        updates: dict[str, Any],
        after: dict[str, Any],
    ) -> None:
        if "journeys" in updates:
            _journey_engagement(
                records,
                caller,
                after["id"],
                before.get("journeys") or {},
                after.get("journeys") or {},
            )


JOURNEY_SET = "JOURNEY_SET"
STATE_CHANGE = "STATE_CHANGE"


def _journey_engagement(
    records: RecordService,
    caller: Caller,
    enduser_id: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    for journey_id, state in after.items():
        if journey_id not in before:
            kind, fields = JOURNEY_SET, {"journeyId": journey_id, "state": state}
        elif before[journey_id] != state:
            kind = STATE_CHANGE
            fields = {"journeyId": journey_id, "state": state, "previousState": before[journey_id]}
        else:
            continue
        records.create(
            caller,
            "engagement_events",
            {
                "enduserId": enduser_id,
                "type": kind,
                "significance": 1,
                "timestamp": now_iso(),
                "fields": fields,
            },
        )


def _check_journeys(records: RecordService, journeys: Any) -> None:
    if journeys is None:
        return
    for journey_id, state in journeys.items():
        if not isinstance(state, str):
            raise invalid_field("journeys", f"Expecting string value but got {state}")
        if len(state) > 75:
            raise invalid_field("journeys", "Length of state exceeds maxLength 75")
        if not records.store.exists("journeys", journey_id):
            raise related_not_found()


def set_journey_state(
    records: RecordService, caller: Caller, enduser_id: str, journey_id: str, state: str
) -> dict[str, Any]:
    """Write `journeys[journey_id] = state` as an object merge, firing the enduser webhook."""
    return records.update(caller, "endusers", enduser_id, {"journeys": {journey_id: state}})


def remove_from_journey(
    records: RecordService, caller: Caller, enduser_id: str, journey_id: str
) -> dict[str, Any]:
    enduser = records.get("endusers", enduser_id)
    remaining = {k: v for k, v in (enduser.get("journeys") or {}).items() if k != journey_id}
    return records.update(
        caller, "endusers", enduser_id, {"journeys": remaining}, replace_object_fields=True
    )


class EnduserStatusUpdateBehaviour(Behaviour):
    """Tellescope's `updateEnduserStatus` side effect: a status update writes the journey state."""

    model = "enduser_status_updates"

    def after_create(self, records: RecordService, caller: Caller, record: Record) -> None:
        enduser_id, journey_id = record["enduserId"], record["journeyId"]
        set_journey_state(records, caller, enduser_id, journey_id, record["status"])
