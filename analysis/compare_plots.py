"""Forest plot of a scenario comparison: data in, matplotlib Figure out (no I/O)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

DISTINGUISHABLE = "#c0392b"
NOISE = "#7f8c8d"


def forest_plot(
    table: pd.DataFrame,
    reference: str,
    kpis: Sequence[str] | None = None,
    ncols: int = 4,
    title: str = "",
) -> Figure:
    """One panel per KPI: each scenario's mean paired difference from ``reference`` with its
    confidence interval (red when the interval excludes 0, grey otherwise).

    ``table`` has the columns of ``comparison.csv``: ``scenario, kpi, unit, diff,
    diff_ci_low, diff_ci_high, distinguishable`` (and ``n_diff``).
    """
    kpis = list(dict.fromkeys(table["kpi"])) if kpis is None else list(kpis)
    others = [s for s in dict.fromkeys(table["scenario"]) if s != reference]
    ncols = max(1, min(ncols, len(kpis)))
    nrows = max(1, -(-len(kpis) // ncols))
    height = 0.35 * max(1, len(others)) + 1.0
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(3.6 * ncols, height * nrows + 0.6),
        squeeze=False,
        layout="constrained",
    )
    for ax, kpi in zip(axes.flat, kpis, strict=False):
        rows = table[(table["kpi"] == kpi) & (table["scenario"] != reference)].set_index("scenario")
        unit = str(table.loc[table["kpi"] == kpi, "unit"].iloc[0]) if "unit" in table else ""
        ax.set_title(kpi, fontsize=9)
        ax.set_xlabel(unit, fontsize=7)
        ax.axvline(0.0, color="black", lw=0.8)
        ax.tick_params(labelsize=7)
        ax.set_yticks(range(len(others)), others if ax.get_subplotspec().is_first_col() else [])
        ax.set_ylim(-0.7, len(others) - 0.3)
        ax.invert_yaxis()
        plotted = False
        for y, s in enumerate(others):
            if s not in rows.index:
                continue
            r = rows.loc[s]
            if not math.isfinite(r["diff"]):
                continue
            color = DISTINGUISHABLE if bool(r["distinguishable"]) else NOISE
            lo, hi = r["diff_ci_low"], r["diff_ci_high"]
            if math.isfinite(lo) and math.isfinite(hi):
                ax.hlines(y, lo, hi, color=color, lw=2)
            ax.plot(r["diff"], y, "o", color=color, ms=4)
            plotted = True
        if not plotted:
            ax.text(
                0.5,
                0.5,
                "no paired values",
                transform=ax.transAxes,
                ha="center",
                va="center",
                fontsize=7,
                color=NOISE,
            )
        ax.grid(axis="x", alpha=0.3)
    for ax in list(axes.flat)[len(kpis) :]:
        ax.set_visible(False)
    fig.suptitle(title or f"paired differences vs {reference} (95% CI)", fontsize=10)
    return fig
