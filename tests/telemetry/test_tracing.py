"""Tracing off costs nothing: not even an import of OpenTelemetry."""

from __future__ import annotations

import subprocess
import sys


def test_tracing_off_loads_nothing_of_opentelemetry():
    """The data plane, the supervisor and everything they import, with tracing off: no
    OpenTelemetry module is loaded (the packages are installed here: they are only not needed)."""
    probe = (
        "import sys, gateway.dataplane.app, gateway.node.supervisor, gateway.cli.main\n"
        "from gateway.config import load_config\n"
        "from gateway.telemetry.tracing import start_tracing\n"
        "assert start_tracing(load_config().tracing) is None\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
