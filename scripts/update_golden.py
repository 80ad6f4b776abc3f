"""Refresh the golden summary of a fixed-seed run (tests/golden/summary.json).

Run only when a model change is intended, and say why in the commit that updates the file:

    python scripts/update_golden.py
"""

from __future__ import annotations

import json
import math
from pathlib import Path

GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "golden" / "summary.json"
OVERRIDES = ["population.n_customers=2000", "scenario=outage"]
SEED, STEPS = 20261128, 80  # the outage starts at week 60, after the 52-week burn-in


def golden_summary() -> dict:
    from sim import params_from_overrides, run_model

    result = run_model(params_from_overrides(OVERRIDES), seed=SEED, steps=STEPS)
    kpis = {k: (None if math.isnan(v) else v) for k, v in result.kpis.items()}
    means = {
        k: float(result.timeseries[k].mean()) for k in ("nps", "revenue", "profit", "mean_loyalty")
    }
    return {"overrides": OVERRIDES, "seed": SEED, "steps": STEPS, "kpis": kpis, "mean": means}


if __name__ == "__main__":
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps(golden_summary(), indent=2) + "\n")
    print(f"wrote {GOLDEN}")
