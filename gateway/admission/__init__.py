"""Admission: route, authenticate, authorize and pick an upstream target in one call.

`AdmissionTable` is the compiled core; `AIGW_PURE_PYTHON=1` selects the reference implementation
(for debugging, and for comparing the two).
"""

from __future__ import annotations

import os

from .rejections import Rejection
from .spec import ROUTE_CHAT, ROUTE_EMBEDDINGS, ROUTE_MODELS, AdmissionSpec, ConsumerSpec, GroupSpec

if os.environ.get("AIGW_PURE_PYTHON") == "1":
    from .reference import AdmissionTable, Decision
else:
    from .._native import AdmissionTable, Decision  # type: ignore[assignment]

__all__ = [
    "ROUTE_CHAT",
    "ROUTE_EMBEDDINGS",
    "ROUTE_MODELS",
    "AdmissionSpec",
    "AdmissionTable",
    "ConsumerSpec",
    "Decision",
    "GroupSpec",
    "Rejection",
]
