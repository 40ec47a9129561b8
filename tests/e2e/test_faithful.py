"""What deploys is what runs, end to end against the sandbox: a switched branch acts on the related contact, and
a failed step leaves one BackgroundError."""

from __future__ import annotations

import shutil
import textwrap
import uuid

import pytest

from compiler import compile_paths
from tests.e2e.conftest import EXAMPLES, Patient

pytestmark = pytest.mark.asyncio(loop_scope="session")

FAMILY = """
journey: {id: family, title: Family}
steps:
  - id: to-parent
    events: [{type: onJourneyStart, info: {}}]
    action: {type: switchToRelatedContact, info: {type: Parent}}
  - id: tag-parent
    events: [{type: afterAction, info: {automationStepId: to-parent, delayInMS: 0}}]
    action: {type: addEnduserTags, info: {tags: [guardian]}}
  - id: bad-form
    events: [{type: onJourneyStart, info: {}}]
    action: {type: sendForm, info: {senderId: 64f000000000000000000a00, formId: 64f0000000000000000000ff}}
"""


def deploy(stack, text: str) -> str:
    folder = stack.folder / f"src-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    shutil.copy(EXAMPLES / "organization.yaml", folder / "organization.yaml")
    (folder / "journey.yaml").write_text(textwrap.dedent(text).lstrip())
    (plan,) = compile_paths([folder]).plans
    created = stack.api.post("/v1/journey", json={"title": f"Family {uuid.uuid4().hex[:6]}"})
    assert created.status_code == 200, created.text
    stack.plans.save(plan, tellescope_journey_id=created.json()["id"])
    return created.json()["id"]


async def test_switch_tags_the_parent_and_a_failed_step_leaves_a_background_error(stack):
    journey_record = deploy(stack, FAMILY)
    parent = Patient(stack.api, fname="Dana")
    child = Patient(stack.api, fname="Kim", relationships=[{"type": "Parent", "id": parent.id}])
    async with stack.worker():
        handle = await stack.enroll("family", child)
        result = await handle.result()
    assert "guardian" in (parent.get().get("tags") or [])
    assert "guardian" not in (child.get().get("tags") or [])
    (tagged,) = stack.ledger_rows("family", "tag-parent")
    assert tagged.acting_enduser_id == parent.id and tagged.enduser_id == child.id
    assert result.errors == 1
    (error,) = child.records("background-errors")
    assert error["journeyId"] == journey_record
    assert error["title"] == 'Journey step "bad-form" (sendForm) failed'
    assert (
        error["automationStepId"]
        == stack.plans.get("family", stack.plans.current("family").version).tellescopeStepIds[
            "bad-form"
        ]
    )
