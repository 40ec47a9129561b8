"""Reports of `journeys test`: text for people, JUnit XML for CI systems (docs/journey-tests.md)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter

from simulate.testrun import TestOutcome

_MARK = {"pass": "PASS", "fail": "FAIL", "error": "ERROR"}


def render_outcome(outcome: TestOutcome, verbose: bool = False) -> str:
    test = outcome.test
    lines = [
        f"{_MARK[outcome.status]:<5} {test.where} {test.name}"
        f" ({test.journey_id}, {outcome.seconds:.1f}s)"
    ]
    if outcome.error is not None:
        lines.append(f"      error: {outcome.error}")
    for check in outcome.checks:
        if check.passed and not verbose:
            continue
        mark = "ok" if check.passed else "FAILED"
        lines.append(f"      {check.where}: {check.description}: {mark}")
        if not check.passed:
            lines.append(f"        expected: {check.expected}")
            lines.append(f"        actual:   {check.actual}")
    return "\n".join(lines)


def summary(outcomes: list[TestOutcome], seconds: float) -> str:
    counts = Counter(o.status for o in outcomes)
    checks = [c for o in outcomes for c in o.checks]
    failed = sum(not c.passed for c in checks)
    return (
        f"{len(outcomes)} tests: {counts['pass']} passed, {counts['fail']} failed,"
        f" {counts['error']} errors; {len(checks)} expectations, {failed} failed;"
        f" in {seconds:.1f}s"
    )


def render_junit(outcomes: list[TestOutcome], seconds: float) -> bytes:
    """One <testsuite> per test file, one <testcase> per test; a failed test's <failure> lists
    its failing expectations with their file:line, and <system-out> holds its timeline."""
    counts = Counter(o.status for o in outcomes)
    root = ET.Element(
        "testsuites",
        name="journeys test",
        tests=str(len(outcomes)),
        failures=str(counts["fail"]),
        errors=str(counts["error"]),
        time=f"{seconds:.3f}",
    )
    by_file: dict[str, list[TestOutcome]] = {}
    for outcome in outcomes:
        by_file.setdefault(outcome.test.file, []).append(outcome)
    for file, group in by_file.items():
        file_counts = Counter(o.status for o in group)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=file,
            tests=str(len(group)),
            failures=str(file_counts["fail"]),
            errors=str(file_counts["error"]),
            skipped="0",
            time=f"{sum(o.seconds for o in group):.3f}",
        )
        for outcome in group:
            test = outcome.test
            case = ET.SubElement(
                suite,
                "testcase",
                classname=test.journey_id,
                name=test.name,
                file=test.file,
                line=str(test.line),
                time=f"{outcome.seconds:.3f}",
            )
            if outcome.error is not None:
                error = ET.SubElement(case, "error", message=outcome.error)
                error.text = f"{test.where}: {outcome.error}"
            elif outcome.failed:
                first = outcome.failed[0]
                failure = ET.SubElement(
                    case,
                    "failure",
                    message=f"{first.where}: {first.description}",
                    type="ExpectationFailed",
                )
                failure.text = "\n".join(
                    f"{c.where}: {c.description}\n  expected: {c.expected}\n  actual:   {c.actual}"
                    for c in outcome.failed
                )
            if outcome.timeline:
                ET.SubElement(case, "system-out").text = outcome.timeline
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
