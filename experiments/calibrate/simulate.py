"""The simulated cohort: the model run on a market set up like the data, read as a transaction
log of repeat purchase weeks (the same form as the observed cohort's, :class:`Purchases`).

The market (``market_overrides``): ``population.n_customers`` = the observed cohort size ×
``scale`` (counts are scaled back by the inverse), ``population.cohort_weeks`` = the observed
numbers of first purchases per week, and no other way in: no advertising, no prospect
shopping, no word-of-mouth recruitment, no win-back (a customer who has left does not come
back, as in BG/NBD; the win-back rate can be calibrated instead by listing it in the priors).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from experiments.calibrate.cohort import Cohort, Purchases
from sim.params import Params


def market_overrides(cohort: Cohort, scale: float, rivals: tuple[str, ...]) -> dict[str, Any]:
    """Dotted-key overrides that set the model's market up like the observed cohort."""
    n = max(round(cohort.n * scale), 20)
    out: dict[str, Any] = {
        "population.n_customers": n,
        "population.cohort_weeks": [float(v) for v in cohort.acquisition_counts],
        "firm.advertising": 0.0,
        "customer.prospect_shop_rate": 0.0,
        "customer.wom_recruit_rate": 0.0,
        "customer.winback_rate": 0.0,
        "evaluation.burn_in": 0,
        "evaluation.window": 0,
    }
    for name in rivals:
        out[f"market.rivals.{name}.advertising"] = 0.0
    return out


def simulate(params: Params, seed: int, weeks: int) -> tuple[Purchases, pd.DataFrame]:
    """Run the model for ``weeks`` weeks; the focal firm's repeat purchase weeks of the cohort
    and the weekly KPI series."""
    from sim.model import CXModel
    from sim.run import timeseries

    model = CXModel(params, rng=seed, customer_agents=False)
    if model._cohort is None:
        raise ValueError("population.cohort_weeks is empty: the market has no cohort to calibrate")
    acq = model._cohort["week"]
    cust, week, spend = [], [], []
    for t in range(1, weeks + 1):
        model.step()
        w = model._week
        rows = w["rows"]
        mine = w["j_bought"] & (w["j_dealer"] == 0)
        who = rows[mine]
        who_rev = w["j_revenue"][mine]
        later = acq[who] < t
        cust.append(who[later])
        week.append(np.full(int(later.sum()), t, dtype=np.int64))
        spend.append(np.asarray(who_rev[later], dtype=float))
    purchases = Purchases(
        model.n,
        acq.astype(np.int64),
        np.concatenate(cust).astype(np.int64),
        np.concatenate(week),
        np.concatenate(spend),
    )
    return purchases, timeseries(model)


def segment_rates(base: Params, mean_rate: float) -> dict[str, float]:
    """Each segment's ``purchase_rate`` for a population mean weekly rate ``mean_rate``, keeping
    the segments' ratios (the calibrated ``purchase_rate`` is this mean)."""
    segs = base.population.segments
    shares = np.array([s.share for s in segs], dtype=float)
    rates = np.array([s.purchase_rate for s in segs], dtype=float)
    mean = float((shares * rates).sum() / shares.sum())
    return {
        f"population.segments.{s.name}.purchase_rate": float(min(r / mean * mean_rate, 1.0))
        for s, r in zip(segs, rates, strict=True)
    }


def model_updates(base: Params, theta: Mapping[str, float]) -> dict[str, Any]:
    """Dotted-key updates for the calibrated values ``theta`` (``purchase_rate`` is the
    population mean, spread over the segments by :func:`segment_rates`)."""
    out: dict[str, Any] = {}
    for key, value in theta.items():
        if key == "purchase_rate":
            out.update(segment_rates(base, float(value)))
        else:
            out[key] = float(value)
    return out
