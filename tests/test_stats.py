"""Intervals of bounded quantities stay within what is possible (a rate in [0, 1], a latency
>= 0), keep the Student-t interval where it already fits, and every KPI has a declared range."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.stats import KPI_BOUNDS, diff_bounds, kpi_bounds, mean_ci, paired_difference, t_bounds
from sim.kpis import BY_NAME


def test_every_kpi_has_a_range():
    derived = {n for n in BY_NAME if n.startswith(("total_", "final_"))}
    assert set(KPI_BOUNDS) == set(BY_NAME) - derived
    assert kpi_bounds("total_revenue") == (0.0, float("inf")) and kpi_bounds(
        "final_market_share"
    ) == (0.0, 1.0)
    for lo, hi in KPI_BOUNDS.values():
        assert lo < hi


def test_rate_near_one_stays_below_one():
    # seen in sweep_summary.csv before: retention up to 1.023
    ci = mean_ci([0.97, 1.0, 1.0, 0.99, 1.0], bounds=kpi_bounds("retention_rate"))
    assert ci.high == 1.0 and 0.9 < ci.low < ci.mean
    unbounded = mean_ci([0.97, 1.0, 1.0, 0.99, 1.0])
    assert unbounded.high > 1.0 and unbounded.low == pytest.approx(ci.low)


def test_latency_never_negative():
    # seen in a report before: detection latency "95% CI -4.07 to 17.7" weeks
    ci = mean_ci([0.0, 0.0, 2.0, 30.0, 1.0], bounds=kpi_bounds("detection_latency"))
    assert ci.low == 0.0 and ci.high > ci.mean


def test_churn_never_negative():
    ci = mean_ci([0.0, 0.0, 0.04, 0.0], bounds=kpi_bounds("churn_rate"))
    assert ci.low == 0.0


def test_difference_bounds():
    assert diff_bounds((0.0, 1.0)) == (-1.0, 1.0)
    assert diff_bounds((0.0, math.inf)) == (-math.inf, math.inf)
    d = paired_difference([1.0, 1.0, 0.0], [0.0, 0.0, 1.0], bounds=(0.0, 1.0))
    assert -1.0 <= d.low <= d.high <= 1.0


def test_t_bounds_vectorised_matches_scalar():
    x = [np.array([0.9, 1.0, 0.95]), np.array([0.1, 0.2, 0.4, 0.0]), np.array([0.5])]
    mean = np.array([v.mean() for v in x])
    sd = np.array([v.std(ddof=1) if len(v) > 1 else np.nan for v in x])
    n = np.array([len(v) for v in x])
    lo, hi = t_bounds(mean, sd, n, 0.95, (0.0, 1.0))
    for i, v in enumerate(x):
        ci = mean_ci(v, bounds=(0.0, 1.0))
        assert (lo[i], hi[i]) == pytest.approx((ci.low, ci.high), nan_ok=True)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=2, max_size=12))
def test_rate_interval_within_bounds_and_contains_mean(values):
    ci = mean_ci(values, bounds=(0.0, 1.0))
    assert 0.0 <= ci.low <= ci.mean + 1e-12 and ci.mean - 1e-12 <= ci.high <= 1.0


def test_sweep_summary_respects_bounds():
    from experiments.sweep import summary_table

    runs = pd.DataFrame(
        {
            "point": [0, 0, 0, 1, 1, 1],
            "x": [0.1, 0.1, 0.1, 0.9, 0.9, 0.9],
            "retention_rate": [1.0, 0.98, 1.0, 0.5, 0.6, 0.7],
            "churn_rate": [0.0, 0.02, 0.0, 0.5, 0.4, 0.3],
        }
    )
    out = summary_table(runs, ["x"], ["retention_rate", "churn_rate"])
    assert (out["ci_low"] >= 0).all() and (out["ci_high"] <= 1).all()
    row = out[(out["point"] == 0) & (out["kpi"] == "retention_rate")].iloc[0]
    assert row["ci_high"] == 1.0 and row["ci_low"] < row["mean"]
