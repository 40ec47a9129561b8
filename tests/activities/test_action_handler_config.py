"""Registering AI and telephony handlers (docs/handlers.md §2): the ACTION_HANDLERS setting and
the `journey_engine.action_handlers` entry points of an installed package, as real processes see
them: the worker refuses a bad reference in one line, `journeys validate` warns only about the
action types left without a handler."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

JOURNEY = """
journey: {id: calls, title: Calls}
steps:
  - id: call
    events: [{type: onJourneyStart, info: {}}]
    action: {type: outboundCall, info: {treeId: tree-1}}
  - id: ring
    events: [{type: afterAction, info: {automationStepId: call, delayInMS: 0}}]
    action: {type: callUser, info: {message: Call, routeBy: Match Users}}
"""

HANDLER_MODULE = """
from activities.action_handlers import started

async def place_call(request):
    return started("call-" + request.idempotencyKey)
"""


def installed_package(folder: Path, entry_points: dict[str, str]) -> Path:
    """A package installed on `folder` (a dist-info with entry points, as pip leaves it)."""
    folder.mkdir(exist_ok=True)
    (folder / "acme_calls.py").write_text(textwrap.dedent(HANDLER_MODULE))
    dist = folder / "acme_calls-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-calls\nVersion: 1.0\n")
    lines = "".join(f"{name} = {ref}\n" for name, ref in entry_points.items())
    (dist / "entry_points.txt").write_text(f"[journey_engine.action_handlers]\n{lines}")
    return folder


def run(args: list[str], tmp_path: Path, *, handlers=None, package: Path | None = None):
    env = {k: v for k, v in os.environ.items() if k != "ACTION_HANDLERS"}
    paths = [str(ROOT)] + ([str(package)] if package else [])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/engine.db"
    env["TEMPORAL_ADDRESS"] = "127.0.0.1:1"  # never reached: handlers load first
    if handlers is not None:
        env["ACTION_HANDLERS"] = json.dumps(handlers)
    return subprocess.run(
        [sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )


def test_a_bad_reference_stops_the_worker_in_one_line(tmp_path):
    for handlers, why in [
        ({"outboundCall": "no_such_pkg.calls:place"}, "cannot import no_such_pkg.calls"),
        ({"outboundCall": "activities.sandbox_handler:missing"}, "has no attribute missing"),
        ({"outboundCall": "activities.sandbox_handler"}, 'expected "package.module:attribute"'),
        ({"sendSMS": "activities.sandbox_handler:handle"}, "not an AI or telephony action"),
        ({"callUser": "activities.sandbox_handler:REFERENCE"}, "REFERENCE is not callable"),
        ({"callUser": "activities.action_handlers:done"}, "done is not an async function"),
    ]:
        result = run([str(ROOT / "worker.py")], tmp_path, handlers=handlers)
        assert result.returncode == 1, result.stderr
        [line] = result.stderr.strip().splitlines()
        (action_type, reference) = next(iter(handlers.items()))
        assert line.startswith(
            f'error: action handler: ACTION_HANDLERS: {action_type} -> "{reference}": '
        ), line
        assert why in line
        assert not (tmp_path / "engine.db").exists()  # nothing started


def test_a_malformed_setting_is_one_line_and_empty_means_none(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("ACTION_HANDLERS=outboundCall\n")  # not JSON
    result = run([str(ROOT / "worker.py")], tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: invalid setting: ACTION_HANDLERS: Value error, not a JSON object of action type"
        " to reference (Expecting value: line 1 column 1 (char 0))"
    )
    env_file.write_text("ACTION_HANDLERS=\n")  # as an .env template leaves it: no handlers
    script = "from settings import get_settings; print(get_settings().action_handlers)"
    empty = run(["-c", script], tmp_path)
    assert (empty.returncode, empty.stdout) == (0, "{}\n"), empty.stderr


def test_entry_points_register_handlers_and_the_setting_wins(tmp_path):
    package = installed_package(
        tmp_path / "site", {"outboundCall": "acme_calls:place_call", "callUser": "acme_calls:x"}
    )
    script = (
        "from activities.action_handlers import load_handlers\n"
        "import json, sys\n"
        "h = load_handlers(json.loads(sys.argv[1]))\n"
        "print(json.dumps(h.sources, sort_keys=True))\n"
    )
    overridden = run(
        ["-c", script, json.dumps({"callUser": "activities.sandbox_handler:handle"})],
        tmp_path,
        package=package,
    )
    assert overridden.returncode == 0, overridden.stderr
    assert json.loads(overridden.stdout) == {
        "callUser": "ACTION_HANDLERS",
        "outboundCall": "entry point outboundCall in journey_engine.action_handlers",
    }
    # the entry point's own callUser reference is broken: the worker names the entry point
    broken = run([str(ROOT / "worker.py")], tmp_path, package=package)
    assert broken.returncode == 1
    assert broken.stderr.strip() == (
        "error: action handler: entry point callUser in journey_engine.action_handlers:"
        ' callUser -> "acme_calls:x": acme_calls has no attribute x'
    )


def test_validate_warns_only_about_types_without_a_handler(tmp_path):
    folder = tmp_path / "journeys"
    folder.mkdir()
    (folder / "calls.yaml").write_text(textwrap.dedent(JOURNEY).lstrip())
    validate = ["-m", "cli", "validate", str(folder)]

    def warned(result) -> list[str]:
        assert result.returncode == 0, result.stderr
        return [line for line in result.stderr.splitlines() if "has no handler" in line]

    both = warned(run(validate, tmp_path))
    assert [w.split(" ")[1] for w in both] == [
        f"{folder}/calls.yaml:5:14",
        f"{folder}/calls.yaml:8:14",
    ]
    assert both[0].endswith(
        'steps.call.action.type: action "outboundCall" has no handler configured'
        " (ACTION_HANDLERS or an entry point, docs/handlers.md §2): the step fails at run time"
        " (its onError branch runs)"
    )
    configured = {"outboundCall": "activities.sandbox_handler:handle"}
    [ring] = warned(run(validate, tmp_path, handlers=configured))
    assert 'action "callUser"' in ring
    package = installed_package(tmp_path / "site", {"callUser": "acme_calls:place_call"})
    assert warned(run(validate, tmp_path, handlers=configured, package=package)) == []
