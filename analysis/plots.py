"""Plot functions: data in, matplotlib Figure out (no I/O, no global state)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from sim.kpis import BY_NAME  # noqa: E402

DEFAULT_PANELS = ("nps", "measured_nps", "retention_rate", "market_share", "profit", "cumulative_profit",
                  "emotional_index", "cognitive_index", "behavioural_index")


def kpi_panels(ts: pd.DataFrame, panels=DEFAULT_PANELS, title: str = "") -> Figure:
    """One small panel per KPI over the weeks of a run (``ts`` has a ``step`` column)."""
    panels = [k for k in panels if k in ts.columns]
    ncol = 3
    nrow = -(-len(panels) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 2.6 * nrow), squeeze=False, layout="constrained")
    for ax, name in zip(axes.flat, panels, strict=False):
        ax.plot(ts["step"], ts[name], lw=1.4)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("week")
        ax.set_ylabel(BY_NAME[name].unit if name in BY_NAME else "", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    if "nps" in panels and "measured_nps" in panels:
        ax = axes.flat[panels.index("nps")]
        ax.plot(ts["step"], ts["measured_nps"], lw=1, alpha=0.7, label="measured")
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return fig
