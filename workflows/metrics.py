"""Business metrics JourneyWorkflow knows itself (docs/metrics.md §2): enrollments started,
restarted, completed and removed, and how late due actions start.

Recorded through `workflow.metric_meter()`, which records nothing while a workflow replays: a
worker that rebuilds an enrollment from its history (cache eviction, another worker taking
over, a crash) does not count its past again. Labels are journey and step ids only, never an
enduser id. The worker's runtime serves them beside the SDK's own metrics (worker.py).
"""

from __future__ import annotations

from typing import Literal

from temporalio import workflow

EnrollmentEvent = Literal["started", "restarted", "completed", "removed"]

ENROLLMENT_COUNTERS: dict[EnrollmentEvent, str] = {
    "started": "journeys_enrollments_started_total",
    "restarted": "journeys_enrollments_restarted_total",
    "completed": "journeys_enrollments_completed_total",
    "removed": "journeys_enrollments_removed_total",
}
LATENESS_HISTOGRAM = "journeys_action_lateness_seconds"
# Buckets of the lateness histogram (seconds): a due step normally starts within a second.
LATENESS_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0)


def count_enrollment(event: EnrollmentEvent, journey_id: str) -> None:
    meter = workflow.metric_meter().with_additional_attributes({"journey": journey_id})
    meter.create_counter(ENROLLMENT_COUNTERS[event], f"enrollments {event}").add(1)


def record_lateness(journey_id: str, step_id: str, process_after_ms: int) -> None:
    """How long after its processAfter (epoch ms) a due action started (0 when on time)."""
    seconds = workflow.now().timestamp() - process_after_ms / 1000
    meter = workflow.metric_meter().with_additional_attributes(
        {"journey": journey_id, "step": step_id}
    )
    histogram = meter.create_histogram_float(
        LATENESS_HISTOGRAM, "actual start minus processAfter of due actions", "s"
    )
    histogram.record(max(seconds, 0.0))
