"""AutomationTriggers (docs/semantics.md §9): "when event X happens to an enduser (and conditions
hold), do Y".

Modules, one concern each:
  events        IncomingEvent: the one normalised event every source produces
  models        what crosses Temporal and what callers get back (inputs, results, reports)
  active        the triggers in force: those of the current version of every deployed journey
  filters       event-specific `info` filters, one function per trigger event type
                (docs/semantics.md §9.3)
  evaluate      the pure evaluation pipeline: filters, enduserCondition, journey scope,
                oncePerEnduser, availability windows, throttle (docs/semantics.md §9.2,
                docs/decisions.md D7)
  intake        Tellescope record webhooks -> IncomingEvents and enrollment signals
  dispatch      TriggerDeps, dispatch_event, fire_trigger: evaluate and start firings
  workflows     TriggerFiringWorkflow, ThrottleGateWorkflow, TimeTriggerScanWorkflow
  quiet         QuietTellescopeClient: writes that send no record webhook (no chaining)
  actions       TriggerActivities: performing trigger actions (docs/semantics.md §9.4) and
                recording firings
  time_based    candidates of the clock-driven triggers (Has Not Engaged, On Birthday, ...)
  schedules     sync_schedules: one Temporal Schedule per time-based trigger

Nothing is imported here: `triggers.workflows` runs inside the Temporal workflow sandbox, which
re-imports this package, and must not drag httpx or the store in with it.
"""
