"""Schemathesis: requests generated from the OpenAPI document (valid and invalid ones) against
the live app (uvicorn; a Temporal dev server, so visibility and Schedules work; the sandbox as
Tellescope; a worker). No answer may be a 5xx."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402

from tests.api.conftest import journey_yaml  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="session")
EXAMPLES = 12


async def test_no_server_errors(dev, live_dev):
    await dev.deploy({"fuzz-journey.yaml": journey_yaml("fuzz-journey", "Fuzz journey")})
    schema = schemathesis.openapi.from_url(f"{live_dev.url}/openapi.json")
    headers = {"Authorization": f"API_KEY {dev.key}"}
    failures: list[str] = []
    calls = 0

    def exercise(strategy) -> None:
        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:
            nonlocal calls
            calls += 1
            response = case.call(base_url=live_dev.url, headers=headers, timeout=60)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}:"
                    f" {response.text[:300]}\n  {case.as_curl_command(headers)}"
                )

        try:
            run()
        except Unsatisfiable:  # nothing to make invalid (e.g. no parameters): nothing to send
            pass

    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            exercise(operation.as_strategy(generation_mode=mode))
        if "{journeyId}" in operation.path:  # also against a journey that exists
            exercise(operation.as_strategy(path_parameters={"journeyId": "fuzz-journey"}))
    assert calls > 300
    assert failures == [], "\n".join(failures[:20])
