"""One switch picks the compiled core or the pure-Python references for the whole process: with
AIGW_PURE_PYTHON=1 no module serves with a compiled part, without it none serves with a reference."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from gateway import native

# Each module's serving implementation, and where it comes from: `_native` or the module itself.
PROBE = """
import json
from gateway import admission
from gateway.calllog import sqlite, usage
from gateway.dataplane import limit_headers
from gateway.keypool import learn
from gateway.metrics import worker
from gateway.upstream import head

log = sqlite.SQLiteCallLog.__init__.__kwdefaults__["native"]
chosen = {
    "AdmissionTable": admission.AdmissionTable.__module__,
    "Decision": admission.Decision.__module__,
    "SharedRegion": admission.SharedRegion.__module__,
    "openai_usage": usage.openai_usage.__module__,
    "limit_headers": limit_headers.limit_headers.__module__,
    "scan_head": head.scan_head.__module__,
    "pick_headers": head.pick_headers.__module__,
    "head_headroom": learn._native_head_headroom.__module__,
    "Series": worker.Series.__module__,
    "CallWriter": "gateway._native" if log else "gateway.calllog.sqlite",
}
print(json.dumps(chosen))
"""


def _chosen(pure_python: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != native.ENV}
    if pure_python:
        env[native.ENV] = "1"
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout))


@pytest.mark.parametrize("pure_python", [False, True], ids=["native", "pure-python"])
def test_every_module_follows_the_one_switch(pure_python: bool) -> None:
    chosen = _chosen(pure_python)
    compiled = {name for name, module in chosen.items() if module == "gateway._native"}
    assert compiled == (set() if pure_python else set(chosen)), chosen
