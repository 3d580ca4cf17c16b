"""A scenario's report: the header, tables of figures, chart panels and flags; written as JSON,
markdown and PNG into the output directory."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGGED = "FLAGGED"


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]


@dataclass
class Panel:
    """One bar chart: a value per label; None draws as FLAGGED."""

    title: str
    unit: str
    bars: dict[str, float | None]


@dataclass
class Series:
    """One line chart over time: each line's values at the times `t_s`; `mark_s` draws a
    vertical line there (the end of a warm-up)."""

    title: str
    unit: str
    t_s: list[float]
    lines: dict[str, list[float]]
    mark_s: float | None = None


@dataclass
class Report:
    scenario: str
    header: dict[str, Any]
    settings: dict[str, Any]
    data: dict[str, Any]  # scenario figures, JSON-ready
    tables: list[Table] = field(default_factory=list)
    panels: Sequence[Panel | Series] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return bool(self.flags)

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "header": self.header,
            "settings": self.settings,
            "flagged": self.flagged,
            "flags": self.flags,
            "notes": self.notes,
            **self.data,
        }


# ---------------------------------------------------------------------- number formatting
def fmt_number(value: float | None, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


def fmt_ms(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"


def fmt_rps(value: float | None, flagged: bool) -> str:
    return FLAGGED if flagged else fmt_number(value)


# ---------------------------------------------------------------------- markdown
def markdown_table(table: Table) -> str:
    lines = [f"### {table.title}", "", "| " + " | ".join(table.columns) + " |"]
    lines.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(table.columns))) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in table.rows]
    return "\n".join(lines)


def markdown(report: Report, chart_name: str | None = None) -> str:
    h = report.header
    m = h["machine"]
    v = h["versions"]
    versions = ", ".join(f"{k} {val}" for k, val in v.items() if val)
    parts = [
        f"# aigw bench: {report.scenario}",
        "",
        f"- **Date:** {h['date']}",
        f"- **Machine:** {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM ({m['os']})",
        f"- **Cores:** aigw and nginx on `{h['cores']['aigw']}`; load generator and upstream on "
        f"`{h['cores']['load']}`",
        f"- **Versions:** {versions}",
        f"- **Command:** `{h['command']}`",
        f"- **Settings:** {', '.join(f'{k}={val}' for k, val in report.settings.items())}",
        "",
        f"**Method.** {h['method']}",
        "",
    ]
    if report.flags:
        parts += ["**FLAGGED runs** (their throughput is not reported):", ""]
        parts += [f"- {flag}" for flag in report.flags] + [""]
    for table in report.tables:
        parts += [markdown_table(table), ""]
    if report.notes:
        parts += [f"- {note}" for note in report.notes] + [""]
    if chart_name:
        parts += [f"![chart]({chart_name})", ""]
    return "\n".join(parts)


def _finite(value: Any) -> Any:
    """NaN (a percentile of nothing) becomes null: JSON has no NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def write(report: Report, out_dir: Path, chart: bool = True) -> dict[str, Path]:
    """Write NAME.json, NAME.md and (if `chart`) NAME.png; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / f"{report.scenario}.json", "markdown": out_dir / f"{report.scenario}.md"}
    doc = json.dumps(_finite(report.to_json()), indent=2, allow_nan=False, default=str)
    paths["json"].write_text(doc + "\n")
    chart_name = None
    if chart and report.panels:
        from .chart import draw

        png = out_dir / f"{report.scenario}.png"
        draw(report, png)
        paths["chart"] = png
        chart_name = png.name
    paths["markdown"].write_text(markdown(report, chart_name))
    return paths
