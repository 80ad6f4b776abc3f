"""Summary statistics of a cohort over the calibration window, the same function for the data
and for every simulation, each scale-free so that a cohort of 1/10 the size is comparable:

- ``w..``: repeat purchase weeks per customer in consecutive blocks of ``block`` weeks (the
  tracking curve: the purchase rate and its decay, i.e. rate and dropout);
- ``f..``: the share of customers with 0, 1, 2, 3, 4, 5–6, 7–9, 10+ repeat purchase weeks (the
  frequency distribution: the spread of individual rates, the gamma shape);
- ``r..``: among repeaters, the share whose last purchase was 0–3, 4–8, 9–16, 17–26, 27+ weeks
  before the window's end (recency: dropout vs a low rate);
- ``s..``: the 10/25/50/75/90% quantiles of customers' mean spend per purchase week, over the
  overall mean (the spread of individual baskets; the level is a currency, not calibrated);
- ``k..``: optional weekly KPIs (NPS, CSAT, ...), block means.

pyabc's adaptive distance then scales every statistic by its spread over each generation's
simulations (median absolute deviation), so no block dominates by its units.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from experiments.calibrate.cohort import Purchases

FREQ_EDGES = (0, 1, 2, 3, 4, 5, 7, 10)  # lower edges of the frequency bins
RECENCY_EDGES = (0, 4, 9, 17, 27)  # lower edges of the recency bins, weeks before the end
SPEND_Q = (0.1, 0.25, 0.5, 0.75, 0.9)


def blocks(weeks: int, block: int) -> list[tuple[int, int]]:
    """(first, last) week of each block from week 2 (week 1 has no repeat purchase)."""
    out, w = [], 2
    while w <= weeks:
        out.append((w, min(w + block - 1, weeks)))
        w += block
    return out


def summarise(
    p: Purchases,
    weeks: int,
    block: int = 3,
    kpis: pd.DataFrame | None = None,
    observed_kpis: pd.DataFrame | None = None,
) -> dict[str, float]:
    """The statistics of ``p`` over weeks 1..``weeks``. ``kpis``: the run's weekly series
    (``step`` + KPI columns) when ``observed_kpis`` (``week`` + KPI columns) is given; the data
    pass the observed series as both."""
    out: dict[str, float] = {}
    weekly = p.weekly(weeks) / p.n
    for first, last in blocks(weeks, block):
        out[f"w{first:03d}"] = float(weekly[first - 1 : last].sum())
    keep = p.week <= weeks
    cust, week, spend = p.customer[keep], p.week[keep], p.spend[keep]
    freq = np.bincount(cust, minlength=p.n)
    idx = np.searchsorted(FREQ_EDGES, freq, side="right") - 1
    shares = np.bincount(idx, minlength=len(FREQ_EDGES)) / p.n
    for e, s in zip(FREQ_EDGES, shares, strict=True):
        out[f"f{e:02d}"] = float(s)
    repeaters = np.flatnonzero(freq > 0)
    last = np.zeros(p.n, dtype=np.int64)
    np.maximum.at(last, cust, week)
    if repeaters.size:
        gap = weeks - last[repeaters]
        idx = np.searchsorted(RECENCY_EDGES, gap, side="right") - 1
        rec = np.bincount(idx, minlength=len(RECENCY_EDGES)) / repeaters.size
        total = np.bincount(cust, weights=spend, minlength=p.n)[repeaters]
        per = total / freq[repeaters]
        mean = per.mean()
        q = np.quantile(per, SPEND_Q) / mean if mean > 0 else np.zeros(len(SPEND_Q))
    else:
        rec = np.zeros(len(RECENCY_EDGES))
        q = np.zeros(len(SPEND_Q))
    for e, s in zip(RECENCY_EDGES, rec, strict=True):
        out[f"r{e:02d}"] = float(s)
    for qq, s in zip(SPEND_Q, q, strict=True):
        out[f"s{int(qq * 100):02d}"] = float(s)
    if observed_kpis is not None and kpis is not None:
        out.update(kpi_stats(kpis, observed_kpis, weeks, block))
    return out


def kpi_stats(
    run: pd.DataFrame, observed: pd.DataFrame, weeks: int, block: int
) -> dict[str, float]:
    """Block means of each observed KPI over the weeks the data have (the run's values at the
    same weeks)."""
    out: dict[str, float] = {}
    run_by_week = run.set_index(run.columns[0])
    for name in observed.columns:
        if name == "week":
            continue
        have = observed.dropna(subset=[name])
        have = have[have["week"] <= weeks]
        for first, last in blocks(weeks, block):
            sel = have[(have["week"] >= first) & (have["week"] <= last)]
            if sel.empty:
                continue
            if run is observed:
                value = float(sel[name].mean())
            else:
                value = float(np.nanmean(run_by_week.loc[sel["week"].to_numpy(), name].to_numpy()))
            out[f"k_{name}_{first:03d}"] = value if np.isfinite(value) else 0.0
    return out


def as_vector(stats: Mapping[str, float]) -> np.ndarray:
    return np.array([stats[k] for k in sorted(stats)], dtype=float)
