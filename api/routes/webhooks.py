"""The Tellescope record-webhook receiver (docs/semantics.md §11.1). Authenticated by the integrity
hash, not by an API key: verified (constant-time, against the configured secret), refused
when stale or replayed, acknowledged without processing when a duplicate, then handed to the
trigger engine (`triggers.intake.process_webhook`). Every check runs before anything is processed
or stored."""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from api.deps import StateDep
from api.errors import ApiError, parse_json, validation_error
from api.metrics import metrics_of
from api.openapi_extra import json_body, schema_of
from api.schemas import WebhookAccepted
from api.state import AppState
from services import webhooks as verification
from store.webhooks import ProcessedWebhooks
from triggers.intake import process_webhook, read_ahead
from triggers.readback import ReadAhead, TellescopeReadBack

log = logging.getLogger("journeys.api.webhooks")
router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

PURGE_EVERY = 500  # deliveries between purges of old claims
RETRY_AFTER_SECONDS = 5  # told to a copy that arrives while the first is still processing


@router.post(
    "/tellescope",
    response_model=WebhookAccepted,
    summary="Tellescope record / automation / calendar-reminder webhooks (integrity-checked)",
    openapi_extra=json_body(schema_of(verification.WebhookDelivery)),
    responses={
        401: {"description": "bad integrity, stale timestamp or no secret configured"},
        409: {
            "description": "a replay (the same signature with another body), or a copy that"
            " arrived while the first is still being processed (Retry-After)"
        },
        413: {"description": "body over WEBHOOK_MAX_BODY_BYTES"},
    },
)
async def tellescope_webhook(request: Request, state: StateDep) -> WebhookAccepted:
    """Counts each delivery once by outcome (docs/metrics.md §3): refused before its claim =
    rejected; then duplicate, in_progress, conflict, processed, or error (an exception)."""
    outcome = ["rejected"]
    try:
        accepted = await _receive(request, state, outcome)
    finally:
        metrics = metrics_of(request)
        if metrics is not None:
            metrics.webhook(outcome[0])
    return accepted


async def _receive(request: Request, state, outcome: list[str]) -> WebhookAccepted:
    payload = parse_json(await request.body())
    if not isinstance(payload, dict):
        raise ApiError(422, "Error parsing request: expecting a JSON object", {"path": ""})
    try:
        delivery_model = verification.delivery_model(payload).model_validate(payload)
    except ValidationError as error:
        raise validation_error(error) from None
    settings = state.settings
    secrets = [settings.webhook_secret] if settings.webhook_secret else []
    try:
        delivery = verification.verify(
            delivery_model, secrets, tolerance_seconds=settings.webhook_tolerance_seconds
        )
    except verification.WebhookRejected as rejected:
        log.warning("webhook refused: %s", rejected.message)
        raise

    claims = state.store.webhooks
    outcome[0] = "error"  # verified: what fails from here on is ours
    # A first copy's records are read back while its claim is written (a read acts on nothing;
    # were it a duplicate after all, the read is dropped): the two waits overlap instead of
    # adding up. A copy of a delivery seen before reads nothing until its claim says so.
    ahead = None
    if state.deliveries_seen.first(delivery.key):
        ahead = read_ahead(payload, TellescopeReadBack(state.tellescope))
    try:
        return await _claim_and_process(state, payload, delivery, claims, ahead, outcome)
    finally:
        if ahead is not None:
            await ahead.close()


async def _claim_and_process(
    state: AppState,
    payload: dict,
    delivery: verification.Delivery,
    claims: ProcessedWebhooks,
    ahead: ReadAhead | None,
    outcome: list[str],
) -> WebhookAccepted:
    settings = state.settings
    claim = await run_in_threadpool(
        claims.claim,
        delivery_key=delivery.key,
        body_sha256=verification.body_digest(payload),
        kind=delivery.kind,
        operation=delivery.operation,
        record_ids=delivery.record_ids[:1000],
        webhook_timestamp=delivery.timestamp,
        lease=timedelta(seconds=settings.webhook_claim_lease_seconds),
    )
    if claim in ("duplicate", "in_progress", "conflict"):
        outcome[0] = claim
    if claim == "duplicate":
        return WebhookAccepted(status="duplicate")
    if claim == "in_progress":  # not acknowledged before the first copy's effect is durable
        raise ApiError(
            409,
            "This delivery is being processed; retry later",
            {"kind": delivery.kind, "retryAfterSeconds": RETRY_AFTER_SECONDS},
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if claim == "conflict":
        log.warning("webhook replay refused: %s %s", delivery.kind, delivery.operation)
        raise ApiError(409, "Webhook replayed with a different body", {"kind": delivery.kind})
    try:
        temporal = await state.temporal_client()
        report = await process_webhook(payload, state.trigger_deps(temporal), ahead)
    except BaseException:
        await run_in_threadpool(claims.release, delivery.key)  # a retry may succeed
        raise
    await run_in_threadpool(claims.finish, delivery.key)
    outcome[0] = "processed"
    await _maybe_purge(state)
    return WebhookAccepted(status="processed", report=report)


_deliveries = 0


async def _maybe_purge(state) -> None:
    global _deliveries
    _deliveries += 1
    if _deliveries % PURGE_EVERY == 0:
        keep = timedelta(hours=state.settings.webhook_retention_hours)
        await run_in_threadpool(state.store.webhooks.purge, keep)
