"""The flowcharts `journeys graph` writes really render: Mermaid in Chromium, DOT in Graphviz.

Tools come from scripts/install-test-tools.sh (run by `make test`); where they are missing the test
says so and skips rather than pretending to pass.
"""

from __future__ import annotations

import html
import shutil
import subprocess
from pathlib import Path

import pytest

from compiler import compile_paths
from compiler.graph import to_dot, to_mermaid

ROOT = Path(__file__).resolve().parents[2]
MERMAID_JS = ROOT / ".cache/node/node_modules/mermaid/dist/mermaid.min.js"
PLANS = compile_paths([ROOT / "examples"]).plans


def render_in_chromium(page: Path, profile: Path) -> str:
    chromium = shutil.which("chromium")
    if chromium is None or not MERMAID_JS.exists():
        pytest.skip("needs chromium and mermaid.js: run scripts/install-test-tools.sh")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=15000",
        "--dump-dom",
    ]
    done = subprocess.run(
        [chromium, *flags, page.as_uri()], capture_output=True, text=True, timeout=90
    )
    return done.stdout


@pytest.mark.parametrize("plan", PLANS, ids=lambda p: p.journeyId)
def test_mermaid_renders_in_browser(plan, tmp_path):
    page = tmp_path / "graph.html"
    page.write_text(
        "<html><head><title>pending</title></head><body>"
        f'<pre class="mermaid">{html.escape(to_mermaid(plan))}</pre>'
        f'<script src="{MERMAID_JS.as_uri()}"></script>'
        "<script>mermaid.initialize({startOnLoad: false});"
        "mermaid.run().then(() => { document.title = 'rendered'; })"
        ".catch(e => { document.title = 'error: ' + e.message; });</script>"
        "</body></html>"
    )
    dom = render_in_chromium(page, tmp_path / "profile")
    assert "<title>rendered</title>" in dom, dom[:500]
    # every step became a node in the SVG
    for step_id in plan.steps:
        assert step_id in dom


@pytest.mark.parametrize("plan", PLANS, ids=lambda p: p.journeyId)
def test_dot_renders_with_graphviz(plan):
    dot = shutil.which("dot")
    if dot is None:
        pytest.skip("needs graphviz: run scripts/install-test-tools.sh")
    done = subprocess.run([dot, "-Tsvg"], input=to_dot(plan), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count('class="node"') == len(plan.steps) + 1  # + the start node
