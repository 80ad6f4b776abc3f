"""Small statistics helpers for figures, reports and the batch commands: confidence intervals
across replicates (one implementation, :func:`mean_ci`, vectorised as :func:`t_bounds`),
paired differences, the range of every KPI, and number formatting for plain-language findings.

Intervals of bounded quantities respect their bounds: a rate cannot have an interval above 1
nor a latency one below 0. The method is the Student-t interval intersected with the range the
quantity can take (Mandelkern 2002, "Setting confidence intervals for bounded parameters").
Because the true mean always lies inside that range, the intersection covers it exactly as
often as the t interval does (the nominal 95%), and it only ever gets shorter. A logit
transform was rejected because KPIs sit exactly on their bounds (retention 1.0 in a small
market, latency 0); a bootstrap, because 2-10 replicates are too few for its percentiles.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from experiments.numbers import fmt  # the project's one number formatter (prose style)

__all__ = [
    "KPI_BOUNDS",
    "Interval",
    "diff_bounds",
    "fmt",
    "kpi_bounds",
    "mean_ci",
    "paired_difference",
    "replicate_band",
    "t_bounds",
]

INF = math.inf
UNBOUNDED = (-INF, INF)

# The values each KPI can take (declared in sim/kpis.py by name, unit and definition; their
# ranges live here until the KPI declaration carries them). tests/test_stats.py checks that
# every KPI is listed.
KPI_BOUNDS: dict[str, tuple[float, float]] = {
    "nps": (-100.0, 100.0),
    "csat": (0.0, 100.0),
    "ces": (1.0, 7.0),
    "retention_rate": (0.0, 1.0),
    "churn_rate": (0.0, 1.0),
    "active_customers": (0.0, INF),
    "market_share": (0.0, 1.0),
    "revenue": (0.0, INF),
    "profit": UNBOUNDED,
    "cumulative_profit": UNBOUNDED,
    "clv": UNBOUNDED,  # a negative margin gives a negative value
    "reputation": (0.0, 1.0),
    "emotional_index": (-1.0, 1.0),
    "cognitive_index": (0.0, 1.0),
    "behavioural_index": (0.0, INF),
    "mean_loyalty": (0.0, 1.0),
    "acquisitions": (0.0, INF),
    "complaints": (0.0, INF),
    "wom_positive": (0.0, INF),
    "wom_negative": (0.0, INF),
    "measured_nps": (-100.0, 100.0),
    "measured_csat": (0.0, 100.0),
    "measurement_error": (-200.0, 200.0),
    "mean_quality": (0.0, 1.0),
    "map_error": (0.0, 1.0),
    "cx_spend": (0.0, INF),
    "support_cost": (0.0, INF),
    "alarm": (0.0, 1.0),
    "detection_latency": (0.0, INF),
    "detection_rate": (0.0, 1.0),
    "false_alarm_rate": (0.0, 1.0),
    "annual_churn": (0.0, 1.0),
    "firm_value": UNBOUNDED,
    "customer_equity": UNBOUNDED,  # net of retention costs: can be negative
    "recovery_time": (0.0, INF),
    "shock_nps": (-200.0, 200.0),
    "shock_loss": UNBOUNDED,
}


def kpi_bounds(name: str) -> tuple[float, float]:
    """(low, high) of the values KPI ``name`` can take; unbounded for unknown names.

    Run-level names derived from a weekly KPI (sim.kpis): ``final_<kpi>`` takes the weekly KPI's
    range, ``total_<kpi>`` (a window sum) keeps only its sign constraint."""
    if name in KPI_BOUNDS:
        return KPI_BOUNDS[name]
    if name.startswith("final_"):
        return KPI_BOUNDS.get(name[len("final_") :], UNBOUNDED)
    if name.startswith("total_") and name[len("total_") :] in KPI_BOUNDS:
        lo, _ = KPI_BOUNDS[name[len("total_") :]]
        return (0.0, INF) if lo >= 0 else UNBOUNDED
    return UNBOUNDED


def diff_bounds(bounds: tuple[float, float]) -> tuple[float, float]:
    """Range of the difference of two quantities that each lie in ``bounds``."""
    lo, hi = bounds
    width = hi - lo
    return (-width, width)


@dataclass(frozen=True)
class Interval:
    """A mean with its two-sided confidence interval from ``n`` values (``sd``: their
    standard deviation; ``bounds``: the range the interval was confined to)."""

    mean: float
    low: float
    high: float
    n: int
    level: float
    sd: float = math.nan
    bounds: tuple[float, float] = UNBOUNDED

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2.0

    @property
    def excludes_zero(self) -> bool:
        return bool(self.low > 0 or self.high < 0)


def t_bounds(
    mean: np.ndarray | float,
    sd: np.ndarray | float,
    n: np.ndarray | int,
    level: float = 0.95,
    bounds: tuple[float, float] = UNBOUNDED,
) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of the Student-t interval of the mean, elementwise, intersected with
    ``bounds`` (see the module docstring); NaN where ``n < 2``."""
    from scipy import stats

    if not 0 < level < 1:
        raise ValueError(f"invalid level={level!r}: allowed a number in (0, 1)")
    mean, sd, n = (np.asarray(a, dtype=float) for a in (mean, sd, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        df = np.where(n >= 2, n - 1, np.nan)
        half = stats.t.ppf(0.5 + level / 2.0, df) * sd / np.sqrt(n)
    lo, hi = bounds
    return np.clip(mean - half, lo, hi), np.clip(mean + half, lo, hi)


def mean_ci(
    values: Sequence[float] | np.ndarray,
    level: float = 0.95,
    bounds: tuple[float, float] = UNBOUNDED,
) -> Interval:
    """Mean and Student-t confidence interval of the mean (NaNs ignored), confined to
    ``bounds`` (the range the values can take: e.g. ``kpi_bounds("retention_rate")``).

    A single value has NaN bounds (no spread to estimate); no value gives NaN everywhere.
    """
    if not 0 < level < 1:
        raise ValueError(f"invalid level={level!r}: allowed a number in (0, 1)")
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, level, math.nan, bounds)
    m = float(x.mean())
    if n == 1:
        return Interval(m, math.nan, math.nan, 1, level, math.nan, bounds)
    sd = float(x.std(ddof=1))
    lo, hi = t_bounds(m, sd, n, level, bounds)
    return Interval(m, float(lo), float(hi), n, level, sd, bounds)


def paired_difference(
    scenario: Sequence[float] | np.ndarray,
    baseline: Sequence[float] | np.ndarray,
    level: float = 0.95,
    bounds: tuple[float, float] = UNBOUNDED,
) -> Interval:
    """Mean and CI of ``scenario - baseline`` over replicates paired by seed (equal lengths);
    ``bounds`` is the range of each quantity (the difference is confined to
    :func:`diff_bounds` of it)."""
    a, b = np.asarray(scenario, dtype=float), np.asarray(baseline, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired samples need equal lengths, got {a.shape} and {b.shape}")
    return mean_ci(a - b, level, diff_bounds(bounds))


def replicate_band(
    df: pd.DataFrame, column: str, *, x: str = "step", level: float = 0.95, spread: float = 0.9
) -> pd.DataFrame:
    """Per ``x``: mean of ``column`` across replicates, its CI (confined to the KPI's range
    when ``column`` is a KPI), and the central ``spread`` range of the replicates themselves.

    ``df`` is long: one row per (replicate, x).  Returns columns x, mean, ci_low, ci_high,
    q_low, q_high, n.
    """
    g = df.groupby(x, sort=True)[column]
    mean = g.mean()
    sd = g.std(ddof=1)
    n = g.count()
    ci_low, ci_high = t_bounds(
        mean.to_numpy(), sd.to_numpy(), n.to_numpy(), level, kpi_bounds(column)
    )
    lo_q, hi_q = (1 - spread) / 2.0, 1 - (1 - spread) / 2.0
    return pd.DataFrame(
        {
            x: mean.index.to_numpy(),
            "mean": mean.to_numpy(),
            "ci_low": ci_low,
            "ci_high": ci_high,
            "q_low": g.quantile(lo_q).to_numpy(),
            "q_high": g.quantile(hi_q).to_numpy(),
            "n": n.to_numpy(),
        }
    )
