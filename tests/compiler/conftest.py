"""Helpers for compiler tests: write YAML into a temp folder and compile it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from compiler import CompileFailed, compile_paths


class Journeys:
    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def compile(self):
        return compile_paths([self.root])

    def errors(self) -> list[str]:
        """Every error as `file:line:col path: message`, with the temp folder stripped."""
        with pytest.raises(CompileFailed) as failed:
            compile_paths([self.root])
        return [str(e).replace(f"{self.root}/", "") for e in failed.value.errors]


@pytest.fixture
def journeys(tmp_path: Path) -> Journeys:
    return Journeys(tmp_path)
