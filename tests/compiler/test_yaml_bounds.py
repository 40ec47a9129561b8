"""Hostile YAML is refused before anything is built (compiler/yaml_source.py, docs/limits.md):
alias bombs, deep nesting and oversized files each give one error naming the limit, quickly and
without building what they would expand to. Legitimate anchors still load as PyYAML loads them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from compiler import CompileFailed
from compiler.yaml_source import MAX_YAML_BYTES, MAX_YAML_DEPTH, MAX_YAML_NODES, parse_yaml

ROOT = Path(__file__).resolve().parents[2]


def billion_laughs(levels: int = 12, width: int = 9) -> str:
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, levels):
        refs = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


def only_error(failed: pytest.ExceptionInfo[CompileFailed]) -> str:
    errors = failed.value.errors
    assert len(errors) == 1, errors
    return str(errors[0])


@pytest.mark.timeout(20)  # the check is linear in the file: a bomb must not expand
def test_alias_bomb_is_refused_with_the_node_limit():
    text = billion_laughs()  # ~600 bytes, 9**11 nodes once expanded
    assert len(text) < 1000
    with pytest.raises(CompileFailed) as failed:
        parse_yaml(text, "bomb.yaml")
    message = only_error(failed)
    assert message.startswith("bomb.yaml:")
    assert f"more than {MAX_YAML_NODES:,} nodes" in message


def test_anchors_under_the_limit_load_as_pyyaml_loads_them():
    text = billion_laughs(levels=4, width=3)  # 3**3 leaves
    assert parse_yaml(text, "ok.yaml").data == yaml.safe_load(text)


def test_merge_keys_still_work():
    text = "base: &base {a: 1, b: 2}\nchild:\n  <<: *base\n  b: 3\n"
    assert parse_yaml(text, "merge.yaml").data["child"] == {"a": 1, "b": 3}


def nested(depth: int) -> str:
    """`depth` levels of block mappings, the innermost holding a scalar."""
    return "".join(f"{'  ' * level}k{level}:\n" for level in range(depth - 1)) + (
        "  " * (depth - 1) + "leaf: 1\n"
    )


def test_nesting_at_the_limit_loads_and_one_deeper_is_refused_at_its_line():
    parse_yaml(nested(MAX_YAML_DEPTH - 1), "deep.yaml")  # + the leaf scalar = the limit
    with pytest.raises(CompileFailed) as failed:
        parse_yaml(nested(MAX_YAML_DEPTH + 1), "deep.yaml")
    message = only_error(failed)
    assert f"nested deeper than {MAX_YAML_DEPTH} levels" in message
    line = int(message.split(":")[1])
    assert MAX_YAML_DEPTH - 2 <= line <= MAX_YAML_DEPTH + 1  # where the first level too deep is


def test_flow_nesting_past_libyaml_limit_is_a_syntax_error_not_a_crash():
    with pytest.raises(CompileFailed) as failed:
        parse_yaml("[" * 5000 + "]" * 5000, "flow.yaml")
    assert "YAML syntax error" in only_error(failed)


def test_recursive_alias_is_refused():
    with pytest.raises(CompileFailed) as failed:
        parse_yaml("a: &a [*a]\n", "loop.yaml")
    assert "nested deeper than" in only_error(failed)


def test_oversized_file_is_refused_before_parsing():
    text = "x: " + "y" * MAX_YAML_BYTES + "\n"
    with pytest.raises(CompileFailed) as failed:
        parse_yaml(text, "big.yaml")
    assert f"over the limit of {MAX_YAML_BYTES:,} bytes" in only_error(failed)


def test_journeys_validate_refuses_a_bomb_with_file_and_line(tmp_path):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(billion_laughs())
    result = subprocess.run(
        [sys.executable, "-m", "cli", "validate", str(bomb)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert f"{bomb}:" in result.stdout + result.stderr
    assert f"more than {MAX_YAML_NODES:,} nodes" in result.stdout + result.stderr


def test_two_written_keys_are_still_a_duplicate_with_a_merge_key():
    text = "base: &base {a: 1}\nchild:\n  <<: *base\n  b: 2\n  b: 3\n"
    with pytest.raises(CompileFailed) as failed:
        parse_yaml(text, "dup.yaml")
    assert 'duplicate key "b" (first on line 4)' in only_error(failed)
