"""Queries over the call log and its rollups, for the admin API and the CLI."""

from .params import call_filter, parse_grain, parse_group_by, parse_status, parse_time
from .percentiles import percentile
from .queries import (
    TOP_METRICS,
    GroupStats,
    Percentiles,
    Series,
    SeriesLine,
    SeriesPoint,
    Stats,
    Summary,
    Top,
    choose_grain,
    percentiles,
    series,
    summary,
    top,
)

__all__ = [
    "TOP_METRICS",
    "GroupStats",
    "Percentiles",
    "Series",
    "SeriesLine",
    "SeriesPoint",
    "Stats",
    "Summary",
    "Top",
    "call_filter",
    "choose_grain",
    "parse_grain",
    "parse_group_by",
    "parse_status",
    "parse_time",
    "percentile",
    "percentiles",
    "series",
    "summary",
    "top",
]
