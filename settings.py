"""Every setting of the engine, from the environment (pydantic-settings), in one module shared by
the worker, the API and the CLI. One class per concern; the environment variable names are the
field names (upper case), with the `TELLESCOPE_` prefix for Tellescope's:

| class | read by | variables (for example) |
|---|---|---|
| `EngineSettings` | worker, API, CLI | DATABASE_URL, TASK_QUEUE, ACTION_HANDLERS |
| `ApiSettings` | the HTTP API | API_PORT, WEBHOOK_SECRET, BULK_CONCURRENCY |
| `TellescopeSettings` | `tellescope.client` | TELLESCOPE_BASE_URL, TELLESCOPE_API_KEY |

Defaults are the embedded ones: a SQLite file under `.journeys/`, a local Temporal dev server and
the local Tellescope sandbox. Production sets `DATABASE_URL`, `TEMPORAL_ADDRESS`,
`TELLESCOPE_BASE_URL` and `TELLESCOPE_API_KEY`. `EngineSettings` and `ApiSettings` also read
`.env`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Annotated, TypeVar

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class EngineSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = "sqlite:///.journeys/journeys.db"
    # Unset: Temporal's own environment configuration (TEMPORAL_PROFILE, TEMPORAL_API_KEY,
    # TEMPORAL_TLS_*; see temporal_connection.py), else localhost:7233 and namespace "default".
    temporal_address: str | None = None
    temporal_namespace: str | None = None
    temporal_ui_url: str = "http://localhost:8233"  # where journey pages link enrollments to
    task_queue: str = "journeys"
    metrics_port: int | None = None  # Prometheus /metrics on the worker when set
    # Where the worker's metrics listen: loopback unless configured (0.0.0.0 in a container).
    metrics_host: str = "127.0.0.1"
    graceful_shutdown_seconds: float = 10.0
    # Workflows kept in worker memory between tasks (sticky cache). Lower it if worker RSS grows
    # with many active enrollments; 0 disables sticky execution.
    max_cached_workflows: int = 1000
    # Run workflow code in Temporal's sandbox (the workflow modules passed through, D33) instead
    # of unsandboxed (docs/decisions.md D40): a runtime guard for someone changing the workflow
    # code, at about a fifth of the worker's CPU per enrollment.
    workflow_sandbox: bool = False
    # Trigger decisions (docs/operator-view.md §2) are kept this many days, and at most this many
    # per enduser (the newest); both enforced as decisions are written (docs/decisions.md D25).
    trigger_decisions_retention_days: float = Field(default=30.0, gt=0)
    trigger_decisions_per_enduser: int = Field(default=500, gt=0)
    # AI and telephony handlers (docs/handlers.md): action type -> "package.module:attribute",
    # as JSON (`ACTION_HANDLERS='{"outboundCall": "acme.calls:place_call"}'`); added to the
    # installed packages' `journey_engine.action_handlers` entry points, and winning over them.
    # The worker imports them at start; `journeys validate` warns about the types left out.
    # Empty (`ACTION_HANDLERS=` in a .env file) means none.
    action_handlers: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)

    @field_validator("action_handlers", mode="before")
    @classmethod
    def _handlers_json(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                return {}
            try:
                return json.loads(value)
            except json.JSONDecodeError as error:
                raise ValueError(
                    f"not a JSON object of action type to reference ({error})"
                ) from None
        return value


@lru_cache
def get_settings() -> EngineSettings:
    return EngineSettings()


# Installed packages register AI and telephony handlers here: entry point name = action type,
# value = "package.module:attribute" (docs/handlers.md §2).
ACTION_HANDLER_ENTRY_POINTS = "journey_engine.action_handlers"


def action_handler_sources(configured: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """action type -> ("package.module:attribute", where it is configured): the installed
    entry points, then `configured` (ACTION_HANDLERS), which wins. Nothing is imported."""
    found = {
        ep.name: (ep.value, f"entry point {ep.name} in {ACTION_HANDLER_ENTRY_POINTS}")
        for ep in entry_points(group=ACTION_HANDLER_ENTRY_POINTS)
    }
    found.update({t: (ref, "ACTION_HANDLERS") for t, ref in configured.items()})
    return found


def action_handler_references(settings: EngineSettings | None = None) -> dict[str, str]:
    """action type -> reference: `journeys validate` and deploy read this to warn only about the
    types without a handler; the worker imports them (activities/action_handlers.py)."""
    configured = (settings or get_settings()).action_handlers
    return {t: ref for t, (ref, _) in action_handler_sources(configured).items()}


# Tellescope refuses webhook secrets of 15 characters or fewer.
WEBHOOK_SECRET_MIN_LENGTH = 16


class ApiSettings(BaseSettings):
    """The engine's HTTP API."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    api_host: str = "127.0.0.1"
    api_port: int = 8000

    # The secret Tellescope signs record webhooks with (`journeys webhooks configure` pushes it
    # to Tellescope with POST /v1/configure-webhooks; Tellescope wants more than 15 characters).
    # Unset or empty: every webhook delivery is refused with 401 (nothing can be verified), and
    # the API warns at startup. Shorter than WEBHOOK_SECRET_MIN_LENGTH: the API does not start.
    webhook_secret: str | None = Field(default=None, min_length=WEBHOOK_SECRET_MIN_LENGTH)
    # Deliveries whose `timestamp` is further than this from now (either way) are refused.
    webhook_tolerance_seconds: float = Field(default=300.0, gt=0)
    # Accepted deliveries are remembered this long (older ones are refused as stale anyway).
    webhook_retention_hours: float = Field(default=48.0, gt=0)
    # A delivery still being processed after this long (its API process died) may be taken over
    # by a redelivery; until then copies are answered 409 with Retry-After.
    webhook_claim_lease_seconds: float = Field(default=30.0, gt=0)

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

    # Signs the journey pages' session cookies and sign-in links (services.page_sessions).
    # Unset: a random secret per process (sessions end at restart); set it for several replicas.
    page_session_secret: str | None = Field(default=None, min_length=32)
    page_session_hours: float = Field(default=8.0, gt=0)

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # docker/.env.example ships `WEBHOOK_SECRET=`: empty means "not configured".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @model_validator(mode="after")
    def _remember_longer_than_tolerated(self) -> ApiSettings:
        # A replay inside the tolerance window must still find its claim.
        if self.webhook_retention_hours * 3600 < 2 * self.webhook_tolerance_seconds:
            raise ValueError("webhook_retention_hours must cover twice webhook_tolerance_seconds")
        return self


class TellescopeSettings(BaseSettings):
    """How the engine reaches Tellescope (prefix `TELLESCOPE_`).

    The defaults point at the local sandbox (`python -m sandbox`), so `journeys dev` and the tests
    need no configuration; production sets `TELLESCOPE_BASE_URL=https://api.tellescope.com` and
    `TELLESCOPE_API_KEY`. Nothing else changes between the two.
    """

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


class SettingsError(SystemExit):
    """A setting from the environment is wrong: one line naming the variable, no traceback
    (a SystemExit with a message prints it to stderr and exits with status 1)."""


def describe_settings_error(error: ValidationError) -> str:
    """`error: WEBHOOK_SECRET must be at least 16 characters long (it has 5)`: one line, the
    variable in upper case, never the value."""
    parts = []
    for problem in error.errors(include_url=False, include_input=False):
        variable = "_".join(str(part) for part in problem.get("loc", ())).upper() or "settings"
        context = problem.get("ctx") or {}
        if problem.get("type") == "string_too_short":
            minimum = context.get("min_length")
            parts.append(f"{variable} must be at least {minimum} characters long")
        else:
            parts.append(f"{variable}: {problem.get('msg', 'invalid')}")
    return "error: invalid setting: " + "; ".join(parts)


S = TypeVar("S", bound=BaseSettings)


def load_settings(kind: type[S]) -> S:
    """`kind()` from the environment, or SettingsError with one line saying what is wrong."""
    try:
        return kind()
    except ValidationError as error:
        raise SettingsError(describe_settings_error(error)) from None
