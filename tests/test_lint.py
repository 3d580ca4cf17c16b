"""The linters and the type checker are part of the suite, so CI keeps the code clean."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_finds_nothing():
    result = run("ruff", "check", "gateway", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_would_change_nothing():
    # `make lint` checks formatting too; without this, drift only showed when someone ran it.
    result = run("ruff", "format", "--check", "gateway", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing_including_the_native_stubs():
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
