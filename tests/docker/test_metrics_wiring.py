"""The dashboard and the alert rules query only metrics that exist (docs/metrics.md), the
metric names the code registers are the documented ones, and the rules pass `promtool` (when it
is installed: scripts/install-test-tools.sh)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from activities import action_metrics
from api.metrics import ApiMetrics
from workflows import metrics as workflow_metrics

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "metrics.md"
DASHBOARD = ROOT / "docker" / "grafana" / "dashboards" / "journeys.json"
ALERTS = ROOT / "docker" / "prometheus" / "alerts.yml"
PROMETHEUS = ROOT / "docker" / "prometheus" / "prometheus.yml"
HISTOGRAM_SERIES = ("_bucket", "_count", "_sum")
# PromQL words that look like metric names: functions, aggregations, keywords.
PROMQL_WORDS = {
    "sum", "max", "min", "avg", "count", "rate", "increase", "irate", "histogram_quantile",
    "by", "without", "and", "or", "unless", "on", "ignoring", "label_values", "le", "offset",
    "bool", "topk", "bottomk", "abs", "clamp_min", "clamp_max", "time", "vector", "absent",
}  # fmt: skip


def documented() -> dict[str, str]:
    """Metric name -> type, from the tables of docs/metrics.md (`| \\`name\\` | type |`)."""
    rows = re.findall(r"^\| `([a-z_:]+)` \| (counter|gauge|histogram) \|", DOCS.read_text(), re.M)
    return dict(rows)


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (label matchers and strings removed)."""
    expr = re.sub(r'"[^"]*"', "", expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", "", expr)
    words = set(re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b", expr))
    return {w for w in words if w not in PROMQL_WORDS and "_" in w}


def resolves(name: str, known: dict[str, str]) -> bool:
    if name in known:
        return True
    for suffix in HISTOGRAM_SERIES:
        base = name.removesuffix(suffix)
        if base != name and known.get(base) == "histogram":
            return True
    return False


def dashboard_queries() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    queries = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
    queries += [v["definition"] for v in board["templating"]["list"]]
    return queries


def alert_rules() -> list[dict]:
    return [
        rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]
    ]


def test_dashboard_and_alerts_query_documented_metrics():
    known = documented()
    assert len(known) >= 13, known
    queries = dashboard_queries() + [rule["expr"] for rule in alert_rules()]
    used = set().union(*(metric_names(q) for q in queries))
    unknown = sorted(name for name in used if not resolves(name, known))
    assert not unknown, f"queried but not in docs/metrics.md: {unknown}"
    # Every business metric shows on the dashboard.
    shown = set().union(*(metric_names(q) for q in dashboard_queries()))
    business = {n for n in known if n.startswith("journeys_")}
    missing = sorted(n for n in business if not any(s.startswith(n) for s in shown))
    assert not missing, f"documented but not on the dashboard: {missing}"


def test_the_code_registers_the_documented_names():
    known = documented()
    code = set(workflow_metrics.ENROLLMENT_COUNTERS.values())
    code |= {workflow_metrics.LATENESS_HISTOGRAM}
    code |= {action_metrics.FINISHED, action_metrics.CANCELLED, action_metrics.ERRORED}
    exposition = ApiMetrics().exposition().decode()
    code |= set(re.findall(r"^# TYPE (\S+) \w+", exposition, re.M))
    code = {f"{n}_total" if n + "_total" in known else n for n in code}
    assert code == {n for n in known if n.startswith("journeys_")}


def test_alerts_cover_the_four_conditions():
    names = {rule["alert"] for rule in alert_rules()}
    assert names == {
        "JourneyStepErrorRateHigh",
        "JourneyStalled",
        "WebhookIntakeFailing",
        "TaskQueueBacklogGrowing",
    }
    for rule in alert_rules():
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert "enduser" not in json.dumps(rule).lower(), rule["alert"]


def test_metric_names_follow_the_conventions():
    for name, kind in documented().items():
        if not name.startswith("journeys_"):
            continue
        assert (kind == "counter") == name.endswith("_total"), name
        if kind == "histogram":
            assert name.endswith("_seconds"), name


def test_prometheus_loads_the_rules_and_scrapes_both_processes():
    config = yaml.safe_load(PROMETHEUS.read_text())
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["journey-worker"]["dns_sd_configs"][0]["port"] == 9464
    assert jobs["journey-api"]["static_configs"][0]["targets"] == ["api:8000"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_accepts_the_rules_and_the_config(tmp_path):
    done = subprocess.run(
        ["promtool", "check", "rules", str(ALERTS)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The config names the rules at their path in the container: check it beside a copy.
    (tmp_path / "alerts.yml").write_text(ALERTS.read_text())
    config = PROMETHEUS.read_text().replace("/etc/prometheus/alerts.yml", "alerts.yml")
    (tmp_path / "prometheus.yml").write_text(config)
    done = subprocess.run(
        ["promtool", "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_each_alert_fires_on_its_condition_and_not_when_healthy():
    """docker/prometheus/alerts.test.yml: series that must fire each alert, and healthy ones."""
    done = subprocess.run(
        ["promtool", "test", "rules", "alerts.test.yml"],
        cwd=ALERTS.parent,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_alert_tests_use_documented_metrics():
    tests = yaml.safe_load((ALERTS.parent / "alerts.test.yml").read_text())
    series = [s["series"] for t in tests["tests"] for s in t["input_series"]]
    unknown = {m for s in series for m in metric_names(s) if not resolves(m, documented())}
    assert not unknown, unknown
