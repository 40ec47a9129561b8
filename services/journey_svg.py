"""The journey flowchart as SVG, from services/journey_layout.py: the page embeds it (with patient
counts per step) and `journeys graph --format svg|png` writes it (without counts). The SVG carries
its own style and fonts list, so the file renders the same anywhere."""

from __future__ import annotations

import html

from services.journey_layout import (
    ACTION_PX,
    COUNT_PX,
    FONT,
    LABEL_PX,
    LINE_GAP,
    NAME_PX,
    PAD_X,
    PAD_Y,
    Box,
    EdgePath,
    Layout,
)

PATIENT_STATES = ("waiting", "done", "cancelled", "failed")
COLOURS = {"waiting": "#1f6feb", "done": "#1a7f37", "cancelled": "#6e7781", "failed": "#cf222e"}

STYLE = f"""
.chart-svg text {{ font-family: {FONT}; fill: #1d2430; }}
.chart-svg .step rect {{ fill: #fff; stroke: #5b6b86; stroke-width: 1.5; }}
.chart-svg .start rect {{ fill: #eef3fb; stroke: #5b6b86; stroke-width: 1.5; }}
.chart-svg .name {{ font-weight: 600; font-size: {NAME_PX}px; }}
.chart-svg .action {{ fill: #5b6b86; font-size: {ACTION_PX}px; }}
.chart-svg .counts {{ font-size: {COUNT_PX}px; }}
.chart-svg .edge path {{ fill: none; stroke: #8c959f; stroke-width: 1.2; }}
.chart-svg .edge-label rect {{ fill: #f6f8fa; stroke: #d0d7de; }}
.chart-svg .edge-label text {{ font-size: {LABEL_PX}px; fill: #57606a; }}
""" + "".join(
    f".chart-svg .count-{state} {{ fill: {colour}; }}\n" for state, colour in COLOURS.items()
)
ARROW = (
    '<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7"'
    ' orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#8c959f"/></marker>'
)


def _f(value: float) -> str:
    return f"{value:.1f}"


def _edge(edge: EdgePath) -> str:
    points = " ".join(f"L {_f(x)} {_f(y)}" for x, y in edge.points[1:])
    x0, y0 = edge.points[0]
    ends = f'data-from="{html.escape(edge.parent)}" data-to="{html.escape(edge.child)}"'
    return (
        f'<g class="edge" {ends}><path d="M {_f(x0)} {_f(y0)} {points}"'
        ' marker-end="url(#arrow)"/></g>'
    )


def _label(box: Box) -> str:
    lines = "".join(
        f'<tspan x="{_f(box.x + 4)}" dy="{_f(LABEL_PX * LINE_GAP)}">{html.escape(line)}</tspan>'
        for line in box.lines
    )
    return (
        f'<g class="edge-label" data-label="{html.escape(box.key)}">'
        f'<rect x="{_f(box.x)}" y="{_f(box.y)}" width="{_f(box.w)}" height="{_f(box.h)}"'
        ' rx="3"/>'
        f'<text x="{_f(box.x + 4)}" y="{_f(box.y + 1)}">{lines}</text></g>'
    )


def _counts(step: str, counts: dict[str, int], x: float, y: float) -> str:
    def one(state: str) -> str:
        return (
            f'<tspan class="count count-{state}" data-step="{step}" data-status="{state}">'
            f"{state} {counts.get(state, 0)}</tspan>"
        )

    line = COUNT_PX * LINE_GAP
    return (
        f'<text class="counts" x="{_f(x)}" y="{_f(y)}">{one("waiting")}'
        f" {one('done')}</text>"
        f'<text class="counts" x="{_f(x)}" y="{_f(y + line)}">{one("cancelled")}'
        f" {one('failed')}</text>"
    )


def _node(box: Box, counts: dict[str, int] | None) -> str:
    rect = (
        f'<rect x="{_f(box.x)}" y="{_f(box.y)}" width="{_f(box.w)}" height="{_f(box.h)}"'
        f' rx="{_f(box.h / 2) if box.kind == "start" else 8}"/>'
    )
    x = box.x + PAD_X
    first = box.y + PAD_Y + NAME_PX
    if box.kind == "start":
        title = html.escape(box.lines[0])
        return (
            f'<g class="start">{rect}<text class="name" x="{_f(x + 6)}" y="{_f(first)}">'
            f"{title}</text></g>"
        )
    step = html.escape(box.step_id or "")
    action_y = first + ACTION_PX * LINE_GAP + 2
    parts = [
        f'<g class="step" id="step-{step}" data-step="{step}">{rect}',
        f'<text class="name" x="{_f(x)}" y="{_f(first)}">{step}</text>',
        f'<text class="action" x="{_f(x)}" y="{_f(action_y)}">'
        f"{html.escape(box.action or '')}</text>",
    ]
    if counts is not None:
        parts.append(_counts(step, counts, x, action_y + COUNT_PX * LINE_GAP + 2))
    return "".join(parts) + "</g>"


def render_svg(
    chart: Layout, counts: dict[str, dict[str, int]] | None = None, *, title: str = ""
) -> str:
    """The chart; `counts` (step -> patient state -> number) adds the counts to each step."""
    width, height = _f(chart.width), _f(chart.height)
    nodes = [b for b in chart.boxes if b.kind != "label"]
    labels = [b for b in chart.boxes if b.kind == "label"]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" width="{width}"'
        f' height="{height}" viewBox="0 0 {width} {height}" role="img"'
        f' aria-label="{html.escape(title)} flowchart">'
        f"<style>{STYLE}</style><defs>{ARROW}</defs>"
        f'<rect class="background" width="{width}" height="{height}" fill="#fbfcfe"/>'
        + "".join(_edge(e) for e in chart.edges)
        + "".join(_label(b) for b in labels)
        + "".join(
            _node(b, None if counts is None else counts.get(b.step_id or "", {})) for b in nodes
        )
        + "</svg>"
    )
