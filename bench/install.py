"""Install what the harness needs, saying what and why: apt-get for system tools, pip (into the
running interpreter's environment) for Python packages."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys

from .console import log

# Debian installs daemons under /usr/sbin, which is not on every user's PATH.
_EXTRA_PATHS = ("/usr/sbin", "/sbin", "/usr/local/sbin")
_apt_updated = False


class SetupError(RuntimeError):
    """Something the harness needs is missing and cannot be installed from here."""


def find_command(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for directory in _EXTRA_PATHS:
        candidate = os.path.join(directory, name)
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def ensure_command(name: str, apt_package: str, why: str) -> str:
    """Path of `name`, installing `apt_package` with apt-get first if it is missing."""
    found = find_command(name)
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SetupError(f"{name} is needed ({why}); install it, e.g. `sudo apt-get install {apt_package}`")
    log(f"installing {apt_package} with apt-get ({why})")
    global _apt_updated
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if not _apt_updated:
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
        _apt_updated = True
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", apt_package],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    found = find_command(name)
    if not found:
        raise SetupError(f"installed {apt_package} but still cannot find {name}")
    return found


def ensure_python_package(module: str, pip_name: str, why: str) -> None:
    """Import-check `module`; pip-install `pip_name` into this interpreter's environment if absent."""
    if importlib.util.find_spec(module) is not None:
        return
    log(f"installing {pip_name} with pip into {sys.prefix} ({why})")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", pip_name], check=True
    )
    importlib.invalidate_caches()
