"""Scenario discovery: which ranges of the inputs make an outcome condition likely.

PRIM, the patient rule induction method (Friedman & Fisher 1999), as used for scenario
discovery (Bryant & Lempert 2010): starting from the box holding every sample, repeatedly peel
off the ``alpha`` share of the samples at the low or high end of one input, choosing the peel
that leaves the highest share of cases of interest (the *density*), until the box holds less
than ``min_mass`` of the samples.  The peeling trajectory trades *coverage* (share of all cases
of interest inside the box) against density; the box chosen is the largest one whose density
is within ``tolerance`` of the best on the trajectory (or the largest with at least
``min_density``), then *pasted*: widened again one input at a time while that raises the
density.  Each restriction of the box gets a quasi-p-value (one-sided binomial test of the
box's density against the box without that restriction) so that restrictions that noise could
explain can be spotted.

Implemented here rather than taken from a library: the standalone ``PRIM`` package is GPL-3
and unmaintained, ``ema_workbench`` brings a large dependency tree for one function.

Pure functions: :func:`prim` (one box), :func:`prim_boxes` (several boxes by covering),
:func:`box_figure` and :func:`tradeoff_figure` (matplotlib Figures).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

__all__ = [
    "Box",
    "PrimResult",
    "box_figure",
    "describe_box",
    "prim",
    "prim_boxes",
    "tradeoff_figure",
]


@dataclass
class Box:
    """A box: per input a closed interval [low, high]; ``limits`` has columns low, high,
    restricted (the interval is narrower than the data's range) and qp (quasi-p-value of the
    restriction, NaN if unrestricted); ``data_low``/``data_high`` the range of the samples."""

    limits: pd.DataFrame
    coverage: float
    density: float
    mass: float
    n: int  # samples inside
    n_cases: int  # cases of interest inside

    @property
    def restricted(self) -> pd.DataFrame:
        return self.limits[self.limits["restricted"]]


@dataclass
class PrimResult:
    """The chosen (pasted) ``box``, the peeling ``trajectory`` (one row per box: coverage,
    density, mass, n_restricted) with the ``boxes`` on it, the index ``selected`` of the
    trajectory box that was pasted, and the base rate of the condition."""

    box: Box
    trajectory: pd.DataFrame
    boxes: list[Box] = field(repr=False)
    selected: int
    base_rate: float
    n_cases: int


def _prepare(X: pd.DataFrame, y) -> tuple[pd.DataFrame, np.ndarray]:
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"X must be a pandas DataFrame of inputs, got {type(X).__name__}")
    yv = np.asarray(y)
    if yv.dtype != bool:
        if not np.isin(yv, [0, 1]).all():
            raise ValueError("y must be boolean (the condition of interest holds or not)")
        yv = yv.astype(bool)
    if yv.ndim != 1 or len(yv) != len(X):
        raise ValueError(f"y must have one value per row of X ({len(X)}), got shape {yv.shape}")
    num = X.select_dtypes("number")
    if num.shape[1] == 0:
        raise ValueError("X has no numeric input column")
    if not np.isfinite(num.to_numpy(float)).all():
        raise ValueError("X has missing or non-finite values")
    if not yv.any():
        raise ValueError("the condition holds for no sample: nothing to discover")
    return num.reset_index(drop=True).astype(float), yv


def _inside(values: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return ((values >= low) & (values <= high)).all(axis=1)


def _box(X: pd.DataFrame, values: np.ndarray, y: np.ndarray, low, high, dmin, dmax) -> Box:
    inside = _inside(values, low, high)
    n_in = int(inside.sum())
    k = int(y[inside].sum())
    restricted = (low > dmin + 1e-12) | (high < dmax - 1e-12)
    qp = np.full(len(low), np.nan)
    for j in np.flatnonzero(restricted):
        lo, hi = low.copy(), high.copy()
        lo[j], hi[j] = dmin[j], dmax[j]
        wider = _inside(values, lo, hi)
        p0 = float(y[wider].mean()) if wider.any() else 0.0
        # probability that a box of n_in samples at the wider box's density holds >= k cases
        qp[j] = float(stats.binom.sf(k - 1, n_in, p0)) if n_in else np.nan
    limits = pd.DataFrame(
        {
            "low": low,
            "high": high,
            "restricted": restricted,
            "qp": qp,
            "data_low": dmin,
            "data_high": dmax,
        },
        index=pd.Index(X.columns, name="factor"),
    )
    return Box(
        limits=limits,
        coverage=k / max(int(y.sum()), 1),
        density=k / n_in if n_in else 0.0,
        mass=n_in / len(y),
        n=n_in,
        n_cases=k,
    )


def _peel_candidates(x: np.ndarray, alpha: float):
    """(side, new limit, rows removed) for peeling the low and the high end of ``x``."""
    out = []
    lo_q, hi_q = np.quantile(x, alpha), np.quantile(x, 1 - alpha)
    remove = x < lo_q
    if not remove.any():  # discrete input: peel its lowest level
        remove = x <= x.min()
    if remove.any() and not remove.all():
        out.append(("low", lo_q if (x < lo_q).any() else x[~remove].min(), remove))
    remove = x > hi_q
    if not remove.any():
        remove = x >= x.max()
    if remove.any() and not remove.all():
        out.append(("high", hi_q if (x > hi_q).any() else x[~remove].max(), remove))
    return out


def _paste(values, y, low, high, dmin, dmax, alpha: float):
    """Widen the box one input at a time while that raises its density."""
    low, high = low.copy(), high.copy()
    while True:
        inside = _inside(values, low, high)
        n_in = int(inside.sum())
        density = y[inside].mean()
        step = max(1, round(alpha * n_in))
        best = None
        for j in range(values.shape[1]):
            others = np.ones(len(low), bool)
            others[j] = False
            in_others = _inside(values[:, others], low[others], high[others])
            x = values[:, j]
            for side in ("low", "high"):
                if side == "low":
                    cand = np.sort(x[in_others & (x < low[j])])[::-1]
                else:
                    cand = np.sort(x[in_others & (x > high[j])])
                if not cand.size:
                    continue
                limit = cand[min(step, cand.size) - 1]
                lo, hi = low.copy(), high.copy()
                if side == "low":
                    lo[j] = limit if cand.size > step else dmin[j]
                else:
                    hi[j] = limit if cand.size > step else dmax[j]
                new = _inside(values, lo, hi)
                d = y[new].mean()
                if d > density + 1e-12 and (best is None or d > best[0]):
                    best = (d, lo, hi)
        if best is None:
            return low, high
        _, low, high = best


def prim(
    X: pd.DataFrame,
    y,
    *,
    alpha: float = 0.05,
    paste_alpha: float = 0.05,
    min_mass: float = 0.05,
    tolerance: float = 0.05,
    min_density: float | None = None,
    max_qp: float | None = None,
) -> PrimResult:
    """Find the box of input values in which the condition ``y`` (bool per row of ``X``) is
    most likely.  ``X``: one numeric column per input (non-numeric columns are ignored).

    ``alpha``: share of the box's samples peeled per step; ``min_mass``: stop peeling when the
    box would hold less than this share of all samples; the box chosen from the trajectory is
    the largest with density >= ``min_density`` if given, else >= (best density −
    ``tolerance``); ``paste_alpha``: share added per pasting step; ``max_qp``: afterwards,
    drop the restrictions whose quasi-p-value exceeds it, least significant first (with few
    samples PRIM restricts inputs that only fit noise).
    """
    if not 0 < alpha < 0.5 or not 0 < paste_alpha < 0.5:
        raise ValueError(
            f"invalid alpha={alpha!r} / paste_alpha={paste_alpha!r}: allowed numbers in (0, 0.5)"
        )
    if not 0 < min_mass < 1:
        raise ValueError(f"invalid min_mass={min_mass!r}: allowed a number in (0, 1)")
    Xn, yv = _prepare(X, y)
    values = Xn.to_numpy()
    n = len(yv)
    dmin, dmax = values.min(axis=0), values.max(axis=0)
    low, high = dmin.copy(), dmax.copy()
    boxes = [_box(Xn, values, yv, low, high, dmin, dmax)]
    inside = np.ones(n, bool)
    while True:
        rows = np.flatnonzero(inside)
        best = None
        for j in range(values.shape[1]):
            x = values[rows, j]
            for side, limit, remove in _peel_candidates(x, alpha):
                keep = rows[~remove]
                if len(keep) < min_mass * n:
                    continue
                d = yv[keep].mean()
                key = (d, len(keep))
                if best is None or key > best[0]:
                    best = (key, j, side, limit, keep)
        if best is None:
            break
        _, j, side, limit, keep = best
        if side == "low":
            low[j] = limit
        else:
            high[j] = limit
        inside = np.zeros(n, bool)
        inside[keep] = True
        boxes.append(_box(Xn, values, yv, low.copy(), high.copy(), dmin, dmax))
        if boxes[-1].density >= 1.0 and boxes[-2].density >= 1.0:
            break  # pure box: further peeling only loses coverage
    traj = pd.DataFrame(
        {
            "coverage": [b.coverage for b in boxes],
            "density": [b.density for b in boxes],
            "mass": [b.mass for b in boxes],
            "n_restricted": [int(b.limits["restricted"].sum()) for b in boxes],
        }
    )
    threshold = min_density if min_density is not None else traj["density"].max() - tolerance
    ok = np.flatnonzero(traj["density"].to_numpy() >= threshold)
    sel = int(ok[0]) if ok.size else int(traj["density"].idxmax())
    chosen = boxes[sel].limits
    p_low, p_high = _paste(
        values, yv, chosen["low"].to_numpy(), chosen["high"].to_numpy(), dmin, dmax, paste_alpha
    )
    box = _box(Xn, values, yv, p_low, p_high, dmin, dmax)
    while max_qp is not None:
        qp = box.limits["qp"].to_numpy()
        if not np.isfinite(qp).any() or np.nanmax(qp) <= max_qp:
            break
        j = int(np.nanargmax(qp))
        p_low, p_high = p_low.copy(), p_high.copy()
        p_low[j], p_high[j] = dmin[j], dmax[j]
        box = _box(Xn, values, yv, p_low, p_high, dmin, dmax)
    return PrimResult(
        box=box,
        trajectory=traj,
        boxes=boxes,
        selected=sel,
        base_rate=float(yv.mean()),
        n_cases=int(yv.sum()),
    )


def prim_boxes(
    X: pd.DataFrame, y, *, max_boxes: int = 3, min_coverage: float = 0.1, **kw
) -> list[PrimResult]:
    """Several boxes by covering: after each box, its samples are removed and PRIM runs on
    the rest; stops after ``max_boxes``, when the remaining cases are fewer than
    ``min_coverage`` of all cases, or when a box is no denser than the rest of the data.
    Coverage and density of each box refer to the samples it was found on."""
    Xn, yv = _prepare(X, y)
    total = int(yv.sum())
    out: list[PrimResult] = []
    keep = np.ones(len(yv), bool)
    while len(out) < max_boxes and yv[keep].sum() >= max(1, min_coverage * total):
        res = prim(Xn[keep].reset_index(drop=True), yv[keep], **kw)
        if res.box.density <= res.base_rate + 1e-9:
            break
        out.append(res)
        lim = res.box.limits
        keep &= ~_inside(Xn.to_numpy(), lim["low"].to_numpy(), lim["high"].to_numpy())
    return out


def describe_box(box: Box, labels: dict[str, str] | None = None, digits: int = 3) -> str:
    """The box in words: ``a in [0.70, 1.00] and b <= 0.30 (coverage 85%, density 95%)``."""
    labels = labels or {}
    parts = []
    for f, r in box.restricted.iterrows():
        name = labels.get(f, f)
        at_low, at_high = r["low"] <= r["data_low"] + 1e-12, r["high"] >= r["data_high"] - 1e-12
        if r["low"] == r["high"]:
            parts.append(f"{name} = {r['low']:.{digits}g}")
        elif at_low:
            parts.append(f"{name} ≤ {r['high']:.{digits}g}")
        elif at_high:
            parts.append(f"{name} ≥ {r['low']:.{digits}g}")
        else:
            parts.append(f"{name} in [{r['low']:.{digits}g}, {r['high']:.{digits}g}]")
    cond = " and ".join(parts) if parts else "anywhere (no restriction)"
    return f"{cond} (coverage {box.coverage:.0%}, density {box.density:.0%}, {box.n} samples)"


def box_figure(
    result: PrimResult, *, labels: dict[str, str] | None = None, title: str = ""
) -> Figure:
    """The box's limits on each input, normalised to the sampled range (grey: the range of
    the samples; coloured: the box, with its limits written and the quasi-p-value of each
    restriction)."""
    lim = result.box.limits
    labels = labels or {}
    order = list(lim.index[lim["restricted"]]) + list(lim.index[~lim["restricted"]])
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(order) + 1.6), layout="constrained")
    for i, f in enumerate(order[::-1]):
        r = lim.loc[f]
        span = (r["data_high"] - r["data_low"]) or 1.0
        lo, hi = (r["low"] - r["data_low"]) / span, (r["high"] - r["data_low"]) / span
        ax.plot([0, 1], [i, i], color="#cccccc", lw=8, solid_capstyle="butt")
        color = "tab:blue" if r["restricted"] else "#88aacc"
        if hi - lo < 0.01:  # a single value: a bar of no width would not show
            ax.plot([lo], [i], "|", color=color, ms=16, mew=5)
            ax.text(lo, i + 0.28, f"{r['low']:.3g}", ha="center", fontsize=7)
        else:
            ax.plot([lo, hi], [i, i], color=color, lw=8, solid_capstyle="butt")
            ax.text(lo, i + 0.28, f"{r['low']:.3g}", ha="center", fontsize=7)
            ax.text(hi, i + 0.28, f"{r['high']:.3g}", ha="center", fontsize=7)
        if r["restricted"]:
            ax.text(1.03, i, f"qp={r['qp']:.2g}", va="center", fontsize=7)
    ax.set_yticks(range(len(order)), [labels.get(f, f) for f in order[::-1]], fontsize=8)
    ax.set_xlim(-0.05, 1.18)
    ax.set_ylim(-0.7, len(order) - 0.2)
    ax.set_xlabel("position within the sampled range (0 = lowest, 1 = highest)")
    b = result.box
    ax.set_title(
        title
        or f"PRIM box: coverage {b.coverage:.0%}, density {b.density:.0%} (base rate {result.base_rate:.0%})",
        fontsize=10,
    )
    ax.grid(alpha=0.3, axis="x")
    return fig


def tradeoff_figure(result: PrimResult, *, title: str = "") -> Figure:
    """Coverage vs density along the peeling trajectory (colour: number of restricted inputs),
    with the selected box and the pasted box marked."""
    t = result.trajectory
    fig, ax = plt.subplots(figsize=(6, 4.2), layout="constrained")
    sc = ax.scatter(
        t["coverage"], t["density"], c=t["n_restricted"], cmap="viridis", s=18, zorder=2
    )
    ax.plot(t["coverage"], t["density"], color="#999999", lw=0.8, zorder=1)
    s = t.iloc[result.selected]
    ax.scatter(
        [s["coverage"]],
        [s["density"]],
        s=120,
        facecolors="none",
        edgecolors="tab:red",
        label="selected (peeled)",
    )
    ax.scatter(
        [result.box.coverage],
        [result.box.density],
        marker="*",
        s=140,
        color="tab:red",
        label="after pasting",
    )
    ax.set_xlabel("coverage (share of cases of interest in the box)")
    ax.set_ylabel("density (share of the box's samples that are cases)")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.colorbar(sc, ax=ax, label="restricted inputs")
    ax.set_title(title or "PRIM peeling trajectory", fontsize=10)
    return fig
