"""Settings of the engine's HTTP API, from the environment (and `.env`), beside
`config.EngineSettings` (database, Temporal) and `tellescope.settings.TellescopeSettings`."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    api_host: str = "127.0.0.1"
    api_port: int = 8000

    # The secret Tellescope signs record webhooks with (`journeys webhooks configure` pushes it
    # to Tellescope with POST /v1/configure-webhooks; Tellescope wants more than 15 characters).
    # Unset: every webhook delivery is refused (nothing can be verified).
    webhook_secret: str | None = Field(default=None, min_length=16)
    # Deliveries whose `timestamp` is further than this from now (either way) are refused.
    webhook_tolerance_seconds: float = Field(default=300.0, gt=0)
    # Accepted deliveries are remembered this long (older ones are refused as stale anyway).
    webhook_retention_hours: float = Field(default=48.0, gt=0)

    # Largest request body accepted, in bytes (413 beyond); webhooks have their own limit
    # because a bulk create may carry up to 1000 records plus relatedRecords.
    api_max_body_bytes: int = Field(default=2 * 1024 * 1024, gt=0)
    webhook_max_body_bytes: int = Field(default=8 * 1024 * 1024, gt=0)

    # Bulk enrollments: how many Temporal starts and Tellescope lookups run at once.
    bulk_concurrency: int = Field(default=32, gt=0, le=256)
    # add-endusers-to-journey `throttle: true`: refuse an enduser whose enrollment (re)started
    # less than this long ago.
    throttle_seconds: float = Field(default=60.0, ge=0)
    # Temporal queries (an enrollment's status) give up after this long (no worker polling).
    query_timeout_seconds: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _remember_longer_than_tolerated(self) -> ApiSettings:
        # A replay inside the tolerance window must still find its claim.
        if self.webhook_retention_hours * 3600 < 2 * self.webhook_tolerance_seconds:
            raise ValueError("webhook_retention_hours must cover twice webhook_tolerance_seconds")
        return self


@lru_cache
def get_api_settings() -> ApiSettings:
    return ApiSettings()
