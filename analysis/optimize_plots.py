"""Figures of an optimisation study (``cxsim optimize``): pure functions, tables in, figure out.

``trials``: one row per trial (``trials.parquet``: ``number``, ``state``, ``feasible``,
``cost`` and one column per objective). ``table``: the re-evaluated policies (``pareto.csv``:
``policy`` ∈ baseline | equal_split | candidate, ``trial``, ``cost``, objective columns on fresh
seeds, ``recommended``, ``on_front``). ``alloc``: one row per policy, one column per budget line
(cu per week) or per variable (level within its bounds).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

_REF_STYLE = {
    "baseline": ("s", "black", "baseline policy"),
    "equal_split": ("D", "tab:green", "equal split"),
}


def _label(kpi: str) -> str:
    return {"nps": "NPS"}.get(kpi, kpi.replace("_", " "))


def _ok(trials: pd.DataFrame) -> pd.DataFrame:
    return trials[(trials["state"] == "COMPLETE") & trials["feasible"].astype(bool)]


def _refs(ax, table: pd.DataFrame, x: str, y: str) -> None:
    for name, (marker, color, label) in _REF_STYLE.items():
        row = table[table["policy"] == name]
        if len(row):
            ax.scatter(
                row[x],
                row[y],
                marker=marker,
                s=70,
                color=color,
                label=f"{label} (fresh seeds)",
                zorder=4,
            )


def pareto_figure(
    trials: pd.DataFrame,
    table: pd.DataFrame,
    objectives: Sequence[tuple[str, str]],
    budget: float | None = None,
) -> Figure:
    """Two objectives: the trials in objective space, the re-evaluated front and the
    recommendation. One objective: the objective against the weekly cost (the budget line)."""
    fig = Figure(figsize=(7.5, 5.0))
    ax = fig.add_subplot()
    ok = _ok(trials)
    cands = table[table["policy"] == "candidate"]
    rec = table[table["recommended"].astype(bool)]
    if len(objectives) >= 2:
        (k1, d1), (k2, d2) = objectives[:2]
        x, y = k1, k2
        ax.scatter(ok[x], ok[y], s=12, color="0.7", label="trials (search seeds)")
        front = cands[cands["on_front"].astype(bool)].sort_values(x)
        ax.plot(
            front[x],
            front[y],
            "-o",
            color="tab:blue",
            label="re-evaluated front (fresh seeds)",
            zorder=3,
        )
        ax.set_xlabel(f"{_label(k1)} ({d1})")
        ax.set_ylabel(f"{_label(k2)} ({d2})")
    else:
        ((k1, d1),) = objectives
        x, y = ("cost", k1) if ok["cost"].notna().any() else ("number", k1)
        ax.scatter(ok[x], ok[y], s=12, color="0.7", label="feasible trials (search seeds)")
        tx = cands["cost"] if x == "cost" else cands["trial"]
        ax.scatter(
            tx, cands[y], s=36, color="tab:blue", label="top candidates (fresh seeds)", zorder=3
        )
        if budget is not None and x == "cost":
            ax.axvline(budget, color="tab:red", ls="--", lw=1, label="budget")
        ax.set_xlabel(
            "weekly spend on support and levers (cu per 1,000 customers)"
            if x == "cost"
            else "trial"
        )
        ax.set_ylabel(f"{_label(k1)} ({d1})")
    if x in table.columns:
        _refs(ax, table, x, y)
        if len(rec):
            ax.scatter(
                rec[x], rec[y], marker="*", s=260, color="tab:red", label="recommended", zorder=5
            )
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    ax.set_title("Search and re-evaluation")
    fig.tight_layout()
    return fig


def allocation_figure(alloc: pd.DataFrame, unit: str = "cu per week per 1,000 customers") -> Figure:
    """Stacked horizontal bars: how each policy (rows) splits its spend (columns)."""
    fig = Figure(figsize=(9.5, 1.6 + 0.45 * len(alloc)))
    ax = fig.add_subplot()
    left = np.zeros(len(alloc))
    cmap = __import__("matplotlib").colormaps["tab20"]
    for j, col in enumerate(alloc.columns):
        vals = alloc[col].to_numpy(dtype=float)
        ax.barh(np.arange(len(alloc)), vals, left=left, color=cmap(j % 20), label=col)
        left += vals
    ax.set_yticks(np.arange(len(alloc)), list(alloc.index))
    ax.invert_yaxis()
    ax.set_xlabel(unit)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    ax.set_title("Allocation: how each policy splits the budget")
    fig.tight_layout()
    return fig


def convergence_figure(trials: pd.DataFrame, objectives: Sequence[tuple[str, str]]) -> Figure:
    """Best feasible value (search seeds) of each objective against the number of trials."""
    fig = Figure(figsize=(7.0, 2.4 + 1.6 * len(objectives)))
    t = trials.sort_values("number")
    ok = (t["state"] == "COMPLETE") & t["feasible"].astype(bool)
    for i, (kpi, direction) in enumerate(objectives):
        ax = fig.add_subplot(len(objectives), 1, i + 1)
        v = t[kpi].where(ok).to_numpy(dtype=float)
        sign = 1.0 if direction == "maximize" else -1.0
        best = sign * np.fmax.accumulate(np.where(np.isnan(v), -np.inf, sign * v))
        best[np.isinf(best)] = np.nan
        n = np.arange(1, len(t) + 1)
        ax.scatter(n[ok.to_numpy()], v[ok.to_numpy()], s=8, color="0.7", label="feasible trial")
        ax.step(n, best, where="post", color="tab:blue", label="best so far")
        ax.set_ylabel(_label(kpi))
        ax.grid(alpha=0.3)
        if i == 0:
            ax.set_title("Convergence (search seeds)")
            ax.legend(fontsize=8)
    ax.set_xlabel("trials")
    fig.tight_layout()
    return fig
