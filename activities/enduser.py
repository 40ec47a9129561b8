"""Enduser mutations (docs/semantics.md §8.4) and the enduser reads/writes the workflow
itself needs.

Tellescope's update semantics (Tellescope's API docs, "Updating Records"): arrays are
appended and objects merged key by key unless `options.replaceObjectFields` is set. So adding tags
appends only the missing ones, removing writes the remaining list with `replaceObjectFields`, and
`journeys[id]` / `fields[name]` are written as one-key object merges that leave every other key
alone. Each of these is idempotent: an attempt repeated after a lost answer writes the same result.
"""

from __future__ import annotations

from typing import Any

from activities.field_setters import (
    current_date,
    current_timestamp,
    date_difference,
    incremented,
    is_built_in,
)
from activities.people import care_team, credentialed_in, organisation_users, tags_match
from activities.run import ActionRun
from models.actions import EnduserFieldSetter
from models.runtime import ActionOutcome, JourneyStateUpdate
from tellescope.client import Record, TellescopeClient
from tellescope.errors import TellescopeRejected, cannot_perform
from tellescope.idempotency import INCREMENTS_FIELD, INCREMENTS_KEPT


def _updated(run: ActionRun, enduser: Record, detail: str) -> ActionOutcome:
    run.remember_enduser(enduser)
    return ActionOutcome(recordIds=[enduser["id"]], detail=detail)


def _unchanged(run: ActionRun, detail: str) -> ActionOutcome:
    return ActionOutcome(recordIds=[run.enduser_id], detail=f"{detail} (already so)")


# --- journey state ------------------------------------------------------------------------------


async def write_journey_state(client: TellescopeClient, update: JourneyStateUpdate) -> Record:
    """Set `journeys[journeyId] = state` (an object merge), or remove the key (state None):
    removing needs the remaining map written with `replaceObjectFields`."""
    if update.state is not None:
        return await client.update(
            "endusers", update.enduserId, {"journeys": {update.journeyId: update.state}}
        )
    enduser = await client.get("endusers", update.enduserId)
    journeys = dict(enduser.get("journeys") or {})
    if update.journeyId not in journeys:
        return enduser
    journeys.pop(update.journeyId)
    return await client.update(
        "endusers", update.enduserId, {"journeys": journeys}, replace_object_fields=True
    )


async def set_enduser_status(run: ActionRun) -> ActionOutcome:
    status = run.info.status
    enduser = await write_journey_state(
        run.client,
        JourneyStateUpdate(enduserId=run.enduser_id, journeyId=run.request.journeyId, state=status),
    )
    run.remember_enduser(enduser)
    return ActionOutcome(
        recordIds=[enduser["id"]], journeyState=status, detail=f'journey state "{status}"'
    )


# --- setEnduserFields ---------------------------------------------------------------------------


async def _setter_value(
    run: ActionRun,
    setter: EnduserFieldSetter,
    current: Any,
    fields: dict[str, Any],
) -> Any:
    if setter.type == "Custom Value":
        return await run.render(setter.value)
    if setter.type == "Current Timestamp":
        return current_timestamp(run.now, setter.increment)
    if setter.type == "Current Date":
        return current_date(run.now, setter.increment, run.zone)
    if setter.type == "Increment Number":
        return incremented(current, setter.increment)
    options = setter.dateDifferenceOptions
    if options is None:
        return ""  # Tellescope logs the missing options and writes ""
    return date_difference(options.date1, options.date2, fields, run.now)


async def set_enduser_fields(run: ActionRun) -> ActionOutcome:
    """Apply the setters in order (a later setter sees an earlier one's value) in one PATCH.

    Increment Number is guarded by the enduser custom field `INCREMENTS_FIELD`: the keys of the
    increments applied, written in the same PATCH as the values, so an attempt repeated after a
    lost answer finds its key and does not add twice."""
    enduser = await run.enduser(refresh=True)
    fields: dict[str, Any] = dict(enduser.get("fields") or {})
    applied: list[str] = [k for k in fields.get(INCREMENTS_FIELD) or [] if isinstance(k, str)]
    top_level: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    newly_applied: list[str] = []
    for index, setter in enumerate(run.info.fields):
        built_in = is_built_in(setter.name)
        if built_in:
            current = top_level.get(setter.name, enduser.get(setter.name))
        else:
            current = fields.get(setter.name)
        if setter.type == "Increment Number":
            guard = run.key(f"increment:{index}")
            if guard in applied:
                continue
            newly_applied.append(guard)
        value = await _setter_value(run, setter, current, fields)
        if built_in:
            top_level[setter.name] = value
        else:
            custom[setter.name] = value
            fields[setter.name] = value
    if newly_applied:
        custom[INCREMENTS_FIELD] = [*applied, *newly_applied][-INCREMENTS_KEPT:]
    updates: dict[str, Any] = dict(top_level)
    if custom:
        updates["fields"] = custom
    if not updates:
        return _unchanged(run, "fields")
    written = sorted(set(top_level) | (set(custom) - {INCREMENTS_FIELD}))
    enduser = await run.client.update("endusers", run.enduser_id, updates)
    return _updated(run, enduser, f"set {', '.join(written)}")


# --- tags and access tags -----------------------------------------------------------------------


async def _add_to_list(
    run: ActionRun, field: str, wanted: list[str], replace: bool
) -> ActionOutcome:
    enduser = await run.enduser(refresh=True)
    current: list[str] = list(enduser.get(field) or [])
    wanted = list(dict.fromkeys(w for w in wanted if w))
    if replace:
        if current == wanted:
            return _unchanged(run, f"{field} replaced")
        enduser = await run.client.update(
            "endusers", run.enduser_id, {field: wanted}, replace_object_fields=True
        )
        return _updated(run, enduser, f"{field} replaced by {wanted}")
    missing = [w for w in wanted if w not in current]
    if not missing:
        return _unchanged(run, f"{field} {wanted} added")
    enduser = await run.client.update("endusers", run.enduser_id, {field: missing})
    return _updated(run, enduser, f"{field} {missing} added")


async def _remove_from_list(run: ActionRun, field: str, unwanted: list[str]) -> ActionOutcome:
    enduser = await run.enduser(refresh=True)
    current: list[str] = list(enduser.get(field) or [])
    remaining = [c for c in current if c not in set(unwanted)]
    if remaining == current:
        return _unchanged(run, f"{field} {unwanted} removed")
    enduser = await run.client.update(
        "endusers", run.enduser_id, {field: remaining}, replace_object_fields=True
    )
    return _updated(run, enduser, f"{field} {unwanted} removed")


async def _rendered(run: ActionRun, values: list[str]) -> list[str]:
    return [await run.render(v) for v in values]


async def add_enduser_tags(run: ActionRun) -> ActionOutcome:
    tags = await _rendered(run, run.info.tags)
    return await _add_to_list(run, "tags", tags, bool(run.info.replaceExisting))


async def remove_enduser_tags(run: ActionRun) -> ActionOutcome:
    return await _remove_from_list(run, "tags", await _rendered(run, run.info.tags))


async def add_access_tags(run: ActionRun) -> ActionOutcome:
    tags = await _rendered(run, run.info.tags)
    return await _add_to_list(run, "accessTags", tags, bool(run.info.replaceExisting))


async def remove_access_tags(run: ActionRun) -> ActionOutcome:
    return await _remove_from_list(run, "accessTags", await _rendered(run, run.info.tags))


# --- contact type and care team ------------------------------------------------------------------


async def change_contact_type(run: ActionRun) -> ActionOutcome:
    custom_type = run.info.type
    enduser = await run.enduser(refresh=True)
    if (enduser.get("customTypeId") or "") == custom_type:
        return _unchanged(run, f'contact type "{custom_type}"')
    enduser = await run.client.update("endusers", run.enduser_id, {"customTypeId": custom_type})
    return _updated(run, enduser, f'contact type "{custom_type or "default"}"')


async def _matching_users(run: ActionRun, rule: Any, restrict_by_state: bool) -> list[str]:
    enduser = await run.enduser()
    chosen: list[str] = []
    for user in await organisation_users(run):
        if not tags_match(user.get("tags"), rule):
            continue
        if restrict_by_state and not credentialed_in(user, enduser.get("state"), run.now):
            continue
        chosen.append(user["id"])
    return chosen


async def assign_care_team(run: ActionRun) -> ActionOutcome:
    """Add users whose tags match to `assignedTo` (no match: no change). With `limitToOneUser`
    only one is added, preferring one already on the care team, so a retry adds nobody new;
    `setAsPrimary` makes the (first) chosen user `primaryAssignee`."""
    info = run.info
    enduser = await run.enduser(refresh=True)
    team = care_team(enduser)
    matching = await _matching_users(run, info.tags, bool(info.restrictByState))
    if not matching:
        return _unchanged(run, "care team (no matching user)")
    if info.limitToOneUser:
        matching = [next((u for u in matching if u in team), matching[0])]
    updates: dict[str, Any] = {}
    missing = [u for u in matching if u not in team]
    if missing:
        updates["assignedTo"] = missing
    if info.setAsPrimary and enduser.get("primaryAssignee") != matching[0]:
        updates["primaryAssignee"] = matching[0]
    if not updates:
        return _unchanged(run, f"care team {matching}")
    enduser = await run.client.update("endusers", run.enduser_id, updates)
    return _updated(run, enduser, f"care team + {missing or matching[:1]}")


async def remove_care_team(run: ActionRun) -> ActionOutcome:
    enduser = await run.enduser(refresh=True)
    team = care_team(enduser)
    members = await run.client.get_many("users", team)
    leaving = {u["id"] for u in members if tags_match(u.get("tags"), run.info.tags)}
    if not leaving:
        return _unchanged(run, "care team (no matching member)")
    remaining = [u for u in team if u not in leaving]
    enduser = await run.client.update(
        "endusers", run.enduser_id, {"assignedTo": remaining}, replace_object_fields=True
    )
    return _updated(run, enduser, f"care team - {sorted(leaving)}")


def related_contact_id(enduser: Record, types: list[str]) -> str | None:
    """The first of the enduser's `relationships` (`[{type, id}]`, e.g. a child's
    `{type: "Parent", id: <parent>}`) whose type is one of `types`."""
    for relationship in enduser.get("relationships") or []:
        if isinstance(relationship, dict) and relationship.get("type") in types:
            if relationship.get("id"):
                return str(relationship["id"])
    return None


async def switch_to_related_contact(run: ActionRun) -> ActionOutcome:
    """docs/semantics.md §8.4: the rest of the branch acts on the related contact of that
    relationship type (`type`, else one of `otherTypes`, in that order). It changes nothing
    itself; the workflow gives the following steps that contact as their enduser. No such
    contact (or one that no longer exists) is the step's error."""
    info = run.info
    types = [info.type, *(info.otherTypes or [])]
    enduser = await run.enduser()
    related = related_contact_id(enduser, types)
    if related is None:
        raise cannot_perform(
            f"enduser {run.enduser_id} has no related contact of type {' / '.join(types)}"
        )
    try:
        await run.client.get("endusers", related)
    except TellescopeRejected as error:
        if error.status != 404:
            raise
        raise cannot_perform(f"related contact {related} ({info.type}) does not exist") from error
    return ActionOutcome(
        recordIds=[related],
        switchedToEnduserId=related,
        detail=f"switched to related contact {related} ({info.type})",
    )


HANDLERS = {
    "setEnduserStatus": set_enduser_status,
    "setEnduserFields": set_enduser_fields,
    "addEnduserTags": add_enduser_tags,
    "removeEnduserTags": remove_enduser_tags,
    "addAccessTags": add_access_tags,
    "removeAccessTags": remove_access_tags,
    "changeContactType": change_contact_type,
    "assignCareTeam": assign_care_team,
    "removeCareTeam": remove_care_team,
    "switchToRelatedContact": switch_to_related_contact,
}


async def update_enduser(run: ActionRun) -> ActionOutcome:
    handler = HANDLERS.get(run.action_type)
    if handler is None:
        raise cannot_perform(f"update_enduser does not perform {run.action_type}")
    return await handler(run)
