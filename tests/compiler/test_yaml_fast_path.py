"""The event builder (compiler/yaml_source.py, docs/decisions.md D31) gives the same data as
composing PyYAML's node tree, for every YAML file in the repository and for the YAML 1.1 corners
journeys could hit; what it does not handle goes to the composer, whose errors are unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from compiler import CompileFailed, yaml_source
from compiler.yaml_source import (
    _COMPOSE,
    MAX_YAML_DEPTH,
    _build_from_events,
    _compose_and_build,
    parse_yaml,
)

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(
    p
    for folder in ("examples", "tests")
    for p in (ROOT / folder).rglob("*")
    if p.suffix in {".yaml", ".yml"}
)

# Handled by the event builder: YAML 1.1 scalars as SafeLoader resolves them.
BUILT_FROM_EVENTS = {
    "booleans": "[yes, No, ON, off, y, n, true, False, 'yes', \"on\"]\n",
    "numbers": "[1, -2, 0x1f, 0o17, 017, 0b101, 1_000, 1:20, 1.5, 1.5e3, 1e3, .inf, -.Inf, .nan]\n",
    "nulls": "[~, null, Null, '', \"null\"]\n",
    "null key and value": "? \n: \na:\n",
    "timestamps": "[2020-01-31, 2001-12-14t21:59:43.10-05:00, 2001-12-14 21:59:43.10, '2020-01-31']\n",
    "keys that are not strings": "{yes: 1, null: 2, 1: 3, 1.5: 4, 2020-01-31: 5}\n",
    "block scalars": "a: |\n  one\n   two\n\nb: >-\n  folded\n  line\n\n  para\nc: |+\n  kept\n\n",
    "multi-line plain and quoted": "a: one\n  two\n\n  three\nb: \"x\\ty \\u00e9\n  z\"\nc: 'it''s\n\n  q'\n",
    "unicode and comments": "# c\ntitle: Caf\u00e9 \u2013 \U0001f600 # trailing\nlist: [a, 'b', \"c\"]\n",
    "explicit document": "%YAML 1.1\n---\na: 1\n...\n",
    "flow in block": "a: {b: [1, {c: d}], e: []}\nf: {}\n",
    "a scalar document": "just text\n",
    "condition order kept": "c: {$or: [{condition: {z: 1, a: 2}}, {condition: {m: 3}}]}\n",
}

# Left to the composer: the same data or the same errors as before.
COMPOSED = {
    "anchors and aliases": "a: &x {k: 1}\nb: *x\n",
    "merge key": "base: &base {a: 1, b: 2}\nchild:\n  <<: *base\n  b: 3\n",
    "inline merge": "child:\n  <<: {a: 1}\n  b: 2\n",
    "explicit tags": "a: !!str 1\nb: !!int '2'\nc: ! 3\n",
    "binary": "a: !!binary aGVsbG8=\n",
    "set and omap": "a: !!set {x, y}\n",
    "mapping as a key": "? [a, b]\n: 1\n",
    "value key": "=: 1\n",
    "empty file": "",
    "comment only": "# nothing\n",
}

FAILING = {
    "duplicate key": "a: 1\nb: 2\na: 3\n",
    "nested duplicate": "steps:\n  - id: x\n    id: y\n",
    "syntax error": "a: [1, 2\n",
    "tab indentation": "a:\n\tb: 1\n",
    "two documents": "--- a\n--- b\n",
    "unknown tag": "a: !foo 1\n",
    "bad timestamp": "a: 2020-13-45\n",
    "too deep": "".join(f"{'  ' * i}k{i}:\n" for i in range(MAX_YAML_DEPTH + 1))
    + "  " * 65
    + "x\n",
}


def test_the_repository_has_yaml_to_compare():
    assert len(FILES) >= 20


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_repository_file_gives_the_composer_data(path):
    text = path.read_text(encoding="utf-8")
    fast = _build_from_events(text)
    assert fast is not _COMPOSE, "journeys as written are built from events"
    assert fast == _compose_and_build(text, "x.yaml").data
    assert fast == yaml.safe_load(text)


@pytest.mark.parametrize("text", BUILT_FROM_EVENTS.values(), ids=BUILT_FROM_EVENTS.keys())
def test_yaml_corners_built_from_events_equal_the_composer(text):
    fast = _build_from_events(text)
    assert fast is not _COMPOSE
    composed = _compose_and_build(text, "x.yaml").data
    assert repr(fast) == repr(composed)  # repr: nan != nan, and int vs bool vs float shows


@pytest.mark.parametrize("text", COMPOSED.values(), ids=COMPOSED.keys())
def test_other_yaml_goes_to_the_composer(text):
    assert _build_from_events(text) is _COMPOSE
    assert parse_yaml(text, "x.yaml").data == _compose_and_build(text, "x.yaml").data


@pytest.mark.parametrize("text", FAILING.values(), ids=FAILING.keys())
def test_errors_are_the_composers(text):
    assert _build_from_events(text) is _COMPOSE
    with pytest.raises(Exception) as composed:
        _compose_and_build(text, "x.yaml")
    with pytest.raises(Exception) as parsed:
        parse_yaml(text, "x.yaml")
    assert type(parsed.value) is type(composed.value)
    if isinstance(composed.value, CompileFailed):
        assert [str(e) for e in parsed.value.errors] == [str(e) for e in composed.value.errors]


def test_positions_are_found_in_the_source_when_asked():
    text = "journey:\n  title: T\nsteps:\n  - id: a\n    action:\n      type: x\n"
    doc = parse_yaml(text, "x.yaml")
    assert doc.position(["steps", 0, "action", "type"]) == (6, 7)
    assert doc.position(["steps", 0, "missing"]) == (4, 5)
    assert doc.position([]) == (1, 1)


def test_a_file_past_the_node_bound_without_aliases_is_refused_with_it(monkeypatch):
    monkeypatch.setattr(yaml_source, "MAX_YAML_NODES", 1000)  # the same code at a test's size
    text = "[" + "1, " * 1000 + "1]\n"
    assert _build_from_events(text) is _COMPOSE
    assert _build_from_events("[" + "1, " * 998 + "1]\n") is not _COMPOSE
    with pytest.raises(CompileFailed) as failed:
        parse_yaml(text, "wide.yaml")
    assert [e.message for e in failed.value.errors] == [
        "YAML expands to more than 1,000 nodes (the limit; aliases count at every place they"
        " are used)"
    ]
