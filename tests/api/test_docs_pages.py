"""`/docs` (Swagger UI) and `/redoc` (ReDoc) render the API's operations in headless Chromium
with every host but the API's unreachable, and the browser asks for nothing outside the API
(api/docs_pages.py: the bundles are installed with the project, not loaded from a CDN)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")


def render_offline(url: str, folder: Path) -> tuple[str, set[str]]:
    """The rendered DOM of `url`, and every URL the page requested, with name resolution of
    everything but 127.0.0.1 failing (no internet, as on an offline machine). Chromium's own
    background requests (update checks, the clock) carry no initiator and are not the page's."""
    binary = shutil.which("chromium")
    if binary is None:
        pytest.skip("needs Debian's chromium (scripts/install-test-tools.sh installs it)")
    net_log = folder / "net-log.json"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--log-net-log={net_log}",
        "--virtual-time-budget=20000",  # let the page fetch /openapi.json and render it
        f"--user-data-dir={folder / 'profile'}",
        "--dump-dom",
    ]
    done = subprocess.run([binary, *flags, url], capture_output=True, text=True, timeout=120)
    log = json.loads(net_log.read_text())
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    requested = {
        event["params"]["url"]
        for event in log["events"]
        if isinstance(event.get("params"), dict)
        and "url" in event["params"]
        and event["params"].get("initiator") == origin
    }
    return done.stdout, requested


def hosts(urls: set[str]) -> set[str | None]:
    return {urlsplit(url).hostname for url in urls}


async def test_swagger_ui_renders_the_operations_without_the_internet(api, live_api, tmp_path):
    dom, requested = render_offline(f"{live_api.url}/docs", tmp_path)
    assert hosts(requested) == {"127.0.0.1"}, requested
    assert f"{live_api.url}/openapi.json" in requested
    # Swagger UI renders one block per operation, its path in data-path
    assert 'class="swagger-ui' in dom
    for path in ("/v1/add-endusers-to-journey", "/v1/automated-actions", "/health/ready"):
        assert f'data-path="{path}"' in dom, path


async def test_redoc_renders_the_operations_without_the_internet(api, live_api, tmp_path):
    dom, requested = render_offline(f"{live_api.url}/redoc", tmp_path)
    assert hosts(requested) == {"127.0.0.1"}, requested
    assert f"{live_api.url}/openapi.json" in requested
    assert "redoc-wrap" in dom or 'class="api-content"' in dom
    for path in ("/v1/add-endusers-to-journey", "/v1/automated-actions", "/health/ready"):
        assert path in dom, path


async def test_the_assets_come_from_the_api(api):
    for page in ("/docs", "/redoc"):
        response = await api.http.get(page)
        assert "default-src 'self'" in response.headers["content-security-policy"]
        html = response.text
        assert "cdn.jsdelivr.net" not in html and "fonts.googleapis.com" not in html
        assert "/docs-assets/" in html
    bundle = await api.http.get("/docs-assets/redoc.standalone.js")
    assert bundle.status_code == 200 and len(bundle.content) > 100_000
