"""The engine's own activities (store access for the workflow)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.testing import ActivityEnvironment

from activities.engine import EngineActivities
from compiler import compile_paths
from models.runtime import JourneyStateUpdate, LedgerBatch, PlanRef
from store.db import upgrade_database
from store.ledger import Ledger
from store.plans import PlanNotFound, PlanStore
from tests.store.test_ledger_queries import entry

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_load_plan_leaves_the_triggers_out_of_the_history(tmp_path):
    """Regression: `load_plan`'s result is stored in every enrollment's history; with
    1,000 triggers in a journey file it was 668 KB per enrollment. The workflow never reads the
    triggers, so the activity returns the plan without them and otherwise unchanged."""
    engine = upgrade_database(f"sqlite:///{tmp_path / 'engine.db'}")
    plans = PlanStore(engine)
    plan = compile_paths([EXAMPLES]).plan("care-plan")
    assert plan.triggers
    plans.save(plan)

    loaded = EngineActivities(plans, Ledger(engine)).load_plan(
        PlanRef(journeyId="care-plan", version=plan.version)
    )
    assert loaded.triggers == []
    assert loaded.model_copy(update={"triggers": plan.triggers}) == plans.get(
        "care-plan", plan.version
    )


def test_load_plan_reads_each_version_from_the_store_once(tmp_path):
    """Every enrollment start loads its plan; a version is named by its content's hash, so the
    worker keeps the last ones it loaded. A version the store no longer has still fails."""
    engine = upgrade_database(f"sqlite:///{tmp_path / 'engine.db'}")
    plans = PlanStore(engine)
    for plan in compile_paths([EXAMPLES]).plans:
        plans.save(plan)
    reads: list[tuple[str, str]] = []
    real_get = plans.get

    def counted_get(journey_id: str, version: str):
        reads.append((journey_id, version))
        return real_get(journey_id, version)

    plans.get = counted_get  # type: ignore[method-assign]  # a spy on the real store
    PlanStore.forget_enrollment_plans()  # kept from other tests (the cache is per process)
    activities = EngineActivities(plans, Ledger(engine))
    version = plans.current("care-plan").version
    first = activities.load_plan(PlanRef(journeyId="care-plan", version=version))
    again = activities.load_plan(PlanRef(journeyId="care-plan", version=version))
    assert first == again and reads == [("care-plan", version)]
    with pytest.raises(PlanNotFound):
        activities.load_plan(PlanRef(journeyId="care-plan", version="000000000000"))
    assert reads[-1] == ("care-plan", "000000000000")


async def test_join_and_record_writes_the_membership_then_the_ledger(tmp_path):
    """docs/decisions.md D35: the compact shape's first bookkeeping. The membership write comes
    first; the ledger rows and their transitions (metrics from the activity's context, also for
    a row already finished in the first batch) follow; a retry writes the same again."""
    engine = upgrade_database(f"sqlite:///{tmp_path / 'engine.db'}")
    ledger = Ledger(engine)
    order: list[str] = []

    async def join(update: JourneyStateUpdate) -> None:
        if not order:
            assert ledger.get(entry(1).id) is None  # before the rows
        order.append(f"join {update.journeyId}={update.state!r}")

    activities = EngineActivities(PlanStore(engine), ledger, join)
    batch = LedgerBatch(
        entries=[entry(1, status="active"), entry(2, status="finished")],
        membership=JourneyStateUpdate(enduserId="e1", journeyId="j-ts", state=""),
    )
    env = ActivityEnvironment()
    assert await env.run(activities.join_and_record, batch) == 2
    assert await env.run(activities.join_and_record, batch) == 2  # a retried attempt
    assert order == ["join j-ts=''", "join j-ts=''"]
    stored = [ledger.get(entry(i).id) for i in (1, 2)]
    assert [row.status for row in stored if row is not None] == ["active", "finished"]
