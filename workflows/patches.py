"""workflow.patched ids: engine changes that running enrollments must not see mid-history.

Each id stays here (and its old path in the workflow) until no enrollment recorded before the
change can still be running; tests/histories/ holds histories of both sides.
"""

from __future__ import annotations

PATCH_STEP_ATTRIBUTES = "step-search-attributes"
# Signal handlers that arrive before the plan is loaded wait for it (workflow.wait_condition)
# instead of being buffered and applied by `run`: the order of their commands changes.
PATCH_SIGNALS_WAIT_FOR_PLAN = "signals-wait-for-plan"
# The journey's runs since its last (re)start are kept, and a restart asked for by a caller who
# saw an earlier run is ignored: concurrent enrollments of one patient restart it once.
PATCH_RESTART_COALESCE = "restart-coalesce"
