"""One JourneyPlan object per plan version, shared by the enrollments a worker process runs.

A plan's version is the hash of its content (compiler/compile.py) and a plan is frozen, so every
enrollment of one version can read the same object. Each start event carries its own copy (the
compact and folded shapes, docs/decisions.md D35), and decoded per workflow that copy took
15-40 KiB of every cached workflow's memory: with the default cache of 1,000, more than all else
our workflow keeps over a bare one (BENCHMARKS.md, docs/decisions.md D42). So the first copy of a
version is kept and later equal copies are dropped for it; a copy that differs (none of our
callers makes one: the starter checks the version) keeps its own object.

Deterministic: a run reads an object equal to the one it decoded, whichever it is. The worker
runs workflow code unsandboxed (D40), so this module is one per process; under the strict sandbox
(the tests) each run has its own copy and nothing is shared, which changes nothing either.
"""

from __future__ import annotations

from models.plan import JourneyPlan

KEPT = 256  # versions kept; past that the table starts afresh (clearing is one atomic step)
_plans: dict[tuple[str, str], JourneyPlan] = {}


def shared_plan(plan: JourneyPlan) -> JourneyPlan:
    """The kept object of `plan`'s version if it equals `plan`, else `plan` (kept if new)."""
    key = (plan.journeyId, plan.version)
    kept = _plans.get(key)
    if kept is None:
        if len(_plans) >= KEPT:
            _plans.clear()  # activations run on several threads: no iteration over the table
        _plans[key] = plan
        return plan
    return kept if kept is plan or kept == plan else plan
