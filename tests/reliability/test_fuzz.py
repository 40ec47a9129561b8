"""Fuzzing the API and the webhook receiver: no 5xx answer and no unhandled exception logged.

The real stack: the API under uvicorn (its unhandled-exception log captured), a Temporal dev
server, `python worker.py`, the sandbox as Tellescope, the seven example journeys (and their
triggers) deployed through the API.

- every operation of the OpenAPI document, with schemathesis: valid and invalid requests, and
  requests about a journey and endusers that exist;
- the webhook receiver, with hypothesis: arbitrary bodies, and deliveries that are correctly
  signed (so they reach the intake and the trigger engine) whose records hold arbitrary values
  of arbitrary types, about endusers that exist or not;
- no state change (docs/webhooks.md): signed deliveries about records that do not exist, whatever their
  fields say (real endusers as `enduserId`, attendees, senders...), and bodies nested too deep
  (400) or too large (413), change neither the outbox, the ledger, the enrollments nor the
  endusers (the receiver's claims aside, for the deliveries it accepted).
"""

from __future__ import annotations

import asyncio
import json
import string
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from api.main import create_app
from settings import ApiSettings, EngineSettings, TellescopeSettings
from store.api_keys import ApiKeys
from store.db import get_engine
from store.webhooks import ProcessedWebhooks
from tests.reliability.harness import (
    DEV_KEY,
    ROOT,
    EngineStore,
    LiveApi,
    Row,
    SandboxHttp,
    WorkerProcess,
    scenario_seed,
    sha256_hex,
    signed_delivery,
)
from triggers.intake import MAPPERS

schemathesis = pytest.importorskip("schemathesis")
from schemathesis import GenerationMode  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="session")

SECRET = "reliability-fuzz-secret-0123456789"
API_EXAMPLES = 30  # per operation and generation mode
WEBHOOK_EXAMPLES = 600
UNKNOWN_RECORD_EXAMPLES = 200
WEBHOOK_MAX_BODY = 256 * 1024  # the receiver's limit here (8 MiB by default)
TASK_QUEUE = "rel-fuzz"


class FuzzStack:
    def __init__(
        self,
        api: LiveApi,
        key: str,
        endusers: list[str],
        *,
        store: EngineStore,
        sandbox: SandboxHttp,
        temporal: Any,
    ) -> None:
        self.api, self.key, self.endusers = api, key, endusers
        self.store, self.sandbox, self.temporal = store, sandbox, temporal
        self.claims = ProcessedWebhooks(get_engine(store.url))

    async def state(self) -> dict[str, Any]:
        """What a delivery could change: the outbox, the ledger, the enrollments and firings
        (every workflow on the task queue, with its status and history length), the endusers."""
        workflows = {}
        async for execution in self.temporal.list_workflows(f'TaskQueue="{TASK_QUEUE}"'):
            workflows[f"{execution.id}/{execution.run_id}"] = (
                str(execution.status),
                execution.history_length,
            )
        ledger = self.store.ledger.list(limit=100_000)
        return {
            "outbox": self.sandbox.outbox(),
            "ledger": sorted((r.id, r.status, r.process_after, r.cancel_reason) for r in ledger),
            "workflows": workflows,
            "endusers": {e: self.sandbox.enduser(e) for e in self.endusers},
        }


@pytest.fixture(scope="module")
def fuzz(dev_env, sandbox, sandbox_http, tmp_path_factory) -> Iterator[FuzzStack]:
    folder = tmp_path_factory.mktemp("fuzz")
    store = EngineStore(folder / "store")
    key, _ = ApiKeys(get_engine(store.url)).create("fuzz")
    address = dev_env.client.service_client.config.target_host
    task_queue = TASK_QUEUE
    app = create_app(
        ApiSettings(
            webhook_secret=SECRET,
            query_timeout_seconds=2,
            webhook_max_body_bytes=WEBHOOK_MAX_BODY,
        ),
        engine_settings=EngineSettings(
            database_url=store.url, task_queue=task_queue, temporal_address=address
        ),
        tellescope_settings=TellescopeSettings(
            base_url=sandbox.base_url, api_key=DEV_KEY, timeout_seconds=10
        ),
    )
    worker = WorkerProcess(
        temporal_address=address,
        task_queue=task_queue,
        database_url=store.url,
        tellescope_url=sandbox.base_url,
        log=folder / "worker.log",
    ).start()
    endusers = sandbox_http.create_endusers(5, tag="fuzz")
    try:
        with LiveApi(app) as api:
            files = {  # the lab journey's webhook pointed at this sandbox's echo receiver
                p.name: p.read_text().replace("http://127.0.0.1:8900", sandbox.base_url)
                for p in sorted((ROOT / "examples").glob("*.yaml"))
            }
            files = {n: t for n, t in files.items() if not n.endswith(".simulation.yaml")}
            deployed = httpx.post(
                f"{api.url}/v1/deployments",
                json={"files": files, "deployedBy": "fuzz"},
                headers={"Authorization": f"API_KEY {key}"},
                timeout=60,
            )
            assert deployed.status_code == 200, deployed.text
            assert len(deployed.json()["journeys"]) == 7, deployed.text
            yield FuzzStack(
                api, key, endusers, store=store, sandbox=sandbox_http, temporal=dev_env.client
            )
    finally:
        worker.stop()


def _exercise(strategy, examples: int, run_case) -> None:
    @given(case=strategy)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:
        run_case(case)

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid (no parameters): nothing to send
        pass


# --- no state change (these run first: nothing else is under way on the task queue yet) --------


@st.composite
def _about_unknown_records(draw, known: list[str]) -> dict:
    """A record delivery (to be signed) about records Tellescope does not have, whose fields
    point at real endusers: `enduserId`, `senderId`, attendees, chat rooms in `relatedRecords`,
    before-states that make every transition look new."""
    unknown = _OBJECT_ID.filter(lambda i: i not in known and not i.startswith("64f0000"))
    records = []
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        record = draw(_record(known))
        record["id"] = draw(
            unknown | st.text(min_size=1, max_size=30).filter(lambda i: i not in known)
        )
        if draw(st.booleans()):
            record["attendees"] = [{"type": "enduser", "id": draw(st.sampled_from(known))}]
        if draw(st.booleans()):
            record |= {"inbound": True, "enduserId": draw(st.sampled_from(known))}
        records.append(record)
    operation = draw(st.sampled_from(["create", "update", "delete"]))
    body: dict[str, Any] = {
        "model": draw(st.sampled_from([*MAPPERS, "chat_rooms", "users"])),
        "type": operation,
        "records": records,
        "relatedRecords": {
            (r["roomId"] if isinstance(r.get("roomId"), str) else "room"): {
                "enduserIds": list(known)
            }
            for r in records
        },
    }
    if operation == "update":
        body["updates"] = [
            {"recordBeforeUpdate": {"id": r["id"]}, "update": draw(_JSON)} for r in records
        ]
    return body


async def test_signed_deliveries_about_unknown_records_change_nothing(fuzz, report):
    started = time.monotonic()
    fuzz_seed = scenario_seed("fuzz-unknown-records")
    known = list(fuzz.endusers)
    before = await fuzz.state()
    claims_before = fuzz.claims.count()
    statuses: Counter[int] = Counter()
    failures: list[str] = []

    with httpx.Client(base_url=fuzz.api.url, timeout=60) as http:

        @given(body=_about_unknown_records(known))
        @settings(
            max_examples=UNKNOWN_RECORD_EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @seed(fuzz_seed)
        def deliver(body) -> None:
            content = json.dumps(_sign("record", body)).encode()
            response = http.post(
                "/v1/webhooks/tellescope",
                content=content,
                headers={"content-type": "application/json"},
            )
            statuses[response.status_code] += 1
            if response.status_code == 200 and response.json().get("status") == "processed":
                intake = response.json()["report"]
                if intake["signals"] or any(d["firings"] for d in intake["dispatched"]):
                    failures.append(f"{response.text[:500]}\n  {content[:1500]!r}")
            elif response.status_code not in (200, 409):  # 409: same ids in the same ms
                failures.append(f"{response.status_code}: {response.text[:300]}")

        deliver()
    await asyncio.sleep(2.0)  # anything started would be under way by now
    after = await fuzz.state()
    unhandled = fuzz.api.unhandled()
    report.add(
        Row(
            scenario="fuzz signed deliveries about unknown records",
            enrollments=0,
            faults=sum(statuses.values()),
            fault_kinds="signed deliveries whose records Tellescope does not have",
            messages=len(after["outbox"]) - len(before["outbox"]),
            duplicates=None,
            lost=None,
            seconds=time.monotonic() - started,
            notes=f"statuses {dict(sorted(statuses.items()))};"
            f" claims +{fuzz.claims.count() - claims_before}; state unchanged: {after == before}",
        )
    )
    assert failures == [], "\n".join(failures[:10])
    assert unhandled == [], "\n".join(unhandled[:5])
    assert statuses[200] > UNKNOWN_RECORD_EXAMPLES // 2, statuses
    for part in before:
        assert after[part] == before[part], part


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for level in range(depth):
        value = [value] if level % 2 else {"n": value}
    return value


async def test_bodies_too_deep_or_too_large_change_nothing(fuzz, report):
    """A delivery that would enroll (a real enduser's real "diabetes" tag, newly added: the
    care-plan trigger), correctly signed, but nested deeper than 64 levels (400) or larger than
    the receiver's limit (413, declared or chunked): refused before anything is claimed or
    processed. The same delivery without the excess then does enroll (it was potent)."""
    started = time.monotonic()
    enduser_id = fuzz.endusers[-1]
    previous = fuzz.sandbox.enduser(enduser_id)
    tagged = fuzz.sandbox.ok(
        fuzz.sandbox.http.patch(
            f"/v1/enduser/{enduser_id}", json={"updates": {"tags": ["diabetes"]}}
        )
    )
    updates = [{"recordBeforeUpdate": previous, "update": {"tags": ["diabetes"]}}]

    def delivery(**extra: Any) -> dict:
        body = signed_delivery("endusers", "update", [tagged], SECRET, updates=updates)
        body["records"][0] = {**body["records"][0], **extra}
        return body

    def deep_text(depth: int) -> bytes:  # past what json.dumps itself can nest
        text = json.dumps(delivery(fields="DEEP"))
        return text.replace('"DEEP"', "[" * depth + "]" * depth).encode()

    before = await fuzz.state()
    claims_before = fuzz.claims.count()
    padding = "x" * WEBHOOK_MAX_BODY
    cases: list[tuple[str, bytes | Iterator[bytes], int]] = [
        ("nested 65", json.dumps(delivery(fields=_nested(65))).encode(), 400),
        ("nested 1000", deep_text(1000), 400),
        ("nested 100000 (raw)", b"[" * 100_000 + b"]" * 100_000, 400),
        ("over the limit", json.dumps(delivery(note=padding)).encode(), 413),
        ("over the limit, chunked", iter([json.dumps(delivery(note=padding)).encode()]), 413),
    ]
    answers = []
    with httpx.Client(base_url=fuzz.api.url, timeout=60) as http:
        for label, content, expected in cases:
            response = http.post(
                "/v1/webhooks/tellescope",
                content=content,
                headers={"content-type": "application/json"},
            )
            answers.append((label, response.status_code))
            assert response.status_code == expected, (label, response.text[:300])
        await asyncio.sleep(2.0)
        after = await fuzz.state()
        claims_after = fuzz.claims.count()
        control = http.post("/v1/webhooks/tellescope", json=delivery())
    assert claims_after == claims_before
    for part in before:
        assert after[part] == before[part], part
    assert control.status_code == 200, control.text
    firings = [f for d in control.json()["report"]["dispatched"] for f in d["firings"]]
    assert [f["triggerId"] for f in firings if f["started"]] == ["diabetes-diagnosis"]
    assert fuzz.api.unhandled() == []
    report.add(
        Row(
            scenario="fuzz bodies too deep or too large",
            enrollments=1,
            faults=len(cases),
            fault_kinds="signed deliveries nested past 64 levels or over the body limit",
            messages=None,
            duplicates=None,
            lost=None,
            seconds=time.monotonic() - started,
            notes=f"answers {answers}; no claim, no state change; the same delivery within"
            " the limits enrolled (control)",
        )
    )


async def test_fuzz_every_operation_from_the_openapi_spec(fuzz, report):
    started = time.monotonic()
    api = fuzz.api
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    headers = {"Authorization": f"API_KEY {fuzz.key}"}
    failures: list[str] = []
    statuses: Counter[int] = Counter()

    def call(case) -> None:
        response = case.call(base_url=api.url, headers=headers, timeout=60)
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            failures.append(
                f"{case.method} {case.formatted_path} -> {response.status_code}:"
                f" {response.text[:300]}\n  {case.as_curl_command(headers)}"
            )

    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _exercise(operation.as_strategy(generation_mode=mode), API_EXAMPLES, call)
        known = {}
        if "{journeyId}" in operation.path:
            known["journeyId"] = "onboarding"
        if "{enduserId}" in operation.path:
            known["enduserId"] = fuzz.endusers[0]
        if known:  # also about records that exist
            _exercise(operation.as_strategy(path_parameters=known), API_EXAMPLES, call)
    unhandled = api.unhandled()
    calls = sum(statuses.values())
    report.add(
        Row(
            scenario="fuzz API (OpenAPI)",
            enrollments=0,
            faults=calls,
            fault_kinds=f"requests generated from the spec for {operations} operations",
            messages=None,
            duplicates=None,
            lost=None,
            seconds=time.monotonic() - started,
            notes=f"5xx={len(failures)} unhandled exceptions={len(unhandled)};"
            f" statuses {dict(sorted(statuses.items()))}",
        )
    )
    assert operations >= 19 and calls > 20 * operations
    assert failures == [], "\n".join(failures[:20])
    assert unhandled == [], "\n".join(unhandled[:5])


# --- the webhook receiver -----------------------------------------------------------------------

_OBJECT_ID = st.text(alphabet="0123456789abcdef", min_size=24, max_size=24)
_SCALAR = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["", "2026-11-24T10:00:00.000Z", "not a date", "Email", "SMS", "Chat"])
)
_JSON = st.recursive(
    _SCALAR,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=10,
)
# The fields the intake and the trigger engine read, with any JSON value.
_FIELDS = [
    "enduserId",
    "inbound",
    "submittedAt",
    "startedAt",
    "closedAt",
    "closedForReason",
    "automationStepId",
    "formId",
    "groupId",
    "groupInstance",
    "publicIdentifier",
    "tags",
    "fields",
    "attendees",
    "cancelledAt",
    "noShowedAt",
    "completedAt",
    "startTimeInMS",
    "status",
    "refundedAmount",
    "roomId",
    "senderId",
    "phoneNumber",
    "message",
    "fname",
    "email",
    "journeys",
    "updatedAt",
    "createdAt",
    "isAutoreply",
    "enduserIds",
    "to",
    "type",
    "title",
    "source",
    "externalId",
]
_MODELS = [*MAPPERS, "users", "automation", "", "x" * 100]


@st.composite
def _record(draw, ids: list[str]) -> dict:
    record_id = draw(st.sampled_from(ids) | _OBJECT_ID | st.text(min_size=1, max_size=30))
    fields = draw(st.lists(st.sampled_from(_FIELDS), max_size=8, unique=True))
    record = {"id": record_id}
    for name in fields:
        known = st.sampled_from(ids) if name in ("enduserId", "senderId", "roomId") else _JSON
        record[name] = draw(known | _JSON)
    return record


@st.composite
def _signed(draw, ids: list[str]) -> tuple[str, dict]:
    """A correctly signed delivery (record, automation or calendar reminder) with arbitrary
    contents; the timestamp and integrity are filled in when it is sent."""
    kind = draw(st.sampled_from(["record", "record", "record", "automation", "reminder"]))
    if kind == "automation":
        body = {
            "type": "automation",
            "message": draw(st.text(max_size=50)),
            "enduserId": draw(st.sampled_from(ids) | st.none() | st.text(max_size=30)),
        }
        return kind, {k: v for k, v in body.items() if v is not None}
    if kind == "reminder":
        event = draw(_record(ids))
        return kind, {"type": "calendar_event_reminder", "event": event}
    records = draw(st.lists(_record(ids), min_size=1, max_size=3))
    operation = draw(st.sampled_from(["create", "update", "delete"]))
    body = {
        "model": draw(st.sampled_from(_MODELS)),
        "type": operation,
        "records": records,
        "relatedRecords": draw(
            st.none() | st.dictionaries(st.sampled_from(ids) | st.text(max_size=10), _JSON)
        ),
    }
    if operation == "update" and draw(st.booleans()):
        body["updates"] = draw(
            st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "recordBeforeUpdate": _record(ids) | _JSON,
                        "update": st.dictionaries(st.sampled_from(_FIELDS), _JSON) | _JSON,
                    },
                )
                | _JSON,
                max_size=3,
            )
        )
    return kind, body


def _sign(kind: str, body: dict) -> dict:
    timestamp = str(int(time.time() * 1000))
    if kind == "automation":
        text = body["message"]
    elif kind == "reminder":
        text = body["event"]["id"]
    else:
        return signed_delivery(
            body["model"], body["type"], body["records"], SECRET, timestamp=timestamp
        ) | {k: v for k, v in body.items() if k not in ("records",)}
    return {**body, "timestamp": timestamp, "integrity": sha256_hex(text + timestamp + SECRET)}


_RAW = st.one_of(
    st.binary(max_size=300),
    _JSON.map(lambda v: json.dumps(v).encode()),
    st.text(alphabet=string.printable, max_size=300).map(str.encode),
)


async def test_fuzz_the_webhook_receiver(fuzz, report):
    started = time.monotonic()
    api = fuzz.api
    fuzz_seed = scenario_seed("fuzz-webhooks")
    print(f"\nfuzz webhooks: seed {fuzz_seed}")
    ids = fuzz.endusers + ["64f000000000000000000a01"]
    failures: list[str] = []
    statuses: Counter[str] = Counter()

    with httpx.Client(base_url=api.url, timeout=60) as http:

        def post(content: bytes, label: str) -> None:
            try:
                response = http.post(
                    "/v1/webhooks/tellescope",
                    content=content,
                    headers={"content-type": "application/json"},
                )
            except httpx.TransportError as error:  # the server dropped the connection
                statuses[f"{label} dropped"] += 1
                failures.append(f"{label} -> {error!r}\n  {content[:1500]!r}")
                return
            statuses[f"{label} {response.status_code}"] += 1
            if response.status_code >= 500:
                failures.append(
                    f"{label} -> {response.status_code}: {response.text[:300]}\n"
                    f"  {content[:1500]!r}"
                )

        @given(delivery=_signed(ids))
        @settings(
            max_examples=WEBHOOK_EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @seed(fuzz_seed)
        def signed(delivery) -> None:
            kind, body = delivery
            post(json.dumps(_sign(kind, body)).encode(), "signed")

        @given(content=_RAW)
        @settings(
            max_examples=WEBHOOK_EXAMPLES // 4,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @seed(fuzz_seed + 1)
        def raw(content: bytes) -> None:
            post(content, "raw")

        signed()
        raw()
    unhandled = api.unhandled()
    calls = sum(statuses.values())
    signed_calls = sum(n for label, n in statuses.items() if label.startswith("signed"))
    report.add(
        Row(
            scenario="fuzz webhook receiver",
            enrollments=0,
            faults=calls,
            fault_kinds=f"generated deliveries, {signed_calls} of them correctly signed",
            messages=None,
            duplicates=None,
            lost=None,
            seconds=time.monotonic() - started,
            notes=f"5xx={len(failures)} unhandled exceptions={len(unhandled)};"
            f" statuses {dict(sorted(statuses.items()))}",
        )
    )
    assert failures == [], "\n".join(failures[:10])
    assert unhandled == [], "\n".join(unhandled[:5])
    assert statuses["signed 200"] > WEBHOOK_EXAMPLES // 4, statuses  # most reached the intake
