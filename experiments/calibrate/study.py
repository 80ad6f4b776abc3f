"""One calibration end to end (:func:`run_calibration`): the observed cohort, BG/NBD on the same
window, ABC-SMC, the posterior-predictive runs and every output file."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.calibrate import bgnbd, outputs
from experiments.calibrate.abc import CohortModel, observed_stats, run_abc, weighted_summary
from experiments.calibrate.cohort import Cohort
from experiments.calibrate.predictive import (
    PredictiveRun,
    collect,
    draw_particles,
    predictive_store,
    predictive_tasks,
)
from experiments.calibrate.priors import Study
from experiments.calibrate.simulate import market_overrides, model_updates
from sim.params import Params, to_dict, with_updates


@dataclass(frozen=True)
class CalibrationResult:
    summary: dict[str, Any]  # what calibration.json holds
    posterior: pd.DataFrame
    overrides: dict[str, Any]


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def changed_keys(base: Params, params: Params) -> dict[str, Any]:
    """Dotted keys whose value differs between two parameter sets."""
    a, b = _flat(to_dict(base)), _flat(to_dict(params))
    return {k: v for k, v in b.items() if a.get(k) != v}


def bgnbd_block(cohort: Cohort) -> tuple[bgnbd.BGNBD, dict[str, Any], np.ndarray]:
    model = bgnbd.fit(cohort.x, cohort.t_x, cohort.T)
    end = (7 * cohort.calibration_weeks - 1) / 7.0
    offset = end - cohort.T  # weeks from the start to each first purchase
    weekly = bgnbd.weekly_forecast(
        model,
        cohort.x,
        cohort.t_x,
        cohort.T,
        cohort.holdout_weeks,
        offset,
        cohort.calibration_weeks,
    )
    block: dict[str, Any] = {"parameters": model.as_dict()}
    if cohort.holdout_weeks:
        per = model.expected_conditional(
            float(cohort.holdout_weeks), cohort.x, cohort.t_x, cohort.T
        )
        actual = cohort.holdout_actual
        block.update(
            forecast=float(per.sum()),
            mae_per_customer=float(np.abs(per - actual).mean()),
            correlation_per_customer=float(np.corrcoef(per, actual)[0, 1])
            if actual.std() > 0
            else float("nan"),
        )
    return model, block, weekly


def run_calibration(
    study: Study,
    base: Params,
    cohort: Cohort,
    out_dir: Path,
    executor,
    kpis: pd.DataFrame | None = None,
    log: Callable[[str], None] = lambda s: None,
    progress: bool | None = False,
) -> CalibrationResult:
    from experiments.executor import run_tasks

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rivals = tuple(r.name for r in base.market.rivals)
    market = market_overrides(cohort, study.scale, rivals)
    market_params = with_updates(base, market)
    log(
        f"cohort of {cohort.n:,} customers ({cohort.left_out:,} first seen later left out), "
        f"simulated at {market['population.n_customers']:,}; weeks 1-{cohort.calibration_weeks} "
        f"calibration, {cohort.holdout_weeks} holdout"
    )
    _, bg, bg_weekly = bgnbd_block(cohort)
    observed = observed_stats(cohort, study, kpis)
    model = CohortModel(market_params, cohort.calibration_weeks, study.block, kpis)
    t_abc = time.perf_counter()
    abc = run_abc(study, model, observed, out_dir, executor, log)
    abc_seconds = time.perf_counter() - t_abc
    names = study.names
    summary = weighted_summary(abc.posterior, names)
    log(
        f"ABC-SMC: {abc.n_generations} generations, {abc.simulations:,} simulations, "
        f"final tolerance {abc.epsilons[-1]:.3g} ({abc_seconds:.0f} s)"
    )
    # posterior predictive
    thetas = draw_particles(abc.posterior, names, study.draws, study.seed)
    tasks = predictive_tasks(thetas, study.seed)
    store = predictive_store(out_dir)
    t_pred = time.perf_counter()
    batch = run_tasks(
        PredictiveRun(market_params, cohort.total_weeks),
        tasks,
        store=store,
        executor=executor,
        progress=progress,
        desc="posterior predictive",
    )
    if getattr(batch, "n_failed", 0):
        from experiments.batch import RunsFailed

        raise RunsFailed(
            f"{batch.n_failed} posterior-predictive runs failed: rerun the same command"
        )
    pred = collect(store, tasks, cohort)
    pred_seconds = time.perf_counter() - t_pred
    weekly = pred.band()
    cum = pred.band(cumulative=True)
    weekly["bgnbd"] = bg_weekly[: len(weekly)] + cohort.first_week_repeats[: len(weekly)]
    cum["bgnbd"] = np.cumsum(weekly["bgnbd"].to_numpy())
    # holdout forecast
    forecast: dict[str, Any] = {"holdout_weeks": cohort.holdout_weeks}
    inside = None
    if cohort.holdout_weeks:
        first, last = cohort.calibration_weeks + 1, cohort.total_weeks
        actual = cohort.repeat_transactions(first, last)
        h = pred.holdout()
        sim_mean = float(h.mean())
        in_band = (cum["observed"] >= cum["lo"]) & (cum["observed"] <= cum["hi"])
        inside = float(in_band.mean())
        forecast.update(
            weeks=[first, last],
            actual=actual,
            simulator={
                "forecast": sim_mean,
                "lo90": float(np.quantile(h, 0.05)),
                "hi90": float(np.quantile(h, 0.95)),
                "error_pct": 100.0 * (sim_mean - actual) / actual if actual else float("nan"),
                "actual_inside_90": bool(np.quantile(h, 0.05) <= actual <= np.quantile(h, 0.95)),
            },
            bgnbd={
                "forecast": bg["forecast"],
                "error_pct": 100.0 * (bg["forecast"] - actual) / actual if actual else float("nan"),
                "mae_per_customer": bg["mae_per_customer"],
                "correlation_per_customer": bg["correlation_per_customer"],
            },
            cumulative_inside_band_share=inside,
        )
        log(
            f"holdout weeks {first}-{last}: actual {actual:,.0f} repeat transactions; simulator "
            f"{sim_mean:,.0f} ({forecast['simulator']['error_pct']:+.1f}%, 90% "
            f"[{forecast['simulator']['lo90']:,.0f}, {forecast['simulator']['hi90']:,.0f}]); BG/NBD "
            f"{bg['forecast']:,.0f} ({forecast['bgnbd']['error_pct']:+.1f}%)"
        )
    # the calibrated firm
    point = {n: summary["parameters"][n]["q50"] for n in names}
    calibrated = with_updates(market_params, model_updates(market_params, point))
    overrides = changed_keys(Params(), calibrated)
    overrides["steps"] = cohort.total_weeks
    header = [
        "cxsim calibrate: the calibrated firm, as overrides for every other command:",
        f"  cxsim run calibration={out_dir}   (keys given on the command line win)",
        f"data: {cohort.source}, weeks 1-{cohort.calibration_weeks} (calibration)",
        "values: the posterior median of each calibrated parameter; the market is the observed",
        f"cohort at scale {study.scale} (population.n_customers; raise it for a larger cohort)",
    ]
    pred_csv = weekly.rename(
        columns={c: f"weekly_{c}" for c in weekly.columns if c != "week"}
    ).merge(
        cum.rename(columns={c: f"cumulative_{c}" for c in cum.columns if c != "week"}), on="week"
    )
    title = f"{Path(cohort.source).name}: weeks 1-{cohort.calibration_weeks} calibration" + (
        f", {cohort.holdout_weeks} holdout" if cohort.holdout_weeks else ""
    )
    total_seconds = time.perf_counter() - t0
    info = {
        "source": cohort.source,
        "start": str(cohort.start.date()),
        "cohort": {
            "customers": cohort.n,
            "left_out_later_customers": cohort.left_out,
            "duplicates": cohort.duplicates,
            "duplicates_dropped": cohort.dropped,
            "simulated_customers": market["population.n_customers"],
            "scale": study.scale,
            "acquisition_weeks": len(cohort.acquisition_counts),
            "transactions_per_purchase_week": cohort.per_week,
            "mean_spend_per_purchase_week": cohort.mean_spend,
        },
        "calibration_weeks": cohort.calibration_weeks,
        "holdout_weeks": cohort.holdout_weeks,
        "priors": [
            {"name": p.name, "dist": p.dist, "bounds": [p.low, p.high]} for p in study.priors
        ],
        "abc": {
            "population": study.population,
            "generations": abc.n_generations,
            "resumed_from": abc.resumed_from,
            "simulations": abc.simulations,
            "epsilons": abc.epsilons,
            "seed": study.seed,
            "executor": getattr(executor, "kind", "serial"),
            "seconds": abc_seconds,
        },
        "posterior": summary,
        "observed_statistics": observed,
        "predictive": {"draws": study.draws, "seconds": pred_seconds},
        "forecast": forecast,
        "bgnbd": bg,
        "calibrated": point,
        "seconds": total_seconds,
    }
    files: dict[str, str | bytes] = {
        "posterior.csv": outputs.frame_csv(abc.posterior),
        "populations.csv": outputs.frame_csv(abc.populations),
        "posterior.json": json.dumps(summary, indent=2) + "\n",
        "posterior.md": outputs.posterior_markdown(summary, names),
        "predictive.csv": outputs.frame_csv(pred_csv),
        "forecast.json": json.dumps(forecast, indent=2) + "\n",
        outputs.CALIBRATED: outputs.calibrated_yaml(overrides, header),
        "tracking.png": outputs.tracking_figure(weekly, cum, cohort.calibration_weeks, title),
        "posterior.png": outputs.posterior_figure(abc.posterior, names, summary),
        outputs.SUMMARY: json.dumps(info, indent=2, default=float) + "\n",
    }
    outputs.write_all(out_dir, files)
    return CalibrationResult(info, abc.posterior, overrides)
