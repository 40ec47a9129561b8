"""Constructs that compile but that Journey Engine would not run as Tellescope does: warnings
with file:line:col, next to the plans (validation still succeeds)."""

from __future__ import annotations

from compiler import compile_paths
from tests.compiler.test_validation_rules import VALID_HEADER


def warnings_of(journeys) -> list[str]:
    result = journeys.compile()
    return [str(w).replace(f"{journeys.root}/", "") for w in result.warnings]


def test_integration_action_without_configuration_is_named(journeys):
    journeys.write(
        "demo.yaml",
        VALID_HEADER
        + """
steps:
  - id: sync
    events: [{type: onJourneyStart, info: {}}]
    action: {type: zusSync, info: {}}
  - id: decide
    events: [{type: afterAction, info: {automationStepId: sync, delayInMS: 0}}]
    action: {type: aiDecision, info: {outcomes: [approve, deny]}}
""",
    )
    assert warnings_of(journeys) == [
        'warning: demo.yaml:12:14 steps.sync.action.type: action "zusSync" has no'
        " configuration in Journey Engine: the step fails at run time (its onError branch"
        " runs)",
        'warning: demo.yaml:15:14 steps.decide.action.type: action "aiDecision" has no'
        " handler configured (ACTION_HANDLERS or an entry point, docs/handlers.md §2): the step"
        " fails at run time (its onError branch runs)",
    ]
    # docs/handlers.md §2: with a handler for aiDecision, only the integration is left
    handled = compile_paths([journeys.root], handled_actions={"aiDecision"})
    assert [str(w).replace(f"{journeys.root}/", "") for w in handled.warnings] == [
        'warning: demo.yaml:12:14 steps.sync.action.type: action "zusSync" has no'
        " configuration in Journey Engine: the step fails at run time (its onError branch"
        " runs)",
    ]


def test_step_level_continue_on_error_and_always_false_operators(journeys):
    journeys.write(
        "demo.yaml",
        VALID_HEADER
        + """
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    continueOnError: true
    enduserConditions: {$and: [{condition: {phone: {$exists: true}}}, {condition: {tags: vip}}]}
    action: {type: setEnduserStatus, info: {status: New}}
""",
    )
    assert warnings_of(journeys) == [
        "warning: demo.yaml:12:5 steps.hello.continueOnError: the step-level continueOnError"
        " is ignored (Tellescope reads action.continueOnError)",
        "warning: demo.yaml:13:5 steps.hello.enduserConditions: operator $exists on"
        ' "phone" is always false in Tellescope\'s enduser conditions',
    ]


def test_a_clean_journey_has_no_warnings(journeys):
    journeys.write(
        "demo.yaml",
        VALID_HEADER
        + """
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    action: {type: setEnduserStatus, info: {status: New}, continueOnError: true}
""",
    )
    assert warnings_of(journeys) == []


def test_unknown_fields_are_errors_in_steps_actions_and_triggers(journeys):
    journeys.write(
        "demo.yaml",
        VALID_HEADER
        + """
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    atJourneyStates: []
    action: {type: setEnduserStatus, info: {status: New, colour: red}}
triggers:
  - id: t1
    title: T
    status: Active
    event: {type: Contact Created, info: {}}
    action: {type: Add Tags, info: {tags: [x]}}
    once: true
""",
    )
    errors = journeys.errors()
    assert any("steps.hello.atJourneyStates: unknown field" in e for e in errors), errors
    assert any("steps.hello.action.info.colour: unknown field" in e for e in errors), errors
    assert any("triggers.t1.once: unknown field" in e for e in errors), errors


def test_triggers_that_cannot_fire_as_in_tellescope(journeys):
    journeys.write(
        "demo.yaml",
        VALID_HEADER
        + """
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    action: {type: setEnduserStatus, info: {status: New}}
triggers:
  - id: zendesk
    title: Zendesk
    status: Active
    event: {type: Contact Created, info: {}}
    action: {type: "Zendesk: Update Ticket Assignee", info: {}}
  - id: vitals
    title: Vitals
    status: Active
    event: {type: Vital Count, info: {minutes: 5, units: [bpm], comparison: {type: Less Than, value: 3}, periodInMS: 60000}}
    action: {type: Add Tags, info: {tags: [x]}}
""",
    )
    found = warnings_of(journeys)
    assert any(
        'triggers.zendesk.action.type: trigger action "Zendesk: Update Ticket Assignee" has no'
        " configuration" in w
        for w in found
    ), found
    assert not any("triggers.vitals" in w for w in found), found  # Vital Count is scanned


def test_notify_team_options_the_engine_does_not_perform(journeys):
    journeys.write(
        "demo.yaml",
        VALID_HEADER
        + """
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    action: {type: notifyTeam, info: {templateId: t1, forAssigned: true, sendSMS: true, smsTemplateId: t2}}
""",
    )
    found = warnings_of(journeys)
    assert len(found) == 2, found
    assert "steps.hello.action.info.sendSMS: notifyTeam sendSMS is not performed" in found[0]


def test_trigger_event_filters_the_engine_does_not_apply(journeys):
    journeys.write(
        "demo.yaml",
        VALID_HEADER
        + """
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    action: {type: setEnduserStatus, info: {status: New}}
triggers:
  - id: expired
    title: Expired
    status: Active
    event: {type: Form Submitted, info: {formId: f1, hasExpiredEvent: true}}
    action: {type: Add Tags, info: {tags: [x]}}
""",
    )
    assert warnings_of(journeys) == [
        "warning: demo.yaml:17:54 triggers.expired.event.info.hasExpiredEvent: hasExpiredEvent"
        " is not applied by Journey Engine: the trigger fires without it"
    ]


def test_js_bounds_in_form_conditions_are_never_evaluated(journeys):
    journeys.write(
        "demo.yaml",
        VALID_HEADER
        + """
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    action: {type: setEnduserStatus, info: {status: New}}
triggers:
  - id: js
    title: JS
    status: Active
    event:
      type: Form Submitted
      info: {formId: f1}
      conditions: {condition: {field1: {$gt: "$JS(return 1)"}}}
    action: {type: Add Tags, info: {tags: [x]}}
""",
    )
    (warning,) = warnings_of(journeys)
    assert "triggers.js.event.conditions: a $JS(...) bound is never evaluated" in warning


def test_trigger_events_no_tellescope_record_shows(journeys):
    journeys.write(
        "demo.yaml",
        VALID_HEADER
        + """
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    action: {type: setEnduserStatus, info: {status: New}}
triggers:
  - id: pregnancy
    title: Pregnancy
    status: Active
    event: {type: Pregnancy Ended, info: {}}
    action: {type: Add Tags, info: {tags: [x]}}
  - id: calls
    title: Calls
    status: Active
    event: {type: Missed Call, info: {}}
    action: {type: Add Tags, info: {tags: [x]}}
""",
    )
    found = warnings_of(journeys)
    assert any(
        'triggers.pregnancy.event.type: trigger event "Pregnancy Ended" fires only from POST'
        " /v1/events" in w
        for w in found
    ), found
    assert not any("triggers.calls" in w for w in found), found
