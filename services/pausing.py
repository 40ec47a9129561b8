"""Pausing and resuming enrollments (docs/decisions.md D28): one enrollment, or every running
enrollment of a journey in batches, reporting progress. The API and the CLI both call these.

The workflow does the pausing (signals `pause` / `resume`); this module only finds the
enrollments and delivers the signals. A journey's running enrollments are found as a journey
deletion finds them (services.journey_deletion): the ledger's endusers with an active action,
plus Temporal visibility (which lags, and which the time-skipping test server cannot filter).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from temporalio.service import RPCError

from models.runtime import PauseRequest, ResumeRequest
from services.enrollments import bounded, listed_endusers
from services.errors import NotFound
from store.ledger import Ledger
from workflows import starter

Verb = Literal["pause", "resume"]
DEFAULT_BATCH = 100


@dataclass
class PauseProgress:
    """One batch done: how far the journey-wide pause or resume is."""

    done: int
    total: int


@dataclass
class PauseReport:
    journeyId: str
    action: Verb
    signalled: list[str] = field(default_factory=list)  # endusers whose enrollment got it
    notRunning: list[str] = field(default_factory=list)  # no running enrollment (ended)
    failed: list[str] = field(default_factory=list)  # Temporal refused or was unreachable
    batches: int = 0


def _request(verb: Verb, by: str | None) -> PauseRequest | ResumeRequest:
    return PauseRequest(by=by) if verb == "pause" else ResumeRequest(by=by)


async def pause_enrollment(
    client: Any, journey_id: str, enduser_id: str, verb: Verb, *, by: str | None
) -> None:
    """Pause or resume one enrollment; NotFound when it is not running. Idempotent: pausing a
    paused enrollment (or resuming a running one) changes nothing."""
    if not await starter.pause(client, journey_id, enduser_id, _request(verb, by)):
        raise NotFound(
            f'enduser "{enduser_id}" has no running enrollment in journey "{journey_id}"',
            {"journeyId": journey_id, "enduserId": enduser_id},
        )


async def running_endusers(client: Any, ledger: Ledger | None, journey_id: str) -> list[str]:
    """Candidates for a journey-wide signal, without duplicates, in a stable order: the ledger's
    endusers with a pending action, then visibility's."""
    found = list(ledger.endusers_with_active(journey_id)) if ledger is not None else []
    found += await listed_endusers(client, journey_id)
    return list(dict.fromkeys(found))


async def pause_journey(
    client: Any,
    ledger: Ledger | None,
    journey_id: str,
    verb: Verb,
    *,
    by: str | None,
    endusers: Sequence[str] | None = None,
    batch_size: int = DEFAULT_BATCH,
    concurrency: int = 32,
    progress: Callable[[PauseProgress], None] | None = None,
) -> PauseReport:
    """Pause or resume every running enrollment of the journey (or `endusers`), `batch_size` at
    a time, calling `progress` after each batch. A failure for one enrollment is reported in
    `failed` and does not stop the others; running it again finishes the job (the signals are
    idempotent)."""
    targets = (
        list(endusers)
        if endusers is not None
        else await running_endusers(client, ledger, journey_id)
    )
    report = PauseReport(journeyId=journey_id, action=verb)
    request = _request(verb, by)

    async def one(enduser_id: str) -> bool | None:
        try:
            return await starter.pause(client, journey_id, enduser_id, request)
        except RPCError:
            return None

    for start in range(0, len(targets), max(batch_size, 1)):
        batch = targets[start : start + max(batch_size, 1)]
        outcomes = await bounded(batch, concurrency, one)
        for enduser_id, outcome in zip(batch, outcomes, strict=True):
            if outcome is None:
                report.failed.append(enduser_id)
            elif outcome:
                report.signalled.append(enduser_id)
            else:
                report.notRunning.append(enduser_id)
        report.batches += 1
        if progress is not None:
            progress(PauseProgress(done=start + len(batch), total=len(targets)))
    return report
