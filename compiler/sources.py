"""Finding, reading and classifying journey YAML.

A journey file holds `journey`, `steps` and `triggers`; an organisation file holds `organization`
(time zone, office hours). Folders are searched recursively for `*.yaml` / `*.yml`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from compiler.errors import CompileError, CompileFailed
from compiler.yaml_source import YamlDocument, parse_yaml

JOURNEY_KEYS = ("journey", "steps", "triggers")
ORGANIZATION_KEYS = ("organization",)
# Simulation scripts (`journeys simulate --events`) live beside the journeys; not compiled.
SIMULATION_KEY = "simulation"
# Journey tests (`journeys test`, docs/journey-tests.md) too: a file with `tests:` and no journey.
TESTS_KEY = "tests"


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


def read_texts(paths: list[Path]) -> tuple[list[tuple[str, str]], list[CompileError]]:
    """The (path, text) of every YAML file under `paths`, and an error per file that is missing."""
    texts: list[tuple[str, str]] = []
    errors: list[CompileError] = []
    files = discover(paths)
    if not files:
        where = ", ".join(str(p) for p in paths)
        errors.append(CompileError(where, 1, 1, "", "no YAML files found"))
    for path in files:
        if not path.exists():
            errors.append(CompileError(str(path), 1, 1, "", "file not found"))
            continue
        texts.append((str(path), path.read_text(encoding="utf-8")))
    return texts, errors


def parse_texts(texts: Iterable[tuple[str, str]], sources: Sources | None = None) -> Sources:
    """Parse and classify (name, text) pairs; YAML errors are collected, not raised."""
    sources = sources if sources is not None else Sources()
    for name, text in texts:
        try:
            doc = parse_yaml(text, name)
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
    if TESTS_KEY in data and not {"journey", "organization"} & set(data):
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
