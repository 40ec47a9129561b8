"""Whether a failure means "the engine's dependencies are down now" (retry later: 503) or "they
answered with an error" (502), and the HTTP-free policy for bulk enrollments built on that.

| outcome of a bulk request | answer |
|---|---|
| every enduser enrolled | 200, per-enduser results |
| some enrolled, some failed | 207 Multi-Status, per-enduser results (`status: "error"`, `code`) |
| none enrolled, Temporal unreachable | `Unavailable` (503 with Retry-After): nothing was started |
| none enrolled, Temporal answered errors | `UpstreamFailed` (502) |
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from temporalio.service import RPCError, RPCStatusCode

from services.errors import Unavailable, UpstreamFailed

# Temporal's answers that mean "not reachable now" (the connection failed, or no answer in time).
OUTAGE_STATUSES = frozenset({RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED})

MULTI_STATUS = 207


def temporal_outage(error: BaseException) -> bool:
    return isinstance(error, RPCError) and error.status in OUTAGE_STATUSES


class Outcome(Protocol):
    status: str
    code: int | None
    message: str | None


def bulk_status(outcomes: Sequence[Outcome]) -> int:
    """200 or 207 for the per-enduser answer; raises when no enduser was enrolled because of a
    failure (the whole request failed: nothing was started)."""
    failed = [o for o in outcomes if o.status == "error"]
    if not failed:
        return 200
    if len(failed) < len(outcomes):
        return MULTI_STATUS
    first = failed[0].message or "no answer"
    info = {"failed": len(failed)}
    if any(o.code == 503 for o in failed):
        raise Unavailable(f"Temporal is not reachable; no enduser was enrolled: {first}", info)
    raise UpstreamFailed(f"Temporal refused every enrollment: {first}", info)
