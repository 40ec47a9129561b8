"""The patient page's HTML (docs/operator-view.md §4): one enrollment's timeline and the trigger
decisions about the enduser, times in the organisation's zone. The template is
`services/templates/patient_page.html`; every value is escaped here."""

from __future__ import annotations

import html
import json
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.timeline import Timeline, closed_text

TEMPLATE = Path(__file__).resolve().parent / "templates" / "patient_page.html"


@lru_cache(maxsize=1)
def _template() -> Template:
    return Template(TEMPLATE.read_text(encoding="utf-8"))


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local(moment: datetime | None, timezone: str) -> str:
    """`2026-12-07 09:00 EST`: a time in the organisation's zone."""
    if moment is None:
        return ""
    return moment.astimezone(zone(timezone)).strftime("%Y-%m-%d %H:%M:%S %Z")


def _values(values: dict[str, Any] | None) -> str:
    if not values:
        return ""
    text = ", ".join(f"{k} = {json.dumps(v, default=str)}" for k, v in values.items())
    return f'<span class="values">{html.escape(text)}</span>'


def controls(journey_id: str, enduser_id: str, csrf: str, result: str) -> str:
    """The enrollment's pause and resume buttons (api.routes.page_actions), which come back
    here (`next`), and what the last one did. Both buttons show: the timeline does not say
    whether the enrollment is paused, and either signal is idempotent (docs/decisions.md D28)."""
    e = html.escape
    said = f'<p id="action-result" role="status">{e(result)}</p>' if result else ""
    if not csrf:
        return said
    page = f"/journeys/{quote(journey_id, safe='')}/enrollments/{quote(enduser_id, safe='')}"
    buttons = "".join(
        f'<form class="control" method="post" action="{e(page)}/{verb}">'
        f'<input type="hidden" name="csrf" value="{e(csrf)}">'
        f'<input type="hidden" name="next" value="{e(page)}">'
        f'<button type="submit" id="{verb}-enrollment">{verb.capitalize()}</button></form>'
        for verb in ("pause", "resume")
    )
    return f'{said}<p id="controls">This enrollment: {buttons}</p>'


def render(timeline: Timeline, *, csrf: str = "", result: str = "") -> str:
    """`csrf`: the session's form token (no buttons without one); `result`: what the last
    pause or resume button did."""
    e = html.escape
    tz = timeline.timezone
    rows = []
    for entry in timeline.entries:
        details = entry.text
        if entry.dueAt is not None:
            details += f" (due {local(entry.dueAt, tz)})"
        rows.append(
            f'<tr class="{e(entry.kind)}" data-action="{e(entry.actionId or "")}">'
            f"<td>{e(local(entry.at, tz))}</td>"
            f'<td class="kind">{e(entry.kind)}</td>'
            f"<td>{e(entry.stepId or '')}</td>"
            f"<td>{e(details)}</td>"
            f"<td>{_values(entry.values)}</td></tr>"
        )
    decisions = [
        f'<tr class="{"done" if d.fired else "skipped"}">'
        f"<td>{e(local(d.at, tz))}</td>"
        f"<td>{e(d.title or d.triggerId)} <code>{e(d.triggerId)}</code></td>"
        f"<td>{e(d.eventType)}</td>"
        f"<td>{'yes' if d.fired else 'no'}</td>"
        f"<td>{e('' if d.fired else f'{d.stage}: {d.reason}')}</td>"
        f"<td>{_values(d.values)}</td></tr>"
        for d in timeline.triggerDecisions
    ]
    record = timeline.enrollment
    if record is None:
        enrollment = "No workflow run of this enrollment."
    else:
        enrollment = f"Enrolled {local(record.startedAt, tz)}; status {record.status}"
        if record.closedAt is not None:
            enrollment += f", closed {local(record.closedAt, tz)}: {closed_text(record)}"
    notes = "".join(f'<p class="note">{e(note)}</p>' for note in timeline.notes)
    return _template().substitute(
        enduser=e(timeline.enduserId),
        journey=e(timeline.journeyId),
        journey_url=e(quote(timeline.journeyId, safe="")),
        enrollment=e(enrollment),
        notes=notes,
        controls=controls(timeline.journeyId, timeline.enduserId, csrf, result),
        timezone=e(tz),
        rows="\n".join(rows) or '<tr><td colspan="5">Nothing recorded.</td></tr>',
        decisions="\n".join(decisions)
        or '<tr><td colspan="6">No trigger decision about this enduser.</td></tr>',
    )
