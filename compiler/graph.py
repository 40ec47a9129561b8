"""Journey plans as flowcharts (Mermaid and Graphviz DOT).

Nodes are steps labelled with their action; edges are the events that start a child, labelled with
what decides when it runs: event type, delay, office hours, cancel conditions, A/B label, close
reason, trigger.
"""

from __future__ import annotations

from models.events import (
    AfterActionInfo,
    AutomationEvent,
    DelayInfo,
    TicketCompletedInfo,
    WaitForTriggerInfo,
)
from models.plan import JourneyPlan

_UNIT_MS = (("Days", 86_400_000), ("Hours", 3_600_000), ("Minutes", 60_000), ("Seconds", 1000))
START = "start"


def human_delay(ms: int) -> str:
    for unit, size in _UNIT_MS:
        if ms >= size and ms % size == 0:
            count = ms // size
            name = unit.lower() if count != 1 else unit.lower()[:-1]  # "1 day", "2 days"
            return f"{count} {name}"
    return f"{ms} ms"


def edge_label(event: AutomationEvent) -> str:
    info = event.info
    parts: list[str] = [event.type]
    if isinstance(info, DelayInfo):
        if info.delayInMS:
            parts.append(f"after {human_delay(info.delayInMS)}")
        day = info.dayOfMonthCondition if isinstance(info, AfterActionInfo) else None
        if day is not None:
            hour = day.hour if day.hour is not None else 9
            minute = day.minute if day.minute is not None else 0
            parts.append(f"on day {day.dayOfMonth} at {hour:02d}:{minute:02d}")
        if info.officeHoursOnly:
            parts.append("office hours")
        for condition in info.cancelConditions or []:
            parts.append(f"cancel if form from {condition.info.automationStepId} submitted")
        if info.abTestCondition:
            parts.append(f"A/B: {info.abTestCondition}")
    if isinstance(info, TicketCompletedInfo):
        reason = info.closedForReason
        parts.append(f"reason: {reason}" if reason else "closed without reason")
    if isinstance(info, WaitForTriggerInfo):
        parts.append(f"trigger: {info.triggerId}")
    return ", ".join(parts)


def _edges(plan: JourneyPlan) -> list[tuple[str, str, str]]:
    edges: list[tuple[str, str, str]] = []
    for step_id, step in plan.steps.items():
        for event in step.events:
            if event.type == "onJourneyStart":
                edges.append((START, step_id, "onJourneyStart"))
            else:
                parent = getattr(event.info, "automationStepId", None)
                if parent is not None:
                    edges.append((parent, step_id, edge_label(event)))
    return edges


def node_label(plan: JourneyPlan, step_id: str) -> str:
    step = plan.steps[step_id]
    label = f"{step_id}\n{step.action.type}"
    if step.enduserConditions:
        label += "\n(enduser conditions)"
    return label


def to_mermaid(plan: JourneyPlan) -> str:
    ids = {step_id: f"s{i}" for i, step_id in enumerate(plan.steps)} | {START: START}

    def quote(text: str) -> str:
        return '"' + text.replace('"', "#quot;").replace("\n", "<br/>") + '"'

    lines = ["flowchart TD", f"  {START}(({quote(plan.journey.title)}))"]
    lines += [f"  {ids[s]}[{quote(node_label(plan, s))}]" for s in plan.steps]
    for parent, child, label in _edges(plan):
        lines.append(f"  {ids[parent]} -->|{quote(label)}| {ids[child]}")
    return "\n".join(lines) + "\n"


def to_dot(plan: JourneyPlan) -> str:
    def quote(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

    lines = [
        f"digraph {quote(plan.journeyId)} {{",
        "  rankdir=TB;",
        "  node [shape=box, style=rounded, fontname=Helvetica];",
        f"  {quote(START)} [shape=oval, label={quote(plan.journey.title)}];",
    ]
    lines += [f"  {quote(s)} [label={quote(node_label(plan, s))}];" for s in plan.steps]
    for parent, child, label in _edges(plan):
        lines.append(f"  {quote(parent)} -> {quote(child)} [label={quote(label)}];")
    return "\n".join(lines) + "\n}\n"
