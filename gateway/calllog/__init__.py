"""Call logging: one record per request, buffered per worker and written in batches with rollups."""

from .pricing import DEFAULT_PRICES, ModelPrice, PriceTable, cost
from .record import Attempt, CallRecord
from .recorder import Recorder
from .store import Aggregate, CallFilter, CallLog, CallPage, Retention
from .trace import Trace

__all__ = [
    "DEFAULT_PRICES",
    "Aggregate",
    "Attempt",
    "CallFilter",
    "CallLog",
    "CallPage",
    "CallRecord",
    "ModelPrice",
    "PriceTable",
    "Recorder",
    "Retention",
    "Trace",
    "cost",
]
