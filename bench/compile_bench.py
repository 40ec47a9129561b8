"""Compile benchmark: how long a generated 1,000-step journey takes to compile.

Target (issue: definitions): under 0.1 s on the 2-core reference machine. Printed, not asserted:
timing belongs in benchmarks, not in unit tests.

    python -m bench.compile_bench [--steps 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from compiler import compile_paths

ACTIONS = [
    "    action: {type: setEnduserStatus, info: {status: Step %d}}",
    "    action: {type: sendSMS, info: {senderId: u1, templateId: t%d}}",
    "    action: {type: addEnduserTags, info: {tags: [tag-%d]}}",
    "    action:\n      type: createTicket\n      info: {title: Call %d, assignmentStrategy:"
    " {type: default, info: {}}, defaultAssignee: u1}",
]


def generate_journey(steps: int) -> str:
    """A journey shaped like real ones: a main chain with delays and side branches."""
    lines = [
        "journey:",
        "  id: generated",
        "  title: Generated journey",
        "  states: [{name: New, priority: N/A}]",
        "steps:",
    ]
    for i in range(steps):
        lines.append(f"  - id: step-{i}")
        if i == 0:
            lines.append("    events: [{type: onJourneyStart, info: {}}]")
        else:
            parent = i - 1 if i % 5 else max(0, i - 5)  # every fifth step branches off earlier
            extra = ", officeHoursOnly: true" if i % 3 == 0 else ""
            lines.append(
                "    events: [{type: afterAction, info: {automationStepId: "
                f"step-{parent}, delay: {i % 7 + 1}, unit: Hours{extra}}}}}]"
            )
        lines.append(ACTIONS[i % len(ACTIONS)] % i)
    return "\n".join(lines) + "\n"


def run(steps: int, repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "generated.yaml"
        path.write_text(generate_journey(steps), encoding="utf-8")
        compile_paths([path])  # warm-up: imports and pydantic schema building are one-off costs
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            plan = compile_paths([path]).plans[0]
            timings.append(time.perf_counter() - started)
        assert len(plan.steps) == steps
    return {"steps": steps, "median_s": statistics.median(timings), "max_s": max(timings)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    result = run(args.steps, args.repeat)
    verdict = "OK" if result["median_s"] < 0.1 else "OVER TARGET"
    print(
        f"compile {result['steps']} steps: median {result['median_s'] * 1000:.1f} ms,"
        f" max {result['max_s'] * 1000:.1f} ms (target < 100 ms: {verdict})"
    )


if __name__ == "__main__":
    main()
