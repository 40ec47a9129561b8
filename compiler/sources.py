"""Finding and classifying journey YAML files.

A journey file holds `journey`, `steps` and `triggers`; an organisation file holds `organization`
(time zone, office hours). Folders are searched recursively for `*.yaml` / `*.yml`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from compiler.errors import CompileError, CompileFailed
from compiler.yaml_source import YamlDocument, load_yaml

JOURNEY_KEYS = ("journey", "steps", "triggers")
ORGANIZATION_KEYS = ("organization",)
# Simulation scripts (`journeys simulate --events`) live beside the journeys; not compiled.
SIMULATION_KEY = "simulation"


@dataclass
class Sources:
    journeys: list[YamlDocument] = field(default_factory=list)
    organizations: list[YamlDocument] = field(default_factory=list)
    errors: list[CompileError] = field(default_factory=list)


def discover(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"}))
        else:
            files.append(path)
    return files


def read_sources(paths: list[Path]) -> Sources:
    sources = Sources()
    files = discover(paths)
    if not files:
        where = ", ".join(str(p) for p in paths)
        sources.errors.append(CompileError(where, 1, 1, "", "no YAML files found"))
    for path in files:
        if not path.exists():
            sources.errors.append(CompileError(str(path), 1, 1, "", "file not found"))
            continue
        try:
            doc = load_yaml(path)
        except CompileFailed as failed:
            sources.errors.extend(failed.errors)
            continue
        classify(doc, sources)
    return sources


def classify(doc: YamlDocument, sources: Sources) -> None:
    data = doc.data
    if not isinstance(data, dict):
        sources.errors.append(
            doc.error([], "expected a mapping with `journey:` (or `organization:`) at the top")
        )
        return
    if list(data) == [SIMULATION_KEY]:
        return
    if "organization" in data:
        allowed: tuple[str, ...] = ORGANIZATION_KEYS
        sources.organizations.append(doc)
    elif "journey" in data:
        allowed = JOURNEY_KEYS
        sources.journeys.append(doc)
    else:
        sources.errors.append(
            doc.error([], "expected a top-level `journey:` key (or `organization:` for settings)")
        )
        return
    for key in data:
        if key not in allowed:
            sources.errors.append(
                doc.error([key], f'unknown top-level key "{key}" (allowed: {", ".join(allowed)})')
            )
