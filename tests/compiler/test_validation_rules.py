"""Every validation rule of the compiler, fed a broken journey, with the exact place and message.

Each YAML is written out in full so the expected line:col can be read off the test itself.
"""

from __future__ import annotations

VALID_HEADER = """
journey:
  id: demo
  title: Demo
  defaultState: New
  states:
    - {name: New, priority: N/A}
    - {name: Done, priority: Engaged}
"""


def test_valid_journey_compiles(journeys):
    journeys.write(
        "demo.yaml",
        VALID_HEADER
        + """
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    action: {type: setEnduserStatus, info: {status: New}}
  - id: later
    events: [{type: afterAction, info: {automationStepId: hello, delay: 2, unit: Days}}]
    action: {type: setEnduserStatus, info: {status: Done}}
""",
    )
    plan = journeys.compile().plan("demo")
    assert plan.roots == ["hello"]
    assert [ref.stepId for ref in plan.children_of("hello", "afterAction")] == ["later"]
    # delayInMS derived from delay + unit
    assert plan.steps["later"].events[0].info.delayInMS == 2 * 86_400_000
    assert plan.steps["later"].journeyId == "demo"
    assert len(plan.version) == 12


def test_unknown_action_type_suggests_closest(journeys):
    journeys.write(
        "demo.yaml",
        VALID_HEADER
        + """
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    action: {type: sendSMSS, info: {senderId: u1, templateId: t1}}
""",
    )
    assert journeys.errors() == [
        'demo.yaml:12:14 steps.hello.action.type: unknown action "sendSMSS"'
        ' (did you mean "sendSMS"?)'
    ]


def test_unknown_event_type_suggests_closest(journeys):
    journeys.write(
        "demo.yaml",
        VALID_HEADER
        + """
steps:
  - id: hello
    events:
      - {type: onJourneyStrat, info: {}}
    action: {type: setEnduserStatus, info: {status: New}}
""",
    )
    assert journeys.errors() == [
        'demo.yaml:12:10 steps.hello.events[0].type: unknown event "onJourneyStrat"'
        ' (did you mean "onJourneyStart"?)'
    ]


def test_unknown_trigger_event_and_action_types(journeys):
    journeys.write(
        "demo.yaml",
        VALID_HEADER
        + """
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    action: {type: setEnduserStatus, info: {status: New}}
triggers:
  - id: t1
    title: T
    status: Active
    event: {type: Form Submited, info: {formId: f1}}
    action: {type: Add To Jouney, info: {journeyId: demo}}
""",
    )
    assert journeys.errors() == [
        'demo.yaml:17:13 triggers.t1.event.type: unknown trigger event "Form Submited"'
        ' (did you mean "Form Submitted"?)',
        'demo.yaml:18:14 triggers.t1.action.type: unknown trigger action "Add To Jouney"'
        ' (did you mean "Add To Journey"?)',
    ]


def test_missing_required_info_field(journeys):
    journeys.write(
        "demo.yaml",
        VALID_HEADER
        + """
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    action:
      type: sendSMS
      info: {senderId: u1}
""",
    )
    assert journeys.errors() == [
        'demo.yaml:14:7 steps.hello.action.info.templateId: missing required field "templateId"'
    ]


def test_unknown_field_is_named(journeys):
    journeys.write(
        "demo.yaml",
        VALID_HEADER
        + """
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    action: {type: setEnduserStatus, info: {status: New}}
  - id: later
    events:
      - type: afterAction
        info: {automationStepId: hello, delayInMs: 5}
    action: {type: setEnduserStatus, info: {status: Done}}
""",
    )
    assert journeys.errors() == [
        "demo.yaml:16:9 steps.later.events[0].info.delayInMS: missing required field"
        ' "delayInMS" (or give delay and unit)',
        'demo.yaml:16:41 steps.later.events[0].info.delayInMs: unknown field "delayInMs"'
        ' (did you mean "delayInMS"?)',
    ]


def test_dangling_step_reference_suggests_closest(journeys):
    journeys.write(
        "demo.yaml",
        VALID_HEADER
        + """
steps:
  - id: send-intake
    events: [{type: onJourneyStart, info: {}}]
    action: {type: sendForm, info: {senderId: u1, formId: f1}}
  - id: thanks
    events: [{type: formResponse, info: {automationStepId: send-intak}}]
    action: {type: setEnduserStatus, info: {status: Done}}
""",
    )
    assert journeys.errors() == [
        'demo.yaml:14:42 steps.thanks.events[0].info.automationStepId: unknown step "send-intak"'
        ' (did you mean "send-intake"?)'
    ]


def test_dangling_cancel_condition_reference(journeys):
    journeys.write(
        "demo.yaml",
        VALID_HEADER
        + """
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    action: {type: setEnduserStatus, info: {status: New}}
  - id: later
    events:
      - type: afterAction
        info:
          automationStepId: hello
          delayInMS: 1000
          cancelConditions:
            - {type: formResponse, info: {automationStepId: nowhere}}
    action: {type: setEnduserStatus, info: {status: Done}}
""",
    )
    assert journeys.errors() == [
        "demo.yaml:20:43 steps.later.events[0].info.cancelConditions[0].info.automationStepId:"
        ' unknown step "nowhere"'
    ]


def test_dangling_journey_and_trigger_references(journeys):
    journeys.write(
        "demo.yaml",
        VALID_HEADER
        + """
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    action: {type: addToJourney, info: {journeyId: demp}}
  - id: parked
    events: [{type: waitForTrigger, info: {automationStepId: hello, triggerId: nope}}]
    action: {type: setEnduserStatus, info: {status: Done}}
triggers:
  - id: t1
    title: T
    status: Active
    event: {type: Contact Created, info: {}}
    action: {type: Add To Journey, info: {journeyId: elsewhere}}
""",
    )
    assert journeys.errors() == [
        'demo.yaml:12:41 steps.hello.action.info.journeyId: unknown journey "demp"'
        ' (did you mean "demo"?)',
        'demo.yaml:14:69 steps.parked.events[0].info.triggerId: unknown trigger "nope"',
        'demo.yaml:21:43 triggers.t1.action.info.journeyId: unknown journey "elsewhere"',
    ]


def test_at_journey_state_condition_names_a_known_journey(journeys):
    """The deprecated step `conditions` (atJourneyState) run (docs/semantics.md §4.1): the
    journey they name must exist, like any journey reference."""
    journeys.write(
        "demo.yaml",
        VALID_HEADER
        + """
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    conditions: [{type: atJourneyState, info: {journeyId: demp, state: New}}]
    action: {type: setEnduserStatus, info: {status: New}}
""",
    )
    assert journeys.errors() == [
        'demo.yaml:12:48 steps.hello.conditions[0].info.journeyId: unknown journey "demp"'
        ' (did you mean "demo"?)',
    ]


def test_tellescope_object_ids_are_external_journeys(journeys):
    journeys.write(
        "demo.yaml",
        VALID_HEADER
        + """
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    action: {type: addToJourney, info: {journeyId: 64f0000000000000000000ff}}
""",
    )
    assert journeys.compile().plan("demo").roots == ["hello"]


def test_duplicate_step_ids(journeys):
    journeys.write(
        "demo.yaml",
        VALID_HEADER
        + """
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    action: {type: setEnduserStatus, info: {status: New}}
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    action: {type: setEnduserStatus, info: {status: Done}}
""",
    )
    assert journeys.errors() == [
        'demo.yaml:13:5 steps.hello.id: duplicate step id "hello" (first defined on line 10)'
    ]


def test_default_state_not_among_states(journeys):
    journeys.write(
        "demo.yaml",
        """
journey:
  id: demo
  title: Demo
  defaultState: Nwe
  states:
    - {name: New, priority: N/A}
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    action: {type: setEnduserStatus, info: {status: New}}
""",
    )
    assert journeys.errors() == [
        'demo.yaml:4:3 journey.defaultState: defaultState "Nwe" is not one of the states (New)'
        ' (did you mean "New"?)'
    ]


def test_duplicate_state_names(journeys):
    journeys.write(
        "demo.yaml",
        """
journey:
  id: demo
  title: Demo
  states:
    - {name: New, priority: N/A}
    - {name: New, priority: Engaged}
steps: []
""",
    )
    assert journeys.errors() == ['demo.yaml:6:8 journey.states[1].name: duplicate state "New"']


def test_form_event_needs_form_producing_parent(journeys):
    journeys.write(
        "demo.yaml",
        VALID_HEADER
        + """
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    action: {type: setEnduserStatus, info: {status: New}}
  - id: thanks
    events: [{type: formResponse, info: {automationStepId: hello}}]
    action: {type: setEnduserStatus, info: {status: Done}}
  - id: remind
    events: [{type: formUnsubmitted, info: {automationStepId: hello, delayInMS: 1000}}]
    action: {type: setEnduserStatus, info: {status: Done}}
""",
    )
    producers = (
        "(form-producing actions: pushFormsToPortal, sendChat, sendEmail, sendForm, sendSMS)"
    )
    assert journeys.errors() == [
        "demo.yaml:14:15 steps.thanks.events[0].type: formResponse needs a parent that sends a"
        f' form, but "hello" is setEnduserStatus {producers}',
        "demo.yaml:17:15 steps.remind.events[0].type: formUnsubmitted needs a parent that sends"
        f' a form, but "hello" is setEnduserStatus {producers}',
    ]


def test_ticket_completed_needs_create_ticket_parent(journeys):
    journeys.write(
        "demo.yaml",
        VALID_HEADER
        + """
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    action: {type: setEnduserStatus, info: {status: New}}
  - id: closed
    events: [{type: ticketCompleted, info: {automationStepId: hello}}]
    action: {type: setEnduserStatus, info: {status: Done}}
""",
    )
    assert journeys.errors() == [
        "demo.yaml:14:15 steps.closed.events[0].type: ticketCompleted needs a createTicket parent,"
        ' but "hello" is setEnduserStatus'
    ]


def test_wait_for_trigger_needs_journey_scoped_move_to_step(journeys):
    journeys.write(
        "demo.yaml",
        VALID_HEADER
        + """
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    action: {type: setEnduserStatus, info: {status: New}}
  - id: parked
    events: [{type: waitForTrigger, info: {automationStepId: hello, triggerId: tag-it}}]
    action: {type: setEnduserStatus, info: {status: Done}}
triggers:
  - id: tag-it
    title: Tag
    status: Active
    event: {type: Tag Added, info: {tag: vip}}
    action: {type: Add Tags, info: {tags: [x]}}
""",
    )
    assert journeys.errors() == [
        'demo.yaml:14:69 steps.parked.events[0].info.triggerId: trigger "tag-it" must be scoped'
        " to this journey (journeyId: demo)",
        'demo.yaml:14:69 steps.parked.events[0].info.triggerId: trigger "tag-it" must have action'
        ' "Move To Step" to release this step (it has "Add Tags")',
    ]


def test_cycle_without_delay(journeys):
    journeys.write(
        "demo.yaml",
        VALID_HEADER
        + """
steps:
  - id: a
    events:
      - {type: onJourneyStart, info: {}}
      - {type: afterAction, info: {automationStepId: b, delayInMS: 0}}
    action: {type: setEnduserStatus, info: {status: New}}
  - id: b
    events: [{type: afterAction, info: {automationStepId: a, delayInMS: 0}}]
    action: {type: setEnduserStatus, info: {status: Done}}
""",
    )
    assert journeys.errors() == [
        "demo.yaml:13:9 steps.a.events[1]: cycle without any delay or wait: a -> b -> a"
    ]


def test_cycle_with_a_delay_is_allowed(journeys):
    journeys.write(
        "demo.yaml",
        VALID_HEADER
        + """
steps:
  - id: a
    events:
      - {type: onJourneyStart, info: {}}
      - {type: afterAction, info: {automationStepId: b, delay: 1, unit: Days}}
    action: {type: setEnduserStatus, info: {status: New}}
  - id: b
    events: [{type: afterAction, info: {automationStepId: a, delayInMS: 0}}]
    action: {type: setEnduserStatus, info: {status: Done}}
""",
    )
    plan = journeys.compile().plan("demo")
    assert [r.stepId for r in plan.children_of("b", "afterAction")] == ["a"]


def test_deprecated_form_unsubmitted_trigger(journeys):
    journeys.write(
        "demo.yaml",
        VALID_HEADER
        + """
steps: []
triggers:
  - id: old
    title: Old style reminder
    status: Active
    event: {type: Form Unsubmitted, info: {formId: f1, intervalInMS: 1000}}
    action: {type: Add Tags, info: {tags: [late]}}
""",
    )
    assert journeys.errors() == [
        'demo.yaml:14:13 triggers.old.event.type: trigger event "Form Unsubmitted" is deprecated'
        " and cannot be used: use a formUnsubmitted step event instead"
    ]


def test_all_errors_reported_at_once_across_files(journeys):
    journeys.write(
        "a.yaml",
        VALID_HEADER
        + """
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    action: {type: sendSMSS, info: {}}
""",
    )
    journeys.write(
        "b.yaml",
        """
journey:
  id: other
  title: Other
  defaultState: Nope
  states: [{name: New, priority: N/A}]
steps:
  - id: x
    events: [{type: formResponse, info: {automationStepId: missing}}]
    action: {type: setEnduserStatus, info: {status: New}}
""",
    )
    errors = journeys.errors()
    assert [e.split(" ")[0] for e in errors] == ["a.yaml:12:14", "b.yaml:4:3", "b.yaml:8:42"]


def test_yaml_syntax_error_has_position(journeys):
    journeys.write("demo.yaml", "journey:\n  title: [unclosed\nsteps: []\n")
    assert journeys.errors() == [
        "demo.yaml:3:6 YAML syntax error: did not find expected ',' or ']'"
    ]


def test_file_without_journey_key(journeys):
    journeys.write("demo.yaml", "steps: []\n")
    assert journeys.errors() == [
        "demo.yaml:1:1 expected a top-level `journey:` key (or `organization:` for settings)"
    ]


MINIMAL_JOURNEY = """
journey: {id: demo, title: Demo}
steps: []
"""


def test_unknown_time_zone(journeys):
    journeys.write("demo.yaml", MINIMAL_JOURNEY)
    journeys.write("organization.yaml", "organization:\n  timezone: America/New_Yrok\n")
    assert journeys.errors() == [
        'organization.yaml:2:3 organization.timezone: unknown time zone "America/New_Yrok"'
        ' (did you mean "America/New_York"?)'
    ]


def test_unknown_trigger_availability_time_zone(journeys):
    journeys.write(
        "demo.yaml",
        """
journey: {id: demo, title: Demo}
steps: []
triggers:
  - id: t
    title: T
    status: Active
    availabilityTimezone: Europe/Londn
    event: {type: Contact Created, info: {}}
    action: {type: Add Tags, info: {tags: [x]}}
""",
    )
    assert journeys.errors() == [
        'demo.yaml:7:5 triggers.t.availabilityTimezone: unknown time zone "Europe/Londn"'
        ' (did you mean "Europe/London"?)'
    ]


def test_invalid_office_hour_ranges(journeys):
    journeys.write("demo.yaml", MINIMAL_JOURNEY)
    journeys.write(
        "organization.yaml",
        """
organization:
  timezone: America/New_York
  officeHours:
    - {dayOfWeekStartingSundayIndexedByZero: 1, startTimeInMinutes: 1020, endTimeInMinutes: 540}
    - {dayOfWeekStartingSundayIndexedByZero: 7, startTimeInMinutes: 0, endTimeInMinutes: 1500}
  outOfOfficeHours:
    - {from: "2026-12-26T00:00:00Z", to: "2026-12-24T00:00:00Z"}
""",
    )
    assert journeys.errors() == [
        "organization.yaml:4:7 organization.officeHours[0]: startTimeInMinutes (1020) is after"
        " endTimeInMinutes (540)",
        "organization.yaml:5:8 organization.officeHours[1].dayOfWeekStartingSundayIndexedByZero:"
        " Input should be less than or equal to 6",
        "organization.yaml:5:72 organization.officeHours[1].endTimeInMinutes: Input should be less"
        " than or equal to 1440",
        "organization.yaml:7:7 organization.outOfOfficeHours[0]: from (2026-12-26T00:00:00+00:00)"
        " is after to (2026-12-24T00:00:00+00:00)",
    ]


def test_invalid_message_policy(journeys):
    journeys.write("demo.yaml", MINIMAL_JOURNEY)
    journeys.write(
        "organization.yaml",
        """
organization:
  timezone: America/New_York
  messagePolicy:
    quietHours: {start: "9pm", end: "08:00"}
    caps:
      - {channel: fax, max: 1, per: day}
      - {channel: sms, max: 2, per: month}
""",
    )
    assert journeys.errors() == [
        'organization.yaml:4:18 organization.messagePolicy.quietHours.start: "9pm" is not a'
        ' 24-hour clock time like "21:00"',
        "organization.yaml:6:10 organization.messagePolicy.caps[0].channel: Input should be"
        " 'sms', 'email' or 'chat'",
        "organization.yaml:7:32 organization.messagePolicy.caps[1].per: Input should be 'day'"
        " or 'week'",
    ]
