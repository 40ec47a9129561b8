"""`/docs` (Swagger UI) and `/redoc` (ReDoc) served from assets installed with the project.

FastAPI's defaults load both from a CDN (and ReDoc its fonts from Google), so the pages are blank
on a machine without internet, as a clinic's network or a laptop on a train often is. The
`fastapi-offline` package ships the same bundles (swagger-ui-bundle.js, swagger-ui.css,
redoc.standalone.js); they are served from `/docs-assets/` and the pages name nothing outside
the API.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs-assets"
# Both pages may load only from the API itself: ReDoc's bundle draws its "API docs by Redocly"
# attribution with an <img> from cdn.redoc.ly that no option turns off; the policy keeps the
# browser from asking (the image's onError then hides it). Inline script and style: FastAPI's
# page templates start the UIs inline, and both UIs inject <style> elements.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)


def _offline(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return page


def assets_folder() -> Path:
    """The installed bundles (a missing package fails here, at start-up, not in a browser)."""
    return Path(str(files("fastapi_offline") / "static"))


def install_docs_pages(app: FastAPI) -> None:
    """Add the two documentation pages and their static assets to `app`, which must be created
    with `docs_url=None, redoc_url=None` (FastAPI's CDN-backed pages)."""
    app.mount(ASSETS_URL, StaticFiles(directory=assets_folder()), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=redirect_url,
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
            # Swagger UI would otherwise fetch a validity badge from validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        )
        return _offline(page)

    @app.get(redirect_url, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
        return _offline(page)
