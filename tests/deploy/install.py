"""aigw built and installed as a user gets it: `python -m build` on the checkout (sdist, then the
wheel from the sdist), the wheel installed into a fresh venv outside the tree. Nothing from the
checkout is on the installed program's path."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Dist:
    sdist: Path
    wheel: Path


@dataclass(frozen=True)
class Install:
    """A venv holding the built wheel, root-owned and world-readable: an unprivileged user can run
    it but write nothing in it."""

    prefix: Path

    @property
    def bin(self) -> Path:
        return self.prefix / "bin"

    def env(self, **extra: str) -> dict[str, str]:
        """An environment that finds only the installed package (no PYTHONPATH, no checkout)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "AIGW_"))}
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
        return {**env, **extra}


def world_readable_dir(prefix: str) -> Path:
    """A new directory outside the tree that other users may enter (pytest's tmp_path may not)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def build(out: Path) -> Dist:
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=900,
    )
    (sdist,) = out.glob("aigw-*.tar.gz")
    (wheel,) = out.glob("aigw-*.whl")
    return Dist(sdist, wheel)


# The venv's interpreter: Debian's Python (python3-venv, installed by make test), which every user
# may run, as the image's own Python is; this test run's may sit under a private home directory.
SYSTEM_PYTHON = "/usr/bin/python3"


def install(wheel: Path, prefix: Path) -> Install:
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", str(prefix)], check=True, timeout=300)
    subprocess.run(
        [str(prefix / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(wheel)],
        check=True,
        capture_output=True,
        cwd="/",
        timeout=900,
    )
    return Install(prefix)


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
