"""`compile_texts`: YAML given as (name, text) pairs, as the deploy path hands it over."""

from __future__ import annotations

import pytest

from compiler import CompileFailed, compile_texts
from models.organization import Organization


def journey(journey_id: str | None, target: str | None = None) -> str:
    header = f"journey: {{id: {journey_id}, title: T {journey_id}}}\n" if journey_id else ""
    header = header or "journey: {title: Untitled}\n"
    action = (
        f"{{type: addToJourney, info: {{journeyId: {target}}}}}"
        if target
        else "{type: setEnduserStatus, info: {status: New}}"
    )
    return (
        header + "steps:\n"
        "  - id: first\n"
        "    events: [{type: onJourneyStart, info: {}}]\n"
        f"    action: {action}\n"
    )


def messages(failed: pytest.ExceptionInfo[CompileFailed]) -> list[str]:
    return [str(e) for e in failed.value.errors]


def test_names_are_the_file_part_of_errors_and_the_plans_source():
    result = compile_texts([("uploads/a.yaml", journey("a")), ("b.yml", journey(None))])
    assert [(p.journeyId, p.source) for p in result.plans] == [
        ("a", "uploads/a.yaml"),
        ("b", "b.yml"),  # no `journey.id`: named after the stem
    ]
    with pytest.raises(CompileFailed) as failed:
        compile_texts([("upload 1.yaml", "journey: [unclosed\n")])
    [error] = messages(failed)
    assert error.startswith("upload 1.yaml:2:1 YAML syntax error: ")


def test_context_journeys_resolve_references_and_are_replaced_by_texts():
    context = {
        "target": ("target.yaml (deployed v1)", journey("target")),
        "source": ("source.yaml (deployed v1)", journey("source", "gone")),
    }
    # the deployed `source` refers to a journey that no longer exists; the upload replaces it
    result = compile_texts([("source.yaml", journey("source", "target"))], context=context)
    assert [p.journeyId for p in result.plans] == ["source"]  # context plans are not returned
    with pytest.raises(CompileFailed) as failed:
        compile_texts([("other.yaml", journey("other"))], context=context)
    assert [e.file for e in failed.value.errors] == ["source.yaml (deployed v1)"]
    assert 'unknown journey "gone"' in messages(failed)[0]


def test_context_journey_without_id_takes_its_key():
    context = {"target": ("target.yaml (deployed v1)", journey(None))}
    result = compile_texts([("s.yaml", journey("s", "target"))], context=context)
    assert [p.journeyId for p in result.plans] == ["s"]


def test_organization_is_used_unless_a_text_holds_one():
    given = Organization(timezone="Europe/Paris")
    alone = compile_texts([("a.yaml", journey("a"))], organization=given)
    assert alone.organization.timezone == "Europe/Paris"
    org_file = "organization: {timezone: America/Chicago}\n"
    both = compile_texts(
        [("a.yaml", journey("a")), ("organization.yaml", org_file)], organization=given
    )
    assert both.organization.timezone == "America/Chicago"
    assert both.plan("a").organization.timezone == "America/Chicago"
