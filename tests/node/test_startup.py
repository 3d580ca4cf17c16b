"""A node that cannot start says why in one line on stderr, naming the address or file and the
fix; a port already taken (by another program, or by a running aigw) is refused before anything
starts, so the running node keeps serving alone."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.e2e.conftest import MODELS_YAML, Gateway, free_port, worker_of

CONFIG = """
server:
  port: {port}
  admin_port: {admin_port}
  workers: 1
store:
  path: {store}
providers:
  - name: mock
    type: mock
    keys: [{{id: mock-key-1, value: sk-mock-1}}]
model_groups:
  - name: gpt-4o-mini
    deployments: [{{provider: mock}}]
"""


def serve(tmp: Path, port: int, admin_port: int, store: str = "") -> subprocess.CompletedProcess[str]:
    config = tmp / "serve.yaml"
    config.write_text(CONFIG.format(port=port, admin_port=admin_port, store=store or tmp / "aigw.db"))
    return subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line(out: subprocess.CompletedProcess[str]) -> str:
    assert out.stderr.endswith("\n") and out.stderr.count("\n") == 1, out.stderr
    assert out.stdout == ""
    return out.stderr


def test_a_data_port_another_program_holds(tmp_path: Path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        out = serve(tmp_path, port, free_port())
    assert out.returncode == 1
    assert one_line(out) == (
        f"aigw: the data plane cannot listen on 127.0.0.1:{port}: the address is in use (another aigw "
        "node, or another program, listens there); stop it, or choose another port with --port or "
        "server.port\n"
    )
    assert not (tmp_path / "aigw.db").exists()  # refused before anything started


def test_an_admin_port_another_program_holds(tmp_path: Path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        out = serve(tmp_path, free_port(), port)
    assert out.returncode == 1
    line = one_line(out)
    assert line.startswith(
        f"aigw: the admin listener cannot listen on 127.0.0.1:{port}: the address is in use"
    )
    assert line.endswith("choose another port with --admin-port or server.admin_port\n")


def ancestors(pid: int) -> set[int]:
    out = set()
    while pid > 1:
        out.add(pid)
        pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    return out


def test_a_second_node_on_the_data_port_of_a_running_one(tmp_path: Path):
    (tmp_path / "first").mkdir()
    running = Gateway(tmp_path / "first", MODELS_YAML)
    running.keys["demo"] = running.new_key("demo")
    running.start()
    try:
        out = serve(tmp_path, running.port, free_port())
        assert out.returncode == 1
        assert one_line(out).startswith(
            f"aigw: the data plane cannot listen on 127.0.0.1:{running.port}: the address is in use"
        )
        # Every connection is still answered by the running node's own workers.
        assert running.proc is not None
        for _ in range(20):
            answer = httpx.get(
                running.base_url + "/v1/models",
                headers={"Authorization": f"Bearer {running.keys['demo']}", "Connection": "close"},
            )
            assert answer.status_code == 200
            assert running.proc.pid in ancestors(int(worker_of(answer), 16))
    finally:
        assert running.stop() == 0


def test_a_config_file_that_is_not_there(tmp_path: Path):
    out = subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--config", "missing.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert one_line(out) == (
        f"aigw: missing.yaml: cannot read the config file: No such file or directory (working directory "
        f"{tmp_path}); pass its path to --config, or leave --config out to serve the bundled quickstart\n"
    )


def test_a_store_that_cannot_be_created(tmp_path: Path):
    (tmp_path / "a-file").write_text("")
    store = tmp_path / "a-file" / "aigw.db"  # its directory is a file
    out = serve(tmp_path, free_port(), free_port(), str(store))
    assert out.returncode == 1
    line = one_line(out)
    assert line.startswith(f"aigw: cannot open the store at {store}: ")
    assert line.endswith(
        "make its directory writable by this user, or point store.path (or AIGW_HOME) elsewhere\n"
    )
