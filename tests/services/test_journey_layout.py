"""The chart's layout on shapes the examples lack (docs/decisions.md D24): a loop back, a
ten-way fan-out with long labels, a step no event reaches, several edges between one pair."""

from __future__ import annotations

import textwrap

from compiler import compile_paths
from services.journey_layout import LABEL_CHARS, layout, wrap_label

JOURNEY = """
journey: {id: shapes, title: Shapes}
steps:
  - id: first
    events: [{type: onJourneyStart, info: {}}]
    action: {type: setEnduserStatus, info: {status: A}}
  - id: second
    events:
      - {type: afterAction, info: {automationStepId: first, delay: 1, unit: Days, officeHoursOnly: true}}
      - {type: afterAction, info: {automationStepId: third, delay: 2, unit: Days}}
    action: {type: setEnduserStatus, info: {status: B}}
  - id: third
    events: [{type: afterAction, info: {automationStepId: second, delay: 3, unit: Hours}}]
    action: {type: setEnduserStatus, info: {status: C}}
  - id: orphan
    events: [{type: afterAction, info: {automationStepId: orphan-parent, delayInMS: 0}}]
    action: {type: setEnduserStatus, info: {status: D}}
  - id: orphan-parent
    events: []
    action: {type: setEnduserStatus, info: {status: E}}
"""


def fan_out(width: int) -> str:
    children = "".join(
        textwrap.dedent(
            f"""
            - id: child-number-{n}-with-a-long-name
              events:
                - type: afterAction
                  info: {{automationStepId: first, delay: {n + 1}, unit: Days, officeHoursOnly: true}}
              action: {{type: setEnduserStatus, info: {{status: C{n}}}}}
            """
        )
        for n in range(width)
    )
    return JOURNEY + textwrap.indent(children, "  ")


def plan_of(tmp_path, text: str):
    (tmp_path / "shapes.yaml").write_text(text)
    return compile_paths([tmp_path / "shapes.yaml"]).plans[0]


def check(chart) -> None:
    boxes = chart.boxes
    for n, a in enumerate(boxes):
        assert 0 <= a.x and a.x + a.w <= chart.width and 0 <= a.y and a.y + a.h <= chart.height
        for b in boxes[n + 1 :]:
            apart = a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y or b.y + b.h <= a.y
            assert apart, (a.key, b.key)
    for edge in chart.edges:  # every edge drawn, inside the chart
        assert len(edge.points) >= 2
        assert all(0 <= x <= chart.width and 0 <= y <= chart.height for x, y in edge.points)


def test_a_loop_an_unreached_step_and_long_labels(tmp_path):
    plan = plan_of(tmp_path, fan_out(10))
    chart = layout(plan)
    check(chart)
    assert {b.step_id for b in chart.boxes if b.kind == "step"} == set(plan.steps)
    loop = next(e for e in chart.edges if e.parent == "third" and e.child == "second")
    assert loop.label is not None and loop.label.lines == ["afterAction, after 2 days"]
    # the loop goes back up: `third` is drawn below `second`
    second, third = chart.step("second"), chart.step("third")
    assert third.y > second.y
    labels = [b for b in chart.boxes if b.kind == "label"]
    assert all(len(line) <= LABEL_CHARS for b in labels for line in b.lines)


def test_labels_wrap_at_commas():
    assert wrap_label("formUnsubmitted, after 2 days, office hours") == [
        "formUnsubmitted",
        "after 2 days, office hours",
    ]
    long = wrap_label("afterAction, cancel if form from a-very-long-step-identifier submitted")
    assert all(len(line) <= LABEL_CHARS for line in long)

    def letters(text: str) -> str:
        return text.replace(",", "").replace(" ", "")

    original = "afterAction, cancel if form from a-very-long-step-identifier submitted"
    assert letters("".join(long)) == letters(original)  # nothing lost
