"""The PNG chart: a bar panel per Panel of the report and a line panel per Series, three to a
row (matplotlib, installed on demand)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .install import ensure_python_package
from .report import FLAGGED, Panel, Report, Series

# The same target has the same colour in every panel.
_COLOURS = {"direct": "#4C72B0", "nginx": "#DD8452", "aigw": "#55A868"}
_OTHERS = ("#8172B3", "#C44E52", "#937860", "#DA8BC3", "#8C8C8C")


def color(label: str) -> str:
    return _COLOURS.get(label) or _OTHERS[sum(label.encode()) % len(_OTHERS)]


def draw(report: Report, path: Path) -> None:
    ensure_python_package("matplotlib", "matplotlib", "to draw the PNG chart; skip with --no-chart")
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    panels = report.panels
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5.5 * columns, 4.2 * rows), squeeze=False)
    for ax, panel in zip(axes.flat, panels, strict=False):
        if isinstance(panel, Series):
            _lines(ax, panel)
        else:
            _bars(ax, panel)
        ax.set_title(panel.title, fontsize=10)
        ax.set_ylabel(panel.unit)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    machine = report.header["machine"]
    fig.suptitle(f"aigw bench {report.scenario} — {machine['cpu']}, {report.header['date']}", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _bars(ax: Any, panel: Panel) -> None:
    labels = list(panel.bars)
    values = [v if v is not None else 0.0 for v in panel.bars.values()]
    bars = ax.bar(labels, values, color=[color(label) for label in labels])
    for bar, value in zip(bars, panel.bars.values(), strict=True):
        text = FLAGGED if value is None else f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
        ax.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom")
    ax.margins(y=0.15)


def _lines(ax: Any, series: Series) -> None:
    minutes = [t / 60 for t in series.t_s]
    for label, values in series.lines.items():
        ax.plot(minutes, values, label=label, color=color(label), linewidth=1.2)
    if series.mark_s is not None:
        ax.axvline(series.mark_s / 60, color="#8C8C8C", linestyle="--", linewidth=0.8)
    ax.set_xlabel("minutes")
    ax.set_ylim(bottom=0)
    if len(series.lines) > 1:
        ax.legend(fontsize=8)
