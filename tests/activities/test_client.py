"""TellescopeClient: the SDK's wire encoding, pagination, and how failures map to Temporal errors
(4xx not retried with Tellescope's message verbatim; 429, 5xx, timeouts retried)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from models.runtime import TELLESCOPE_REJECTED
from settings import TellescopeSettings
from tellescope.client import TellescopeClient, build_http_client, encode_query
from tellescope.errors import RATE_LIMITED, UNAVAILABLE, UNREACHABLE, TellescopeRejected


def test_query_encoding_matches_the_sdk() -> None:
    query = encode_query(
        {
            "filter": {"enduserId": "abc", "tags": "vip"},
            "limit": 10,
            "lastId": None,
            "ids": ["a", "b"],
            "returnCount": True,
            "from": datetime(2024, 1, 15, 10, 0, tzinfo=UTC),
        }
    )
    assert query == (
        "filter=%7B%22enduserId%22%3A%22abc%22%2C%22tags%22%3A%22vip%22%7D"
        "&limit=10&ids%5B%5D=a&ids%5B%5D=b&returnCount=true&from=2024-01-15T10%3A00%3A00Z"
    )
    assert unquote(query.split("&")[0]) == 'filter={"enduserId":"abc","tags":"vip"}'


def test_encode_uri_component_safe_characters_stay_literal() -> None:
    assert encode_query({"search": "a b!~*'()"}) == "search=a%20b!~*'()"


async def test_filters_reach_tellescope_as_json(client, make_enduser) -> None:
    wanted = make_enduser(fname="Filtered")
    make_enduser(fname="Other")
    found = await client.list("endusers", {"email": wanted["email"]})
    assert [e["id"] for e in found] == [wanted["id"]]


async def test_pagination_walks_every_page_once(client, api, enduser) -> None:
    for n in range(7):
        api.post("/v1/note", json={"enduserId": enduser["id"], "title": f"n{n}"})
    notes = [n async for n in client.iterate("notes", {"enduserId": enduser["id"]}, page_size=3)]
    assert len(notes) == 7
    assert len({n["id"] for n in notes}) == 7


async def test_a_4xx_is_not_retryable_and_carries_tellescopes_message(client) -> None:
    with pytest.raises(TellescopeRejected) as raised:
        await client.get("endusers", "64f0000000000000000000ff")
    error = raised.value
    assert error.message == "Could not find a record for the given id"
    assert error.type == TELLESCOPE_REJECTED and error.non_retryable
    assert error.status == 404
    assert error.details[0]["body"]["message"] == "Could not find a record for the given id"


async def test_a_500_is_retryable(client, faults) -> None:
    faults(kinds=["error500"], paths=["/v1/enduser/*"], count=1)
    with pytest.raises(ApplicationError) as raised:
        await client.get("endusers", "64f0000000000000000000ff")
    assert raised.value.type == UNAVAILABLE and not raised.value.non_retryable
    assert raised.value.message.startswith("Something went wrong")


async def test_a_timeout_is_retryable(impatient_client, faults) -> None:
    faults(kinds=["timeout"], paths=["/v1/users"], count=1, timeoutSeconds=2)
    with pytest.raises(ApplicationError) as raised:
        await impatient_client.list("users")
    assert raised.value.type == UNREACHABLE and not raised.value.non_retryable
    assert "timed out" in raised.value.message


async def test_a_dropped_connection_is_retryable(client, faults) -> None:
    faults(kinds=["drop"], paths=["/v1/users"], count=2)  # a read is sent twice (below)
    with pytest.raises(ApplicationError) as raised:
        await client.list("users")
    assert raised.value.type == UNREACHABLE and not raised.value.non_retryable


async def test_a_read_is_tried_once_more_when_the_connection_drops(
    client, faults, make_enduser
) -> None:
    """A read (get, bulk read) whose connection drops before any answer is sent again at once:
    it cannot act twice, and the API's webhook intake has no retry of its own. A write is not:
    its retry is Temporal's, with the idempotency key."""
    enduser = make_enduser()
    faults(kinds=["drop"], paths=["/v1/endusers/bulk-read"], count=1)
    [read] = await client.bulk_read("endusers", [enduser["id"]])
    assert read["id"] == enduser["id"]
    faults(kinds=["drop"], paths=["/v1/endusers/bulk-read"], count=2)
    with pytest.raises(ApplicationError) as raised:  # dropped twice: the caller decides
        await client.bulk_read("endusers", [enduser["id"]])
    assert raised.value.type == UNREACHABLE


async def test_a_listing_is_tried_once_more_when_the_connection_drops(
    client, faults, make_enduser
) -> None:
    """A page read (the API's coalesced existence check of endusers) is a read too."""
    enduser = make_enduser()
    faults(kinds=["drop"], paths=["/v1/endusers"], count=1)
    [read] = await client.list("endusers", {"id": {"_in": [enduser["id"]]}})
    assert read["id"] == enduser["id"]


def _mock_client(handler) -> TellescopeClient:
    settings = TellescopeSettings(base_url="http://tellescope.test", api_key="k")
    return TellescopeClient(build_http_client(settings, httpx.MockTransport(handler)), settings)


async def test_429_is_retried_after_retry_after() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            429, json={"message": "Too many requests"}, headers={"Retry-After": "7"}
        )

    with pytest.raises(ApplicationError) as raised:
        await _mock_client(handler).list("endusers")
    error = raised.value
    assert error.type == RATE_LIMITED and not error.non_retryable
    assert error.next_retry_delay == timedelta(seconds=7)
    assert error.message == "Too many requests"


async def test_plain_text_error_bodies_are_surfaced_verbatim() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, text="Missing phone consent")

    with pytest.raises(TellescopeRejected) as raised:
        await _mock_client(handler).create("sms_messages", {"message": "hi"})
    assert raised.value.message == "Missing phone consent"


async def test_requests_carry_the_api_key_header() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    settings = TellescopeSettings(base_url="http://tellescope.test", api_key="secret-key")
    http = build_http_client(settings, transport=httpx.MockTransport(handler))
    await TellescopeClient(http, settings).list("endusers", {"enduserId": "x"}, limit=10)
    assert seen[0].headers["authorization"] == "API_KEY secret-key"
    assert str(seen[0].url) == (
        "http://tellescope.test/v1/endusers?filter=%7B%22enduserId%22%3A%22x%22%7D&limit=10"
    )


async def test_bulk_read_returns_the_records_found_by_id(client, api, make_enduser) -> None:
    first, second = make_enduser(fname="One"), make_enduser(fname="Two")
    missing = "64f0000000000000000000fe"
    found = await client.bulk_read("endusers", [second["id"], missing, first["id"], first["id"]])
    assert [e["id"] for e in found] == [second["id"], first["id"]]
    assert found[0]["fname"] == "Two"
    # an id of another model is not found in this one (ids are unique across collections)
    note = api.post("/v1/note", json={"enduserId": first["id"], "title": "x"}).json()
    assert await client.bulk_read("endusers", [note["id"]]) == []
    assert [n["id"] for n in await client.bulk_read("notes", [note["id"]])] == [note["id"]]
    assert await client.bulk_read("endusers", []) == []


async def test_bulk_read_is_chunked(client, make_enduser) -> None:
    endusers = [make_enduser() for _ in range(5)]
    ids = [e["id"] for e in endusers]
    assert [e["id"] for e in await client.bulk_read("endusers", ids, chunk_size=2)] == ids


async def test_bulk_read_speaks_the_sdks_get_by_ids() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        ids = json.loads(request.content)["ids"]
        return httpx.Response(200, json={"matches": [{"id": i} for i in ids if i != "b"]})

    found = await _mock_client(handler).bulk_read("sms_messages", ["a", "b", "c"], chunk_size=2)
    assert [r["id"] for r in found] == ["a", "c"]
    assert [(r.method, r.url.path) for r in seen] == [("POST", "/v1/sms-messages/bulk-read")] * 2
    assert [json.loads(r.content) for r in seen] == [{"ids": ["a", "b"]}, {"ids": ["c"]}]


async def test_the_http_stack_finds_its_async_library_probe() -> None:
    """httpcore asks sniffio which async library runs, with an import inside the function, on
    every request; without sniffio installed that import fails each time after searching the
    filesystem (about 60 us, several times per request), so it is a dependency of ours: the
    probe answers from the imported module, without the import system looking for anything."""
    from httpcore._synchronization import current_async_library

    class CountingFinder:
        searched: list[str] = []

        @classmethod
        def find_spec(cls, name, path=None, target=None):
            cls.searched.append(name)
            return None

    sys.meta_path.insert(0, CountingFinder)  # type: ignore[arg-type]
    try:
        assert current_async_library() == "asyncio"
    finally:
        sys.meta_path.remove(CountingFinder)  # type: ignore[arg-type]
    assert CountingFinder.searched == []
