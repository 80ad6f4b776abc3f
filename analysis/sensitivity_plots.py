"""Figures of a sensitivity study (``experiments.sensitivity``): pure functions, tables in,
:class:`matplotlib.figure.Figure` out, no I/O and no pyplot state (the caller saves them).

The tables are the long-format frames the study writes: ``indices`` (columns output, factor,
index, value, conf, and optionally n, level, method) and ``convergence`` (the same plus n for
each sample size).  ``level`` ("factor" or "group") is used when present; tables without it
(or with a numeric one) are taken as per-factor.  S2 rows name the pair as ``"a,b"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["convergence_plot", "indices_plot", "morris_plot", "s2_heatmap"]

# the index families a bar chart shows, in order of preference
_BAR_SETS: tuple[tuple[str, ...], ...] = (
    ("S1", "ST"),
    ("mu_star",),
    ("pawn_median",),
    ("dgsm",),
)
_COLORS = {"S1": "#4c72b0", "ST": "#dd8452"}


def _label(name: str, labels: Mapping[str, str] | None) -> str:
    if labels and name in labels:
        return labels[name]
    return name


def _select(
    indices: pd.DataFrame, output: str | None = None, level: str | None = "factor"
) -> pd.DataFrame:
    d = indices
    if output is not None:
        d = d[d["output"] == output]
    if level is not None and "level" in d.columns:
        lv = d["level"].astype(str)
        if lv.isin(["factor", "group"]).any():
            d = d[lv == level]
    return d


def _conf(d: pd.DataFrame) -> np.ndarray:
    if "conf" not in d.columns:
        return np.full(len(d), np.nan)
    return pd.to_numeric(d["conf"], errors="coerce").to_numpy(float)


def indices_plot(
    indices: pd.DataFrame,
    output: str,
    *,
    level: str = "factor",
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """Bars of the main indices of one output with confidence whiskers (±conf): S1 and ST
    side by side for Sobol/eFAST, else mu_star (Morris), pawn_median (PAWN) or dgsm (DGSM).
    Factors are sorted by the last index of the family (ST for Sobol), largest first."""
    d = _select(indices, output, level)
    present = set(d["index"])
    family = next((f for f in _BAR_SETS if set(f) <= present), None)
    if family is None:
        family = next((f for f in _BAR_SETS if set(f) & present), None)
    if family is None:
        raise ValueError(f"no S1/ST, mu_star, pawn_median or dgsm values for output {output!r}")
    family = tuple(i for i in family if i in present)
    key = family[-1]
    order = (
        d[d["index"] == key].sort_values(["value", "factor"], ascending=[False, True])["factor"]
    ).tolist()
    n = len(order)
    fig = Figure(figsize=(max(5.0, 0.75 * n + 2.5), 4.0), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / len(family)
    x = np.arange(n)
    for k, idx in enumerate(family):
        g = d[d["index"] == idx].set_index("factor").reindex(order)
        vals = pd.to_numeric(g["value"], errors="coerce").to_numpy(float)
        err = _conf(g.reset_index())
        err = np.where(np.isfinite(err), err, 0.0)
        ax.bar(
            x + (k - (len(family) - 1) / 2) * width,
            vals,
            width,
            yerr=err,
            capsize=3,
            label=idx,
            color=_COLORS.get(idx, "#4c72b0"),
            ecolor="#333333",
        )
    ax.set_xticks(x, [_label(f, labels) for f in order], rotation=35, ha="right", fontsize=8)
    ax.axhline(0, color="#888888", lw=0.8)
    ax.set_ylabel(" / ".join(family))
    what = "groups" if level == "group" else "factors"
    ax.set_title(f"{output}: sensitivity indices of the {what} (± conf)", fontsize=10)
    if len(family) > 1:
        ax.legend(fontsize=8)
    return fig


def _pairs(d: pd.DataFrame) -> list[tuple[str, str]]:
    out = []
    for f in d["factor"].astype(str):
        a, sep, b = f.partition(",")
        if not sep:
            raise ValueError(f"S2 factor {f!r} is not a pair 'a,b'")
        out.append((a.strip(), b.strip()))
    return out


def s2_heatmap(
    indices: pd.DataFrame,
    output: str,
    *,
    level: str = "factor",
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """Heatmap of the second-order Sobol indices S2 of one output (symmetric; the value and
    its ±conf are written in each cell)."""
    d = _select(indices, output, level)
    d = d[d["index"] == "S2"]
    if d.empty:
        raise ValueError(f"no S2 values for output {output!r}")
    pairs = _pairs(d)
    names = list(dict.fromkeys([p[0] for p in pairs] + [p[1] for p in pairs]))
    first = _select(indices, output, level)
    first = [f for f in first.loc[first["index"] == "S1", "factor"] if f in names]
    names = list(dict.fromkeys(first + names))
    pos = {n: i for i, n in enumerate(names)}
    m = np.full((len(names), len(names)), np.nan)
    c = np.full_like(m, np.nan)
    for (a, b), v, e in zip(pairs, pd.to_numeric(d["value"]), _conf(d), strict=True):
        m[pos[a], pos[b]] = m[pos[b], pos[a]] = v
        c[pos[a], pos[b]] = c[pos[b], pos[a]] = e
    k = len(names)
    fig = Figure(figsize=(0.9 * k + 3.0, 0.75 * k + 2.0), layout="constrained")
    ax = fig.subplots()
    finite = m[np.isfinite(m)]
    vmax = max(0.05, float(np.max(np.abs(finite)))) if finite.size else 1.0
    im = ax.imshow(np.ma.masked_invalid(m), cmap="RdBu_r", vmin=-vmax, vmax=vmax)
    if k <= 12:
        for i in range(k):
            for j in range(k):
                if np.isfinite(m[i, j]):
                    txt = f"{m[i, j]:.2f}"
                    if np.isfinite(c[i, j]):
                        txt += f"\n±{c[i, j]:.2f}"
                    dark = abs(m[i, j]) > 0.6 * vmax
                    ax.text(
                        j,
                        i,
                        txt,
                        ha="center",
                        va="center",
                        fontsize=6,
                        color="white" if dark else "black",
                    )
    lab = [_label(n, labels) for n in names]
    ax.set_xticks(range(k), lab, rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(k), lab, fontsize=8)
    fig.colorbar(im, ax=ax, label="S2")
    ax.set_title(f"{output}: pairwise interactions (S2)", fontsize=10)
    return fig


def morris_plot(
    indices: pd.DataFrame, output: str, *, labels: Mapping[str, str] | None = None
) -> Figure:
    """Morris μ*–σ plane of one output, with horizontal μ* whiskers (±conf) and the lines
    σ/μ* = 0.1, 0.5 and 1 (nearly linear, monotonic, and non-linear or interacting effects)."""
    d = _select(indices, output, "factor")
    mu = d[d["index"] == "mu_star"].set_index("factor")
    sg = d[d["index"] == "sigma"].set_index("factor")
    if mu.empty or sg.empty:
        raise ValueError(f"no mu_star/sigma values for output {output!r}")
    names = [f for f in mu.index if f in sg.index]
    x = pd.to_numeric(mu.loc[names, "value"]).to_numpy(float)
    y = pd.to_numeric(sg.loc[names, "value"]).to_numpy(float)
    xe = _conf(mu.loc[names].reset_index())
    fig = Figure(figsize=(6.0, 4.5), layout="constrained")
    ax = fig.subplots()
    ax.errorbar(
        x,
        y,
        xerr=np.where(np.isfinite(xe), xe, 0.0),
        fmt="o",
        ms=5,
        capsize=3,
        color="#4c72b0",
        ecolor="#999999",
    )
    top = float(np.nanmax(np.r_[x + np.nan_to_num(xe), y, 1e-12])) * 1.1
    grid = np.array([0.0, top])
    for ratio, style in ((0.1, ":"), (0.5, "--"), (1.0, "-")):
        ax.plot(grid, ratio * grid, style, color="#aaaaaa", lw=0.8, label=f"σ/μ* = {ratio:g}")
    for xi, yi, n in zip(x, y, names, strict=True):
        ax.annotate(
            _label(n, labels), (xi, yi), xytext=(4, 3), textcoords="offset points", fontsize=8
        )
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("μ* (mean absolute elementary effect)")
    ax.set_ylabel("σ (standard deviation of the effects)")
    ax.set_title(f"{output}: Morris screening", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    return fig


def convergence_plot(
    convergence: pd.DataFrame,
    *,
    index: str | None = None,
    level: str = "factor",
    labels: Mapping[str, str] | None = None,
    outputs: Sequence[str] | None = None,
) -> Figure:
    """One panel per output: the ``index`` estimate (default ST, else the first index) of
    every factor against the base sample size, with ±conf bands.  Estimates should settle
    and the bands narrow as the sample grows."""
    d = _select(convergence, None, level)
    if d.empty:
        raise ValueError("empty convergence table")
    if index is None:
        index = "ST" if "ST" in set(d["index"]) else str(d["index"].iloc[0])
    d = d[d["index"] == index]
    outs = list(outputs) if outputs is not None else list(dict.fromkeys(d["output"]))
    k = len(outs)
    cols = min(3, k)
    rows = math.ceil(k / cols)
    fig = Figure(figsize=(4.2 * cols + 1.5, 3.2 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    handles = {}
    for ax, o in zip(axes, outs, strict=False):
        g = d[d["output"] == o]
        for f, h in g.groupby("factor", sort=False):
            h = h.sort_values("n")
            n = h["n"].to_numpy(float)
            v = pd.to_numeric(h["value"]).to_numpy(float)
            e = _conf(h)
            (line,) = ax.plot(n, v, "o-", ms=3, lw=1)
            if np.isfinite(e).any():
                ax.fill_between(n, v - e, v + e, alpha=0.15, color=line.get_color())
            handles.setdefault(str(f), line)
        ax.set_xscale("log", base=2)
        ns = sorted(g["n"].unique())
        ax.set_xticks(ns, [str(int(x)) for x in ns])
        ax.minorticks_off()
        ax.set_title(o, fontsize=9)
        ax.set_xlabel("base sample size", fontsize=8)
        ax.set_ylabel(index, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[k:]:
        ax.set_visible(False)
    fig.legend(
        list(handles.values()),
        [_label(f, labels) for f in handles],
        loc="outside right center",
        fontsize=7,
    )
    fig.suptitle(f"Convergence of {index} (± conf)", fontsize=10)
    return fig
