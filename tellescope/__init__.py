"""Tellescope's REST API as the engine speaks it, shared by the activities, the triggers, the API
and the CLI.

Modules, one concern each:
  client       TellescopeClient: wire protocol, pagination, custom endpoints
  errors       HTTP answers -> Temporal ApplicationErrors (retryable or not)
  idempotency  record keys, lookups, the table of which field holds which key
  settings     TellescopeSettings (TELLESCOPE_* environment)
"""
