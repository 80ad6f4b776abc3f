"""How the cost of `cxsim calibrate` scales: seconds per simulated cohort (39 calibration weeks,
and 78 weeks for a posterior-predictive run) against the cohort's scale on CDNOW, one process.

The ABC's wall time is about (simulations of all generations) x (seconds per simulation) /
(workers); simulations per generation = particles / acceptance rate (populations.csv).

    python benchmarks/bench_calibrate.py [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import os
import time

from experiments.calibrate.cohort import build_cohort
from experiments.calibrate.simulate import market_overrides, model_updates, simulate
from experiments.calibrate.transactions import read_transactions
from sim.params import Params, with_updates

THETA = {"purchase_rate": 0.04, "customer.purchase_rate_shape": 0.5, "customer.churn_base": 0.05}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--scales", default="0.01,0.02,0.03,0.05,0.1")
    args = ap.parse_args()
    cohort = build_cohort(read_transactions("cdnow"), 39)
    rivals = tuple(r.name for r in Params().market.rivals)
    rows = []
    for scale in (float(s) for s in args.scales.split(",")):
        base = with_updates(Params(), market_overrides(cohort, scale, rivals))
        params = with_updates(base, model_updates(base, THETA))
        for weeks in (39, 78):
            simulate(params, 0, 3)  # warm-up
            t = []
            for r in range(args.reps):
                t0 = time.perf_counter()
                simulate(params, r, weeks)
                t.append(time.perf_counter() - t0)
            rows.append(
                {
                    "scale": scale,
                    "customers": params.population.n_customers,
                    "weeks": weeks,
                    "seconds": min(t),
                    "load": os.getloadavg()[0],
                }
            )
            print(json.dumps(rows[-1]))


if __name__ == "__main__":
    main()
