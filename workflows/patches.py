"""workflow.patched ids: engine changes that running enrollments must not see mid-history.

Each id stays here (and its old path in the workflow) until no enrollment recorded before the
change can still be running; tests/histories/ holds histories of both sides.
"""

from __future__ import annotations

from temporalio import workflow

PATCH_STEP_ATTRIBUTES = "step-search-attributes"
# Signal handlers that arrive before the plan is loaded wait for it (workflow.wait_condition)
# instead of being buffered and applied by `run`: the order of their commands changes.
PATCH_SIGNALS_WAIT_FOR_PLAN = "signals-wait-for-plan"
# The journey's runs since its last (re)start are kept, and a restart asked for by a caller who
# saw an earlier run is ignored: concurrent enrollments of one patient restart it once.
PATCH_RESTART_COALESCE = "restart-coalesce"
# Form submissions and ticket closes drive a run only when they concern a form response or a
# ticket this run created (a restart's predecessor, a hand-made ticket carrying the step id and a
# form from a message template link are ignored and reported): docs/decisions.md D8.
PATCH_OWN_EVENTS_ONLY = "own-events-only"
# A step's `conditions` (atJourneyState) and `__upcomingEvents__` leaves are evaluated: such a
# step reads the enduser and appointments with `get_condition_inputs` instead of `get_enduser`
# (or instead of nothing): docs/semantics.md §4.1, §10.1.
PATCH_FULL_STEP_CONDITIONS = "full-step-conditions"
# A failed step also records a BackgroundError in Tellescope (activity
# `record_background_error`, after its error children are created): docs/semantics.md §4.4.
PATCH_BACKGROUND_ERRORS = "background-errors"
# The ledger follows formsUnsubmitted counters as forms come in (a row write per submission) and
# records a ticket closed in the foreground as an isNOP action of its step:
# docs/semantics.md §6.1, §7.4, §8.3.
PATCH_LEDGER_FIELDS = "ledger-fields"
# An enrollment removed before its journey started (a scheduled start removed or its journey
# deleted: the removal's signal is what dispatches the delayed run) ends without starting:
# no membership write, no root step (docs/decisions.md D18).
PATCH_REMOVED_BEFORE_START = "removed-before-start"
# Pause and resume (signals `pause` / `resume`): while paused, due steps wait; on resume the
# journey's `onResume` runs or skips those that fell due meanwhile (docs/decisions.md D28).
PATCH_PAUSE_RESUME = "pause-resume"
# Migration to another version (signal `migrate`): at a safe point the run cancels or moves its
# pending actions and continues as new on the target version (docs/decisions.md D29).
PATCH_MIGRATE_VERSION = "migrate-version"
# A call's / AI conversation's outcome that arrives while its step has not finished (the
# provider answered before the handler's activity returned) is kept and routed when the step
# finishes, as early form submissions and ticket closes are (docs/handlers.md §3).
PATCH_EARLY_OUTCOMES = "early-outcomes"
# An officeHoursOnly action is deferred to the next opening when its timer is set (from its due
# time), not when the timer fires: one timer to the opening instead of two, and processAfter,
# the ledger, NextActionAt and the timer's summary say when the step really runs
# (docs/decisions.md D26).
PATCH_DUE_AT_OFFICE_HOURS = "due-at-office-hours"

# History shape 2, "lean" (docs/decisions.md D34): chosen per enrollment by its input
# (`EnrollmentInput.historyShape`, set when it starts), not by a marker, so a run of this shape
# pays nothing for it. The plan is loaded and the journey joined by local activities (a marker each
# instead of an activity and a workflow task each), the search attributes of one activation are
# upserted together and only when they change, and every patch above is in force without its
# marker (and the TemporalChangeVersion upsert that goes with each): a run of this shape was
# started by code that has them all. Patches added after this one still call workflow.patched.
HISTORY_SHAPE_LEAN = 2
IN_LEAN_SHAPE = frozenset(
    {
        PATCH_STEP_ATTRIBUTES,
        PATCH_SIGNALS_WAIT_FOR_PLAN,
        PATCH_RESTART_COALESCE,
        PATCH_OWN_EVENTS_ONLY,
        PATCH_FULL_STEP_CONDITIONS,
        PATCH_BACKGROUND_ERRORS,
        PATCH_LEDGER_FIELDS,
        PATCH_REMOVED_BEFORE_START,
        PATCH_PAUSE_RESUME,
        PATCH_MIGRATE_VERSION,
        PATCH_EARLY_OUTCOMES,
        PATCH_DUE_AT_OFFICE_HOURS,
    }
)


# History shape 3, "compact" (docs/decisions.md D35): the lean shape, and the plan travels in the
# input (`EnrollmentInput.plan`: no load_plan marker), the journey is joined by the first ledger
# write (`join_and_record`: one marker for both; steps wait for it before their side effects),
# the start sets JourneyWaitingAt, and NextActionAt names only actions waiting for a later time
# (an action due now is running, not waiting): a parked enrollment's first workflow task records
# no upsert. Chosen by `workflows.starter` when its caller hands it the plan.
HISTORY_SHAPE_COMPACT = 3

# History shape 4, "folded" (docs/decisions.md D41): the compact shape, and when a step performs
# its side effect in the run's first activation (no delay, no condition to read first), the join
# rides on that step's activity (`ActionRequest.joinFirst`, written by the worker's `JoinFirst`
# interceptor before the side effect) instead of a `join_and_record` marker of its own: a parked
# enrollment records 12 events instead of 13. Chosen by `workflows.starter` as the compact shape
# was.
HISTORY_SHAPE_FOLDED = 4


def patched(patch_id: str, *, lean: bool) -> bool:
    """workflow.patched, except that a lean-shape (or compact) run has the patches it started
    with in force without recording their markers."""
    return (lean and patch_id in IN_LEAN_SHAPE) or workflow.patched(patch_id)
