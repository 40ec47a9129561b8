"""`python -m sandbox`: flags, banner with the API keys, seed records at their fixed ids,
seeding once, --reset."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from sandbox.runtime import build_sandbox
from sandbox.settings import SandboxSettings

REPO = Path(__file__).resolve().parents[2]


def test_seed_records_at_fixed_ids(api: httpx.Client) -> None:
    users = {u["id"]: u for u in api.get("/v1/users").json()}
    assert users["64f000000000000000000a01"]["displayName"] == "Dr. Rivera"
    assert {"doctor", "nurse"} <= set(users["64f000000000000000000a01"]["tags"])
    assert users["64f000000000000000000a02"]["displayName"] == "Front desk"
    template_ids = {t["id"] for t in api.get("/v1/templates").json()}
    assert {f"64f000000000000000000b0{i}" for i in range(1, 10)} <= template_ids
    forms = {f["id"]: f["title"] for f in api.get("/v1/forms").json()}
    assert forms["64f000000000000000000c01"] == "New patient intake"
    assert {f"64f000000000000000000c0{i}" for i in range(1, 5)} <= set(forms)
    content = api.get("/v1/managed-content-record/64f000000000000000000e01")
    assert content.status_code == 200
    org = api.get("/v1/organization/64f000000000000000000f01").json()
    assert org["timezone"] == "America/New_York"


def test_seeding_happens_once_and_reset_starts_afresh(tmp_db: Path) -> None:
    settings = SandboxSettings(db=tmp_db)
    first = build_sandbox(settings)
    key = first.printable_keys[1]
    first.store.insert("endusers", [{"id": "64f0000000000000000000f9", "fname": "Kept"}])
    first.close()
    second = build_sandbox(settings)
    assert second.printable_keys[1] == key
    assert second.store.count("templates") == 10 and second.store.count("endusers") == 1
    second.close()
    third = build_sandbox(settings, reset=True)
    assert third.store.count("endusers") == 0 and third.printable_keys[1] != key
    third.close()


def test_python_m_sandbox(tmp_db: Path, unused_port: int) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "--port",
            str(unused_port),
            "--db",
            str(tmp_db),
            "--reset",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = [process.stdout.readline() for _ in range(5)]
        assert "API key: sandbox-dev-key\n" in [line.lstrip() for line in banner], banner
        assert any(
            line.strip().startswith("API key: ") and "dev-key" not in line for line in banner
        )
        base = f"http://127.0.0.1:{unused_port}"
        deadline = time.monotonic() + 10
        while True:
            try:
                response = httpx.get(f"{base}/v1/templates", params={"apiKey": "sandbox-dev-key"})
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "sandbox did not start"
                time.sleep(0.05)
        assert response.status_code == 200 and len(response.json()) == 10
        assert tmp_db.exists()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_settings_come_from_sandbox_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SANDBOX_PORT", "9123")
    monkeypatch.setenv("SANDBOX_DB", str(tmp_path / "env.db"))
    monkeypatch.setenv("SANDBOX_EXTRA_API_KEYS", '["ci-key"]')
    settings = SandboxSettings()
    assert (settings.port, settings.db, settings.extra_api_keys) == (
        9123,
        tmp_path / "env.db",
        ["ci-key"],
    )
    assert settings.base_url == "http://127.0.0.1:9123"
    sandbox = build_sandbox(settings)
    assert sandbox.api_keys.caller_for("ci-key") is not None
    assert sandbox.api_keys.caller_for("not-a-key") is None
    sandbox.close()
