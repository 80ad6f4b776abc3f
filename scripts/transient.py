"""The start-up transient and the long-run drift quoted in ``sim/ODD.md`` §7.8 and the README.

Runs the default market (``--customers`` customers, seeds 1..``--seeds``, ``--steps`` weeks)
with the default expectation creep and with ``mechanism.expectation_creep=0``, and prints
quarterly (13-week) means of true NPS and mean loyalty, averaged over the seeds.

    python scripts/transient.py [--customers 5000] [--seeds 3] [--steps 260] [--jobs 1]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.params import Params, with_updates  # noqa: E402
from sim.run import run_model  # noqa: E402

QUARTER = 13


def quarterly(n: int, creep: float | None, seed: int, steps: int) -> dict[str, np.ndarray]:
    updates = {"population.n_customers": n}
    if creep is not None:
        updates["mechanism.expectation_creep"] = creep
    ts = run_model(with_updates(Params(), updates), seed=seed, steps=steps).timeseries
    q = np.arange(len(ts)) // QUARTER
    return {k: ts.groupby(q)[k].mean().to_numpy() for k in ("nps", "mean_loyalty")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=5000)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=260)
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args(argv)
    seeds = range(1, args.seeds + 1)
    for label, creep in (("default", None), ("expectation_creep=0", 0.0)):
        runs = Parallel(n_jobs=args.jobs)(
            delayed(quarterly)(args.customers, creep, s, args.steps) for s in seeds
        )
        print(f"{label}: {args.customers:,} customers, seeds 1–{args.seeds}, {args.steps} weeks")
        for key in ("nps", "mean_loyalty"):
            mean = np.mean([r[key] for r in runs], axis=0)
            print(f"  quarterly {key}: " + ", ".join(f"{v:.3g}" for v in mean))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
