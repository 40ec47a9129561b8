"""Choosing users: senders of messages (docs/semantics.md §8.1), care-team members, users
matching tags or licensed in a state. Pure selection rules plus the few reads they need."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from activities.run import ActionRun
from models.actions import ListOfStringsWithQualifier
from rules.dates import parse_any_date
from tellescope.client import Record


def tags_match(user_tags: Iterable[str] | None, rule: ListOfStringsWithQualifier) -> bool:
    """`One Of`: the user has at least one of the values; `All Of`: every one. A rule without
    values matches nobody, so an empty rule never assigns (or removes) a whole organisation."""
    values = [v for v in rule.values if v]
    if not values:
        return False
    have = set(user_tags or ())
    if rule.qualifier == "All Of":
        return all(v in have for v in values)
    return any(v in have for v in values)


def credentialed_in(user: Record, state: str | None, at: datetime) -> bool:
    """The user holds a licence for `state` that has not expired at `at` (users'
    `credentialedStates: [{state, expiresAt?}]`). No state on the enduser: nobody qualifies."""
    if not state:
        return False
    for credential in user.get("credentialedStates") or []:
        if str(credential.get("state", "")).upper() != state.upper():
            continue
        raw_expiry = credential.get("expiresAt")
        expires = parse_any_date(raw_expiry) if raw_expiry else None
        if expires is None or expires > at:
            return True
    return False


def care_team(enduser: Record) -> list[str]:
    return [u for u in enduser.get("assignedTo") or [] if u]


def primary_care_team_member(enduser: Record) -> str | None:
    """`primaryAssignee` when it is on the care team, else the first member
    (docs/semantics.md §8.1)."""
    team = care_team(enduser)
    primary = enduser.get("primaryAssignee")
    if primary and primary in team:
        return primary
    return team[0] if team else None


def seeded_choice(candidates: Sequence[str], seed: str) -> str:
    """A random pick that a retry of the same action repeats: seeded by the action's id."""
    return random.Random(seed).choice(sorted(candidates))


async def organisation_users(run: ActionRun) -> list[Record]:
    return await run.client.find_all("users", sort="oldFirst")


async def users_by_id(run: ActionRun, ids: Iterable[str]) -> list[Record]:
    return await run.client.get_many("users", ids)


async def resolve_sender(run: ActionRun, default_sender: str, assignment: Any) -> str:
    """Sender assignment: `Default` -> `senderId`; `Care Team Primary` -> the primary care-team
    member; `Care Team` -> the first care-team member matching `tags` (any member without tags);
    both fall back to `senderId` when nobody qualifies."""
    if assignment is None or assignment.type == "Default":
        return default_sender
    enduser = await run.enduser()
    if assignment.type == "Care Team Primary":
        return primary_care_team_member(enduser) or default_sender
    team = care_team(enduser)
    rule = assignment.info.tags
    if rule is None or not [v for v in rule.values if v]:
        return team[0] if team else default_sender
    for user in await users_by_id(run, team):
        if tags_match(user.get("tags"), rule):
            return user["id"]
    return default_sender
