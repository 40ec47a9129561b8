"""Journey Engine's HTTP API (FastAPI): enrollments, Tellescope-compatible endpoints, webhooks,
deployments. `create_app()` in `api.main` builds it; `journeys api` serves it."""
