"""YAML loading that remembers where every value came from.

PyYAML's libyaml composer gives every node its start mark (line, column) and is fast enough for
1,000-step journeys. We keep the node tree, to map an error path back to the line the user wrote,
and build plain Python data from it (insertion order kept, which matters for Tellescope's "first
key decides" condition language) for pydantic. Duplicate keys, which YAML loaders silently
overwrite, are reported as errors.

Hostile input is bounded before anything is built (docs/limits.md): a file of more than
`MAX_YAML_BYTES`, nesting deeper than `MAX_YAML_DEPTH`, or a tree that expands (aliases
counted at every place they are used) to more than `MAX_YAML_NODES` nodes is refused with one
error naming the limit. An anchored node is built once and shared by its aliases, so a file under
the limits costs time and memory in proportion to what it expands to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from compiler.errors import CompileError, CompileFailed

PathPart = str | int
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when the wheel has it
_STR_TAG = "tag:yaml.org,2002:str"

# The bounds of one YAML document (docs/limits.md). A 1,000-step journey is about 0.3 MB, 8
# levels deep and 40,000 nodes, well inside them.
MAX_YAML_BYTES = 4 * 1024 * 1024
MAX_YAML_DEPTH = 64
MAX_YAML_NODES = 500_000


@dataclass
class YamlDocument:
    """A parsed YAML file: plain data plus a way back from a path to a source position."""

    file: str
    root: Node | None  # the composed node tree; every node carries its start mark
    data: Any  # plain python data (dict / list / scalars)

    def position(self, path: Sequence[PathPart]) -> tuple[int, int]:
        """1-based (line, col) of the deepest node of `path` that exists in the file.

        A mapping entry's position is where its key is written; a missing key resolves to its
        parent, which is where the user has to add it. Looked up only when an error is reported,
        so loading stays fast.
        """
        node, mark = self.root, None
        for part in path:
            if isinstance(node, MappingNode):
                entry = next(
                    (
                        (k, v)
                        for k, v in node.value
                        if isinstance(k, ScalarNode) and k.value == part
                    ),
                    None,
                )
                if entry is None:
                    break
                mark, node = entry[0].start_mark, entry[1]
            elif (
                isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value)
            ):
                node = node.value[part]
                mark = node.start_mark
            else:
                break
        return (mark.line + 1, mark.column + 1) if mark else (1, 1)

    def error(
        self, path: Sequence[PathPart], message: str, display: str | None = None
    ) -> CompileError:
        line, col = self.position(path)
        path_text = display if display is not None else dotted(path)
        return CompileError(self.file, line, col, path_text, message)


def dotted(path: Sequence[PathPart]) -> str:
    """`("steps", 0, "events", 1)` -> `steps[0].events[1]`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class _Builder:
    """Turns a composed node tree into plain data, collecting duplicate keys."""

    def __init__(self, loader: Any, name: str) -> None:
        self.loader = loader
        self.name = name
        self.errors: list[CompileError] = []
        self.built: dict[int, Any] = {}  # id(node) -> value: an anchored node is built once

    def build(self, node: Node) -> Any:
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        node_id = id(node)
        if node_id in self.built:  # an alias of a node built before
            return self.built[node_id]
        if isinstance(node, SequenceNode):
            items: list[Any] = []
            self.built[node_id] = items
            items.extend(self.build(item) for item in node.value)
            return items
        # YAML merge keys (`<<: *defaults`): the merged entries come first, and a key written
        # in the mapping itself overrides a merged one; only two written keys are duplicates.
        written = {id(key_node) for key_node, _ in node.value}
        self.loader.flatten_mapping(node)
        data: dict[str, Any] = {}
        self.built[node_id] = data
        first_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = self.scalar(key_node)
            key = key if isinstance(key, str) else str(key)
            mark = key_node.start_mark
            if key in data and (id(key_node) not in written or key not in first_lines):
                data[key] = self.build(value_node)  # merged, or written over a merged entry
                if id(key_node) in written:
                    first_lines[key] = mark.line + 1
                continue
            if key in data:
                self.errors.append(
                    CompileError(
                        self.name,
                        mark.line + 1,
                        mark.column + 1,
                        "",
                        f'duplicate key "{key}" (first on line {first_lines[key]})',
                    )
                )
                continue
            if id(key_node) in written:
                first_lines[key] = mark.line + 1
            data[key] = self.build(value_node)
        return data

    def scalar(self, node: Node) -> Any:
        if not isinstance(node, ScalarNode):  # a mapping used as a key: keep it readable
            return yaml.safe_dump(self.loader.construct_object(node, deep=True)).strip()
        if node.tag == _STR_TAG:  # most scalars: skip the generic constructor (speed)
            return node.value
        value = self.loader.construct_object(node)
        # YAML timestamps become the ISO strings Tellescope uses.
        return value.isoformat() if isinstance(value, datetime | date) else value


def load_yaml(path: Path, display_name: str | None = None) -> YamlDocument:
    """Parse one YAML file; syntax errors become a CompileFailed with the parser's position."""
    return parse_yaml(path.read_text(encoding="utf-8"), display_name or str(path))


def check_bounds(root: Node, name: str) -> None:
    """Refuse a tree deeper than MAX_YAML_DEPTH or expanding to more than MAX_YAML_NODES nodes.

    Expanded sizes are counted once per node object (aliases share the anchored node), so the
    check is linear in the file, not in what an alias bomb expands to. Iterative: a deep file
    cannot exhaust the interpreter's stack here.
    """
    sizes: dict[int, int] = {}
    # (node, depth, children counted yet?)
    stack: list[tuple[Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, expanded = stack.pop()
        if id(node) in sizes and not expanded:
            continue
        if depth > MAX_YAML_DEPTH:
            mark = node.start_mark
            raise CompileFailed(
                [
                    CompileError(
                        name,
                        mark.line + 1,
                        mark.column + 1,
                        "",
                        f"YAML nested deeper than {MAX_YAML_DEPTH} levels (the limit)",
                    )
                ]
            )
        children = _children(node)
        if not expanded:
            stack.append((node, depth, True))
            stack.extend((child, depth + 1, False) for child in children if id(child) not in sizes)
            continue
        size = 1 + sum(sizes[id(child)] for child in children)
        if size > MAX_YAML_NODES:
            mark = node.start_mark
            raise CompileFailed(
                [
                    CompileError(
                        name,
                        mark.line + 1,
                        mark.column + 1,
                        "",
                        f"YAML expands to more than {MAX_YAML_NODES:,} nodes (the limit; aliases"
                        " count at every place they are used)",
                    )
                ]
            )
        sizes[id(node)] = size


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def parse_yaml(text: str, name: str) -> YamlDocument:
    size = len(text.encode("utf-8"))
    if size > MAX_YAML_BYTES:
        raise CompileFailed(
            [
                CompileError(
                    name,
                    1,
                    1,
                    "",
                    f"YAML file of {size:,} bytes is over the limit of {MAX_YAML_BYTES:,} bytes",
                )
            ]
        )
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:  # an empty file
            return YamlDocument(name, None, None)
        check_bounds(root, name)
        builder = _Builder(loader, name)
        data = builder.build(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise CompileFailed(
            [CompileError(name, line, col, "", f"YAML syntax error: {problem}")]
        ) from None
    except yaml.YAMLError as exc:
        raise CompileFailed([CompileError(name, 1, 1, "", f"YAML error: {exc}")]) from None
    finally:
        loader.dispose()
    if builder.errors:
        raise CompileFailed(builder.errors)
    return YamlDocument(name, root, data)
