"""The report's questions per day as a small PNG, for Discord (/insights) or a file.

matplotlib is imported when a chart is drawn (its import takes a good part of a second), and only
its object API is used, with the Agg canvas: no pyplot state, so charts can be drawn in any thread.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from insights.report import InsightsReport

# On Discord's dark theme an image sits on #2b2d31 (an embed) or #313338 (a message); drawing on the
# embed's colour, with light text, reads the same on the light theme, where it shows as a dark card.
BACKGROUND = "#2b2d31"
TEXT = "#dbdee1"
GRID = "#4e5058"
# Discord's own green, yellow and red: answered, maybe answered, not covered
COLOURS = {"high": "#57f287", "low": "#fee75c", "none": "#ed4245"}
LABELS = {"high": "high", "low": "low", "none": "not covered"}
SIZE_INCHES = (8, 3.2)
DPI = 100


def questions_per_day_png(report: InsightsReport) -> bytes:
    """Stacked bars of the questions asked each day (high, low, none), every day of the report
    shown (a day without questions as 0); an 800×320 PNG of a few tens of kilobytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=SIZE_INCHES, dpi=DPI, facecolor=BACKGROUND, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(facecolor=BACKGROUND)
    days = [day.day for day in report.per_day]
    bottom = [0] * len(days)
    for name in ("high", "low", "none"):
        heights = [getattr(day, name) for day in report.per_day]
        axes.bar(
            days, heights, bottom=bottom, width=0.8, color=COLOURS[name], label=LABELS[name], linewidth=0
        )
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    axes.set_title(
        f"Questions per day, last {report.days} days ({report.questions:,} in all)", color=TEXT, loc="left"
    )
    locator = AutoDateLocator(maxticks=10)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    if not report.questions:
        axes.set_ylim(0, 1)  # an empty report: an axis from 0, not matplotlib's -0.05..0.05
    axes.tick_params(colors=TEXT, labelsize=9)
    axes.grid(axis="y", color=GRID, linewidth=0.6)
    axes.set_axisbelow(True)
    for side, spine in axes.spines.items():
        spine.set_visible(side == "bottom")
        spine.set_color(GRID)
    # above the bars, right of the title, so it never hides a busy day
    axes.legend(loc="lower right", bbox_to_anchor=(1, 1), frameon=False, fontsize=9, ncols=3, labelcolor=TEXT)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", facecolor=BACKGROUND)
    return buffer.getvalue()
