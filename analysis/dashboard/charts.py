"""The dashboard's charts as data: fixed declared axes, runs A and B, shock bands, window means.

The browser draws each chart from a small JSON document (an SVG template in ``chart.vue``):
this module computes it from the weekly KPI rows, with no UI import. Nothing is rendered on the
server; a new week changes a few numbers and the browser patches its SVG.

Each chart is declared once in :data:`CHARTS`: its KPIs, a fixed y range (``per_1000`` ranges
scale with the market's size, for money), tick spacing and units. Values outside the range
are drawn at its edge. The x axis is always weeks 0..horizon.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sim.kpis import SERIES

W, H = 560, 250  # the SVG's coordinate box (it scales to the width of its cell)
LEFT, RIGHT, TOP, BOTTOM = 58, 12, 38, 30  # plot margins inside the box
BAND_ROW = 11  # px between the label rows of overlapping shock bands
SERIES_INDEX = {name: j for j, name in enumerate(SERIES)}


@dataclass(frozen=True)
class Line:
    kpi: str
    label: str
    colour: str


@dataclass(frozen=True)
class ChartSpec:
    key: str
    title: str
    unit: str
    lines: tuple[Line, ...]
    ymin: float
    ymax: float
    ytick: float
    fmt: str = "{:+.0f}"  # tick labels
    mean_fmt: str = "{:+.1f}"  # window means
    per_1000: bool = False  # the range is per 1,000 customers in the market (scaled by n/1000)
    alarms: bool = False  # mark the weeks the firm's alarm rang
    extra: dict = field(default_factory=dict)

    def yrange(self, n_customers: int) -> tuple[float, float, float]:
        k = n_customers / 1000.0 if self.per_1000 else 1.0
        return self.ymin * k, self.ymax * k, self.ytick * k


CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec(
        "nps",
        "NPS: true and as the firm measures it",
        "points",
        (Line("nps", "true NPS", "#1f77b4"), Line("measured_nps", "measured NPS", "#ff7f0e")),
        -60.0,
        100.0,
        20.0,
        alarms=True,
    ),
    ChartSpec(
        "market_share",
        "Market share of the focal firm",
        "share of customers",
        (Line("market_share", "market share", "#9467bd"),),
        0.2,
        0.8,
        0.1,
        fmt="{:.0%}",
        mean_fmt="{:.1%}",
    ),
    ChartSpec(
        "profit",
        "Profit per week",
        "cu per week",
        (Line("profit", "profit", "#2ca02c"),),
        -1000.0,
        5000.0,
        1000.0,
        fmt="{:,.0f}",
        mean_fmt="{:,.0f}",
        per_1000=True,
    ),
    ChartSpec(
        "retention",
        "Retention: customers kept per week",
        "share per week",
        (Line("retention_rate", "retention", "#8c564b"),),
        0.95,
        1.0,
        0.01,
        fmt="{:.0%}",
        mean_fmt="{:.2%}",
    ),
)
CHART_BY_KEY = {c.key: c for c in CHARTS}


@dataclass(frozen=True)
class Band:
    """A shock on the chart: weeks ``start``..``end - 1`` and its label."""

    start: int
    end: int
    label: str


@dataclass(frozen=True)
class RunView:
    """One run as the charts see it: weekly KPI rows (row w-1 = week w), its bands, its label."""

    label: str
    rows: np.ndarray  # (weeks, len(SERIES))
    bands: tuple[Band, ...] = ()
    alarms: tuple[int, ...] = ()

    def series(self, kpi: str) -> np.ndarray:
        if len(self.rows) == 0:
            return np.empty(0)
        return self.rows[:, SERIES_INDEX[kpi]]

    @property
    def weeks(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class Window:
    """A lesson's claim window on a chart: mean of ``kpi`` over weeks ``first``..``last``."""

    kpi: str
    first: int
    last: int


def window_mean(run: RunView, w: Window) -> tuple[float, bool]:
    """The run's mean of ``w.kpi`` over the window's weeks simulated so far, and whether the
    window is complete (NaN if none of its weeks has been simulated or all are undefined)."""
    y = run.series(w.kpi)[w.first - 1 : w.last]
    y = y[np.isfinite(y)]
    return (float(y.mean()) if y.size else math.nan), run.weeks >= w.last


def _fmt(spec: ChartSpec, v: float, mean: bool = False) -> str:
    return "–" if not math.isfinite(v) else (spec.mean_fmt if mean else spec.fmt).format(v)


def _scale(lo: float, hi: float, a: float, b: float):
    return lambda v: a + (np.asarray(v, dtype=float) - lo) * (b - a) / (hi - lo)


def _points(xs: np.ndarray, ys: np.ndarray) -> list[str]:
    """SVG polyline point lists: one per run of defined values (NaN breaks a line)."""
    out, cur = [], []
    for x, y in zip(xs.tolist(), ys.tolist(), strict=True):
        if math.isfinite(y):
            cur.append(f"{x:.1f},{y:.1f}")
        elif cur:
            out.append(" ".join(cur))
            cur = []
    if cur:
        out.append(" ".join(cur))
    return out


def _ticks(lo: float, hi: float, step: float) -> list[float]:
    k0, k1 = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    return [k * step for k in range(k0, k1 + 1)]


def _xtick(horizon: int) -> int:
    for step in (4, 13, 26, 52, 104):
        if horizon / step <= 8:
            return step
    return 208


def chart_data(
    spec: ChartSpec,
    current: RunView,
    previous: RunView | None,
    horizon: int,
    n_customers: int,
    windows: Sequence[Window] = (),
) -> dict:
    """The chart's document for ``chart.vue``: geometry in the SVG box, labels, legend, means."""
    lo, hi, step = spec.yrange(n_customers)
    xmax = max(horizon, current.weeks, previous.weeks if previous else 0, 1)
    x = _scale(0, xmax, LEFT, W - RIGHT)
    y = _scale(lo, hi, H - BOTTOM, TOP)
    top, bottom = TOP, H - BOTTOM
    lines, legend = [], []
    runs = [(previous, True), (current, False)] if previous is not None else [(current, False)]
    for run, faded in runs:
        weeks = np.arange(1, run.weeks + 1)
        for ln in spec.lines:
            ys = np.clip(run.series(ln.kpi), lo, hi)
            lines.append(
                {
                    "points": _points(x(weeks), y(ys)) if run.weeks else [],
                    "colour": ln.colour,
                    "opacity": 0.35 if faded else 1.0,
                    "dash": "5,3" if faded else "",
                    "width": 1.5 if faded else 2.0,
                }
            )
    for ln in spec.lines:
        legend.append({"label": ln.label, "colour": ln.colour, "opacity": 1.0, "dash": ""})
    if previous is not None:
        legend.append({"label": previous.label, "colour": "#555", "opacity": 0.45, "dash": "5,3"})
    bands = []
    seen: list[tuple[float, float]] = []
    for b in current.bands:
        x0, x1 = float(x(b.start - 0.5)), float(x(min(b.end - 0.5, xmax)))
        row = sum(1 for (a0, a1) in seen if a0 < x1 and x0 < a1)  # stack overlapping labels
        seen.append((x0, x1))
        bands.append(
            {
                "x": round(x0, 1),
                "w": round(max(x1 - x0, 1.0), 1),
                "label": b.label,
                "ly": top - 3 - BAND_ROW * (row % 2),
            }
        )
    means = []
    for w in windows:
        if w.kpi not in {ln.kpi for ln in spec.lines}:
            continue
        colour = next(ln.colour for ln in spec.lines if ln.kpi == w.kpi)
        x0, x1 = float(x(w.first - 0.5)), float(x(w.last + 0.5))
        parts = []
        for run, faded in runs:
            m, complete = window_mean(run, w)
            if math.isfinite(m):
                yy = float(y(min(max(m, lo), hi)))
                means.append(
                    {
                        "x1": round(x0, 1),
                        "x2": round(x1, 1),
                        "y": round(yy, 1),
                        "colour": colour,
                        "opacity": 0.45 if faded else 1.0,
                    }
                )
            name = "previous" if faded else "this run"
            parts.append(f"{name} {_fmt(spec, m, True)}" + ("" if complete else " (so far)"))
        means.append(
            {
                "text": f"mean weeks {w.first}–{w.last}: " + ", ".join(parts),
                "x1": round(x0, 1),
                "x2": round(x1, 1),
                "bracket": True,
            }
        )
    alarm_x = []
    if spec.alarms:
        alarm_x = [round(float(x(w)), 1) for w in current.alarms]
    return {
        "title": spec.title,
        "unit": spec.unit,
        "w": W,
        "h": H,
        "left": LEFT,
        "right": W - RIGHT,
        "top": top,
        "bottom": bottom,
        "yticks": [
            {"y": round(float(y(t)), 1), "label": _fmt(spec, t)} for t in _ticks(lo, hi, step)
        ],
        "xticks": [
            {"x": round(float(x(t)), 1), "label": str(t)} for t in range(0, xmax + 1, _xtick(xmax))
        ],
        "lines": lines,
        "legend": legend,
        "bands": bands,
        "means": means,
        "texts": [m["text"] for m in means if m.get("bracket")],
        "alarms": alarm_x,
    }
