"""The web console's page weight and time to interactive, measured in headless Chromium against a
local gateway.

    .venv/bin/python -m bench.web_console [--repeats 7]

Method: `aigw serve` starts on free ports with the bundled mock provider, two tenants, a
service, budgets and limits, and 200 calls in its log (made before the browser opens). A new
browser context (cold cache) signs in with the operator token; the first load's weight is what
went over the wire until the overview showed its data: the console's files (gzipped, as served)
and, apart, the admin API's answers. Time to interactive of a page is from the navigation (a new
`#/view` address) until the view has rendered with its data and its controls are live (the shell
sets `aria-busy="false"` on <main> then), timed inside the page with performance.now(); the first
load's from the navigation's start. Each page is visited `--repeats` times in turn; the median
and the worst are reported. Not collected by pytest: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx

from gateway._version import __version__

from .machine import cpu_model, memory_gib
from .procs import free_port

CHROMIUM = "/usr/bin/chromium"  # Debian's package (the console's browser tests use the same)
# Flags that work as root in a container with no GPU, no network and no desktop session.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN = "bench-console-token"
VIEWS = ["overview", "keys", "logs", "team", "apps", "services", "catalog", "budgets"]
# Resolves with the ms from a new #/view address to the view rendered with its data.
NAVIGATE = """view => new Promise(resolve => {
  const main = document.getElementById("main");
  const start = performance.now();
  const done = () => main.dataset.view === view && main.getAttribute("aria-busy") === "false";
  const watch = new MutationObserver(() => {
    if (done()) { watch.disconnect(); resolve(performance.now() - start); }
  });
  watch.observe(main, { attributes: true });
  location.hash = "#/" + view;
})"""
# Notes when the first view is ready, relative to the navigation's start.
READY_MARK = """new MutationObserver((_, watch) => {
  const main = document.getElementById("main");
  if (main && main.dataset.view === "overview" && main.getAttribute("aria-busy") === "false") {
    window.aigwReadyAt = performance.now(); watch.disconnect();
  }
}).observe(document, { attributes: true, subtree: true });"""


def start_gateway(home: Path) -> tuple[subprocess.Popen[str], str, str]:
    port, admin = free_port(), free_port()
    config = home / "aigw.yaml"
    config.write_text(
        textwrap.dedent(
            f"""
            server: {{port: {port}, admin_port: {admin}, workers: 2}}
            store: {{path: {home / "aigw.db"}}}
            providers:
              - name: mock
                type: mock
                keys: [{{id: key-1, value: sk-1}}, {{id: key-2, value: sk-2}}, {{id: key-3, value: sk-3}}]
            model_groups:
              - name: gpt-4o-mini
                deployments: [{{provider: mock}}]
            tenants:
              - name: acme
                apps: [{{name: tools}}]
              - name: beta
                apps: [{{name: web, models: []}}]
            """
        )
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--config", str(config)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "AIGW_ADMIN_TOKEN": TOKEN},
    )
    assert proc.stdout is not None
    banner = proc.stdout.readline()
    if "serving the OpenAI API" not in banner:
        raise SystemExit(f"aigw did not start: {banner!r}")
    return proc, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{admin}"


def seed(base: str, admin: str, calls: int) -> None:
    with httpx.Client(base_url=admin, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as api:
        for method, path, body in [
            ("PUT", "/admin/tenants/acme/members/alice", {"role": "owner"}),
            ("POST", "/admin/services", {"tenant": "acme", "name": "assist", "approval": True}),
            ("POST", "/admin/services/assist/versions", {"kind": "model", "model_group": "gpt-4o-mini"}),
            ("POST", "/admin/services/assist/versions/1/publish", None),
            ("POST", "/admin/subscriptions", {"service": "assist", "app": "web", "tenant": "beta"}),
            ("PUT", "/admin/budgets/tenant/acme", [{"kind": "requests", "amount": 10000, "period": "day"}]),
            ("PUT", "/admin/limits/app/acme%2Ftools", [{"kind": "requests", "amount": 600, "period_s": 60}]),
        ]:
            api.request(method, path, json=body).raise_for_status()
        key = api.post("/admin/keys", json={"app": "tools", "tenant": "acme"}).json()["key"]
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        deadline = time.monotonic() + 30
        while client.post("/v1/chat/completions", json=body).status_code == 401:  # the key's reload
            if time.monotonic() > deadline:
                raise SystemExit("the new consumer key was never admitted")
        for _ in range(calls):
            client.post("/v1/chat/completions", json=body)


def measure(admin: str, repeats: int) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        page = context.new_page()
        weights: dict[str, int] = {"files": 0, "api": 0}
        counts: dict[str, int] = {"files": 0, "api": 0}

        def finished(request) -> None:  # type: ignore[no-untyped-def]
            sizes = request.sizes()
            kind = "files" if "/console/" in request.url else "api"
            weights[kind] += sizes["responseBodySize"] + sizes["responseHeadersSize"]
            counts[kind] += 1

        page.on("requestfinished", finished)
        page.goto(admin + "/console/")
        page.fill("#token", TOKEN)
        page.click("button[type=submit]")
        page.wait_for_selector('main[data-view="overview"][aria-busy="false"]')
        first_load = dict(weights)
        first_counts = dict(counts)
        page.remove_listener("requestfinished", finished)

        # A fresh load with the token already in the tab: navigation start → overview interactive.
        page.add_init_script(READY_MARK)
        loads = []
        for _ in range(repeats):
            page.reload()
            page.wait_for_function("() => window.aigwReadyAt !== undefined")
            loads.append(page.evaluate("window.aigwReadyAt"))

        per_view: dict[str, list[float]] = {v: [] for v in VIEWS}
        for _ in range(repeats):
            for view in VIEWS:
                per_view[view].append(page.evaluate(NAVIGATE, view))
        browser.close()
    return {"first_load": first_load, "first_counts": first_counts, "loads": loads, "views": per_view}


def report(result: dict[str, object], repeats: int) -> str:
    weight = result["first_load"]
    counts = result["first_counts"]
    assert isinstance(weight, dict) and isinstance(counts, dict)
    lines = [
        f"# Console: page weight and time to interactive ({time.strftime('%Y-%m-%d')})",
        "",
        f"aigw {__version__}, {cpu_model()}, {os.cpu_count()} cores, {memory_gib():.0f} GiB, "
        f"{platform.platform()}; Chromium {chromium_version()}; median and worst of {repeats}.",
        "",
        f"First load, until the overview shows its data: {weight['files'] / 1024:.1f} KB of console "
        f"files in {counts['files']} requests (gzipped), plus {weight['api'] / 1024:.1f} KB of admin "
        f"API answers in {counts['api']} requests.",
        "",
        "| page | time to interactive, median | worst |",
        "|---|---:|---:|",
    ]
    loads = result["loads"]
    assert isinstance(loads, list)
    first = f"{statistics.median(loads):.0f} ms | {max(loads):.0f} ms"
    lines.append(f"| first load (signed in, reload) | {first} |")
    views = result["views"]
    assert isinstance(views, dict)
    for view, samples in views.items():
        lines.append(f"| {view} | {statistics.median(samples):.0f} ms | {max(samples):.0f} ms |")
    return "\n".join(lines)


def chromium_version() -> str:
    out = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.split()
    return out[1] if len(out) > 1 else "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.web_console", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--calls", type=int, default=200, help="calls in the log before measuring")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aigw-console-bench-") as home:
        proc, base, admin = start_gateway(Path(home))
        try:
            seed(base, admin, args.calls)
            print(report(measure(admin, args.repeats), args.repeats))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
