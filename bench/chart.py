"""The PNG chart: one bar panel per Panel of the report (matplotlib, installed on demand)."""

from __future__ import annotations

from pathlib import Path

from .install import ensure_python_package
from .report import FLAGGED, Report

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
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.2), squeeze=False)
    for ax, panel in zip(axes[0], panels, strict=True):
        labels = list(panel.bars)
        values = [v if v is not None else 0.0 for v in panel.bars.values()]
        bars = ax.bar(labels, values, color=[color(label) for label in labels])
        for bar, value in zip(bars, panel.bars.values(), strict=True):
            text = FLAGGED if value is None else f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
            ax.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom")
        ax.set_title(panel.title, fontsize=10)
        ax.set_ylabel(panel.unit)
        ax.margins(y=0.15)
    machine = report.header["machine"]
    fig.suptitle(f"aigw bench {report.scenario} — {machine['cpu']}, {report.header['date']}", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
