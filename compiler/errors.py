"""Compile errors that point at the exact place in the user's YAML.

Every problem found while loading, validating or compiling journeys becomes one `CompileError`
carrying `file:line:col json.path: message`. The compiler collects all of them before failing so a
user fixes everything in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class CompileError:
    file: str
    line: int  # 1-based
    col: int  # 1-based
    path: str  # display path such as `steps.send-intake.events[0].info.automationStepId`
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        return f"{where} {self.path}: {self.message}" if self.path else f"{where} {self.message}"


@dataclass(frozen=True, order=True)
class CompileWarning(CompileError):
    """A construct that compiles but that Journey Engine would not run as Tellescope does (an
    action with no configuration, a field Tellescope ignores, an operator that is always
    false). Reported with its place; compilation still succeeds."""

    def __str__(self) -> str:
        return f"warning: {super().__str__()}"


@dataclass
class CompileFailed(Exception):
    """Raised when compilation finds at least one error; carries all of them, sorted by place."""

    errors: list[CompileError] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.errors = sorted(set(self.errors))

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)
