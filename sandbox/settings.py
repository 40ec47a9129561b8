"""Sandbox settings, read from the environment (prefix `SANDBOX_`) and the command line."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class SandboxSettings(BaseSettings):
    """Everything the sandbox can be told; defaults give a working local server."""

    model_config = SettingsConfigDict(env_prefix="SANDBOX_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8900
    db: Path = Path(".journeys/sandbox.db")
    # Base URL used in links the sandbox hands out (form links, content links). Defaults to
    # http://{host}:{port}; set it when the sandbox sits behind a proxy or in a container.
    public_url: str | None = None

    # A fixed key so `journeys dev` and tests can be configured without reading the banner.
    dev_api_key: str = "sandbox-dev-key"
    # Further keys accepted in addition to the seeded ones (comma-separated in the environment
    # is not supported by pydantic-settings for lists: use a JSON list, e.g. '["k1","k2"]').
    extra_api_keys: list[str] = []

    # Tellescope's outbound webhook timeout (seconds), for record and automation webhooks.
    webhook_timeout_seconds: float = 15.0
    # How long a `timeout` fault holds a request when the fault spec does not say.
    fault_timeout_seconds: float = 30.0

    # Tellescope's constraint is "Email and email consent must be set for enduser" (and the same
    # for phone). Its servers only enforce the address today; the sandbox also refuses an enduser
    # whose consent was explicitly withdrawn (emailConsent/phoneConsent false) unless this is off.
    enforce_consent: bool = True

    # The /sandbox helper endpoints (play the patient, faults, echo) answer loopback clients only.
    allow_remote_helpers: bool = False

    default_page_size: int = 100
    max_page_size: int = 1000

    log_level: str = "info"

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"
