"""Journey YAML -> validated, versioned JourneyPlan (see compiler.compile)."""

from compiler.compile import CompileResult, compile_paths, compile_texts
from compiler.errors import CompileError, CompileFailed

__all__ = ["CompileError", "CompileFailed", "CompileResult", "compile_paths", "compile_texts"]
