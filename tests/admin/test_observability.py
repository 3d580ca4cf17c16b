"""The call log and analytics over the admin API (aiohttp test server, real SQLite)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.admin.app import AdminAPI
from tests.calllog.helpers import record

TOKEN = "t0ken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class NoKeys:
    def states(self) -> list[Any]:
        return []

    def pool_headroom(self) -> dict[str, float]:
        return {}


@pytest.fixture
def admin(store, call_log, monkeypatch):
    monkeypatch.delenv("AIGW_METRICS_DIR", raising=False)
    now = time.time()
    recs = [
        record(request_id=f"req_{i}", ts=now - 1800 + i, status=500 if i % 5 == 0 else 200) for i in range(25)
    ]
    recs += [record(request_id="req_g", ts=now - 10, tenant="globex", model="gpt-4o", cost=2.0)]
    call_log.insert(recs)
    return AdminAPI(store, TOKEN, "http://127.0.0.1:9", frozenset, NoKeys())  # type: ignore[arg-type]


def with_client(api: AdminAPI, body: Callable[[TestClient], Awaitable[None]]) -> None:
    async def main() -> None:
        async with TestClient(TestServer(api.application())) as client:
            await body(client)

    asyncio.run(main())


def test_the_new_endpoints_are_in_the_openapi_document(admin):
    doc = json.loads(admin.openapi)
    for path in ("/admin/calls", "/admin/calls/export", "/admin/stats/summary", "/admin/stats/series"):
        assert path in doc["paths"]
        assert doc["paths"][path]["get"]["security"] == [{"bearer": []}]
    schemas = set(doc["components"]["schemas"])
    assert {"CallRecord", "CallPage", "Summary", "Series", "Top", "Percentiles"} <= schemas


def test_calls_need_the_token_and_page_with_cursors(admin):
    async def body(client: TestClient) -> None:
        assert (await client.get("/admin/calls")).status == 401
        seen: list[str] = []
        cursor = None
        while True:
            params = {"tenant": "acme", "limit": "10", **({"cursor": cursor} if cursor else {})}
            resp = await client.get("/admin/calls", params=params, headers=AUTH)
            assert resp.status == 200
            page = await resp.json()
            seen += [c["request_id"] for c in page["calls"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [f"req_{i}" for i in range(24, -1, -1)]

    with_client(admin, body)


def test_calls_as_csv_and_the_full_export(admin):
    async def body(client: TestClient) -> None:
        resp = await client.get("/admin/calls", params={"format": "csv", "limit": "3"}, headers=AUTH)
        assert resp.headers["content-type"].startswith("text/csv")
        assert resp.headers["x-next-cursor"]
        assert len(list(csv.DictReader(io.StringIO(await resp.text())))) == 3
        resp = await client.get("/admin/calls/export", params={"status": "5xx"}, headers=AUTH)
        rows = list(csv.DictReader(io.StringIO(await resp.text())))
        assert {r["request_id"] for r in rows} == {f"req_{i}" for i in range(0, 25, 5)}
        resp = await client.get("/admin/calls/export", params={"format": "ndjson"}, headers=AUTH)
        lines = [json.loads(x) for x in (await resp.text()).splitlines()]
        assert len(lines) == 26 and lines[0]["request_id"] == "req_g"

    with_client(admin, body)


def test_stats_endpoints(admin):
    async def body(client: TestClient) -> None:
        resp = await client.get("/admin/stats/summary", params={"group_by": "tenant"}, headers=AUTH)
        s = await resp.json()
        assert s["totals"]["calls"] == 26 and s["totals"]["errors"] == 5
        assert {g["group"]["tenant"]: g["calls"] for g in s["groups"]} == {"acme": 25, "globex": 1}
        resp = await client.get(
            "/admin/stats/top", params={"by": "model", "metric": "cost", "n": "1"}, headers=AUTH
        )
        assert [r["group"]["model"] for r in (await resp.json())["rows"]] == ["gpt-4o"]
        resp = await client.get(
            "/admin/stats/series", params={"since": "2h", "grain": "minute"}, headers=AUTH
        )
        series = await resp.json()
        assert sum(p["calls"] for p in series["lines"][0]["points"]) == 26
        resp = await client.get(
            "/admin/stats/percentiles", params={"q": "0.5,0.99", "group_by": "model"}, headers=AUTH
        )
        rows = await resp.json()
        assert {r["group"]["model"] for r in rows} == {"gpt-4o", "gpt-4o-mini"}
        assert set(rows[0]["quantiles"]) == {"p50", "p99"}
        resp = await client.get("/admin/stats/summary", params={"format": "csv"}, headers=AUTH)
        assert next(csv.DictReader(io.StringIO(await resp.text())))["calls"] == "26"

    with_client(admin, body)


def test_calls_found_by_free_text_in_a_listing_and_an_export(admin):
    async def body(client: TestClient) -> None:
        resp = await client.get("/admin/calls", params={"q": "  GPT-4O  globex "}, headers=AUTH)
        assert resp.status == 200
        assert [c["request_id"] for c in (await resp.json())["calls"]] == ["req_g"]
        resp = await client.get("/admin/calls", params={"q": "req_1", "status": "5xx"}, headers=AUTH)
        assert {c["request_id"] for c in (await resp.json())["calls"]} == {"req_10", "req_15"}
        params = {"q": "req_2", "format": "ndjson"}
        resp = await client.get("/admin/calls/export", params=params, headers=AUTH)
        found = {json.loads(line)["request_id"] for line in (await resp.text()).splitlines()}
        assert found == {"req_2", *(f"req_{i}" for i in range(20, 25))}
        # q is the search here; the exact request_id filter stays exact.
        resp = await client.get("/admin/calls", params={"request_id": "req_1"}, headers=AUTH)
        assert [c["request_id"] for c in (await resp.json())["calls"]] == ["req_1"]

    with_client(admin, body)


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("/admin/calls", {"since": "whenever"}, "invalid time"),
        ("/admin/calls", {"limit": "100000"}, "limit"),
        ("/admin/calls", {"cursor": "x"}, "invalid cursor"),
        ("/admin/stats/summary", {"group_by": "secret"}, "cannot group by"),
        ("/admin/stats/top", {}, "at least one dimension"),
        ("/admin/stats/percentiles", {"q": "2"}, "quantile"),
        ("/admin/calls/export", {"format": "xml"}, "format"),
        ("/admin/calls", {"q": "x" * 201}, "at most 200 characters"),
        ("/admin/calls", {"q": "a b c d e f g h i"}, "at most 8 words"),
    ],
)
def test_bad_parameters_are_a_400_that_says_what_to_do(admin, path, params, message):
    async def body(client: TestClient) -> None:
        resp = await client.get(path, params=params, headers=AUTH)
        assert resp.status == 400
        assert message in (await resp.json())["error"]["message"]

    with_client(admin, body)


def test_metrics_need_no_token(admin):
    async def body(client: TestClient) -> None:
        resp = await client.get("/metrics")
        assert resp.status == 200
        assert resp.headers["content-type"].startswith("text/plain")
        assert "aigw_build_info" in await resp.text()

    with_client(admin, body)
