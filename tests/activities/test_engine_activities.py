"""The engine's own activities (store access for the workflow)."""

from __future__ import annotations

from pathlib import Path

from activities.engine import EngineActivities
from compiler import compile_paths
from models.runtime import PlanRef
from store.db import upgrade_database
from store.ledger import Ledger
from store.plans import PlanStore

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
