"""The model-as-function seam: (params, seed, steps) → result.

Single runs, scenario comparisons, sweeps, sensitivity analysis and the dashboard all go
through :func:`run_model` (or, for step-by-step use, :class:`sim.model.CXModel`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim import mesa_compat
from sim import shocks as shock_rules
from sim.kpis import RUN, SERIES, SERIES_BY_NAME
from sim.model import CXModel
from sim.params import ParamError, Params


@dataclass(frozen=True)
class RunResult:
    """Weekly KPI series (``step`` + one column per series KPI) and the run-level KPIs
    (``sim.kpis.RUN``, over the evaluation window ``window`` = (first week, last week))."""

    timeseries: pd.DataFrame
    kpis: dict[str, float]
    seed: int
    steps: int
    window: tuple[int, int] = (1, 1)


def evaluation_window(params: Params, steps: int) -> tuple[int, int]:
    """(first, last) week of the evaluation window, 1-based and inclusive; a run too short for
    its burn-in is an error naming the parameter."""
    ev = params.evaluation
    if ev.burn_in >= steps:
        raise ParamError(
            "evaluation.burn_in",
            ev.burn_in,
            f"fewer weeks than steps={steps} (set evaluation.burn_in lower or run longer)",
        )
    first = ev.burn_in + 1
    last = steps if ev.window == 0 else min(steps, ev.burn_in + ev.window)
    return first, last


def run_model(
    params: Params | None = None, seed: int = 0, steps: int = 104, *, shock_loss: bool = True
) -> RunResult:
    """Run the model for ``steps`` weeks from ``seed``; no Mesa customer views are built.

    Run-level KPIs are computed over the evaluation window (``params.evaluation``). With shocks
    configured and ``shock_loss`` true, the same seed is also run without the shocks (common
    random numbers): the firm value they cost (``shock_loss``), their effect on NPS
    (``shock_nps``) and the recovery of NPS (``recovery_time``) are measured against that
    counterfactual.
    """
    series, kpis, window = _simulate(params, seed, steps, shock_loss)
    return RunResult(
        timeseries=_frame(series), kpis=kpis, seed=int(seed), steps=int(steps), window=window
    )


def run_kpis(
    params: Params | None = None, seed: int = 0, steps: int = 104, *, shock_loss: bool = True
) -> dict[str, float]:
    """``run_model(params, seed, steps).kpis`` without building the weekly DataFrame: what batch
    studies (sensitivity, sweeps, calibration, optimisation) need from a run."""
    return _simulate(params, seed, steps, shock_loss)[1]


_COL = {name: j for j, name in enumerate(SERIES)}


def _simulate(
    params: Params | None, seed: int, steps: int, shock_loss: bool
) -> tuple[np.ndarray, dict[str, float], tuple[int, int]]:
    """(weekly series block (steps, len(SERIES)), run-level KPIs, window) of one run."""
    params = params or Params()
    if steps < 1:
        raise ValueError(f"invalid steps={steps!r}: allowed an integer >= 1")
    window = evaluation_window(params, steps)
    model = CXModel(params, rng=seed, customer_agents=False)
    mesa_compat.detach_datacollector(model)  # the KPIs are read from model.history
    equity = (float("nan"), float("nan"))
    for week in range(1, steps + 1):
        model.step()
        if week == window[1]:
            equity = model.customer_equity_terms(0)
    series = _block(model)
    step = np.arange(1, len(series) + 1, dtype=np.int64)
    kpis = _window_kpis(series, step, window, model._discount, equity)
    events = model.shock_state.events
    grace = model.params.mechanism.detection_grace
    latencies = shock_rules.detection(events, model.focal.alarm_steps, grace)
    kpis["detection_rate"] = shock_rules.detection_rate(latencies)
    kpis["detection_latency"] = shock_rules.detection_latency(latencies)
    in_window = (step >= window[0]) & (step <= window[1])
    kpis["false_alarm_rate"] = shock_rules.false_alarm_rate(
        series[in_window, _COL["alarm"]], step[in_window], events, grace
    )
    kpis["shock_loss"] = kpis["shock_nps"] = float("nan")
    nps = series[:, _COL["nps"]]
    reference = None
    if shock_loss and model.params.shocks:
        calm, calm_kpis, _ = _simulate(
            dataclasses.replace(model.params, shocks=()), seed, steps, False
        )
        kpis["shock_loss"] = calm_kpis["firm_value"] - kpis["firm_value"]
        reference = calm[:, _COL["nps"]]
        hit = np.zeros(len(series), dtype=bool)
        for ev in events:
            hit |= (step >= ev.start) & (step <= ev.end + grace - 1)
        if hit.any():
            kpis["shock_nps"] = float(np.nanmean(nps[hit]) - np.nanmean(reference[hit]))
    kpis["recovery_time"] = shock_rules.recovery_time(
        nps, step, events, model.params.mechanism.recovery_tolerance, reference
    )
    return series, {k: kpis[k] for k in RUN}, window


def window_kpis(
    ts: pd.DataFrame, window: tuple[int, int], discount: float, equity: tuple[float, float]
) -> dict[str, float]:
    """Run-level KPIs over ``window`` from the weekly series, by each KPI's declared aggregation,
    plus customer equity, firm value and annual churn.

    ``discount`` is the weekly rate; ``equity`` = (gross, annuity) from
    :meth:`CXModel.customer_equity_terms` at the window's end. Customer equity is net of the
    retention costs (CX spend and support cost) per customer-week of the window, as in Gupta,
    Lehmann & Stuart (2004): a customer kept only by expensive support is worth less."""
    return _window_kpis(
        ts[list(SERIES)].to_numpy(dtype=float), ts["step"].to_numpy(), window, discount, equity
    )


def _window_kpis(
    block: np.ndarray,
    steps: np.ndarray,
    window: tuple[int, int],
    discount: float,
    equity: tuple[float, float],
) -> dict[str, float]:
    """:func:`window_kpis` on the float block of the series (columns in ``SERIES`` order)."""
    first, last = window
    inside = (steps >= first) & (steps <= last)
    part = block[inside]
    out: dict[str, float] = {}
    for name, k in SERIES_BY_NAME.items():
        j = _COL[name]
        col = np.ascontiguousarray(part[:, j])
        if k.agg == "sum":
            out[f"total_{k.name}"] = float(np.nansum(col))
        elif k.agg == "last":
            out[k.name] = float(block[-1, j])
        else:
            out[k.name] = _nanmean(col)
            if k.agg == "final":
                out[f"final_{k.name}"] = float(block[-1, j])
    d = discount
    weeks = np.arange(1, len(part) + 1)
    profit = np.ascontiguousarray(part[:, _COL["profit"]])
    customer_weeks = float(np.nansum(part[:, _COL["active_customers"]]))
    retention_cost = float(
        np.nansum(part[:, _COL["cx_spend"]]) + np.nansum(part[:, _COL["support_cost"]])
    )
    per_customer_week = retention_cost / customer_weeks if customer_weeks > 0 else 0.0
    gross, annuity = equity
    equity = gross - per_customer_week * annuity
    out["customer_equity"] = equity
    out["firm_value"] = float(np.sum(profit / (1.0 + d) ** weeks) + equity / (1.0 + d) ** len(part))
    retention = part[:, _COL["retention_rate"]]
    defined = retention[np.isfinite(retention)]
    if defined.size:
        out["annual_churn"] = float(
            1.0 - np.exp(np.sum(np.log(np.maximum(defined, 1e-12))) * 52.0 / defined.size)
        )
    else:
        out["annual_churn"] = float("nan")
    return out


def _nanmean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")


def timeseries(model: CXModel) -> pd.DataFrame:
    """The model's recorded weekly KPIs as a DataFrame."""
    return _frame(_block(model))


def _block(model: CXModel) -> np.ndarray:
    return np.vstack(model.history) if model.history else np.empty((0, len(SERIES)))


def _frame(data: np.ndarray) -> pd.DataFrame:
    df = pd.DataFrame(data, columns=list(SERIES))
    df.insert(0, "step", np.arange(1, len(df) + 1, dtype=np.int64))
    return df
