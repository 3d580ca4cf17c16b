"""The harness's C programs (bench/loadgen, bench/ssemock): compiled on demand into a cache
directory, under a name that carries the source's hash, so an edit rebuilds and nothing else does."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from .console import log
from .install import ensure_command


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "aigw-bench"


def binary(source: Path, why: str) -> Path:
    """The compiled `source` (one C file), built with gcc -O2 -Wall if it is not cached yet."""
    code = source.read_bytes()
    target = cache_dir() / f"{source.stem}-{hashlib.sha256(code).hexdigest()[:16]}"
    if target.exists():
        return target
    gcc = ensure_command("gcc", "gcc", why)
    target.parent.mkdir(parents=True, exist_ok=True)
    log(f"compiling {source.name} into {target}")
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    subprocess.run([gcc, "-O2", "-Wall", "-o", str(partial), str(source)], check=True)
    partial.replace(target)  # atomic: a concurrent run never sees half a binary
    return target
