"""What-if maps: an outcome over two levers, with the region where a target is met.

From a sweep over two levers (a DataFrame like ``sweep.csv``: one row per run with the swept
keys, the seed and the KPIs), :func:`lever_grid` averages the outcome over replicates per cell
and computes, per cell, the share of replicates meeting a target condition such as
``"nps >= 30 and cumulative_profit >= base_cumulative_profit"``; :func:`whatif_map` draws
the outcome as a heatmap with the contour of the cells where the target is met in at least half
of the replicates.

Targets are conditions over the KPI columns in a small grammar (:func:`evaluate_target`),
parsed and never run as Python code; ``base_<kpi>`` names the mean of a KPI in the *baseline cell* (the cell at the model's default lever values, or the nearest one, or
the cell given by ``baseline``).  Lever names with dots can be written with underscores
(``firm_support_human``).
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from analysis.stats import fmt

__all__ = [
    "GRAMMAR",
    "LeverGrid",
    "default_value",
    "evaluate_target",
    "lever_grid",
    "parse_target",
    "target_outline",
    "whatif_map",
]

MAX_LEVELS = 25  # more distinct values than this: the lever is binned into quantile bins
_BINS = 8


@dataclass
class LeverGrid:
    """``mean``: outcome mean per cell (index: y lever values, columns: x lever values);
    ``met``: share of replicates meeting the target per cell (None without a target);
    ``n``: replicates per cell; ``baseline``: the baseline cell (x, y) and ``base``: the
    baseline means of every KPI (the ``base_<kpi>`` values)."""

    x: str
    y: str
    outcome: str
    mean: pd.DataFrame
    met: pd.DataFrame | None
    n: pd.DataFrame
    target: str | None
    baseline: tuple[float, float]
    base: dict[str, float]


def default_value(key: str) -> float | None:
    """The model's default value of a dotted parameter key (None if unknown/not a number)."""
    from sim.params import Params, to_dict

    node = to_dict(Params())
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return float(node) if isinstance(node, int | float) and not isinstance(node, bool) else None


def _safe(name: str) -> str:
    return re.sub(r"\W", "_", name)


# ---------------------------------------------------------------------------------------------
# The target grammar: parsed with ``ast`` and evaluated node by node from a whitelist; a target
# is data, never code (no eval, exec or pandas eval: those reach Python through ``@`` and calls).
# ---------------------------------------------------------------------------------------------
GRAMMAR = (
    "KPI names, base_<kpi>, numbers, comparisons (< <= > >= == !=), + - * /, parentheses, "
    "and/or/not"
)
MAX_TARGET_CHARS = 500
_MAX_DEPTH = 50
_ARITH = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.true_divide}
_COMPARE = {
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
}


class _Refused(ValueError):
    """A target outside the grammar."""


def _describe(node: ast.AST) -> str:
    names = {
        ast.Call: "a function call",
        ast.Attribute: "attribute access",
        ast.Subscript: "subscripts",
        ast.Lambda: "lambdas",
        ast.Pow: "**",
        ast.FloorDiv: "//",
        ast.Mod: "%",
        ast.MatMult: "@",
        ast.BitAnd: "&",
        ast.BitOr: "|",
        ast.Invert: "~",
    }
    return names.get(type(node), type(node).__name__)


def _bool(value: np.ndarray, what: str) -> np.ndarray:
    if value.dtype != bool:
        raise _Refused(f"{what} needs conditions (true/false), not numbers")
    return value


def _eval(node: ast.AST, names: Mapping[str, np.ndarray], depth: int = 0) -> np.ndarray:
    if depth > _MAX_DEPTH:
        raise _Refused("it is nested too deeply")
    d = depth + 1
    if isinstance(node, ast.Expression):
        return _eval(node.body, names, d)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise _Refused(f"{node.value!r} is not a number")
        return np.asarray(float(node.value))
    if isinstance(node, ast.Name):
        if node.id not in names:
            raise _Refused(f"unknown name {node.id!r}")
        return names[node.id]
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, names, d)
        if isinstance(node.op, ast.Not):
            return ~_bool(value, "not")
        if isinstance(node.op, ast.USub | ast.UAdd) and value.dtype != bool:
            return -value if isinstance(node.op, ast.USub) else value
        raise _Refused(f"{_describe(node.op)} is not allowed")
    if isinstance(node, ast.BinOp):
        op = _ARITH.get(type(node.op))
        if op is None:
            raise _Refused(f"{_describe(node.op)} is not allowed")
        left, right = _eval(node.left, names, d), _eval(node.right, names, d)
        if left.dtype == bool or right.dtype == bool:
            raise _Refused("arithmetic needs numbers, not conditions")
        with np.errstate(divide="ignore", invalid="ignore"):
            return op(left, right)
    if isinstance(node, ast.BoolOp):
        values = [_bool(_eval(v, names, d), "and/or") for v in node.values]
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        out = values[0]
        for v in values[1:]:
            out = combine(out, v)
        return out
    if isinstance(node, ast.Compare):
        left = _eval(node.left, names, d)
        out = None
        for op_node, right_node in zip(node.ops, node.comparators, strict=True):
            op = _COMPARE.get(type(op_node))
            if op is None:
                raise _Refused(f"the comparison {type(op_node).__name__} is not allowed")
            right = _eval(right_node, names, d)
            if left.dtype == bool or right.dtype == bool:
                raise _Refused("comparisons need numbers, not conditions")
            step = op(left, right)
            out = step if out is None else np.logical_and(out, step)
            left = right
        return out
    raise _Refused(f"{_describe(node)} is not allowed")


def parse_target(target: str) -> ast.Expression:
    """The syntax tree of a target, or a one-line ValueError if it is not in the grammar
    (checked without evaluating anything)."""
    if not isinstance(target, str) or not target.strip():
        raise ValueError(f"invalid target {target!r}: allowed a condition made of {GRAMMAR}")
    if len(target) > MAX_TARGET_CHARS:
        raise ValueError(
            f"invalid target ({len(target)} characters): allowed at most {MAX_TARGET_CHARS}"
        )
    try:
        tree = ast.parse(target.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ValueError(f"invalid target {target!r}: not a condition made of {GRAMMAR}") from None
    return tree


def evaluate_target(
    df: pd.DataFrame, target: str, constants: Mapping[str, float] = ()
) -> pd.Series:
    """Boolean Series: the ``target`` condition evaluated on each row of ``df``.

    The grammar: KPI (column) names, ``base_<kpi>`` and other ``constants`` by name, numbers,
    comparisons (``< <= > >= == !=``, chained as in ``0.2 < x <= 0.8``), ``+ - * /``,
    parentheses, ``and``/``or``/``not``. The target is parsed with :mod:`ast` and evaluated
    node by node on the columns; anything else (calls, attributes, subscripts, ``@``,
    lambdas, strings) is refused, so a target can never run code. Column names are usable as
    written when they are identifiers, and with every non-word character replaced by ``_``
    (``firm.support.human`` → ``firm_support_human``). A bad target raises a one-line
    ValueError naming what is not allowed and the names available.
    """
    tree = parse_target(target)
    names: dict[str, np.ndarray] = {}
    for c in df.columns:
        values = df[c]
        if pd.api.types.is_bool_dtype(values):
            names[_safe(str(c))] = values.to_numpy(dtype=bool)
        elif pd.api.types.is_numeric_dtype(values):
            names[_safe(str(c))] = values.to_numpy(dtype=float)
    for k, v in dict(constants).items():
        names[_safe(k)] = np.asarray(float(v))
    try:
        out = _eval(tree, names)
    except _Refused as exc:
        listed = ", ".join(sorted(names))
        raise ValueError(
            f"invalid target {target!r}: {exc}; allowed {GRAMMAR} (names: {listed})"
        ) from None
    if out.dtype != bool:
        raise ValueError(f"invalid target {target!r}: it must be a condition (true/false per run)")
    return pd.Series(np.broadcast_to(out, (len(df),)).copy(), index=df.index, dtype=bool)


def _levels(values: pd.Series) -> pd.Series:
    """The lever's values, binned into quantile-bin midpoints when there are too many."""
    if values.nunique() <= MAX_LEVELS:
        return values.astype(float)
    bins = pd.qcut(values, _BINS, duplicates="drop")
    return bins.map(lambda iv: float(iv.mid)).astype(float)


def lever_grid(
    sweep: pd.DataFrame,
    x: str,
    y: str,
    outcome: str,
    target: str | None = None,
    *,
    baseline: Mapping[str, float] | None = None,
) -> LeverGrid:
    """Per (x, y) cell: mean outcome, replicates, and share of replicates meeting ``target``."""
    for c in (x, y, outcome):
        if c not in sweep.columns:
            raise ValueError(
                f"invalid column {c!r}: allowed one of {', '.join(map(str, sweep.columns))}"
            )
    if x == y:
        raise ValueError("the two levers must differ")
    d = sweep.copy()
    d["_x"], d["_y"] = _levels(d[x]), _levels(d[y])
    numeric = [
        c for c in d.columns if c not in (x, y, "_x", "_y") and pd.api.types.is_numeric_dtype(d[c])
    ]
    cells = d.groupby(["_y", "_x"])
    means = cells[numeric].mean()
    xs, ys = np.sort(d["_x"].unique()), np.sort(d["_y"].unique())
    # the baseline cell: given, else the model's defaults, else the middle of the grid
    want = dict(baseline or {})
    bx = want.get(x, default_value(x))
    by = want.get(y, default_value(y))
    bx = xs[np.abs(xs - bx).argmin()] if bx is not None else xs[len(xs) // 2]
    by = ys[np.abs(ys - by).argmin()] if by is not None else ys[len(ys) // 2]
    base = (
        {f"base_{c}": float(means.loc[(by, bx), c]) for c in numeric}
        if (by, bx) in means.index
        else {}
    )
    mean = means[outcome].unstack("_x").reindex(index=ys, columns=xs)
    n = cells.size().unstack("_x").reindex(index=ys, columns=xs).fillna(0).astype(int)
    met = None
    if target:
        d["_met"] = (
            evaluate_target(d.drop(columns=["_x", "_y"]), target, base).astype(float).to_numpy()
        )
        met = d.groupby(["_y", "_x"])["_met"].mean().unstack("_x").reindex(index=ys, columns=xs)
    for frame in (mean, n, *([met] if met is not None else [])):
        frame.index.name, frame.columns.name = y, x
    return LeverGrid(x, y, outcome, mean, met, n, target, (float(bx), float(by)), base)


def target_outline(
    ok: np.ndarray, x_edges: np.ndarray, y_edges: np.ndarray
) -> list[list[tuple[float, float]]]:
    """Line segments along the cell edges that separate cells where ``ok`` (rows: y, columns:
    x) holds from cells where it does not or from the outside: the contour of the target
    region on the lever grid."""
    ny, nx = ok.shape
    padded = np.zeros((ny + 2, nx + 2), bool)
    padded[1:-1, 1:-1] = ok
    segs = []
    for i, j in zip(*np.nonzero(ok), strict=True):
        x0, x1, y0, y1 = x_edges[j], x_edges[j + 1], y_edges[i], y_edges[i + 1]
        if not padded[i, j + 1]:  # below
            segs.append([(x0, y0), (x1, y0)])
        if not padded[i + 2, j + 1]:  # above
            segs.append([(x0, y1), (x1, y1)])
        if not padded[i + 1, j]:  # left
            segs.append([(x0, y0), (x0, y1)])
        if not padded[i + 1, j + 2]:  # right
            segs.append([(x1, y0), (x1, y1)])
    return segs


def _edges(v: np.ndarray) -> np.ndarray:
    if len(v) == 1:
        return np.array([v[0] - 0.5, v[0] + 0.5])
    mid = (v[1:] + v[:-1]) / 2
    return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])


def whatif_map(
    sweep: pd.DataFrame | LeverGrid,
    x: str | None = None,
    y: str | None = None,
    outcome: str | None = None,
    target: str | None = None,
    *,
    baseline: Mapping[str, float] | None = None,
    labels: Mapping[str, str] | None = None,
    title: str = "",
    annotate: bool = True,
) -> Figure:
    """Heatmap of the mean ``outcome`` over levers ``x`` × ``y`` with the contour (red, along
    the cell edges) of the region where the ``target`` is met in at least half of the
    replicates; the baseline cell is outlined (dashed white)."""
    g = (
        sweep
        if isinstance(sweep, LeverGrid)
        else lever_grid(sweep, x, y, outcome, target, baseline=baseline)
    )
    labels = labels or {}
    xs, ys = g.mean.columns.to_numpy(float), g.mean.index.to_numpy(float)
    fig, ax = plt.subplots(figsize=(7.5, 5.6), layout="constrained")
    mesh = ax.pcolormesh(
        _edges(xs), _edges(ys), g.mean.to_numpy(float), cmap="viridis", shading="flat"
    )
    fig.colorbar(mesh, ax=ax, label=f"mean {g.outcome.replace('_', ' ')}")
    if annotate and len(xs) * len(ys) <= 100:
        vals = g.mean.to_numpy(float)
        lo, hi = np.nanmin(vals), np.nanmax(vals)
        for i, yv in enumerate(ys):
            for j, xv in enumerate(xs):
                v = vals[i, j]
                if np.isfinite(v):
                    dark = (v - lo) / ((hi - lo) or 1) < 0.55
                    ax.text(
                        xv,
                        yv,
                        fmt(v),
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if dark else "black",
                    )
    handles = []
    if g.met is not None:
        ok = g.met.to_numpy(float) >= 0.5
        segments = target_outline(ok, _edges(xs), _edges(ys))
        if segments:
            ax.add_collection(LineCollection(segments, colors="red", linewidths=2.5, zorder=3))
        handles.append(
            plt.Line2D(
                [],
                [],
                color="red",
                lw=2.5,
                label=f"target met in ≥50% of replicates ({int(ok.sum())} of {ok.size} cells)",
            )
        )
    bx, by = g.baseline
    w, h = (
        np.diff(_edges(xs))[np.searchsorted(xs, bx)],
        np.diff(_edges(ys))[np.searchsorted(ys, by)],
    )
    ax.add_patch(
        plt.Rectangle((bx - w / 2, by - h / 2), w, h, fill=False, ec="white", lw=2, ls="--")
    )
    handles.append(plt.Line2D([], [], color="grey", lw=2, ls="--", label="baseline cell"))
    ax.legend(
        handles=handles,
        fontsize=8,
        loc="upper left",
        bbox_to_anchor=(0, -0.12),
        ncol=3,
        frameon=False,
    )
    ax.set_xlabel(labels.get(g.x, g.x))
    ax.set_ylabel(labels.get(g.y, g.y))
    ttl = title or f"What if: mean {g.outcome.replace('_', ' ')} over the two levers"
    if g.target:
        ttl += "\ntarget: " + textwrap.shorten(g.target, 90)
    ax.set_title(ttl, fontsize=10)
    return fig
