"""`cxsim run`: one run of the model on the composed configuration.

Writes to the run directory: ``timeseries.parquet`` (step + one column per KPI),
``kpis.json`` (final values and run-level KPIs), ``config.yaml`` (the resolved configuration)
and ``kpis.png``; every file is written atomically after the run has finished.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from experiments.io import write_atomic, write_json_atomic, write_text_atomic
from sim import params_from_cfg, run_model
from sim.config import run_settings
from sim.kpis import BY_NAME

SUMMARY_KPIS = (
    "firm_value",
    "customer_equity",
    "total_profit",
    "cumulative_profit",
    "nps",
    "measured_nps",
    "csat",
    "ces",
    "annual_churn",
    "market_share",
    "final_market_share",
    "final_active_customers",
    "mean_loyalty",
    "reputation",
    "false_alarm_rate",
    "detection_rate",
    "detection_latency",
    "recovery_time",
    "shock_nps",
    "shock_loss",
)
SHOCK_ONLY = ("detection_rate", "detection_latency", "recovery_time", "shock_nps", "shock_loss")


def run_once(cfg: DictConfig, out_dir: Path) -> dict[str, float]:
    params = params_from_cfg(cfg)
    seed, steps = run_settings(cfg)
    t0 = time.perf_counter()
    result = run_model(params, seed=seed, steps=steps)
    seconds = time.perf_counter() - t0
    out_dir = Path(out_dir)
    write_atomic(
        out_dir / "timeseries.parquet", lambda p: result.timeseries.to_parquet(p, index=False)
    )
    write_json_atomic(
        out_dir / "kpis.json", {k: (None if math.isnan(v) else v) for k, v in result.kpis.items()}
    )
    plain = OmegaConf.to_container(cfg, resolve=True)
    plain.pop("hydra", None)
    write_text_atomic(out_dir / "config.yaml", OmegaConf.to_yaml(OmegaConf.create(plain)))
    if cfg.output.figure:
        from analysis.plots import kpi_panels

        scenario = cfg.get("scenario", {}).get("name", "")
        fig = kpi_panels(
            result.timeseries,
            title=f"scenario {scenario}, seed {seed}, {params.population.n_customers} customers",
        )
        write_atomic(out_dir / "kpis.png", lambda p: fig.savefig(p, dpi=110, format="png"))
    if not cfg.output.quiet:
        print(
            summary(
                result.kpis, seconds, out_dir, steps, params.population.n_customers, result.window
            )
        )
    return result.kpis


def summary(
    kpis: dict[str, float],
    seconds: float,
    out_dir: Path,
    steps: int,
    n: int,
    window: tuple[int, int] | None = None,
) -> str:
    lines = [f"cxsim run: {n} customers x {steps} weeks in {seconds:.2f} s -> {out_dir}"]
    if window is not None:
        lines.append(
            f"  run-level KPIs over the evaluation window, weeks {window[0]}-{window[1]} "
            "(means of weekly rates, sums of flows; final_* and cumulative_* at the end)"
        )
    for k in SUMMARY_KPIS:
        v = kpis.get(k, math.nan)
        if isinstance(v, float) and math.isnan(v) and k in SHOCK_ONLY:
            continue
        lines.append(f"  {k:<18} {v:>14,.3f}  {BY_NAME[k].unit}")
    return "\n".join(lines)
