"""Warnings: constructs that compile but that Journey Engine would not run as Tellescope does.

Errors stop a deploy; these do not, but `journeys validate` and deploy show them with their
place so an author is never surprised at run time:

- an integration action, or an AI or telephony action with no handler configured
  (docs/handlers.md; the caller passes the configured types): the step fails when it runs
  (docs/decisions.md D11, D12) and its onError branch runs;
- the step-level `continueOnError`: Tellescope ignores it and reads `action.continueOnError`
  (docs/semantics.md §4.1);
- an enduser-condition operator Tellescope's evaluator answers `false` whatever the enduser
  (`$exists`, `$in` outside `Journeys`, `$gte`, ...: docs/semantics.md §10.1 rule 6);
- notifyTeam's `sendSMS` / `smsTemplateId` / `dontSendEmail`: the engine creates the user
  notifications only (Tellescope emails them per each user's preferences; no SMS is sent);
- a trigger that cannot fire as in Tellescope: an integration action with no configuration
  (the firing fails), an event no Tellescope record shows (Stripe subscriptions and payments,
  Pregnancy Ended, Healthie: they fire from `POST /v1/events` only, docs/decisions.md D20),
  Healthie `answersCondition`, and
  event filters the engine does not apply (`hasExpiredEvent`, `ignoreDelayedReadings`), and
  form-answer bounds written as `$JS(<body>)` (never evaluated: the leaf is false,
  docs/semantics.md §10.2).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from compiler.errors import CompileWarning
from compiler.parse import ParsedJourney
from compiler.yaml_source import PathPart
from models.actions import AI_ACTION_TYPES
from models.runtime import UNCONFIGURED_FAMILY, family_of
from models.triggers import INTEGRATION_TRIGGER_ACTION_TYPES

# Trigger events the engine receives no data for: the trigger never fires.
NEVER_FIRING_TRIGGER_EVENTS: dict[str, str] = {}
# Trigger events no Tellescope record webhook shows (docs/decisions.md D20): they fire only when
# another system posts them (`POST /v1/events`).
_STRIPE = "Stripe subscriptions and payments are not Tellescope records"
_HEALTHIE = "Healthie notes and forms are not Tellescope records"
EVENTS_ONLY_TRIGGER_EVENTS = {
    "Subscription Ended": _STRIPE,
    "Subscription Payment Failed": _STRIPE,
    "Subscription Paused": _STRIPE,
    "Subscription Resumed": _STRIPE,
    "Stripe: Payment Intent Failed": _STRIPE,
    "Pregnancy Ended": "no documented enduser field records the end of a pregnancy",
    "Healthie Note Locked": _HEALTHIE,
    "Healthie Form Answer Group Created": _HEALTHIE,
}
# Trigger event filters the engine does not apply (the trigger fires without them).
IGNORED_TRIGGER_EVENT_FIELDS = {
    "Form Submitted": ("hasExpiredEvent",),
    "Vital Update": ("ignoreDelayedReadings",),
}

# Leaf keys with their own rules (docs/semantics.md §10.1 rules 1-5).
_SPECIAL_KEYS = ("Age", "__upcomingEvents__", "BMI", "relationships")
_OPERATORS = ("$lt", "$gt", "$contains", "$doesNotContain", "$isSet", "$isNotSet", "$ne")


def warn_all(
    journeys: Sequence[ParsedJourney], handled_actions: Collection[str] = ()
) -> list[CompileWarning]:
    """`handled_actions`: the action types with a handler configured (ACTION_HANDLERS and the
    entry points, settings.action_handler_references): no warning for those."""
    warnings: list[CompileWarning] = []
    for parsed in journeys:
        warnings += _step_warnings(parsed, frozenset(handled_actions))
        for trigger_id, trigger in parsed.triggers.items():
            warnings += _trigger_warnings(parsed, trigger_id, trigger)
            if trigger.enduserCondition:
                path = parsed.trigger_path(trigger_id, "enduserCondition")
                warnings += _condition_warnings(parsed, path, trigger.enduserCondition)
    return sorted(warnings)


def _step_warnings(parsed: ParsedJourney, handled: frozenset[str]) -> list[CompileWarning]:
    warnings: list[CompileWarning] = []
    for step_id, step in parsed.steps.items():
        action_type = step.action.type
        if family_of(action_type) == UNCONFIGURED_FAMILY and action_type not in handled:
            where = (
                "no handler configured (ACTION_HANDLERS or an entry point, docs/handlers.md §2)"
                if action_type in AI_ACTION_TYPES
                else "no configuration in Journey Engine"
            )
            warnings.append(
                parsed.warning(
                    parsed.step_path(step_id, "action", "type"),
                    f'action "{action_type}" has {where}: the step fails at run time (its'
                    " onError branch runs)",
                )
            )
        if action_type == "notifyTeam":
            for name in ("sendSMS", "smsTemplateId", "dontSendEmail"):
                if getattr(step.action.info, name, None):
                    warnings.append(
                        parsed.warning(
                            parsed.step_path(step_id, "action", "info", name),
                            f"notifyTeam {name} is not performed by Journey Engine: it creates"
                            " the user notifications only",
                        )
                    )
        if step.continueOnError is not None:
            warnings.append(
                parsed.warning(
                    parsed.step_path(step_id, "continueOnError"),
                    "the step-level continueOnError is ignored (Tellescope reads"
                    " action.continueOnError)",
                )
            )
        if step.enduserConditions:
            path = parsed.step_path(step_id, "enduserConditions")
            warnings += _condition_warnings(parsed, path, step.enduserConditions)
    return warnings


def _trigger_warnings(parsed: ParsedJourney, trigger_id: str, trigger: Any) -> list[CompileWarning]:
    warnings: list[CompileWarning] = []
    action_type = trigger.action.type
    if action_type in INTEGRATION_TRIGGER_ACTION_TYPES:
        warnings.append(
            parsed.warning(
                parsed.trigger_path(trigger_id, "action", "type"),
                f'trigger action "{action_type}" has no configuration in Journey Engine: every'
                " firing fails",
            )
        )
    why = NEVER_FIRING_TRIGGER_EVENTS.get(trigger.event.type)
    if why is not None:
        warnings.append(
            parsed.warning(
                parsed.trigger_path(trigger_id, "event", "type"),
                f'trigger event "{trigger.event.type}" never fires in Journey Engine: {why}',
            )
        )
    why = EVENTS_ONLY_TRIGGER_EVENTS.get(trigger.event.type)
    if why is not None:
        warnings.append(
            parsed.warning(
                parsed.trigger_path(trigger_id, "event", "type"),
                f'trigger event "{trigger.event.type}" fires only from POST /v1/events in'
                f" Journey Engine: {why}",
            )
        )
    for name in IGNORED_TRIGGER_EVENT_FIELDS.get(trigger.event.type, ()):
        if getattr(trigger.event.info, name, None) is not None:
            warnings.append(
                parsed.warning(
                    parsed.trigger_path(trigger_id, "event", "info", name),
                    f"{name} is not applied by Journey Engine: the trigger fires without it",
                )
            )
    if _has_js_bound(trigger.event.conditions):
        warnings.append(
            parsed.warning(
                parsed.trigger_path(trigger_id, "event", "conditions"),
                "a $JS(...) bound is never evaluated by Journey Engine: that condition is"
                " always false",
            )
        )
    if _has_js_bound(getattr(trigger.event.info, "conditionsByFormId", None)):
        warnings.append(
            parsed.warning(
                parsed.trigger_path(trigger_id, "event", "info", "conditionsByFormId"),
                "a $JS(...) bound is never evaluated by Journey Engine: that condition is"
                " always false",
            )
        )
    if getattr(trigger.event.info, "answersCondition", None):
        warnings.append(
            parsed.warning(
                parsed.trigger_path(trigger_id, "event", "info", "answersCondition"),
                "Healthie answersCondition is not supported: the trigger never fires",
            )
        )
    return warnings


def _has_js_bound(value: Any) -> bool:
    if isinstance(value, str):
        return value.startswith("$JS(")
    if isinstance(value, Mapping):
        return any(_has_js_bound(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_js_bound(v) for v in value)
    return False


def _condition_warnings(
    parsed: ParsedJourney, path: list[PathPart], condition: Any
) -> list[CompileWarning]:
    return [parsed.warning(path, message) for message in always_false_leaves(condition)]


def always_false_leaves(compound: Any) -> list[str]:
    """One message per leaf whose operator Tellescope's enduser evaluator answers false for
    any enduser (walking every `$and` / `$or` branch; only first keys count, as
    docs/semantics.md §10 says)."""
    found: list[str] = []
    if not isinstance(compound, Mapping) or not compound:
        return found
    first_key = next(iter(compound))
    body = compound[first_key]
    if first_key in ("$and", "$or") and isinstance(body, list):
        for part in body:
            found += always_false_leaves(part)
    elif first_key == "condition" and isinstance(body, Mapping) and body:
        key = next(iter(body))
        operator = _always_false_operator(key, body[key])
        if operator is not None:
            found.append(
                f'operator {operator} on "{key}" is always false in Tellescope\'s enduser'
                " conditions"
            )
    return found


def _always_false_operator(key: str, operand: Any) -> str | None:
    if key in _SPECIAL_KEYS or not isinstance(operand, Mapping) or not operand:
        return None
    operator = str(next(iter(operand)))
    if key == "customTypeId":
        return None if operator == "$ne" else operator
    if key == "Journeys" and operator in ("$in", "$nin"):
        return None
    if operator in _OPERATORS or "$before" in operand or "$after" in operand:
        return None
    return operator
