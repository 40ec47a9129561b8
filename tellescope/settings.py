"""How the activities reach Tellescope, from the environment (prefix `TELLESCOPE_`).

The defaults point at the local sandbox (`python -m sandbox`), so `journeys dev` and the tests need
no configuration; production sets `TELLESCOPE_BASE_URL=https://api.tellescope.com` and
`TELLESCOPE_API_KEY`. Nothing else changes between the two.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class TellescopeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TELLESCOPE_", extra="ignore")

    base_url: str = "http://127.0.0.1:8900"
    api_key: str = "sandbox-dev-key"

    # Per request. Tellescope answers ordinary reads and writes well within this; a slower answer
    # is treated as a timeout and retried by Temporal (the idempotency keys make that safe).
    timeout_seconds: float = Field(default=15.0, gt=0)
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    # `POST /v1/send-automation-webhook` answers only once the receiver has, and Tellescope gives
    # receivers 15 s, so this call gets a longer budget than the others.
    webhook_timeout_seconds: float = Field(default=25.0, gt=0)

    # The user whose name renders `{{user.*}}` merge fields where an action has no sender
    # (field setters, tags, ticket titles). Unset: the organisation's oldest user.
    automation_user_id: str | None = None

    # How far before an action's `now` a record it created may carry a `createdAt`, when a lookup
    # is bounded by creation time: covers clock skew between the worker and Tellescope.
    lookup_skew_seconds: float = Field(default=600.0, ge=0)

    # Connection pool of the one shared httpx client.
    max_connections: int = Field(default=50, gt=0)
