"""The flowcharts `journeys graph` writes really render: Mermaid in Chromium, DOT in Graphviz,
SVG as the journey page's chart and PNG through headless Chromium.

Tools come from scripts/install-test-tools.sh (run by `make test`); where they are missing the test
says so and skips rather than pretending to pass.
"""

from __future__ import annotations

import html
import os
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
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


def run_graph(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    journeys = Path(sys.executable).with_name("journeys")
    return subprocess.run(
        [str(journeys), "graph", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


@pytest.mark.parametrize("plan", PLANS, ids=lambda p: p.journeyId)
def test_svg_is_the_pages_chart(plan, tmp_path):
    """`--format svg` is the journey page's layout (docs/decisions.md D24): every step a box,
    every edge label a box, none overlapping, all inside the drawing."""
    from services.journey_layout import layout

    out = tmp_path / "chart.svg"
    done = run_graph(f"examples/{Path(plan.source).name}", "--format", "svg", "-o", str(out))
    assert done.returncode == 0, done.stderr
    root = ET.fromstring(out.read_text())
    ns = {"s": "http://www.w3.org/2000/svg"}
    steps = {g.get("data-step") for g in root.iterfind(".//s:g[@class='step']", ns)}
    assert steps == set(plan.steps)
    chart = layout(plan)
    assert root.get("width") == f"{chart.width:.1f}"
    boxes = [(b.x, b.y, b.w, b.h) for b in chart.boxes]
    rects = [
        tuple(float(r.get(k)) for k in ("x", "y", "width", "height"))
        for g in root.iterfind(".//s:g", ns)
        if g.get("class") in ("step", "start", "edge-label")
        for r in g.iterfind("s:rect", ns)
    ]
    assert len(rects) == len(boxes)
    for n, (ax, ay, aw, ah) in enumerate(rects):
        assert 0 <= ax and ax + aw <= chart.width and 0 <= ay and ay + ah <= chart.height
        for bx, by, bw, bh in rects[n + 1 :]:
            assert not (ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah)


def test_png_is_drawn_by_chromium_or_names_what_is_missing(tmp_path):
    if shutil.which("chromium") is None:
        pytest.skip("needs chromium: run scripts/install-test-tools.sh")
    out = tmp_path / "onboarding.png"
    done = run_graph("examples/onboarding.yaml", "--format", "png", "-o", str(out))
    assert done.returncode == 0, done.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    onboarding = next(p for p in PLANS if p.journeyId == "onboarding")
    from services.journey_chart import chart_svg

    assert (width, height) == chart_svg(onboarding)[1]

    # without a browser on PATH: exit 1, naming what is missing, and no file
    bare = tmp_path / "bin"
    bare.mkdir()
    missing = tmp_path / "missing.png"
    done = run_graph(
        "examples/onboarding.yaml", "--format", "png", "-o", str(missing), env={"PATH": str(bare)}
    )
    assert done.returncode == 1 and not missing.exists()
    assert "headless Chromium" in done.stderr and "apt-get install chromium" in done.stderr

    no_file = run_graph("examples/onboarding.yaml", "--format", "png")
    assert no_file.returncode == 2 and "-o FILE.png" in no_file.stderr
