"""The model-as-function seam: (params, seed, steps) → result.

Single runs, scenario comparisons, sweeps, sensitivity analysis and the dashboard all go
through :func:`run_model` (or, for step-by-step use, :class:`sim.model.CXModel`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim import shocks as shock_rules
from sim.kpis import SERIES
from sim.model import CXModel
from sim.params import Params


@dataclass(frozen=True)
class RunResult:
    """Weekly KPI series (``step`` + one column per series KPI) and run-level KPIs."""

    timeseries: pd.DataFrame
    kpis: dict[str, float]
    seed: int
    steps: int


def run_model(params: Params | None = None, seed: int = 0, steps: int = 104, *, shock_loss: bool = True) -> RunResult:
    """Run the model for ``steps`` weeks from ``seed``; no Mesa customer views are built.

    With shocks configured and ``shock_loss`` true, the same seed is also run without the
    shocks (common random numbers): the profit they cost (``shock_loss``) and the recovery of
    NPS (``recovery_time``) are measured against that counterfactual.
    """
    params = params or Params()
    if steps < 1:
        raise ValueError(f"invalid steps={steps!r}: allowed an integer >= 1")
    model = CXModel(params, rng=seed, customer_agents=False)
    for _ in range(steps):
        model.step()
    ts = timeseries(model)
    kpis = {k: float(ts[k].iloc[-1]) for k in SERIES}
    events = model.shock_state.events
    kpis["detection_latency"] = shock_rules.detection_latency(events, model.focal.alarm_steps)
    kpis["shock_loss"] = float("nan")
    reference = None
    if shock_loss and model.params.shocks:
        calm = run_model(dataclasses.replace(model.params, shocks=()), seed, steps, shock_loss=False)
        kpis["shock_loss"] = calm.kpis["cumulative_profit"] - kpis["cumulative_profit"]
        reference = calm.timeseries["nps"].to_numpy()
    kpis["recovery_time"] = shock_rules.recovery_time(
        ts["nps"].to_numpy(), ts["step"].to_numpy(), events, model.params.mechanism.recovery_tolerance, reference
    )
    return RunResult(timeseries=ts, kpis=kpis, seed=int(seed), steps=int(steps))


def timeseries(model: CXModel) -> pd.DataFrame:
    """The model's recorded weekly KPIs as a DataFrame."""
    data = np.vstack(model.history) if model.history else np.empty((0, len(SERIES)))
    df = pd.DataFrame(data, columns=list(SERIES))
    df.insert(0, "step", np.arange(1, len(df) + 1, dtype=np.int64))
    return df
