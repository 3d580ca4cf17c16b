"""Admission: route, authenticate, authorize, charge limits and pick an upstream key in one call.

`AdmissionTable`/`SharedRegion` are the compiled core, or the reference implementation when
`gateway.native` says the process runs without it (for debugging, and for comparing the two).
"""

from __future__ import annotations

from .. import native
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

if native.ENABLED:
    from .._native import AdmissionTable, Decision, SharedRegion
else:
    from .reference import AdmissionTable, Decision  # type: ignore[assignment]
    from .reference_region import ReferenceRegion as SharedRegion  # type: ignore[assignment]

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
