"""The journey page: the plan drawn as a flowchart (an SVG laid out here, no JavaScript and no
CDN, so it renders offline), each step annotated with live AutomatedAction counts from the
ledger, and links into the Temporal UI for the journey and for enrollments waiting at a step."""

from __future__ import annotations

import html
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import quote

from compiler.graph import edge_label
from models.plan import JourneyPlan
from store.ledger import Ledger

STATUSES = ("active", "finished", "cancelled", "error")
NODE_W, NODE_H, GAP_X, GAP_Y, MARGIN = 220, 88, 40, 70, 30
WAITING_SHOWN = 10  # enrollments listed per step


@dataclass
class StepView:
    step_id: str
    action: str
    level: int
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    waiting: list[str] = field(default_factory=list)  # workflow ids with an active action here
    x: int = 0
    y: int = 0


def levels(plan: JourneyPlan) -> dict[str, int]:
    """Depth of each step below the roots (breadth first; a loop back does not deepen)."""
    depth = dict.fromkeys(plan.roots, 0)
    queue = list(plan.roots)
    while queue:
        parent = queue.pop(0)
        for refs in plan.children.get(parent, {}).values():
            for ref in refs:
                if ref.stepId not in depth:
                    depth[ref.stepId] = depth[parent] + 1
                    queue.append(ref.stepId)
    deepest = max(depth.values(), default=-1)
    for step_id in plan.steps:  # unreachable steps (started only by addToJourney at a step)
        depth.setdefault(step_id, deepest + 1)
    return depth


def step_views(plan: JourneyPlan, ledger: Ledger) -> dict[str, StepView]:
    depth = levels(plan)
    views = {
        step_id: StepView(step_id, step.action.type, depth[step_id])
        for step_id, step in plan.steps.items()
    }
    for step_id, _record, status, _label, count in ledger.step_counts(plan.journeyId):
        if step_id in views and status in STATUSES:
            views[step_id].counts[status] += count
    for row in ledger.list(journey_id=plan.journeyId, status="active", limit=5000):
        view = views.get(row.automation_step_id)
        if (
            view is not None
            and len(view.waiting) < WAITING_SHOWN
            and row.workflow_id not in view.waiting
        ):
            view.waiting.append(row.workflow_id)
    by_level: dict[int, list[StepView]] = defaultdict(list)
    for view in views.values():
        by_level[view.level].append(view)
    for level, members in by_level.items():
        for index, view in enumerate(members):
            view.x = MARGIN + index * (NODE_W + GAP_X)
            view.y = MARGIN + level * (NODE_H + GAP_Y)
    return views


def _edges_svg(plan: JourneyPlan, views: dict[str, StepView]) -> list[str]:
    parts = []
    for parent, kinds in plan.children.items():
        for refs in kinds.values():
            for ref in refs:
                a, b = views[parent], views[ref.stepId]
                x1, y1 = a.x + NODE_W / 2, a.y + NODE_H
                x2, y2 = b.x + NODE_W / 2, b.y
                if b.level <= a.level:  # a loop back: leave from the side
                    x1, y1 = a.x + NODE_W, a.y + NODE_H / 2
                    x2, y2 = b.x + NODE_W, b.y + NODE_H / 2
                label = html.escape(edge_label(plan.event_of(ref)))
                ends = f'data-from="{html.escape(parent)}" data-to="{html.escape(ref.stepId)}"'
                line = f'x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" marker-end="url(#arrow)"'
                middle = f'x="{(x1 + x2) / 2 + 4}" y="{(y1 + y2) / 2}"'
                parts.append(
                    f'<g class="edge" {ends}><line {line}/><text {middle}>{label}</text></g>'
                )
    return parts


def _node_svg(view: StepView) -> str:
    step = html.escape(view.step_id)
    counts = "".join(
        f'<tspan class="count count-{status}" data-status="{status}">'
        f"{status} {view.counts[status]}</tspan> "
        for status in STATUSES
    )
    return (
        f'<g class="step" id="step-{step}" data-step="{step}">'
        f'<rect x="{view.x}" y="{view.y}" width="{NODE_W}" height="{NODE_H}" rx="8"/>'
        f'<text class="name" x="{view.x + 10}" y="{view.y + 22}">{step}</text>'
        f'<text class="action" x="{view.x + 10}" y="{view.y + 42}">'
        f"{html.escape(view.action)}</text>"
        f'<text class="counts" x="{view.x + 10}" y="{view.y + 66}">{counts}</text>'
        "</g>"
    )


STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px; color: #1d2430; }
svg { border: 1px solid #d8dde6; border-radius: 8px; background: #fbfcfe; }
.step rect { fill: #fff; stroke: #5b6b86; stroke-width: 1.5; }
.step .name { font-weight: 600; font-size: 14px; }
.step .action { fill: #5b6b86; font-size: 12px; }
.step .counts { font-size: 11px; }
.count-active { fill: #1f6feb; } .count-finished { fill: #1a7f37; }
.count-cancelled { fill: #8c959f; } .count-error { fill: #cf222e; }
.edge line { stroke: #8c959f; stroke-width: 1.2; }
.edge text { font-size: 10px; fill: #57606a; }
table { border-collapse: collapse; margin-top: 16px; }
td, th { padding: 4px 10px; border-bottom: 1px solid #eaeef2; text-align: left; }
"""
ARROW = (
    '<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7"'
    ' orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#8c959f"/></marker>'
)


def _step_row(view: StepView, ui_url: str, namespace: str) -> str:
    links = " ".join(
        f'<a class="enrollment" href="{ui_url}/namespaces/{namespace}/workflows/{quote(wid)}">'
        f"{html.escape(wid.split(':')[-1])}</a>"
        for wid in view.waiting
    )
    cells = "".join(f'<td class="{s}">{view.counts[s]}</td>' for s in STATUSES)
    step = html.escape(view.step_id)
    return f'<tr data-step="{step}"><td>{step}</td>{cells}<td>{links}</td></tr>'


def render(plan: JourneyPlan, ledger: Ledger, *, ui_url: str, namespace: str) -> str:
    views = step_views(plan, ledger)
    width = max((v.x + NODE_W for v in views.values()), default=0) + MARGIN + 260
    height = max((v.y + NODE_H for v in views.values()), default=0) + MARGIN
    query = quote(f'JourneyId="{plan.journeyId}"')
    journey_link = f"{ui_url}/namespaces/{namespace}/workflows?query={query}"
    totals = {s: sum(v.counts[s] for v in views.values()) for s in STATUSES}
    ordered = sorted(views.values(), key=lambda v: (v.level, v.x))
    rows = "".join(_step_row(view, ui_url, namespace) for view in ordered)
    title = html.escape(plan.journey.title)
    summary = ", ".join(f'<span id="total-{s}">{totals[s]}</span> {s}' for s in STATUSES)
    header_cells = "".join(f"<th>{s}</th>" for s in STATUSES)
    svg_open = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' role="img" aria-label="{title} flowchart">'
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - Journey Engine</title>
<style>{STYLE}</style></head>
<body>
<h1>{title}</h1>
<p>Journey <code>{html.escape(plan.journeyId)}</code>, version <code>{plan.version}</code>.
Actions: {summary}.
<a id="temporal-link" href="{journey_link}">Enrollments in the Temporal UI</a></p>
{svg_open}
<defs>{ARROW}</defs>
{"".join(_edges_svg(plan, views))}
{"".join(_node_svg(v) for v in views.values())}
</svg>
<table><thead><tr><th>step</th>{header_cells}<th>waiting here (Temporal UI)</th></tr></thead>
<tbody>{rows}</tbody></table>
</body></html>
"""
