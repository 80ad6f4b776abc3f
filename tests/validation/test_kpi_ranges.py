"""The default market is neither collapsing nor utopian: NPS in [−10, 60], annual churn 5–40%,
positive profit — on the full default parameters (10,000 customers, 104 weeks), every replicate.

The ranges are the README's ("The default market, and where its ranges come from": NPS "published
NPS benchmarks for consumer industries mostly lie between about −10 ... and +60"; annual churn
"customer attrition reported for retail, banking, telecoms and subscriptions spans roughly this
range"), a plausibility check and a calibration target, not a literature figure."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from tests.validation import REPLICATES, seeds

pytestmark = pytest.mark.validation


def test_default_kpis_are_in_range(record):
    rows = []
    for seed in seeds(REPLICATES):
        ts = sim.run_model(sim.Params(), seed=seed, steps=104).timeseries
        last = ts.iloc[-52:]
        rows.append(
            {
                "seed": seed,
                "nps_final": float(ts["nps"].iloc[-1]),
                "nps_mean_year2": float(last["nps"].mean()),
                "annual_churn_year2": float(1.0 - np.prod(1.0 - last["churn_rate"].to_numpy())),
                "profit_year2": float(last["profit"].sum()),
                "cumulative_profit": float(ts["cumulative_profit"].iloc[-1]),
            }
        )

    def span(key, scale=1.0, fmt=".0f"):
        v = [r[key] * scale for r in rows]
        return f"{min(v):{fmt}}–{max(v):{fmt}}"

    record(
        "kpi",
        f"NPS {span('nps_final')} (final), {span('nps_mean_year2')} (year-2 mean); annual churn "
        f"{span('annual_churn_year2', 100)}%; year-2 profit {span('profit_year2', 1e-6, '.2f')} M cu, "
        f"all weeks' cumulative {span('cumulative_profit', 1e-6, '.2f')} M cu",
        "NPS in [−10, 60]; annual churn in [5%, 40%]; profit > 0 — every replicate",
        replicates=rows,
    )
    for r in rows:
        assert -10 <= r["nps_final"] <= 60 and -10 <= r["nps_mean_year2"] <= 60
        assert 0.05 <= r["annual_churn_year2"] <= 0.40
        assert r["profit_year2"] > 0 and r["cumulative_profit"] > 0
