"""YAML texts -> validated, versioned `JourneyPlan`s.

`compile_texts` is the one entry point: it parses every text, collects every error (raising
`CompileFailed` with all of them), and otherwise returns one plan per journey, each with a
content-hash version. `compile_paths` (the CLI, tests) reads files and hands their texts to it;
the deploy path hands it the uploaded texts, with the deployed journeys as context.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from compiler.caveats import warn_all
from compiler.checks import check_all
from compiler.errors import CompileError, CompileFailed, CompileWarning
from compiler.parse import ParsedJourney, parse_journey, parse_organization
from compiler.sources import parse_texts, read_texts
from models.organization import Organization
from models.plan import EventRef, JourneyPlan, tellescope_id


@dataclass
class CompileResult:
    organization: Organization
    plans: list[JourneyPlan]
    # Constructs that compile but would not run as in Tellescope (compiler/caveats.py): shown
    # by `journeys validate` and deploy with their place; they do not stop a deploy.
    warnings: list[CompileWarning] = field(default_factory=list)

    def plan(self, journey_id: str) -> JourneyPlan:
        return next(p for p in self.plans if p.journeyId == journey_id)


def compile_texts(
    texts: Iterable[tuple[str, str]],
    *,
    context: Mapping[str, tuple[str, str]] | None = None,
    organization: Organization | None = None,
    handled_actions: Collection[str] = (),
) -> CompileResult:
    """Compile YAML texts given as (name, text) pairs; `name` is the file part of every error
    (`file:line:col path: message`), each plan's `source`, and a journey without `journey.id` is
    named after its stem.

    `context` holds journeys compiled alongside, by id: (name, text), so references to them
    resolve and cross-journey checks see them; one that `texts` also defines is left out, and
    their plans are not returned. `organization` is used when `texts` hold no organization file.
    `handled_actions`: AI and telephony action types with a handler configured, not warned about
    (docs/handlers.md §2).
    """
    with _cyclic_gc_paused():
        return _compile_texts(texts, context, organization, handled_actions)


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Compiling allocates tens of thousands of containers (YAML data, models) that reference
    counting frees; the cyclic collections they would trigger walk the whole process heap
    (pydantic's schemas, every loaded module) and cost a third of a 1,000-step compile
    (docs/decisions.md D31). A cycle made meanwhile is collected by the next collection after.
    Whoever paused it resumes it, so concurrent compiles cannot leave it paused."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _compile_texts(
    texts: Iterable[tuple[str, str]],
    context: Mapping[str, tuple[str, str]] | None,
    organization: Organization | None,
    handled_actions: Collection[str],
) -> CompileResult:
    sources = parse_texts(texts)
    errors: list[CompileError] = list(sources.errors)

    for index, doc in enumerate(sources.organizations):
        if index > 0:
            errors.append(doc.error(["organization"], "only one organization file is allowed"))
            continue
        parsed_org, org_errors = parse_organization(doc)
        errors += org_errors
        organization = parsed_org
    if organization is None:
        organization = Organization()

    parsed: list[ParsedJourney] = []
    for doc in sources.journeys:
        journey, journey_errors = parse_journey(doc)
        parsed.append(journey)
        errors += journey_errors

    given = {p.journey_id for p in parsed}
    alongside: list[ParsedJourney] = []
    for journey_id, (name, text) in (context or {}).items():
        if journey_id in given:
            continue
        deployed = parse_texts([(name, text)])
        errors += deployed.errors
        for doc in deployed.journeys:
            journey, journey_errors = parse_journey(doc, default_id=journey_id)
            alongside.append(journey)
            errors += journey_errors

    errors += check_all(parsed + alongside)
    if errors:
        raise CompileFailed(errors)
    plans = [build_plan(p, organization) for p in parsed]
    return CompileResult(organization, plans, warn_all(parsed, handled_actions))


def compile_paths(
    paths: Sequence[Path | str], *, handled_actions: Collection[str] = ()
) -> CompileResult:
    """Compile the YAML files at `paths` (folders are searched recursively)."""
    texts, errors = read_texts([Path(p) for p in paths])
    try:
        result = compile_texts(texts, handled_actions=handled_actions)
    except CompileFailed as failed:
        raise CompileFailed(errors + failed.errors) from None
    if errors:
        raise CompileFailed(errors)
    return result


def build_plan(parsed: ParsedJourney, organization: Organization) -> JourneyPlan:
    assert parsed.journey is not None  # guaranteed: parse errors stop compilation before this
    roots: dict[str, None] = {}  # in file order; a dict, not a list: many roots stay linear
    children: dict[str, dict[str, list[EventRef]]] = {}
    for step_id, step in parsed.steps.items():
        for index, event in enumerate(step.events):
            if event.type == "onJourneyStart":
                roots[step_id] = None
                continue
            parent = getattr(event.info, "automationStepId", None)
            if parent is not None:
                by_type = children.setdefault(parent, {})
                by_type.setdefault(event.type, []).append(
                    EventRef(stepId=step_id, eventIndex=index)
                )
    content = {
        "journeyId": parsed.journey_id,
        "journey": parsed.journey.model_dump(mode="json", exclude_unset=True),
        "organization": organization.model_dump(mode="json", exclude_unset=True),
        "steps": [s.model_dump(mode="json", exclude_unset=True) for s in parsed.steps.values()],
        "triggers": [
            t.model_dump(mode="json", exclude_unset=True) for t in parsed.triggers.values()
        ],
    }
    # Key order is meaningful (Tellescope conditions read their first key): kept, not sorted.
    canonical = json.dumps(content, separators=(",", ":"), ensure_ascii=False)
    version = hashlib.sha256(canonical.encode()).hexdigest()[:12]
    return JourneyPlan(
        journeyId=parsed.journey_id,
        version=version,
        source=parsed.doc.file,
        journey=parsed.journey,
        organization=organization,
        steps=parsed.steps,
        roots=list(roots),
        children=children,
        triggers=list(parsed.triggers.values()),
        tellescopeStepIds={s: tellescope_id(parsed.journey_id, s) for s in parsed.steps},
    )
