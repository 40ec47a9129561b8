"""Record JourneyWorkflow histories for the replay corpus (tests/histories/*.json).

    python -m tests.histories.record                    # every scenario
    python -m tests.histories.record early-signal NAME  # one scenario, saved as NAME.json

Runs every example journey on the time-skipping test server with the recording stand-in for
Tellescope and saves its history at interesting points: waiting on a timer, waiting for a form or
ticket or trigger, and finished. test_replay.py replays every file against the current workflow
code, so an engine change that would break running enrollments fails CI (then put it behind
`workflow.patched(...)`). Re-record only when a change is deliberately not replay-compatible and
no enrollment of the old shape can still be running.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, timedelta
from pathlib import Path

from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.engine import engine_activities
from activities.join_first import JoinFirst
from compiler import compile_paths
from models.runtime import (
    EnrollmentInput,
    FormSubmitted,
    MigrateRequest,
    PauseRequest,
    RemoveRequest,
    ResumeRequest,
    StepOutcome,
    TicketClosed,
    TriggerFired,
    enrollment_workflow_id,
)
from simulate.recorder import RecordingTellescope
from store.db import create_tables, get_engine
from store.ledger import Ledger
from store.plans import PlanStore
from tests.temporal_env import start_time_skipping
from workflows import starter
from workflows.journey import JourneyWorkflow
from workflows.patches import HISTORY_SHAPE_FOLDED

HERE = Path(__file__).parent
EXAMPLES = HERE.parents[1] / "examples"
# Journeys recorded only for the corpus: engine paths the examples do not take.
CORPUS_JOURNEYS = HERE / "journeys"


async def stop(handle) -> None:
    """Terminate a recorded run that would wait on (its history is saved already); one that
    finished meanwhile (the time-skipping server ran its last timer) is left as it is."""
    try:
        await handle.terminate("recorded")
    except RPCError as error:
        if "Completed workflow" not in error.message:
            raise


class Recorder:
    def __init__(self, env, folder: Path) -> None:
        self.env, self.client = env, env.client
        engine = get_engine(f"sqlite:///{folder}/journeys.db")
        create_tables(engine)
        self.plans, self.ledger = PlanStore(engine), Ledger(engine)
        for plan in compile_paths([EXAMPLES, CORPUS_JOURNEYS]).plans:
            self.plans.save(plan)
        self.task_queue = f"record-{uuid.uuid4()}"

    async def start(self, journey_id: str, tellescope: RecordingTellescope, **extra):
        row = self.plans.current(journey_id)
        inp = EnrollmentInput(
            journeyId=journey_id,
            planVersion=row.version,
            enduserId=tellescope.enduser["id"],
            tellescopeJourneyId=row.tellescope_journey_id,
            **extra,
        )
        plan = self.plans.enrollment_plan(journey_id, row.version)
        return await starter.enroll(self.client, inp, task_queue=self.task_queue, plan=plan)

    def worker(self, tellescope: RecordingTellescope, executor) -> Worker:
        return Worker(
            self.client,
            task_queue=self.task_queue,
            workflows=[JourneyWorkflow],
            activities=[
                *tellescope.activities(),
                *engine_activities(
                    self.client,
                    self.plans,
                    self.ledger,
                    self.task_queue,
                    join_journey=tellescope.set_journey_state,
                ),
            ],
            activity_executor=executor,
            # the first step's activity carries the journey's join (docs/decisions.md D41)
            interceptors=[JoinFirst(self.ledger, tellescope.set_journey_state)],
        )

    async def until(self, handle, predicate) -> None:
        """Let virtual time run in half-hour steps until the status satisfies `predicate`."""
        with self.env.auto_time_skipping_disabled():
            for _ in range(600):
                if predicate(await handle.query(JourneyWorkflow.status)):
                    return
                await self.env.sleep(timedelta(minutes=30))
        raise RuntimeError("condition not reached while recording")

    async def save(self, handle, name: str) -> None:
        history = await handle.fetch_history()
        (HERE / f"{name}.json").write_text(json.dumps(json.loads(history.to_json()), indent=1))
        print(f"recorded {name}: {len(history.events)} events")

    def step_id(self, journey_id: str, step: str) -> str:
        return self.plans.get(journey_id, self.plans.current(journey_id).version).tellescopeStepIds[
            step
        ]


async def record_all(only: str | None = None, name: str | None = None) -> None:
    env = await start_time_skipping()
    try:
        with tempfile.TemporaryDirectory() as folder, ThreadPoolExecutor(8) as executor:
            recorder = Recorder(env, Path(folder))
            if only == "early-signal":
                await record_early_signal(recorder, executor, name or "onboarding-early-signal")
                return
            if only == "foreign-events":
                await record_foreign_events(recorder, executor)
                return
            if only == "background-error":
                await record_background_error(recorder, executor)
                return
            if only == "ledger-fields":
                await record_re_engagement(recorder, executor, "re-engagement-ledger-fields")
                await record_post_visit(recorder, executor, "post-visit-ledger-fields")
                return
            if only == "step-conditions":
                await record_step_conditions(recorder, executor)
                return
            if only == "migrated":
                await record_migrated(recorder, executor, Path(folder))
                return
            if only == "paused":
                await record_paused(recorder, executor)
                return
            if only == "early-outcome":
                await record_early_outcome(recorder, executor, name or "calls-early-outcome")
                return
            if only == "due-at-office-hours":
                await record_due_at_office_hours(
                    recorder, executor, name or "office-hours-deferred"
                )
                return
            if only == "removed-before-start":
                await record_removed_before_start(
                    recorder, executor, name or "onboarding-removed-before-start"
                )
                return
            await record_onboarding(recorder, executor)
            await record_post_visit(recorder, executor)
            await record_lab_results(recorder, executor)
            await record_re_engagement(recorder, executor)
            await record_care_plan(recorder, executor)
            await record_no_show(recorder, executor)
            await record_early_signal(recorder, executor, "onboarding-early-signal")
            await record_foreign_events(recorder, executor)
            await record_step_conditions(recorder, executor)
            await record_background_error(recorder, executor)
            await record_re_engagement(recorder, executor, "re-engagement-ledger-fields")
            await record_post_visit(recorder, executor, "post-visit-ledger-fields")
            await record_removed_before_start(recorder, executor, "onboarding-removed-before-start")
            await record_paused(recorder, executor)
            await record_migrated(recorder, executor, Path(folder))
            await record_early_outcome(recorder, executor, "calls-early-outcome")
            await record_due_at_office_hours(recorder, executor, "office-hours-deferred")
    finally:
        await env.shutdown()


def patient() -> RecordingTellescope:
    return RecordingTellescope(
        enduser={"id": f"e{uuid.uuid4().hex[:10]}", "fname": "Pat", "tags": ["vip"]}
    )


async def record_onboarding(recorder: Recorder, executor) -> None:
    tellescope = patient()
    tellescope.form_response_ids["send-intake"] = ["fr-intake"]
    async with recorder.worker(tellescope, executor):
        handle = await recorder.start("onboarding", tellescope)
        await recorder.until(
            handle, lambda s: any(p.stepId == "intake-reminder" for p in s.pending)
        )
        await recorder.save(handle, "onboarding-waiting-for-form")
        await handle.signal(
            JourneyWorkflow.form_submitted,
            FormSubmitted(
                formResponseId="fr-intake",
                automationStepId=recorder.step_id("onboarding", "send-intake"),
            ),
        )
        await handle.result()
        await recorder.save(handle, "onboarding-completed")
    tellescope = patient()
    async with recorder.worker(tellescope, executor):
        handle = await recorder.start("onboarding", tellescope)
        await recorder.until(handle, lambda s: s.state == "Unresponsive")
        await recorder.save(handle, "onboarding-unresponsive")
        await stop(handle)


async def record_early_signal(recorder: Recorder, executor, name: str) -> None:
    """A form submitted before the workflow has loaded its plan (delivered with the start, as
    signal-with-start does): it counts once the form's step has run."""
    tellescope = patient()
    tellescope.form_response_ids["send-intake"] = ["fr-intake"]
    row = recorder.plans.current("onboarding")
    inp = EnrollmentInput(
        journeyId="onboarding",
        historyShape=HISTORY_SHAPE_FOLDED,  # started directly, as starter.enroll would
        plan=recorder.plans.enrollment_plan("onboarding", row.version),
        planVersion=row.version,
        enduserId=tellescope.enduser["id"],
        tellescopeJourneyId=row.tellescope_journey_id,
    )
    early = FormSubmitted(
        formResponseId="fr-intake", automationStepId=recorder.step_id("onboarding", "send-intake")
    )
    async with recorder.worker(tellescope, executor):
        handle = await recorder.client.start_workflow(
            JourneyWorkflow.run,
            inp,
            id=enrollment_workflow_id("onboarding", inp.enduserId),
            task_queue=recorder.task_queue,
            search_attributes=starter.enrollment_attributes(inp),
            start_signal="form_submitted",
            start_signal_args=[early],
        )
        await handle.result()
        await recorder.save(handle, name)


async def record_early_outcome(recorder: Recorder, executor, name: str) -> None:
    """A call's outcome delivered with the start, so before the call step has finished: after
    PATCH_EARLY_OUTCOMES it is kept and routes the branch once the step finishes; before, it
    was dropped and the run waited for another outcome (recorded waiting, then terminated)."""
    tellescope = patient()
    tellescope.configured.add("outboundCall")  # a telephony handler is configured
    row = recorder.plans.current("calls")
    inp = EnrollmentInput(
        journeyId="calls",
        historyShape=HISTORY_SHAPE_FOLDED,  # started directly, as starter.enroll would
        plan=recorder.plans.enrollment_plan("calls", row.version),
        planVersion=row.version,
        enduserId=tellescope.enduser["id"],
        tellescopeJourneyId=row.tellescope_journey_id,
    )
    early = StepOutcome(automationStepId=recorder.step_id("calls", "call"), outcome="Voicemail")
    async with recorder.worker(tellescope, executor):
        handle = await recorder.client.start_workflow(
            JourneyWorkflow.run,
            inp,
            id=enrollment_workflow_id("calls", inp.enduserId),
            task_queue=recorder.task_queue,
            search_attributes=starter.enrollment_attributes(inp),
            start_signal="step_outcome",
            start_signal_args=[early],
        )
        await recorder.until(handle, lambda s: s.state == "Voicemail" or bool(s.waitingFor))
        status = await handle.query(JourneyWorkflow.status)
        if status.state == "Voicemail":  # the outcome was kept: the journey completes
            await handle.result()
            await recorder.save(handle, name)
        else:  # dropped: the run waits for an outcome that will not come again
            await recorder.save(handle, name)
            await stop(handle)


async def record_removed_before_start(recorder: Recorder, executor, name: str) -> None:
    """Removed before the journey started (delivered with the start, as the removal of a
    scheduled start is): after PATCH_REMOVED_BEFORE_START the run ends without starting."""
    tellescope = patient()
    row = recorder.plans.current("onboarding")
    inp = EnrollmentInput(
        journeyId="onboarding",
        historyShape=HISTORY_SHAPE_FOLDED,  # started directly, as starter.enroll would
        plan=recorder.plans.enrollment_plan("onboarding", row.version),
        planVersion=row.version,
        enduserId=tellescope.enduser["id"],
        tellescopeJourneyId=row.tellescope_journey_id,
    )
    async with recorder.worker(tellescope, executor):
        handle = await recorder.client.start_workflow(
            JourneyWorkflow.run,
            inp,
            id=enrollment_workflow_id("onboarding", inp.enduserId),
            task_queue=recorder.task_queue,
            search_attributes=starter.enrollment_attributes(inp),
            start_signal="remove",
            start_signal_args=[RemoveRequest(cancelReason=0)],
        )
        await handle.result()
        await recorder.save(handle, name)


async def record_paused(recorder: Recorder, executor) -> None:
    """Paused while the intake reminder's timer runs (PATCH_PAUSE_RESUME): the timer fires
    while paused and the reminder waits; resumed (runOverdue), it is sent."""
    tellescope = patient()
    tellescope.form_response_ids["send-intake"] = ["fr-intake"]
    async with recorder.worker(tellescope, executor):
        handle = await recorder.start("onboarding", tellescope)
        await recorder.until(
            handle, lambda s: any(p.stepId == "intake-reminder" for p in s.pending)
        )
        await handle.signal(JourneyWorkflow.pause, PauseRequest(by="ops"))
        await recorder.until(handle, lambda s: s.paused is not None)
        with recorder.env.auto_time_skipping_disabled():
            await recorder.env.sleep(timedelta(days=4))
        await recorder.save(handle, "onboarding-paused")
        await handle.signal(JourneyWorkflow.resume, ResumeRequest(by="ops"))
        await recorder.until(
            handle,
            lambda s: any(h.stepId == "intake-reminder" for h in s.history if h.status != "active"),
        )
        await recorder.save(handle, "onboarding-resumed")
        await stop(handle)


async def record_migrated(recorder: Recorder, executor, folder: Path) -> None:
    """Migrated while the intake reminder's timer runs (PATCH_MIGRATE_VERSION) to a version
    whose reminder comes a day sooner: the run that took the migration, and the first run on
    the target version."""
    source = (EXAMPLES / "onboarding.yaml").read_text()
    sooner = source.replace(
        "{automationStepId: send-intake, delay: 2, unit: Days, officeHoursOnly: true}",
        "{automationStepId: send-intake, delay: 1, unit: Days, officeHoursOnly: true}",
    )
    assert sooner != source
    (folder / "v2").mkdir()
    (folder / "v2" / "onboarding.yaml").write_text(sooner)
    (folder / "v2" / "organization.yaml").write_text((EXAMPLES / "organization.yaml").read_text())
    (target,) = compile_paths([folder / "v2"]).plans
    recorder.plans.save(target, make_current=False)
    tellescope = patient()
    tellescope.form_response_ids["send-intake"] = ["fr-intake"]
    async with recorder.worker(tellescope, executor):
        handle = await recorder.start("onboarding", tellescope)
        await recorder.until(
            handle, lambda s: any(p.stepId == "intake-reminder" for p in s.pending)
        )
        await handle.signal(
            JourneyWorkflow.migrate,
            MigrateRequest(migrationId="m-recorded", toVersion=target.version, by="ops"),
        )
        await recorder.until(handle, lambda s: s.planVersion == target.version)
        first = recorder.client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
        await recorder.save(first, "onboarding-migrated")
        await recorder.save(
            recorder.client.get_workflow_handle(handle.id), "onboarding-migrated-target"
        )
        await stop(handle)


async def record_foreign_events(recorder: Recorder, executor) -> None:
    """A form response and a ticket this run did not create (sent by a replaced run, made by
    hand) arrive while the run waits for its own form: both are ignored and reported."""
    tellescope = patient()
    tellescope.form_response_ids["send-intake"] = ["fr-intake"]
    step = recorder.step_id("onboarding", "send-intake")
    async with recorder.worker(tellescope, executor):
        handle = await recorder.start("onboarding", tellescope)
        await recorder.until(
            handle, lambda s: any(p.stepId == "intake-reminder" for p in s.pending)
        )
        await handle.signal(
            JourneyWorkflow.form_submitted,
            FormSubmitted(formResponseId="fr-from-a-replaced-run", automationStepId=step),
        )
        await handle.signal(
            JourneyWorkflow.ticket_closed,
            TicketClosed(ticketId="ticket-by-hand", automationStepId=step),
        )
        await recorder.until(handle, lambda s: len(s.ignored) == 2)
        await handle.signal(
            JourneyWorkflow.form_submitted,
            FormSubmitted(formResponseId="fr-intake", automationStepId=step),
        )
        await handle.result()
        await recorder.save(handle, "onboarding-foreign-events")


async def record_background_error(recorder: Recorder, executor) -> None:
    """A failing step reports a BackgroundError after creating its error branch."""
    tellescope = patient()
    tellescope.failing_steps["notify-lab-system"] = "lab system answered 503"
    async with recorder.worker(tellescope, executor):
        handle = await recorder.start("lab-results", tellescope)
        await handle.result()
        await recorder.save(handle, "lab-results-background-error")


async def record_step_conditions(recorder: Recorder, executor) -> None:
    """atJourneyState and `__upcomingEvents__` conditions, read with get_condition_inputs."""
    tellescope = patient()
    async with recorder.worker(tellescope, executor):
        handle = await recorder.start("step-conditions", tellescope)
        now = await recorder.env.get_current_time()
        tellescope.calendar_events = [
            {"id": "visit", "startTimeInMS": int(now.timestamp() * 1000) + 7 * 86_400_000}
        ]
        await handle.result()
        await recorder.save(handle, "step-conditions-completed")


async def record_due_at_office_hours(recorder: Recorder, executor, prefix: str) -> None:
    """A step due Sunday 08:25 UTC with office hours from Monday 09:00 ET: after
    PATCH_DUE_AT_OFFICE_HOURS it is deferred when its timer is set (one timer, to Monday), saved
    while it waits and once finished. The histories of the old side (deferred when the timer fired,
    `...-before-due-at-office-hours-*`) were recorded with the patch's branch disabled."""
    now = (await recorder.env.get_current_time()).astimezone(UTC)
    saturday = (now + timedelta(days=(5 - now.weekday()) % 7 + 7)).replace(
        hour=8, minute=25, second=0, microsecond=0
    )
    await recorder.env.sleep(saturday - now)
    tellescope = patient()
    async with recorder.worker(tellescope, executor):
        handle = await recorder.start("office-hours", tellescope)
        await recorder.until(
            handle, lambda s: any(p.stepId == "reminder" and p.dueAt for p in s.pending)
        )
        await recorder.save(handle, f"{prefix}-waiting")
        await handle.result()
        await recorder.save(handle, f"{prefix}-completed")


async def record_post_visit(recorder: Recorder, executor, prefix: str = "post-visit") -> None:
    tellescope = patient()
    async with recorder.worker(tellescope, executor):
        handle = await recorder.start("post-visit", tellescope)
        await recorder.until(handle, lambda s: bool(s.waitingFor))
        await recorder.save(handle, f"{prefix}-waiting-for-ticket")
        status = await handle.query(JourneyWorkflow.status)
        ticket_id = status.waitingFor[0].split()[1]
        await handle.signal(
            JourneyWorkflow.ticket_closed,
            TicketClosed(ticketId=ticket_id, closedForReason="No answer"),
        )
        await recorder.until(
            handle, lambda s: len([h for h in s.history if h.stepId == "second-call"]) == 1
        )
        await recorder.save(handle, f"{prefix}-no-answer")
        await stop(handle)


async def record_lab_results(recorder: Recorder, executor) -> None:
    tellescope = patient()
    tellescope.failing_steps["notify-lab-system"] = "lab system answered 503"
    async with recorder.worker(tellescope, executor):
        handle = await recorder.start("lab-results", tellescope)
        await recorder.until(
            handle, lambda s: any(p.stepId == "monthly-check-in" for p in s.pending)
        )
        await recorder.save(handle, "lab-results-error-branch-waiting")
        await handle.result()
        await recorder.save(handle, "lab-results-completed")


async def record_re_engagement(recorder: Recorder, executor, prefix: str = "re-engagement") -> None:
    tellescope = patient()
    tellescope.enduser["dateOfBirth"] = "01-01-1950"
    tellescope.form_response_ids["push-check-in-forms"] = ["fr-a", "fr-b"]
    async with recorder.worker(tellescope, executor):
        handle = await recorder.start("re-engagement", tellescope)
        await recorder.until(handle, lambda s: len(s.pending) == 2)
        await recorder.save(handle, f"{prefix}-forms-open")
        step = recorder.step_id("re-engagement", "push-check-in-forms")
        for form in ("fr-a", "fr-b"):
            await handle.signal(
                JourneyWorkflow.form_submitted,
                FormSubmitted(formResponseId=form, automationStepId=step),
            )
        await handle.result()
        await recorder.save(handle, f"{prefix}-re-engaged")


async def record_care_plan(recorder: Recorder, executor) -> None:
    tellescope = patient()
    async with recorder.worker(tellescope, executor):
        handle = await recorder.start("care-plan", tellescope)
        await recorder.until(
            handle, lambda s: bool(s.pending) and s.pending[0].waitingFor.startswith("trigger")
        )
        await recorder.save(handle, "care-plan-waiting-for-trigger")
        await handle.signal(JourneyWorkflow.trigger_fired, TriggerFired(triggerId="labs-received"))
        await recorder.until(handle, lambda s: bool(s.waitingFor))
        status = await handle.query(JourneyWorkflow.status)
        ticket_id = status.waitingFor[0].split()[1]
        await handle.signal(
            JourneyWorkflow.ticket_closed,
            TicketClosed(ticketId=ticket_id, closedForReason="Plan agreed"),
        )
        await handle.result()
        await recorder.save(handle, "care-plan-completed")


async def record_no_show(recorder: Recorder, executor) -> None:
    tellescope = patient()
    async with recorder.worker(tellescope, executor):
        handle = await recorder.start("no-show-recovery", tellescope)
        await recorder.until(handle, lambda s: bool(s.waitingFor))
        await recorder.save(handle, "no-show-waiting-for-ticket")
        status = await handle.query(JourneyWorkflow.status)
        ticket_id = status.waitingFor[0].split()[1]
        await handle.signal(
            JourneyWorkflow.ticket_closed,
            TicketClosed(ticketId=ticket_id, closedForReason="Declined"),
        )
        await recorder.until(
            handle, lambda s: any(p.stepId == "re-engage-later" for p in s.pending)
        )
        await recorder.save(handle, "no-show-declined-waiting")
        await stop(handle)


if __name__ == "__main__":
    asyncio.run(record_all(*sys.argv[1:3]))
