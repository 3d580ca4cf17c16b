"""Admission: route, authenticate, authorize, charge limits and pick an upstream key in one call.

`AdmissionTable`/`SharedRegion` are the compiled core; `AIGW_PURE_PYTHON=1` selects the
reference implementation (for debugging, and for comparing the two).
"""

from __future__ import annotations

import os

from .rejections import Rejection
from .spec import (
    ROUTE_CHAT,
    ROUTE_EMBEDDINGS,
    ROUTE_MESSAGES,
    ROUTE_MODELS,
    ROUTE_PROMPT,
    AdmissionSpec,
    BudgetSpec,
    ConsumerSpec,
    GroupSpec,
    LimitSpec,
)

if os.environ.get("AIGW_PURE_PYTHON") == "1":
    from .reference import AdmissionTable, Decision
    from .reference_region import ReferenceRegion as SharedRegion
else:
    from .._native import AdmissionTable, Decision, SharedRegion  # type: ignore[assignment]

__all__ = [
    "ROUTE_CHAT",
    "ROUTE_EMBEDDINGS",
    "ROUTE_MESSAGES",
    "ROUTE_MODELS",
    "ROUTE_PROMPT",
    "AdmissionSpec",
    "AdmissionTable",
    "BudgetSpec",
    "ConsumerSpec",
    "Decision",
    "GroupSpec",
    "LimitSpec",
    "Rejection",
    "SharedRegion",
]
