"""Small statistics helpers for figures and reports: confidence intervals across replicates,
paired differences, and number formatting for plain-language findings."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from experiments.numbers import fmt  # the project's one number formatter (prose style)

__all__ = [
    "Interval",
    "fmt",
    "mean_ci",
    "paired_difference",
    "replicate_band",
]


@dataclass(frozen=True)
class Interval:
    """A mean with its two-sided confidence interval from ``n`` values."""

    mean: float
    low: float
    high: float
    n: int
    level: float

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2.0

    @property
    def excludes_zero(self) -> bool:
        return bool(self.low > 0 or self.high < 0)


def mean_ci(values: Sequence[float] | np.ndarray, level: float = 0.95) -> Interval:
    """Mean and Student-t confidence interval of the mean (NaNs ignored).

    A single value has NaN bounds (no spread to estimate); no value gives NaN everywhere.
    """
    if not 0 < level < 1:
        raise ValueError(f"invalid level={level!r}: allowed a number in (0, 1)")
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, level)
    m = float(x.mean())
    if n == 1:
        return Interval(m, math.nan, math.nan, 1, level)
    from scipy import stats

    se = float(x.std(ddof=1)) / math.sqrt(n)
    h = float(stats.t.ppf(0.5 + level / 2.0, n - 1)) * se
    return Interval(m, m - h, m + h, n, level)


def paired_difference(
    scenario: Sequence[float] | np.ndarray,
    baseline: Sequence[float] | np.ndarray,
    level: float = 0.95,
) -> Interval:
    """Mean and CI of ``scenario - baseline`` over replicates paired by seed (equal lengths)."""
    a, b = np.asarray(scenario, dtype=float), np.asarray(baseline, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired samples need equal lengths, got {a.shape} and {b.shape}")
    return mean_ci(a - b, level)


def replicate_band(
    df: pd.DataFrame, column: str, *, x: str = "step", level: float = 0.95, spread: float = 0.9
) -> pd.DataFrame:
    """Per ``x``: mean of ``column`` across replicates, its CI, and the central ``spread``
    range of the replicates themselves.

    ``df`` is long: one row per (replicate, x).  Returns columns x, mean, ci_low, ci_high,
    q_low, q_high, n.
    """
    from scipy import stats

    g = df.groupby(x, sort=True)[column]
    mean = g.mean()
    sd = g.std(ddof=1)
    n = g.count()
    tq = pd.Series(stats.t.ppf(0.5 + level / 2.0, np.maximum(n - 1, 1)), index=n.index)
    half = (tq * sd / np.sqrt(n)).where(n > 1)
    lo_q, hi_q = (1 - spread) / 2.0, 1 - (1 - spread) / 2.0
    return pd.DataFrame(
        {
            x: mean.index.to_numpy(),
            "mean": mean.to_numpy(),
            "ci_low": (mean - half).to_numpy(),
            "ci_high": (mean + half).to_numpy(),
            "q_low": g.quantile(lo_q).to_numpy(),
            "q_high": g.quantile(hi_q).to_numpy(),
            "n": n.to_numpy(),
        }
    )
