"""Plot functions: data in, matplotlib Figure out (no I/O, no global state).

* :func:`kpi_panels` — the KPIs of one run over the weeks;
* :func:`kpi_bands` — KPI time series across replicates: mean, confidence band of the mean
  and the central range of the replicates, one colour per group (scenario);
* the forest plot of a scenario comparison is :func:`analysis.compare_plots.forest_plot`;
* :func:`sensitivity_indices` — Sobol (S1/ST) or Morris (mu*/sigma) indices of one output
  (the long format of ``indices.csv``);
* :func:`state_distributions` — quantile fans of emotional, cognitive and behavioural state
  per week (from :func:`analysis.snapshots.collect`);
* :func:`customer_flows` — customers by status and the weekly flows between statuses/firms;
* :func:`journey_heatmap` — touchpoint × channel quality: true, the firm's estimate, and the
  estimate's error;
* :func:`nps_measured_vs_true` — the true NPS, what the firm measured, shocks and alarms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from analysis.stats import replicate_band
from sim.journey import CHANNELS, TOUCHPOINTS
from sim.kpis import BY_NAME

DEFAULT_PANELS = (
    "nps",
    "measured_nps",
    "retention_rate",
    "market_share",
    "profit",
    "cumulative_profit",
    "emotional_index",
    "cognitive_index",
    "behavioural_index",
)
BAND_KPIS = ("nps", "measured_nps", "market_share", "retention_rate", "profit", "cumulative_profit")
COLORS = plt.get_cmap("tab10").colors
# natural bounds of KPIs: confidence bands of a mean are clipped to them
KPI_BOUNDS = {
    "nps": (-100.0, 100.0),
    "measured_nps": (-100.0, 100.0),
    "csat": (0.0, 100.0),
    "measured_csat": (0.0, 100.0),
    "retention_rate": (0.0, 1.0),
    "churn_rate": (0.0, 1.0),
    "market_share": (0.0, 1.0),
    "reputation": (0.0, 1.0),
    "mean_quality": (0.0, 1.0),
}


def label(name: str) -> str:
    """A KPI or parameter name for axis labels: ``cumulative_profit`` → ``cumulative profit``."""
    return name.replace("_", " ")


def unit(name: str) -> str:
    return BY_NAME[name].unit if name in BY_NAME else ""


def _grid(n: int, ncol: int, w: float = 4.2, h: float = 2.7) -> tuple[Figure, np.ndarray]:
    ncol = max(1, min(ncol, n))
    nrow = max(1, -(-n // ncol))
    fig, axes = plt.subplots(
        nrow, ncol, figsize=(w * ncol, h * nrow), squeeze=False, layout="constrained"
    )
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    return fig, axes


def kpi_panels(ts: pd.DataFrame, panels=DEFAULT_PANELS, title: str = "") -> Figure:
    """One small panel per KPI over the weeks of a run (``ts`` has a ``step`` column)."""
    panels = [k for k in panels if k in ts.columns]
    ncol = 3
    nrow = -(-len(panels) // ncol)
    fig, axes = plt.subplots(
        nrow, ncol, figsize=(4.2 * ncol, 2.6 * nrow), squeeze=False, layout="constrained"
    )
    for ax, name in zip(axes.flat, panels, strict=False):
        ax.plot(ts["step"], ts[name], lw=1.4)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("week")
        ax.set_ylabel(BY_NAME[name].unit if name in BY_NAME else "", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    if "nps" in panels and "measured_nps" in panels:
        ax = axes.flat[panels.index("nps")]
        ax.plot(ts["step"], ts["measured_nps"], lw=1, alpha=0.7, label="measured")
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return fig


def kpi_bands(
    data: pd.DataFrame,
    kpis: Sequence[str] = BAND_KPIS,
    *,
    group: str | None = None,
    x: str = "step",
    level: float = 0.95,
    spread: float = 0.9,
    ncol: int = 3,
    title: str = "",
) -> Figure:
    """KPI time series across replicates.

    ``data`` is long: one row per (replicate, week[, group]) with column ``x`` and the KPI
    columns.  Per group (e.g. ``scenario``) and KPI: the mean over replicates (line), the
    ``level`` confidence band of the mean (dark) and the central ``spread`` range of the
    replicates (light).
    """
    kpis = [k for k in kpis if k in data.columns]
    if not kpis:
        raise ValueError("kpi_bands: none of the requested KPIs is a column of the data")
    groups = [(None, data)] if group is None else list(data.groupby(group, sort=False))
    fig, axes = _grid(len(kpis), ncol)
    for ax, k in zip(axes.flat, kpis, strict=False):
        for i, (name, d) in enumerate(groups):
            b = replicate_band(d, k, x=x, level=level, spread=spread)
            if k in KPI_BOUNDS:
                b[["ci_low", "ci_high"]] = b[["ci_low", "ci_high"]].clip(*KPI_BOUNDS[k])
            c = COLORS[i % len(COLORS)]
            n = int(b["n"].max()) if len(b) else 0
            lab = f"{name} (n={n})" if name is not None else f"mean of {n} replicates"
            ax.fill_between(b[x], b["q_low"], b["q_high"], color=c, alpha=0.12, lw=0)
            ax.fill_between(b[x], b["ci_low"], b["ci_high"], color=c, alpha=0.35, lw=0)
            ax.plot(b[x], b["mean"], color=c, lw=1.5, label=lab)
        ax.set_title(label(k), fontsize=10)
        ax.set_xlabel("week")
        ax.set_ylabel(unit(k), fontsize=8)
        ax.grid(alpha=0.3)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    handles += [Patch(color="grey", alpha=0.35), Patch(color="grey", alpha=0.12)]
    labels += [f"{level:.0%} CI of the mean", f"central {spread:.0%} of replicates"]
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        ncol=min(len(labels), 4),
        fontsize=8,
        frameon=False,
    )
    if title:
        fig.suptitle(title)
    return fig


def sensitivity_indices(
    indices: pd.DataFrame,
    output: str,
    *,
    which: Sequence[str] | None = None,
    title: str = "",
    factor_labels: Mapping[str, str] | None = None,
) -> Figure:
    """Bar chart of sensitivity indices of one ``output`` (long format of ``indices.csv``:
    output, factor, index, value, conf).

    Sobol: S1 and ST side by side per factor with ``conf`` error bars, sorted by ST.  Morris
    (no S1/ST but mu_star): mu* bars and a sigma-vs-mu* scatter.
    """
    d = indices[(indices["output"] == output) & indices["factor"].notna()]
    if d.empty:
        raise ValueError(f"sensitivity_indices: no indices for output {output!r}")
    present = list(dict.fromkeys(d["index"]))
    names = factor_labels or {}
    if which is None:
        which = [i for i in ("S1", "ST") if i in present] or [
            i for i in ("mu_star",) if i in present
        ]
    if not which:
        raise ValueError(f"sensitivity_indices: no S1, ST or mu_star index for {output!r}")
    wide = d[d["index"].isin(which)].pivot_table(
        index="factor", columns="index", values="value", aggfunc="first"
    )
    conf = (
        d[d["index"].isin(which)].pivot_table(
            index="factor", columns="index", values="conf", aggfunc="first"
        )
        if "conf" in d
        else None
    )
    wide = wide.sort_values(which[-1], ascending=True)
    morris = which == ["mu_star"] and "sigma" in present
    fig, axes = plt.subplots(
        1,
        2 if morris else 1,
        figsize=(11 if morris else 7, 0.45 * len(wide) + 1.6),
        squeeze=False,
        layout="constrained",
    )
    ax = axes[0, 0]
    y = np.arange(len(wide))
    h = 0.8 / len(which)
    for i, idx in enumerate(which):
        err = conf[idx].reindex(wide.index).to_numpy() if conf is not None and idx in conf else None
        ax.barh(
            y + (i - (len(which) - 1) / 2) * h,
            wide[idx],
            height=h,
            xerr=err,
            color=COLORS[i],
            label={
                "S1": "S1 (first order)",
                "ST": "ST (total)",
                "mu_star": "mu* (mean |effect|)",
            }.get(idx, idx),
            capsize=2,
            error_kw={"lw": 0.8},
        )
    ax.set_yticks(y, [names.get(f, f) for f in wide.index], fontsize=8)
    ax.set_xlabel("index value (share of variance)" if "S1" in which or "ST" in which else "mu*")
    ax.axvline(0, color="black", lw=0.6)
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=8, loc="lower right")
    if morris:
        sig = d[d["index"] == "sigma"].set_index("factor")["value"].reindex(wide.index)
        ax2 = axes[0, 1]
        ax2.scatter(wide["mu_star"], sig, color=COLORS[0])
        for f, xv, yv in zip(wide.index, wide["mu_star"], sig, strict=True):
            ax2.annotate(
                names.get(f, f), (xv, yv), fontsize=7, xytext=(3, 3), textcoords="offset points"
            )
        ax2.set_xlabel("mu*")
        ax2.set_ylabel("sigma")
        ax2.grid(alpha=0.3)
    fig.suptitle(title or f"Sensitivity of {label(output)}", fontsize=11)
    return fig


def state_distributions(state: pd.DataFrame, *, title: str = "", ncol: int = 3) -> Figure:
    """Quantile fans of customer state per week (the ``state`` table of
    :class:`analysis.snapshots.Snapshots`): outer band between the lowest and highest
    quantile, inner band between the second lowest and second highest, the median and the
    mean (dashed); panel titles name the component (emotional / cognitive / behavioural)."""
    qcols = sorted(
        (c for c in state.columns if c.startswith("q") and c[1:].isdigit()),
        key=lambda c: int(c[1:]),
    )
    variables = list(dict.fromkeys(state["variable"]))
    fig, axes = _grid(len(variables), ncol, w=4.2, h=2.8)
    for ax, var in zip(axes.flat, variables, strict=False):
        d = state[state["variable"] == var].sort_values("step")
        comp = d["component"].iloc[0] if "component" in d else ""
        c = {"emotional": "tab:red", "cognitive": "tab:blue", "behavioural": "tab:green"}.get(
            comp, "tab:gray"
        )
        for i, alpha in ((0, 0.15), (1, 0.35)):  # outer band, then inner band
            if len(qcols) >= 2 * (i + 1):
                lo, hi = qcols[i], qcols[-1 - i]
                ax.fill_between(
                    d["step"],
                    d[lo],
                    d[hi],
                    color=c,
                    alpha=alpha,
                    lw=0,
                    label=f"{lo[1:]}–{hi[1:]}th pct",
                )
        mid = "q50" if "q50" in d else None
        if mid:
            ax.plot(d["step"], d[mid], color=c, lw=1.5, label="median")
        if "mean" in d:
            ax.plot(d["step"], d["mean"], color="black", lw=1, ls="--", label="mean")
        ax.set_title(f"{comp}: {var}" if comp else var, fontsize=10)
        ax.set_xlabel("week")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc="best")
    if title:
        fig.suptitle(title)
    return fig


def customer_flows(flows: pd.DataFrame, *, title: str = "") -> Figure:
    """Top: customers by status over the weeks (prospects, each firm's customers, lapsed),
    stacked.  Bottom: the weekly flows — acquisitions of prospects, win-backs of lapsed
    customers, customers lapsing and switches between each pair of firms."""
    firms = [c.removeprefix("customers_") for c in flows.columns if c.startswith("customers_")]
    fig, (top, bottom) = plt.subplots(
        2,
        1,
        figsize=(10, 6.5),
        sharex=True,
        layout="constrained",
        gridspec_kw={"height_ratios": [3, 2]},
    )
    stack_cols = ["prospects", *[f"customers_{f}" for f in firms], "lapsed"]
    stack_labels = ["prospects", *[f"customers of {f}" for f in firms], "lapsed"]
    colors = ["#bbbbbb", *[COLORS[i % len(COLORS)] for i in range(len(firms))], "#555555"]
    top.stackplot(
        flows["step"],
        *[flows[c] for c in stack_cols],
        labels=stack_labels,
        colors=colors,
        alpha=0.85,
    )
    top.set_ylabel("customers")
    top.set_title("Customers by status", fontsize=10)
    top.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    top.margins(x=0)
    series = [
        ("acquired_prospects", "prospect → customer"),
        ("won_back", "lapsed → customer (win-back)"),
        ("lapsed_out", "customer → lapsed"),
    ]
    series += [
        (c, c.removeprefix("switch_").replace("_to_", " → ") + " (switch)")
        for c in flows.columns
        if c.startswith("switch_") and "_to_" in c
    ]
    for i, (c, lab) in enumerate(series):
        if c in flows:
            bottom.plot(
                flows["step"], flows[c], lw=1.2, label=lab, color=COLORS[(i + 3) % len(COLORS)]
            )
    bottom.set_ylabel("customers per week")
    bottom.set_xlabel("week")
    bottom.set_title("Weekly flows between statuses and firms", fontsize=10)
    bottom.grid(alpha=0.3)
    bottom.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if title:
        fig.suptitle(title)
    return fig


def journey_heatmap(
    true: np.ndarray,
    estimate: np.ndarray,
    *,
    touchpoints: Sequence[str] = TOUCHPOINTS,
    channels: Sequence[str] = CHANNELS,
    title: str = "",
) -> Figure:
    """Touchpoint × channel quality side by side: the true (effective) quality, the firm's
    journey-map estimate and the error (estimate − true), each cell annotated."""
    true, estimate = np.asarray(true, float), np.asarray(estimate, float)
    if true.shape != estimate.shape or true.shape != (len(touchpoints), len(channels)):
        raise ValueError(
            f"journey_heatmap: shapes {true.shape} and {estimate.shape} must both be "
            f"({len(touchpoints)}, {len(channels)}) (touchpoints × channels)"
        )
    diff = estimate - true
    lim = max(float(np.abs(diff).max()), 0.05)
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8), layout="constrained")
    panels = [
        (true, "true quality", "viridis", 0.0, 1.0),
        (estimate, "firm's estimate (journey map)", "viridis", 0.0, 1.0),
        (diff, "estimate − true", "RdBu_r", -lim, lim),
    ]
    for ax, (m, name, cmap, lo, hi) in zip(axes, panels, strict=True):
        im = ax.imshow(m, cmap=cmap, vmin=lo, vmax=hi, aspect="auto")
        ax.set_xticks(range(len(channels)), channels, fontsize=8, rotation=30)
        ax.set_yticks(
            range(len(touchpoints)), [t.replace("_", " ") for t in touchpoints], fontsize=8
        )
        ax.set_title(name, fontsize=10)
        for (i, j), v in np.ndenumerate(m):
            if cmap == "viridis":
                tc = "white" if v < 0.55 else "black"
            else:
                tc = "white" if abs(v) > 0.6 * lim else "black"
            ax.text(
                j,
                i,
                f"{v:+.2f}" if cmap != "viridis" else f"{v:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color=tc,
            )
        fig.colorbar(im, ax=ax, shrink=0.85)
    fig.suptitle(
        title or f"Journey map: mean absolute error {np.abs(diff).mean():.3f}", fontsize=11
    )
    return fig


def nps_measured_vs_true(
    ts: pd.DataFrame, shocks: Sequence[Mapping] = (), *, title: str = ""
) -> Figure:
    """The true NPS and the NPS the firm measured over the weeks, with shocks shaded (each a
    mapping with start, end and kind) and the weeks the firm's measurements raised an alarm
    marked along the bottom (if ``ts`` has an ``alarm`` column)."""
    fig, (ax, err) = plt.subplots(
        2,
        1,
        figsize=(10, 5.2),
        sharex=True,
        layout="constrained",
        gridspec_kw={"height_ratios": [3, 1]},
    )
    ax.plot(ts["step"], ts["nps"], color="tab:blue", lw=1.6, label="true NPS")
    if "measured_nps" in ts:
        ax.plot(
            ts["step"],
            ts["measured_nps"],
            color="tab:orange",
            lw=1.3,
            label="measured NPS (surveys)",
        )
        err.plot(ts["step"], ts["measured_nps"] - ts["nps"], color="tab:purple", lw=1.0)
    err.axhline(0, color="black", lw=0.6)
    err.set_ylabel("measured − true", fontsize=8)
    for i, s in enumerate(shocks):
        kw = (
            {"label": f"shock: {s.get('kind', 'shock')}"}
            if i == 0 or s.get("kind") != shocks[0].get("kind")
            else {}
        )
        for a in (ax, err):
            a.axvspan(
                s["start"] - 0.5,
                s["end"] - 0.5,
                color="tab:red",
                alpha=0.15,
                lw=0,
                **(kw if a is ax else {}),
            )
    if "alarm" in ts:
        weeks = ts.loc[ts["alarm"] > 0, "step"]
        if len(weeks):
            ax.plot(
                weeks,
                np.full(len(weeks), 0.02),
                "|",
                color="tab:red",
                ms=10,
                mew=1.5,
                transform=ax.get_xaxis_transform(),
                label="alarm raised",
            )
    ax.set_ylabel("NPS (points)")
    ax.set_title(title or "True vs measured NPS", fontsize=11)
    ax.grid(alpha=0.3)
    err.grid(alpha=0.3)
    err.set_xlabel("week")
    ax.legend(fontsize=8, loc="best")
    return fig


def sweep_main_effects(
    sweep: pd.DataFrame,
    levers: Sequence[str],
    outcome: str,
    *,
    level: float = 0.95,
    labels: Mapping[str, str] | None = None,
    title: str = "",
) -> Figure:
    """Mean ``outcome`` (± ``level`` CI over runs) at each value of each lever, averaged over
    the other levers' values: one panel per lever (the rows of a sweep: one per run)."""
    from analysis.stats import mean_ci

    labels = labels or {}
    fig, axes = _grid(len(levers), 3, w=4.0, h=3.0)
    for ax, lever in zip(axes.flat, levers, strict=False):
        rows = []
        for v, d in sweep.groupby(lever, sort=True):
            ci = mean_ci(d[outcome], level)
            rows.append((v, ci.mean, ci.low, ci.high))
        v, m, lo, hi = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
        ax.fill_between(v, lo, hi, color=COLORS[0], alpha=0.25, lw=0, label=f"{level:.0%} CI")
        ax.plot(v, m, "o-", color=COLORS[0], label="mean")
        ax.set_xlabel(labels.get(lever, lever), fontsize=8)
        ax.set_ylabel(
            f"{label(outcome)} ({unit(outcome)})" if unit(outcome) else label(outcome), fontsize=8
        )
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(title or f"Main effects on {label(outcome)}", fontsize=11)
    return fig
