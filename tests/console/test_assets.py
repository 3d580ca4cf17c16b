"""The console's files as the admin listener serves them: every file shipped in the package,
gzipped when asked, revalidated by ETag, under a policy that runs only the console's own code."""

from __future__ import annotations

import fnmatch
import gzip
import tomllib
from pathlib import Path

import httpx

from gateway.console.assets import load_assets

from .conftest import ConsoleGateway

STATIC = Path(__file__).parents[2] / "gateway" / "console" / "static"


def test_every_console_file_is_package_data() -> None:
    # A file the globs miss would be absent from a wheel: the console would break when installed.
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["gateway"]
    files = [str(p.relative_to(STATIC.parents[1])) for p in STATIC.rglob("*") if p.is_file()]
    assert files
    missed = [
        f for f in files if not any(fnmatch.fnmatch(f, g) and f.count("/") == g.count("/") for g in globs)
    ]
    assert missed == []
    assert sorted(k for k in load_assets() if k) == sorted(
        str(p.relative_to(STATIC)) for p in STATIC.rglob("*.*")
    )


def test_the_listener_serves_the_console_compressed_and_cacheable(console_gateway: ConsoleGateway) -> None:
    with httpx.Client(base_url=console_gateway.admin_url) as client:
        moved = client.get("/console", follow_redirects=False)
        assert moved.status_code == 308 and moved.headers["location"] == "/console/"
        page = client.get("/console/", headers={"Accept-Encoding": "gzip"})
        assert page.status_code == 200 and page.headers["content-encoding"] == "gzip"
        assert page.headers["content-type"].startswith("text/html")
        assert '<script type="module" src="js/app.js">' in page.text
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "unsafe" not in csp
        assert page.headers["x-content-type-options"] == "nosniff"

        script = client.get("/console/js/app.js", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in script.headers
        assert script.headers["content-type"].startswith("text/javascript")
        assert script.content == (STATIC / "js" / "app.js").read_bytes()
        again = client.get("/console/js/app.js", headers={"If-None-Match": script.headers["etag"]})
        assert again.status_code == 304 and again.content == b""

        missing = client.get("/console/js/nothing.js")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        # The console's files hold no data; the data behind them still needs a token.
        assert client.get("/admin/whoami").status_code == 401


def test_the_first_load_is_small() -> None:
    # What a first visit fetches before it shows data: the page, its style, the shell and the
    # overview (the page weight, measured with a browser, is in bench/console.py).
    first = [
        "index.html",
        "console.css",
        "js/app.js",
        "js/api.js",
        "js/dom.js",
        "js/chart.js",
        "js/views/overview.js",
    ]
    compressed = sum(len(gzip.compress((STATIC / f).read_bytes())) for f in first)
    assert compressed < 200 * 1024
