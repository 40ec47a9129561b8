"""`journeys graph --format svg|png`: the journey page's chart as a file (docs/decisions.md D24).

SVG is the page's own layout and drawing, without the patient counts. PNG is that SVG
screenshotted by headless Chromium when it is installed: no rasteriser on PyPI draws SVG text
without a C library (cairo) that a fresh machine may lack, and Chromium draws it exactly as the
page does.
"""

from __future__ import annotations

import html
import math
import shutil
import subprocess
import tempfile
from pathlib import Path

from models.plan import JourneyPlan
from services.journey_layout import layout
from services.journey_svg import render_svg

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class ChartError(RuntimeError):
    """The PNG could not be drawn; the message says why."""


class ChartToolMissing(ChartError):
    """A PNG was asked for and no headless browser is installed to draw it."""


def chart_svg(plan: JourneyPlan) -> tuple[str, tuple[int, int]]:
    chart = layout(plan)
    return render_svg(chart, title=plan.journey.title), (
        math.ceil(chart.width),
        math.ceil(chart.height),
    )


def svg_to_png(svg: str, size: tuple[int, int], output: Path, *, timeout: float = 90) -> None:
    binary = next((found for name in BROWSERS if (found := shutil.which(name))), None)
    if binary is None:
        raise ChartToolMissing(
            "a PNG is drawn by headless Chromium, and none of "
            f"{', '.join(BROWSERS)} is on PATH (Debian: apt-get install chromium);"
            " --format svg needs nothing"
        )
    width, height = size
    with tempfile.TemporaryDirectory(prefix="journeys-graph-") as folder:
        page = Path(folder) / "chart.html"
        page.write_text(
            "<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(output.name)}</title>"
            "<style>html,body{margin:0;padding:0;overflow:hidden}</style></head>"
            f"<body>{svg}</body></html>",
            encoding="utf-8",
        )
        target = output.resolve()
        target.unlink(missing_ok=True)
        done = subprocess.run(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={Path(folder) / 'profile'}",
                f"--window-size={width},{height}",
                f"--screenshot={target}",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if not target.exists():
            raise ChartError(
                f"{binary} did not write {output} (exit {done.returncode}): {done.stderr[-400:]}"
            )
