"""The console's files, shipped in the package and served from memory by the admin listener.

They are read and gzipped once, when the listener starts; an answer is a dict lookup. They hold
no data (the app fetches everything from the admin API with the signed-in token), so they are
served without a token, with a Content-Security-Policy that lets the page load nothing but its
own files and talk to nothing but its own origin.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from importlib import resources

from aiohttp import web

PREFIX = "/console/"
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
_HEADERS = {
    # Scripts and styles from our own files only: data the page shows can never run as code.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidated on each load (a 304 when unchanged): an upgraded node serves its new console.
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True)
class Asset:
    content_type: str
    body: bytes
    gzipped: bytes
    etag: str


def load_assets() -> dict[str, Asset]:
    """Every file under static/, by its path below /console/ ("" is index.html)."""
    root = resources.files(__package__) / "static"
    assets: dict[str, Asset] = {}

    def walk(folder: resources.abc.Traversable, prefix: str) -> None:
        for entry in folder.iterdir():
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
                continue
            suffix = entry.name[entry.name.rfind(".") :]
            if suffix not in _TYPES:
                continue
            body = entry.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
            assets[prefix + entry.name] = Asset(_TYPES[suffix], body, gzip.compress(body, 9, mtime=0), etag)

    walk(root, "")
    assets[""] = assets["index.html"]
    return assets


class Console:
    def __init__(self) -> None:
        self.assets = load_assets()

    def mount(self, app: web.Application) -> None:
        app.router.add_get("/console", self.redirect)
        app.router.add_get(PREFIX + "{path:.*}", self.serve)

    async def redirect(self, request: web.Request) -> web.Response:
        return web.Response(status=308, headers={"Location": PREFIX})

    async def serve(self, request: web.Request) -> web.Response:
        asset = self.assets.get(request.match_info["path"])
        if asset is None:
            raise web.HTTPNotFound(reason=f"no console file {request.path!r}")
        headers = {**_HEADERS, "ETag": asset.etag, "Vary": "Accept-Encoding"}
        if request.headers.get("If-None-Match") == asset.etag:
            return web.Response(status=304, headers=headers)
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return _response(asset.gzipped, asset.content_type, headers)
        return _response(asset.body, asset.content_type, headers)


def _response(body: bytes, content_type: str, headers: dict[str, str]) -> web.Response:
    return web.Response(body=body, headers={**headers, "Content-Type": content_type})
