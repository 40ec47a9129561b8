"""The HTML of the journey pages: the index of journeys and one journey's page (flowchart with
patients per step, the patients waiting at each step, active patients per plan version, pause
and resume buttons posting to api.routes.page_actions, live refresh). Everything is inline (style,
script, SVG): no CDN and no static files, so the pages work offline (docs/decisions.md D24)."""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import quote

from models.plan import JourneyPlan
from services.journey_layout import layout
from services.journey_page import ENROLLMENT_STATES, PATIENT_STATES, JourneySummary
from services.journey_svg import COLOURS, render_svg

REFRESH_MS = 3000

STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px; color: #1d2430; }
.chart { overflow-x: auto; max-width: 100%; border: 1px solid #d8dde6;
  border-radius: 8px; background: #fbfcfe; }
.chart svg { display: block; }
.legend span { display: inline-block; margin-right: 14px; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px;
  margin-right: 4px; }
table { border-collapse: collapse; margin-top: 16px; }
td, th { padding: 4px 10px; border-bottom: 1px solid #eaeef2; text-align: left;
  vertical-align: top; }
td.n { text-align: right; }
ul.waiting { margin: 0; padding-left: 16px; }
.muted { color: #57606a; font-size: 90%; }
form.control { display: inline; margin-right: 6px; }
form.control button { font-size: 80%; }
.paused-badge { background: #fff3c4; border: 1px solid #d4a72c; border-radius: 4px;
  padding: 0 4px; font-size: 85%; }
#action-result { background: #eef6ee; border: 1px solid #9ac49a; padding: 6px 10px;
  border-radius: 6px; display: inline-block; }
"""

MEANING = {
    "waiting": "an action of this step is due later (timer, form, ticket or trigger)",
    "done": "the step's action ran",
    "cancelled": "cancelled before it ran (removed, restarted or a form was submitted)",
    "failed": "the action failed",
}

SCRIPT = """
(function () {
  const page = document.getElementById("journey-page");
  const every = Number(page.dataset.refreshMs) || 3000;
  const STATES = __STATES__, ENROLLMENT = __ENROLLMENT__;
  const status = document.getElementById("refresh-status");
  const csrf = page.dataset.csrf;
  function setText(el, text) { if (el && el.textContent !== text) el.textContent = text; }
  function control(action, verb, label) {
    const form = document.createElement("form");
    form.className = "control"; form.method = "post"; form.action = action;
    const token = document.createElement("input");
    token.type = "hidden"; token.name = "csrf"; token.value = csrf;
    const button = document.createElement("button");
    button.type = "submit"; button.className = "patient-" + verb; button.textContent = label;
    form.appendChild(token); form.appendChild(button);
    return form;
  }
  function versionRows(body, versions) {
    const rows = versions.map(function (v) {
      const tr = document.createElement("tr");
      tr.dataset.version = v.version;
      const name = document.createElement("td");
      const code = document.createElement("code");
      code.textContent = v.version;
      name.appendChild(code);
      if (v.current) name.appendChild(document.createTextNode(" (current)"));
      tr.appendChild(name);
      ["active", "paused"].forEach(function (k) {
        const td = document.createElement("td");
        td.className = "n"; td.dataset.count = k; td.textContent = String(v[k]);
        tr.appendChild(td);
      });
      return tr;
    });
    body.replaceChildren.apply(body, rows);
  }
  function waitingList(list, patients, total) {
    const items = patients.map(function (p) {
      const li = document.createElement("li");
      li.dataset.enduser = p.enduserId; li.dataset.paused = String(p.paused);
      const a = document.createElement("a");
      a.className = "patient"; a.href = p.href; a.textContent = p.enduserId;
      li.appendChild(a);
      li.appendChild(document.createTextNode(" due "));
      const due = document.createElement("time");
      if (p.dueAt) due.setAttribute("datetime", p.dueAt);
      due.textContent = p.due;
      li.appendChild(due);
      li.appendChild(document.createTextNode(" \\u00b7 waits for " + p.waitsFor + " "));
      if (p.paused) {
        const badge = document.createElement("span");
        badge.className = "paused-badge"; badge.textContent = "paused";
        li.appendChild(badge);
        li.appendChild(document.createTextNode(" "));
      }
      if (csrf) {
        li.appendChild(p.paused ? control(p.href + "/resume", "resume", "Resume")
                                : control(p.href + "/pause", "pause", "Pause"));
      }
      return li;
    });
    if (total > patients.length) {
      const more = document.createElement("li");
      more.textContent = "and " + (total - patients.length) + " more";
      items.push(more);
    }
    list.replaceChildren.apply(list, items);
  }
  function apply(data) {
    if (data.version !== page.dataset.version) { location.reload(); return; }
    Object.keys(data.steps).forEach(function (step) {
      const s = data.steps[step];
      STATES.forEach(function (state) {
        const sel = '[data-step="' + CSS.escape(step) + '"][data-status="' + state + '"]';
        document.querySelectorAll(sel).forEach(function (el) {
          const n = String(s.counts[state]);
          setText(el, el.tagName.toLowerCase() === "tspan" ? state + " " + n : n);
        });
      });
      const list = document.querySelector('ul.waiting[data-step="' + CSS.escape(step) + '"]');
      if (list) waitingList(list, s.waiting, s.counts.waiting);
    });
    ENROLLMENT.forEach(function (state) {
      setText(document.getElementById("total-" + state), String(data.enrollments[state]));
    });
    setText(document.getElementById("total-paused"), String(data.paused));
    const versions = document.querySelector("#versions tbody");
    if (versions) versionRows(versions, data.versions);
    setText(document.getElementById("errors-last-day"), String(data.errorsLastDay));
    setText(document.getElementById("updated-at"), data.updatedAt);
    page.dataset.refreshed = String(Number(page.dataset.refreshed || 0) + 1);
  }
  function tick() {
    fetch(page.dataset.live, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (data) { apply(data); setText(status, ""); })
      .catch(function (e) { setText(status, "(refresh failed: " + e.message + ", retrying)"); })
      .finally(function () { setTimeout(tick, every); });
  }
  setTimeout(tick, every);
})();
""".replace("__STATES__", json.dumps(PATIENT_STATES)).replace(
    "__ENROLLMENT__", json.dumps(ENROLLMENT_STATES)
)


def _legend() -> str:
    items = "".join(
        f'<span title="{html.escape(MEANING[state])}"><i style="background:{COLOURS[state]}"></i>'
        f"<b>{state}</b>: {html.escape(MEANING[state])}</span>"
        for state in PATIENT_STATES
    )
    return f'<p class="legend">Patients per step: {items}</p>'


def control(action: str, verb: str, label: str, csrf: str, *, ident: str = "") -> str:
    """A pause or resume button: a form POSTing the session's CSRF token
    (api.routes.page_actions)."""
    button_id = f' id="{ident}"' if ident else ""
    return (
        f'<form class="control" method="post" action="{html.escape(action)}">'
        f'<input type="hidden" name="csrf" value="{html.escape(csrf)}">'
        f'<button type="submit" class="patient-{verb}"{button_id}>{label}</button></form>'
    )


def _waiting_items(patients: list[dict[str, Any]], total: int, temporal: str, csrf: str) -> str:
    items = []
    for p in patients:
        due_at = f' datetime="{html.escape(p["dueAt"])}"' if p["dueAt"] else ""
        badge = ' <span class="paused-badge">paused</span>' if p["paused"] else ""
        verb = "resume" if p["paused"] else "pause"
        button = " " + control(f"{p['href']}/{verb}", verb, verb.capitalize(), csrf) if csrf else ""
        items.append(
            f'<li data-enduser="{html.escape(p["enduserId"])}"'
            f' data-paused="{str(p["paused"]).lower()}"><a class="patient"'
            f' href="{html.escape(p["href"])}">'
            f"{html.escape(p['enduserId'])}</a> due <time{due_at}>{html.escape(p['due'])}</time>"
            f" · waits for {html.escape(p['waitsFor'])}{badge}{button}"
            f' <a class="temporal" href="{temporal}{quote(p["enduserId"])}">(Temporal)</a></li>'
        )
    if total > len(patients):
        items.append(f"<li>and {total - len(patients)} more</li>")
    return "".join(items)


def _versions(data: dict[str, Any]) -> str:
    rows = "".join(
        f'<tr data-version="{html.escape(v["version"])}"><td><code>'
        f"{html.escape(v['version'])}</code>{' (current)' if v['current'] else ''}</td>"
        f'<td class="n" data-count="active">{v["active"]}</td>'
        f'<td class="n" data-count="paused">{v["paused"]}</td></tr>'
        for v in data["versions"]
    )
    return (
        '<table id="versions"><caption>Active patients per version (what a migration would'
        " move: <code>journeys migrate</code>)</caption><thead><tr><th>version</th>"
        f"<th>active</th><th>paused</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _controls(journey_id: str, csrf: str, result: str) -> str:
    said = f'<p id="action-result" role="status">{html.escape(result)}</p>' if result else ""
    if not csrf:
        return said
    base = f"/journeys/{quote(journey_id, safe='')}"
    return (
        f'{said}<p id="controls">Every running enrollment: '
        + control(f"{base}/pause", "pause", "Pause journey", csrf, ident="pause-journey")
        + control(f"{base}/resume", "resume", "Resume journey", csrf, ident="resume-journey")
        + "</p>"
    )


def journey_page(
    plan: JourneyPlan,
    data: dict[str, Any],
    *,
    ui_url: str,
    namespace: str,
    csrf: str = "",
    result: str = "",
) -> str:
    """`csrf`: the session's form token (no buttons without one); `result`: what the last
    button did."""
    title = html.escape(plan.journey.title)
    journey = html.escape(plan.journeyId)
    counts = {step_id: s["counts"] for step_id, s in data["steps"].items()}
    chart = render_svg(layout(plan), counts, title=plan.journey.title)
    query = quote(f'JourneyId="{plan.journeyId}"')
    journey_link = f"{ui_url}/namespaces/{namespace}/workflows?query={query}"
    # the enrollment's workflow id is journey:{journeyId}:{enduserId} (docs/temporal.md §1)
    temporal = f"{ui_url}/namespaces/{namespace}/workflows/{quote(f'journey:{plan.journeyId}:')}"
    totals = ", ".join(
        f'<span id="total-{s}">{data["enrollments"][s]}</span> {s}' for s in ENROLLMENT_STATES
    )
    rows = []
    for step_id, step in data["steps"].items():
        sid = html.escape(step_id)
        cells = "".join(
            f'<td class="n" data-step="{sid}" data-status="{s}">{step["counts"][s]}</td>'
            for s in PATIENT_STATES
        )
        items = _waiting_items(step["waiting"], step["counts"]["waiting"], temporal, csrf)
        rows.append(
            f'<tr data-step="{sid}"><td>{sid}</td>{cells}'
            f'<td><ul class="waiting" data-step="{sid}">{items}</ul></td></tr>'
        )
    header = "".join(f"<th>{s}</th>" for s in PATIENT_STATES)
    live = html.escape(f"/journeys/{quote(plan.journeyId, safe='')}/live")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - Journey Engine</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{STYLE}</style></head>
<body id="journey-page" data-live="{live}" data-version="{html.escape(plan.version)}"
 data-refresh-ms="{REFRESH_MS}" data-refreshed="0" data-csrf="{html.escape(csrf)}">
<p><a href="/journeys">All journeys</a></p>
<h1>{title}</h1>
<p>Journey <code>{journey}</code>, version <code>{html.escape(plan.version)}</code>.
Patients: {totals} (<span id="total-paused">{data["paused"]}</span> of the active paused);
<span id="errors-last-day">{data["errorsLastDay"]}</span> errors in the
last day. Times in {html.escape(data["timezone"])}; updated <span id="updated-at">
{html.escape(data["updatedAt"])}</span> <span id="refresh-status" class="muted"></span>
<a id="temporal-link" href="{journey_link}">Enrollments in the Temporal UI</a></p>
{_controls(plan.journeyId, csrf, result)}
{_versions(data)}
{_legend()}
<div class="chart" id="chart">{chart}</div>
<table id="steps"><thead><tr><th>step</th>{header}<th>waiting here: patient, due, waits for</th>
</tr></thead><tbody>{"".join(rows)}</tbody></table>
<script>{SCRIPT}</script>
</body></html>
"""


def index_page(journeys: list[JourneySummary]) -> str:
    header = "".join(f"<th>{s}</th>" for s in ENROLLMENT_STATES)
    rows = "".join(
        f'<tr data-journey="{html.escape(j.journeyId)}">'
        f'<td><a href="{html.escape(j.href)}">{html.escape(j.journeyId)}</a></td>'
        f"<td>{html.escape(j.title)}</td><td><code>{html.escape(j.version)}</code></td>"
        + "".join(
            f'<td class="n" data-status="{s}">{j.enrollments[s]}</td>' for s in ENROLLMENT_STATES
        )
        + f'<td class="n" data-status="errors">{j.errorsLastDay}</td></tr>'
        for j in journeys
    )
    empty = "" if journeys else "<p>No journey is deployed yet (<code>journeys deploy</code>).</p>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Journeys - Journey Engine</title>
<style>{STYLE}</style></head>
<body><h1>Journeys</h1>
<p class="muted">Every deployed journey at its current version; patients per enrollment state
(active: an action still waits; removed: taken out of the journey; failed: the last action
failed), and actions that failed in the last day.</p>{empty}
<table id="journeys"><thead><tr><th>journey</th><th>title</th><th>version</th>{header}
<th>errors (1 day)</th></tr></thead><tbody>{rows}</tbody></table>
</body></html>
"""
