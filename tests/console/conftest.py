"""The console in a real browser: Debian's headless Chromium driven by Playwright (its driver
only: no browser is downloaded), against a real `aigw serve` whose provider is a mock of our own,
so a test can revoke one of its keys. Screenshots go to a directory printed at the end of the
run; with AIGW_CONSOLE_DOCS=1 they are also written to docs/console/ for docs/console.md (through
pngquant, when installed, to keep them small)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from bench.web_console import CHROMIUM, CHROMIUM_ARGS

from ..e2e.conftest import ADMIN_TOKEN, Admin, Gateway, member_token, start_upstream_mock, stop_upstream_mock

DOCS_SHOTS = Path(__file__).parents[2] / "docs" / "console"
# A loaded 2-core machine may take a while to answer; conditions are still what is waited on.
expect.set_options(timeout=30_000)

# The upstream mock's keys; `flaky` has one key the mock does not know (refused: 401).
CONSOLE_YAML = """
  - name: upstream
    type: openai
    base_url: {upstream}/v1
    keys:
      - {{id: key-a, value: sk-key-a}}
      - {{id: key-b, value: sk-key-b}}
  - name: flaky
    type: openai
    base_url: {upstream}/v1
    keys:
      - {{id: refused, value: sk-nobody-knows}}
      - {{id: good, value: sk-good}}
calllog:
  capture: {{enabled: true}}
model_groups:
  - name: gpt-4o-mini
    deployments: [{{provider: upstream}}]
  - name: flaky-chat
    deployments: [{{provider: flaky, model: gpt-4o-mini}}]
tenants:
  - name: acme
    apps: [{{name: tools}}]
  - name: beta
    apps: [{{name: web, models: []}}]
"""


class Shots:
    """Where screenshots go: the run's artifacts, and docs/console/ when asked."""

    def __init__(self, default_dir: Path) -> None:
        # pytest's own temporary directory by default: it keeps the last three runs' shots only.
        self.dir = Path(os.environ.get("AIGW_CONSOLE_SHOTS") or default_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.to_docs = os.environ.get("AIGW_CONSOLE_DOCS") == "1"

    def take(self, page: Page, name: str) -> Path:
        path = self.dir / f"{name}.png"
        page.screenshot(path=str(path), animations="disabled", caret="hide")
        if self.to_docs:
            DOCS_SHOTS.mkdir(exist_ok=True)
            if shutil.which("pngquant"):  # the same picture in a 256-colour palette: a third the size
                command = [
                    "pngquant",
                    "--quality",
                    "70-95",
                    "--force",
                    "--output",
                    DOCS_SHOTS / path.name,
                    path,
                ]
                subprocess.run(command, check=True)
            else:
                shutil.copyfile(path, DOCS_SHOTS / path.name)
        return path


_shots: list[Shots] = []


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Shots:
    taken = Shots(tmp_path_factory.mktemp("console-shots"))
    _shots.append(taken)
    return taken


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for taken in _shots:
        terminalreporter.write_line(f"console screenshots: {taken.dir}")


# Per module: Playwright's sync API keeps an event loop running in this thread while it is open,
# and the tests that follow call asyncio.run() there.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        # launch() gives each run a fresh profile (its own --user-data-dir, removed at close).
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class ConsoleGateway(Gateway):
    upstream: str
    operator: Admin


@pytest.fixture(scope="module")
def console_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleGateway]:
    mock, upstream = start_upstream_mock(
        "--key", "key-a=sk-key-a", "--key", "key-b=sk-key-b", "--key", "good=sk-good"
    )
    gw = ConsoleGateway(tmp_path_factory.mktemp("console"), CONSOLE_YAML.format(upstream=upstream))
    gw.upstream = upstream
    gw.start()
    gw.operator = Admin(gw.admin_url, ADMIN_TOKEN)
    try:
        yield gw
    finally:
        assert gw.stop() == 0
        stop_upstream_mock(mock)


class Console:
    """One signed-in browser tab (its own context: its own sessionStorage)."""

    def __init__(self, browser: Browser, gw: Gateway):
        self.context = browser.new_context(viewport={"width": 1280, "height": 860})
        self.page = self.context.new_page()
        self.url = gw.admin_url + "/console/"
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def sign_in(self, token: str) -> Console:
        self.page.goto(self.url)
        self.page.get_by_label("Admin token").fill(token)
        self.page.get_by_role("button", name="Sign in").click()
        self.shown("overview")
        return self

    def open(self, view: str, *params: str) -> Page:
        self.page.evaluate("hash => { location.hash = hash }", "#/" + "/".join((view, *params)))
        return self.shown(view)

    def shown(self, view: str) -> Page:
        """Until `view` has rendered with its data (the shell marks main when it has)."""
        main = self.page.locator("main")
        expect(main).to_have_attribute("data-view", view)
        expect(main).to_have_attribute("aria-busy", "false")
        return self.page

    def close(self) -> None:
        assert self.errors == [], self.errors
        self.context.close()


@pytest.fixture
def console(browser: Browser, console_gateway: ConsoleGateway) -> Iterator[Any]:
    """Opens signed-in tabs: console(token) → Console."""
    opened: list[Console] = []

    def open_tab(token: str | None = None) -> Console:
        tab = Console(browser, console_gateway)
        opened.append(tab)
        return tab.sign_in(token) if token else tab

    yield open_tab
    for tab in opened:
        tab.close()


@pytest.fixture(scope="module")
def tokens(console_gateway: ConsoleGateway) -> dict[str, str]:
    """Tokens of acme's owner and viewer and beta's owner."""
    op = console_gateway.operator
    return {
        "alice": member_token(op, "acme", "alice", "owner").token,
        "victor": member_token(op, "acme", "victor", "viewer").token,
        "bob": member_token(op, "beta", "bob", "owner").token,
    }
