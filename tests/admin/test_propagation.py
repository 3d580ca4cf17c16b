"""A change the data plane serves is answered once every live worker serves it: the admin
listener waits on the generations the workers publish in the node's region, and says in the answer
which generation holds the change and whether every worker served it by then."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from gateway.admin.app import AdminAPI
from gateway.admin.propagation import Propagation
from gateway.admin.routes import APPLIED_HEADER, GENERATION_HEADER
from gateway.admission import SharedRegion
from gateway.store import SQLiteStore

# The shortest bound settle_timeout_s gives (one second): how long a lagging worker is waited for.
INTERVAL_S = 0.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "aigw.db")
    yield s
    s.close()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[tuple[SharedRegion, list[SharedRegion]]]:
    """The node's region and two workers' views of it, each row owned by a live process."""
    path = str(tmp_path / "region")
    region = SharedRegion.create(path, 8, 64, 64)
    procs = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"]) for _ in range(2)]
    views = [SharedRegion.attach(path) for _ in procs]
    for view, proc in zip(views, procs, strict=True):
        view.claim_worker(proc.pid)
    yield region, views
    for proc in procs:
        proc.kill()
        proc.wait()
    for r in (region, *views):
        r.close()


def test_a_change_every_worker_serves_is_answered_as_applied(store, workers):
    region, views = workers
    store.ensure_tenant("acme")
    for view in views:
        view.set_loaded_generation(store.generation())
    response = web.Response()
    asyncio.run(Propagation(store, region, INTERVAL_S).settle(response))
    assert response.headers[GENERATION_HEADER] == str(store.generation())
    assert response.headers[APPLIED_HEADER] == "true"


def test_the_answer_waits_for_the_last_worker_to_load_the_change(store, workers):
    region, views = workers
    store.ensure_tenant("acme")
    generation = store.generation()
    views[0].set_loaded_generation(generation)
    views[1].set_loaded_generation(generation - 1)
    propagation = Propagation(store, region, INTERVAL_S)

    async def reload_later() -> bool:
        waiting = asyncio.ensure_future(propagation.served(generation))
        for _ in range(3):  # the listener looks, and keeps waiting, while one worker lags
            await asyncio.sleep(0)
            assert not waiting.done()
        views[1].set_loaded_generation(generation)  # the last worker's reload
        return await waiting

    assert asyncio.run(reload_later()) is True


def test_a_worker_that_never_loads_the_change_makes_the_answer_say_so(store, workers):
    region, views = workers
    store.ensure_tenant("acme")
    views[0].set_loaded_generation(store.generation())
    views[1].set_loaded_generation(store.generation() - 1)  # its reloads fail
    response = web.Response()
    asyncio.run(Propagation(store, region, INTERVAL_S).settle(response))
    assert response.headers[APPLIED_HEADER] == "false"
    assert response.headers[GENERATION_HEADER] == str(store.generation())


def test_without_workers_there_is_nothing_to_wait_for(store, tmp_path):
    region = SharedRegion.create(str(tmp_path / "region"), 8, 64, 64)
    store.ensure_tenant("acme")
    assert asyncio.run(Propagation(store, region, INTERVAL_S).served(store.generation())) is True
    region.close()


# Writes only the admin API reads (the data plane never sees tenants, members or admin tokens),
# and the provider-key actions that change the shared region itself (every worker sees them at
# once). Every other write is a change the data plane serves.
ADMIN_ONLY = {
    ("post", "/admin/tenants"),
    ("put", "/admin/tenants/{tenant}/members/{user}"),
    ("delete", "/admin/tenants/{tenant}/members/{user}"),
    ("post", "/admin/tokens"),
    ("post", "/admin/tokens/{token_id}/revoke"),
    ("post", "/admin/upstream-keys/{provider}/{key_id}/{action}"),
}


class NoKeys:
    def states(self) -> list[object]:
        return []

    def pool_headroom(self) -> dict[str, float]:
        return {}


def test_every_write_the_data_plane_serves_is_answered_once_the_workers_serve_it(store):
    api = AdminAPI(store, "t", "http://127.0.0.1:9", lambda: frozenset({"g"}), NoKeys())  # type: ignore[arg-type]
    doc = json.loads(api.openapi)
    writes = {(m, path): op for path, ops in doc["paths"].items() for m, op in ops.items() if m != "get"}
    assert writes.keys() >= ADMIN_ONLY
    for (method, path), op in writes.items():
        [answer] = [r for s, r in op["responses"].items() if s.startswith("2")]
        documented = set(answer.get("headers", ()))
        want = set() if (method, path) in ADMIN_ONLY else {GENERATION_HEADER, APPLIED_HEADER}
        assert documented == want, (method, path)
    assert "once every worker" in doc["info"]["description"]
