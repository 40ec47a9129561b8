"""HTTP routes: Tellescope's /v1 API (one module per resource family) and the /sandbox helpers."""
