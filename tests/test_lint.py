"""The linters, the type checker and the layers contract are part of the suite, so CI keeps the
code clean and the layers of docs/architecture.md true."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_finds_nothing():
    result = run("ruff", "check", "gateway", "tests", "bench", "fuzz")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_would_change_nothing():
    # `make lint` checks formatting too; without this, drift only showed when someone ran it.
    result = run("ruff", "format", "--check", "gateway", "tests", "bench", "fuzz")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing_including_the_native_stubs():
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_import_points_back_up_a_layer():
    # The contract is [tool.importlinter] in pyproject.toml; --no-cache writes nothing here.
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# Test folders that are not a package of gateway/: the product through real processes (e2e), the
# compiled core against its references (native), the bench harness, deploy/, the provider
# mocks tests use (mocks, with their own tests), and the fuzz targets (fuzz/).
NOT_PACKAGES = {"e2e", "native", "bench", "deploy", "mocks", "fuzz"}


def test_test_folders_mirror_the_package():
    packages = {p.name for p in (ROOT / "gateway").iterdir() if (p / "__init__.py").exists()}
    folders = {p.name for p in (ROOT / "tests").iterdir() if (p / "__init__.py").exists()}
    strays = folders - packages - NOT_PACKAGES
    assert not strays, f"test folders with no package of that name: {sorted(strays)}"
