"""A journey plan laid out as a layered flowchart by grandalf's Sugiyama layout
(docs/decisions.md D24): the journey page and `journeys graph --format svg|png` draw the same
layout.

Every edge label is a vertex of its own between parent and child, so the layout engine keeps
labels apart from each other and from the steps, as it keeps the steps apart. Text is measured
for a monospace font whose advance is known (0.6 em in DejaVu Sans Mono and Liberation Mono), so
the boxes computed here hold the text the browser draws; labels wrap at commas so a wide fan-out
stays narrow. The page scrolls the chart within its frame when it is still wider than the window.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

from grandalf.graphs import Edge, Graph, Vertex
from grandalf.layouts import SugiyamaLayout

from compiler.graph import edge_label
from models.plan import JourneyPlan

START = "__start__"
FONT = "'DejaVu Sans Mono', 'Liberation Mono', monospace"
CHAR_EM = 0.64  # a little above the fonts' 0.6 em advance: never under-measure
NAME_PX, ACTION_PX, COUNT_PX, LABEL_PX = 13, 11, 11, 10
LINE_GAP = 1.35  # line height in em
PAD_X, PAD_Y = 10, 8
LABEL_CHARS = 26  # an edge label wraps at commas to lines of about this many characters
GAP_X, GAP_Y, MARGIN = 24, 26, 16
COUNT_LINES = ("waiting 0000 done 0000", "cancelled 0000 failed 0000")  # widest count text


def text_width(text: str, px: float) -> float:
    return len(text) * px * CHAR_EM


def wrap_label(label: str, width: int = LABEL_CHARS) -> list[str]:
    """Split at the commas between a label's parts, then at spaces inside a long part."""
    lines: list[str] = []
    for part in label.split(", "):
        chunks = textwrap.wrap(part, width) or [part]
        if lines and len(lines[-1]) + 2 + len(part) <= width and len(chunks) == 1:
            lines[-1] = f"{lines[-1]}, {part}"
        else:
            lines.extend(chunks)
    return lines


@dataclass
class Box:
    """A step, the start node or an edge label: its text lines and its box (top-left x, y)."""

    key: str
    kind: str  # "step" | "start" | "label"
    lines: list[str]
    w: float
    h: float
    x: float = 0.0
    y: float = 0.0
    step_id: str | None = None  # for steps
    action: str | None = None


@dataclass
class EdgePath:
    parent: str
    child: str
    label: Box | None
    points: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class Layout:
    width: float
    height: float
    boxes: list[Box]
    edges: list[EdgePath]

    def step(self, step_id: str) -> Box:
        return next(b for b in self.boxes if b.kind == "step" and b.step_id == step_id)


def _step_box(plan: JourneyPlan, step_id: str) -> Box:
    action = plan.steps[step_id].action.type
    if plan.steps[step_id].enduserConditions:
        action += " (if enduser matches)"
    w = max(
        text_width(step_id, NAME_PX),
        text_width(action, ACTION_PX),
        *(text_width(line, COUNT_PX) for line in COUNT_LINES),
    )
    # the name's line, then action and two count lines (2 px apart), then the last descent
    h = NAME_PX + 3 * (ACTION_PX * LINE_GAP + 2) + 4
    return Box(
        f"step:{step_id}",
        "step",
        [step_id, action],
        w + 2 * PAD_X,
        h + 2 * PAD_Y,
        step_id=step_id,
        action=action,
    )


def _label_box(key: str, text: str) -> Box:
    lines = wrap_label(text)
    w = max(text_width(line, LABEL_PX) for line in lines) + 8
    h = len(lines) * LABEL_PX * LINE_GAP + 6
    return Box(key, "label", lines, w, h)


class _View:
    """grandalf's vertex view: a size in, a centre out."""

    def __init__(self, w: float, h: float) -> None:
        self.w, self.h = w, h
        self.xy = (0.0, 0.0)


def _edges(plan: JourneyPlan) -> list[tuple[str, str, str | None]]:
    """(parent, child, label) in file order; the start node's edges carry no label (the start
    node says it)."""
    found: list[tuple[str, str, str | None]] = [(START, root, None) for root in plan.roots]
    for step_id, step in plan.steps.items():
        for event in step.events:
            parent = getattr(event.info, "automationStepId", None)
            if event.type != "onJourneyStart" and parent in plan.steps:
                found.append((parent, step_id, edge_label(event)))
    return found


def layout(plan: JourneyPlan) -> Layout:
    title = plan.journey.title
    start = Box(
        START,
        "start",
        [title],
        text_width(title, NAME_PX) + 2 * PAD_X + 12,
        NAME_PX * LINE_GAP + 2 * PAD_Y,
    )
    boxes: dict[str, Box] = {START: start}
    for step_id in plan.steps:
        boxes[f"step:{step_id}"] = _step_box(plan, step_id)

    def key(node: str) -> str:
        return START if node == START else f"step:{node}"

    edges: list[EdgePath] = []
    chains: list[list[str]] = []  # the vertices each edge passes, parent first
    for index, (parent, child, text) in enumerate(_edges(plan)):
        label = _label_box(f"label:{index}", text) if text else None
        if label is not None:
            boxes[label.key] = label
        edges.append(EdgePath(parent, child, label))
        middle = [label.key] if label else []
        chains.append([key(parent), *middle, key(child)])

    vertices = {k: Vertex(k) for k in boxes}
    for k, vertex in vertices.items():
        vertex.view = _View(boxes[k].w, boxes[k].h)
    graph_edges: dict[tuple[str, str], Edge] = {}
    for chain in chains:
        for a, b in zip(chain, chain[1:], strict=False):
            graph_edges.setdefault((a, b), Edge(vertices[a], vertices[b]))
    graph = Graph(list(vertices.values()), list(graph_edges.values()))

    # lay out each connected part, then set the parts side by side
    offset_x, height = float(MARGIN), 0.0
    bands: dict[str, tuple[float, float]] = {}  # vertex -> its layer's (top, bottom)
    dummies: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for part in graph.C:
        sugiyama = SugiyamaLayout(part)
        sugiyama.xspace, sugiyama.yspace = GAP_X, GAP_Y
        sugiyama.dw, sugiyama.dh = 10, 10  # long edges pass through narrow dummies
        roots = [v for v in part.sV if v.data == START] or None
        sugiyama.init_all(roots=roots)
        sugiyama.draw()
        _separate_layers(sugiyama)
        xs = [v.view.xy[0] - v.view.w / 2 for layer in sugiyama.layers for v in layer]
        shift = offset_x - min(xs)
        right = 0.0
        for layer in sugiyama.layers:
            members = list(layer)
            top = min(v.view.xy[1] - v.view.h / 2 for v in members) + MARGIN
            bottom = max(v.view.xy[1] + v.view.h / 2 for v in members) + MARGIN
            for v in members:
                cx, cy = v.view.xy
                v.view.xy = (cx + shift, cy + MARGIN)
                right = max(right, cx + shift + v.view.w / 2)
                if isinstance(v, Vertex) and v.data in boxes:
                    bands[v.data] = (top, bottom)
                    box = boxes[v.data]
                    box.x, box.y = cx + shift - box.w / 2, cy + MARGIN - box.h / 2
                height = max(height, bottom)
        for e, ctrl in sugiyama.ctrls.items():
            a, b = e.v[0].data, e.v[1].data
            r0, r1 = sugiyama.grx[e.v[0]].rank, sugiyama.grx[e.v[1]].rank
            ranks = range(r0 + 1, r1) if r0 < r1 else range(r0 - 1, r1, -1)
            dummies[(a, b)] = [ctrl[r].view.xy for r in ranks]
        offset_x = right + GAP_X * 2

    for edge, chain in zip(edges, chains, strict=False):
        edge.points = _route(chain, boxes, bands, dummies)
    return Layout(offset_x - GAP_X * 2 + MARGIN, height + MARGIN, list(boxes.values()), edges)


def _separate_layers(sugiyama: SugiyamaLayout) -> None:
    """Brandes-Koepf already keeps neighbours apart; enforce the gap once more so that no
    rounding in the averaged placements lets two boxes of a layer touch."""
    for layer in sugiyama.layers:
        members = sorted(layer, key=lambda v: v.view.xy[0])
        for left, right in zip(members, members[1:], strict=False):
            least = left.view.xy[0] + (left.view.w + right.view.w) / 2 + GAP_X / 2
            if right.view.xy[0] < least:
                right.view.xy = (least, right.view.xy[1])


def _route(
    chain: list[str],
    boxes: dict[str, Box],
    bands: dict[str, tuple[float, float]],
    dummies: dict[tuple[str, str], list[tuple[float, float]]],
) -> list[tuple[float, float]]:
    """A polyline from the parent's bottom to the child's top through its label and the layout's
    dummy points, running straight down within a layer's band so a diagonal never cuts a
    neighbour's box. A loop back (the child above the parent) leaves and enters at the sides."""
    points: list[tuple[float, float]] = []
    for a, b in zip(chain, chain[1:], strict=False):
        box_a, box_b = boxes[a], boxes[b]
        ax, bx = box_a.x + box_a.w / 2, box_b.x + box_b.w / 2
        downward = box_b.y >= box_a.y
        if downward:
            via = dummies.get((a, b), [])
            seg = [(ax, box_a.y + box_a.h), (ax, bands[a][1])]
            seg += via
            seg += [(bx, bands[b][0]), (bx, box_b.y)]
        else:
            via = dummies.get((b, a), [])[::-1]
            seg = [(box_a.x + box_a.w, box_a.y + box_a.h / 2)]
            seg += via
            seg += [(box_b.x + box_b.w, box_b.y + box_b.h / 2)]
        if points and points[-1] == seg[0]:
            seg = seg[1:]
        points.extend(seg)
    return points
