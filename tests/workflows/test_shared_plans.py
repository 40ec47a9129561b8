"""workflows/shared_plans.py: the enrollments of one plan version read one plan object."""

from __future__ import annotations

from temporalio.contrib.pydantic import pydantic_data_converter

from compiler import compile_paths
from models.runtime import EnrollmentInput
from tests.workflows.conftest import EXAMPLES, input_carrying
from workflows import shared_plans
from workflows.shared_plans import shared_plan


def decoded_copies(plan, count: int) -> list[EnrollmentInput]:
    """`count` enrollment inputs carrying `plan`, each read from its own payload (as each
    workflow's start event is)."""
    inp = input_carrying(plan)
    converter = pydantic_data_converter.payload_converter
    (payload,) = converter.to_payloads([inp])
    return [converter.from_payloads([payload], [EnrollmentInput])[0] for _ in range(count)]


def test_equal_copies_of_a_version_read_back_as_one_object():
    shared_plans._plans.clear()
    plan = compile_paths([EXAMPLES / "onboarding.yaml"]).plans[0]
    first, second, third = decoded_copies(plan, 3)
    assert first.plan is not second.plan and first.plan == second.plan
    kept = shared_plan(first.plan)
    assert kept is first.plan
    assert shared_plan(second.plan) is kept
    assert shared_plan(third.plan) is kept and kept == plan


def test_a_copy_that_differs_under_the_same_version_keeps_its_own_object():
    shared_plans._plans.clear()
    plan = compile_paths([EXAMPLES / "onboarding.yaml"]).plans[0]
    (copy,) = decoded_copies(plan, 1)
    shared_plan(plan)
    forged = copy.plan.model_copy(update={"roots": []})
    assert shared_plan(forged) is forged


def test_the_table_is_bounded():
    shared_plans._plans.clear()
    plan = compile_paths([EXAMPLES / "onboarding.yaml"]).plans[0]
    for n in range(shared_plans.KEPT + 5):
        shared_plan(plan.model_copy(update={"version": f"v{n}"}))
    assert 0 < len(shared_plans._plans) <= shared_plans.KEPT
