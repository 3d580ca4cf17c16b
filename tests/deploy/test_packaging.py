"""The package as users get it: `python -m build` makes an sdist and a wheel; the wheel, installed
into a fresh venv outside the tree, serves the bundled quickstart and `aigw bench url` loads it
with a load generator compiled from the wheel's own C sources."""

from __future__ import annotations

import json
import re
import subprocess
import tarfile
import zipfile
from pathlib import Path

from openai import OpenAI

from ..e2e.conftest import free_port
from .install import ROOT, Dist, Install, remove, world_readable_dir
from .node import Node

VERSION = re.search(r'__version__ = "([^"]+)"', (ROOT / "gateway/_version.py").read_text())
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello from the wheel"}]}


def test_sdist_carries_sources_and_the_wheel_carries_what_runs(dist: Dist):
    assert VERSION is not None
    version = VERSION.group(1)
    assert dist.sdist.name == f"aigw-{version}.tar.gz"
    with tarfile.open(dist.sdist) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    # Cython sources, never the generated C; the bench harness's C programs; no tests.
    assert {"_native/core.pyx", "_native/admit.pxi", "setup.py", "pyproject.toml"} <= names
    assert {"bench/loadgen/loadgen.c", "bench/ssemock/ssemock.c"} <= names
    assert "_native/core.c" not in names and not any(n.startswith("tests/") for n in names)

    with zipfile.ZipFile(dist.wheel) as wheel:
        files = set(wheel.namelist())
        metadata = wheel.read(f"aigw-{version}.dist-info/METADATA").decode()
    assert any(re.fullmatch(r"gateway/_native\.cpython-.*\.so", f) for f in files)
    assert {"gateway/_native.pyi", "gateway/py.typed", "gateway/config/quickstart.yaml"} <= files
    assert {"bench/loadgen/loadgen.c", "bench/ssemock/ssemock.c"} <= files
    assert f"\nVersion: {version}\n" in metadata  # one version, read from gateway/_version.py


def test_installed_wheel_serves_the_quickstart_and_benches_it(installed: Install):
    work = world_readable_dir("aigw-wheel-run-")
    try:
        env = installed.env(AIGW_HOME=str(work / "home"), XDG_CACHE_HOME=str(work / "cache"))
        assert VERSION is not None

        def run(*argv: str) -> str:
            return subprocess.run(argv, env=env, cwd="/", capture_output=True, text=True, check=True).stdout

        assert run("aigw", "--version").strip() == f"aigw {VERSION.group(1)}"
        where = run("python", "-c", "import bench, gateway._native as n; print(bench.__file__, n.__file__)")
        assert all(Path(p).is_relative_to(installed.prefix) for p in where.split())

        key = run("aigw", "keys", "create", "--app", "demo").strip()
        port, admin_port = free_port(), free_port()
        serve = ["aigw", "serve", "--workers", "1", "--port", str(port), "--admin-port", str(admin_port)]
        node = Node(serve, env)
        try:
            client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0)
            answer = client.chat.completions.create(**CHAT)
            assert answer.choices[0].message.content

            body = work / "chat.json"
            body.write_text(json.dumps(CHAT))
            bench = subprocess.run(
                [
                    "aigw", "bench", "url", f"http://127.0.0.1:{port}/v1/chat/completions",
                    "-H", f"Authorization: Bearer {key}", "-H", "Content-Type: application/json",
                    "--body-file", str(body), "--duration", "1", "--connections", "2",
                    "--no-chart", "--out", str(work / "out"),
                ],
                env=env, cwd=work, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            assert bench.returncode == 0, bench.stdout + bench.stderr
        finally:
            assert node.stop() == 0
        report = json.loads((work / "out" / "url.json").read_text())
        assert report["flagged"] is False, report["flags"]
        summary = report["summary"]
        assert summary["rps"] > 0 and summary["non2xx"] == 0 and summary["socket_errors"] == 0, summary
        # The load generator was compiled from the C source the wheel carries.
        assert list((work / "cache" / "aigw-bench").glob("loadgen-*"))
    finally:
        remove(work)
