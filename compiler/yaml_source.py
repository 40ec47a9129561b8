"""YAML loading that remembers where every value came from.

Plain Python data (insertion order kept, which matters for Tellescope's "first key decides"
condition language) is built straight from libyaml's parse events: that is several times cheaper
than composing PyYAML's node tree, which a 1,000-step journey spends most of its compile time on
(docs/decisions.md D31). The node tree, whose nodes carry their (line, column), is composed from
the text only when a position is asked for: when an error or warning is reported.

The event builder handles what journeys are written with: block and flow collections and plain or
quoted scalars. Anything else (anchors, aliases, merge keys, explicit tags, non-scalar keys, a
duplicate key, a parse error, a bound reached) sends the file through the composer, which gives
PyYAML SafeLoader's data and this module's errors exactly as before. Scalars are resolved by the
same resolver and constructors in both, so YAML 1.1 values (yes/no/on/off booleans, 0x ints,
timestamps as ISO strings) are identical. Duplicate keys, which YAML loaders silently overwrite,
are reported as errors.

Hostile input is bounded (docs/limits.md): a file of more than `MAX_YAML_BYTES`, nesting deeper
than `MAX_YAML_DEPTH`, or a tree that expands (aliases counted at every place they are used) to
more than `MAX_YAML_NODES` nodes is refused with one error naming the limit. The event builder
takes no aliases and stops at either bound; the composer path checks them before anything is
built. An anchored node is built once and shared by its aliases, so a file under the limits costs
time and memory in proportion to what it expands to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from yaml.events import (
    DocumentEndEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from compiler.errors import CompileError, CompileFailed

PathPart = str | int
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when the wheel has it
_STR_TAG = "tag:yaml.org,2002:str"
# Implicit scalar tags the event builder constructs itself; any other sends a file to the composer.
_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("bool", "int", "float", "null", "timestamp")
)

# The bounds of one YAML document (docs/limits.md). A 1,000-step journey is about 0.3 MB, 8
# levels deep and 40,000 nodes, well inside them.
MAX_YAML_BYTES = 4 * 1024 * 1024
MAX_YAML_DEPTH = 64
MAX_YAML_NODES = 500_000


@dataclass
class YamlDocument:
    """A parsed YAML file: plain data plus a way back from a path to a source position."""

    file: str
    data: Any  # plain python data (dict / list / scalars)
    text: str | None = None  # the source, composed into `root` when a position is first asked
    _root: Node | None = field(default=None, repr=False, compare=False)

    @property
    def root(self) -> Node | None:
        """The composed node tree; every node carries its start mark."""
        if self._root is None and self.text is not None:
            loader = _Loader(self.text)
            try:  # the text parsed once already: this cannot fail
                self._root = loader.get_single_node()
            finally:
                loader.dispose()
        return self._root

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
    data = _build_from_events(text)
    if data is not _COMPOSE:
        return YamlDocument(name, data, text)
    return _compose_and_build(text, name)


class _Compose:
    """Returned by the event builder for a file it leaves to the composer."""


_COMPOSE: Any = _Compose()


def _build_from_events(text: str) -> Any:
    """The data of `text` built from libyaml's events, or `_COMPOSE` for anything beyond block
    and flow collections of plain or quoted scalars (see the module docstring). Bounds: no
    aliases here, so a file expands to the nodes it holds, counted as they come."""
    loader = _Loader(text)
    get_event = loader.get_event
    resolved: dict[str, Any] = {}  # this file's plain scalars, most of them repeated
    stack: list[tuple[Any, Any]] = []  # the open collections above `current`, with their key
    current: Any = None
    key: Any = _COMPOSE  # the pending key of a mapping; _COMPOSE while none
    root: Any = _COMPOSE
    nodes = 0
    try:
        get_event()  # stream start
        if not isinstance(get_event(), yaml.DocumentStartEvent):
            return _COMPOSE  # an empty file
        while True:
            event = get_event()
            kind = event.__class__
            if kind is MappingEndEvent or kind is SequenceEndEvent:
                value = current
                current, key = stack.pop()
            elif kind is ScalarEvent or kind is MappingStartEvent or kind is SequenceStartEvent:
                nodes += 1
                if event.anchor is not None or event.tag is not None:
                    return _COMPOSE
                if len(stack) >= MAX_YAML_DEPTH or nodes > MAX_YAML_NODES:
                    return _COMPOSE  # the composer reports the bound at its place
                if kind is ScalarEvent:
                    value = event.value
                    if event.implicit[0]:  # plain: resolved; quoted or block: a string
                        value = resolved.get(value, _COMPOSE)
                        if value is _COMPOSE:
                            value = resolved[event.value] = _plain_scalar(loader, event.value)
                            if value is _COMPOSE:
                                return _COMPOSE
                else:
                    if current.__class__ is dict and key is _COMPOSE:
                        return _COMPOSE  # a mapping or sequence used as a key
                    stack.append((current, key))
                    current, key = ({} if kind is MappingStartEvent else []), _COMPOSE
                    continue
            else:  # an alias, or the end of the document
                break
            if current.__class__ is list:
                current.append(value)
            elif current.__class__ is dict:
                if key is _COMPOSE:
                    key = value if isinstance(value, str) else str(value)
                    if key in current:
                        return _COMPOSE  # a duplicate: reported with its lines there
                else:
                    current[key] = value
                    key = _COMPOSE
            else:
                root = value
        if not (
            kind is DocumentEndEvent
            and stack == []
            and isinstance(get_event(), StreamEndEvent)  # one document only
        ):
            return _COMPOSE
    except Exception:  # a syntax error or an odd scalar: the composer reports it as before
        return _COMPOSE
    finally:
        loader.dispose()
    return root


def _plain_scalar(loader: Any, text: str) -> Any:
    """What `_Builder.scalar` gives for an untagged plain scalar node holding `text`."""
    tag = loader.resolve(ScalarNode, text, (True, False))
    if tag == _STR_TAG:
        return text
    if tag not in _PLAIN_TAGS:
        return _COMPOSE
    value = loader.construct_object(ScalarNode(tag, text))
    return value.isoformat() if isinstance(value, datetime | date) else value


def _compose_and_build(text: str, name: str) -> YamlDocument:
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:  # an empty file
            return YamlDocument(name, None)
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
    return YamlDocument(name, data, _root=root)
